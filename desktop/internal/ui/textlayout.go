package ui

import (
	"strings"
	"unicode"

	"fyne.io/fyne/v2"
)

// Japanese line-breaking rules (kinsoku shori, JIS X 4051): a line never
// starts with closing punctuation, a small kana or a prolonged sound mark,
// and never ends with an opening bracket. Fyne's own wrapping knows none
// of this, so the history breaks its lines itself (which also tells it
// each row's height before drawing it).
const (
	noLineStart = "、。，．,.・：；:;？！?!‐゠–〜～ー…‥）)］]｝}〕〉》」』】〙〗〟’”｠»ゝゞ々〻ヽヾぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ゛゜%％"
	noLineEnd   = "（(［[｛{〔〈《「『【〘〖〝‘“｟«"
	// hangable may hang past the right edge when pulling a character down
	// to the next line cannot satisfy the rules (burasage).
	hangable = "、。，．,."
)

// maxPullBack bounds how many characters move down to the next line to
// keep a forbidden character off a line's start or end ("（299）" needs
// five: a number is not split either).
const maxPullBack = 8

// lineBreaker measures text in one size and style and breaks it into
// lines that fit a width. Widths are measured per character once and
// cached: laying out a 2,000-message history costs map lookups, not font
// shaping.
type lineBreaker struct {
	measure func(r rune) float32
	widths  map[rune]float32
}

func newLineBreaker(size float32, style fyne.TextStyle) *lineBreaker {
	return &lineBreaker{measure: func(r rune) float32 { return fyne.MeasureText(string(r), size, style).Width },
		widths: map[rune]float32{}}
}

func (b *lineBreaker) width(r rune) float32 {
	if w, ok := b.widths[r]; ok {
		return w
	}
	w := b.measure(r)
	b.widths[r] = w
	return w
}

// Lines breaks text into lines no wider than maxWidth, keeping its own
// line breaks, and returns them with the widest line's width.
func (b *lineBreaker) Lines(text string, maxWidth float32) (lines []string, widest float32) {
	text = strings.ReplaceAll(text, "\t", "    ")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	for _, para := range strings.Split(text, "\n") {
		for _, l := range b.breakParagraph([]rune(para), maxWidth) {
			lines = append(lines, string(l.runes))
			widest = max(widest, l.width)
		}
	}
	return lines, widest
}

type line struct {
	runes []rune
	width float32
}

func (b *lineBreaker) sum(rs []rune) float32 {
	var w float32
	for _, r := range rs {
		w += b.width(r)
	}
	return w
}

func (b *lineBreaker) breakParagraph(rs []rune, maxWidth float32) []line {
	if len(rs) == 0 {
		return []line{{}}
	}
	var (
		out   []line
		start int
		w     float32
	)
	for i := 0; i < len(rs); i++ {
		rw := b.width(rs[i])
		if w+rw <= maxWidth || i == start {
			w += rw
			continue
		}
		brk, hang := b.breakBefore(rs, start, i)
		if hang {
			// The punctuation stays on this line, past the edge.
			i++
			brk = i
		}
		end := brk
		for end > start && rs[end-1] == ' ' {
			end-- // trailing spaces are invisible: don't count them
		}
		out = append(out, line{runes: rs[start:end], width: b.sum(rs[start:end])})
		start = brk
		for start < len(rs) && rs[start] == ' ' && start < i {
			start++ // a line does not start with the space it broke at
		}
		w = b.sum(rs[start:i])
		i-- // the character at i is considered again on the new line
	}
	if start < len(rs) {
		out = append(out, line{runes: rs[start:], width: b.sum(rs[start:])})
	}
	return out
}

// breakBefore chooses where a line that overflows at i ends: after the
// last space for a Latin word, else before i, moved back while the rules
// forbid the break. hang reports that the character at i should hang.
func (b *lineBreaker) breakBefore(rs []rune, start, i int) (brk int, hang bool) {
	brk = i
	if isWordRune(rs[i]) && i > start && isWordRune(rs[i-1]) {
		// Inside a Latin word or number: break where it begins (after a
		// space, CJK text or punctuation), unless it fills the line alone.
		for j := i - 1; j > start; j-- {
			if !isWordRune(rs[j]) {
				brk = j + 1
				break
			}
		}
	}
	for n := 0; n <= maxPullBack && brk > start+1; n++ {
		if !strings.ContainsRune(noLineStart, rs[brk]) && !strings.ContainsRune(noLineEnd, rs[brk-1]) &&
			!(isWordRune(rs[brk]) && isWordRune(rs[brk-1])) {
			return brk, false
		}
		brk--
	}
	if strings.ContainsRune(noLineStart, rs[i]) && strings.ContainsRune(hangable, rs[i]) {
		return i, true
	}
	return i, false // nothing better within reach: break where it overflows
}

// isWordRune is part of a Latin word or number, which is not broken.
func isWordRune(r rune) bool {
	if r >= 0x2E80 { // CJK and beyond: a break is allowed between any two
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("'’-_@/#&%+=*~", r)
}
