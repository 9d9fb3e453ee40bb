// Package pii finds text that looks like personal data: a Japanese phone
// number, a postal code, a street address, an e-mail address or a full
// name. Clients of a counseling service stay anonymous, and a phone
// number typed in a moment of trust cannot be taken back from the
// counselor's records; the apps ask (the client's) or warn (the
// counselor's) before such text is sent, and never block it.
//
// The patterns are one table, written in the syntax Go's regexp and
// JavaScript's RegExp (with the u flag) read alike, so that the client
// app can be given the same table (Patterns).
package pii

import (
	"regexp"
)

// Kind names what a pattern looks for.
type Kind string

// Kinds of personal data.
const (
	Phone   Kind = "phone"
	Postal  Kind = "postal"
	Address Kind = "address"
	Email   Kind = "email"
	Name    Kind = "name"
)

// Pattern is one entry of the table: the kind and the expression.
type Pattern struct {
	Kind Kind   `json:"kind"`
	Re   string `json:"re"`
}

// Character classes shared by the patterns (no \d: in JavaScript it
// knows only ASCII digits, in Go too, and phones type full-width ones).
const (
	digit = `[0-9０-９]`
	dash  = `[-‐－―ー−]`
	// before and after bound a number: what comes before or after is
	// not a digit (no lookbehind: Go's regexp has none).
	before = `(?:^|[^0-9０-９])`
	after  = `(?:[^0-9０-９]|$)`
	// A postal code is not part of a longer dashed number (a phone).
	beforeCode = `(?:^|[^0-9０-９\-‐－―ー−])`
	afterCode  = `(?:[^0-9０-９\-‐－―ー−]|$)`
	kanji      = `[一-龥々]`
)

// Patterns is the table. Each is tried on the whole text.
var Patterns = []Pattern{
	// 090-1234-5678, 03-1234-5678, 0120-123-456, 09012345678 (also with
	// full-width digits and spaces): a leading 0, ten or eleven digits.
	{Phone, before + `[0０]` + digit + `{1,4}(?:` + dash + `|\s)?` + digit + `{1,4}(?:` + dash + `|\s)?` + digit + `{3,4}` + after},
	// +81 90-1234-5678
	{Phone, `\+81(?:` + dash + `|\s)?` + digit + `{1,4}(?:` + dash + `|\s)?` + digit + `{1,4}(?:` + dash + `|\s)?` + digit + `{3,4}`},
	// 〒160-0023, 160-0023 (three digits, a dash, four).
	{Postal, `〒\s*` + digit + `{3}` + dash + `?` + digit + `{4}`},
	{Postal, beforeCode + digit + `{3}` + dash + digit + `{4}` + afterCode},
	// 東京都新宿区, 大阪府大阪市, 北海道札幌市, 神奈川県横浜市: a prefecture
	// and a municipality; or a block number (3丁目, 12番地).
	{Address, kanji + `{1,3}[都道府県]` + `[一-龥々ァ-ヶ]{1,6}[市区町村郡]`},
	{Address, `(?:` + digit + `|[一二三四五六七八九十])+(?:丁目|番地)`},
	{Email, `[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`},
	// 名前は山田太郎, 本名：佐藤花子, 山田太郎と申します, My name is John Smith.
	{Name, `(?:名前|氏名|本名|フルネーム)(?:は|が|：|:)\s*` + kanji + `{2,}`},
	{Name, kanji + `{2,4}\s?` + kanji + `{1,3}と申します`},
	{Name, `[Mm]y (?:full )?name is [A-Z][a-z]+ [A-Z][a-z]+`},
}

var compiled = func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(Patterns))
	for i, p := range Patterns {
		out[i] = regexp.MustCompile(p.Re)
	}
	return out
}()

// Find returns the kinds of personal data text seems to hold, each once,
// in the table's order (nil: none).
func Find(text string) []Kind {
	var out []Kind
	for i, re := range compiled {
		k := Patterns[i].Kind
		if len(out) > 0 && out[len(out)-1] == k {
			continue
		}
		if re.MatchString(text) {
			out = append(out, k)
		}
	}
	return out
}
