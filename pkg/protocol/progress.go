package protocol

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Progress is where staff say a conversation stands in their work (進行
// ステータス), set by hand or with a reply. It is staff-only: a client is
// never told it (Conversation.ForClient). It is separate from Status,
// which the server derives from who spoke last.
type Progress string

// Progress values, in the order the apps offer them.
const (
	ProgressNew         Progress = "new"          // 新規: nobody has worked on it yet
	ProgressInProgress  Progress = "in_progress"  // 対応中
	ProgressAwaiting    Progress = "awaiting"     // 返答待ち: waiting for the client
	ProgressNextContact Progress = "next_contact" // 次回連絡予定: with NextContact
	ProgressDone        Progress = "done"         // 完了
	ProgressUnable      Progress = "unable"       // 対応できず
)

// Progresses lists every Progress value in the order apps offer them.
var Progresses = []Progress{ProgressNew, ProgressInProgress, ProgressAwaiting, ProgressNextContact, ProgressDone, ProgressUnable}

// Valid reports whether p is one of Progresses.
func (p Progress) Valid() bool {
	for _, v := range Progresses {
		if p == v {
			return true
		}
	}
	return false
}

// DateLayout is the wire form of a calendar date (next-contact dates):
// a day in the organisation's time zone, not an instant.
const DateLayout = "2006-01-02"

// ParseDate reads a calendar date "2026-12-03" (DateLayout), refusing
// anything else (times, other layouts, impossible days).
func ParseDate(s string) (time.Time, error) {
	d, err := time.Parse(DateLayout, s)
	if err != nil || d.Format(DateLayout) != s {
		return time.Time{}, Errorf(CodeInvalid, "a date must be written as YYYY-MM-DD")
	}
	return d, nil
}

// ProgressRequest sets a conversation's progress (PUT
// /conversations/{id}/progress). NextContact (DateLayout) is required
// with ProgressNextContact and refused with any other.
type ProgressRequest struct {
	Progress    Progress `json:"progress"`
	NextContact string   `json:"next_contact,omitempty"`
}

// Validate checks the shape of a progress change; whether the date is
// in the past is the server's to decide (it knows the time zone).
func (r ProgressRequest) Validate() error {
	if !r.Progress.Valid() {
		return Errorf(CodeInvalid, "unknown progress %q", truncate(string(r.Progress), 32))
	}
	if r.Progress == ProgressNextContact {
		if r.NextContact == "" {
			return Errorf(CodeInvalid, "next_contact progress needs a next_contact date")
		}
		if _, err := ParseDate(r.NextContact); err != nil {
			return err
		}
	} else if r.NextContact != "" {
		return Errorf(CodeInvalid, "a next_contact date goes only with the next_contact progress")
	}
	return nil
}

// ForClient is the conversation as its client is told of it: without
// what only staff see (progress, who set it, the next-contact date,
// decisions, the note, the risk marker).
func (c Conversation) ForClient() Conversation {
	c.Progress, c.ProgressBy, c.ProgressAt, c.NextContact, c.Decisions = "", nil, nil, "", nil
	c.Note, c.NoteBy, c.NoteAt = "", nil, nil
	c.RiskAt = nil
	c.GroupName = "" // staff's label (issue 16)
	return c
}

// NoteRequest replaces staff's note about a client (PUT
// /clients/{id}/note); "" clears it. Expect, when given, is the note as
// the editor found it: if a colleague changed it meanwhile, the change is
// refused (conflict) instead of overwriting their words.
type NoteRequest struct {
	Note   string  `json:"note"`
	Expect *string `json:"expect,omitempty"`
}

// MaxDecisions bounds a conversation's list of decisions.
const MaxDecisions = 100

// Template scopes: the organisation's (admins manage them) or one staff
// member's own.
const (
	ScopeOrg      = "org"
	ScopePersonal = "personal"
)

// Limits on canned replies.
const (
	MaxTemplateTitleRunes = 40
	MaxTemplateBodyRunes  = 2000
	MaxOrgTemplates       = 200 // per organisation
	MaxPersonalTemplates  = 100 // per staff member
)

// Template is a canned reply (定型文): inserted into the reply box for
// editing, never sent by itself. Body may hold Placeholders.
type Template struct {
	ID    int64  `json:"id"`
	Scope string `json:"scope"` // ScopeOrg or ScopePersonal (the caller's own)
	Title string `json:"title"`
	Body  string `json:"body"`
	// Progress, when set, is what sending a reply made from this
	// template sets the conversation's progress to.
	Progress Progress `json:"progress,omitempty"`
	// Uses is how often the caller has sent a reply made from it; lists
	// are ordered by it.
	Uses      int        `json:"uses"`
	LastUsed  *time.Time `json:"last_used,omitempty"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// TemplateRequest creates (POST /templates, with Scope) or replaces (PUT
// /templates/{id}, Scope ignored) a template.
type TemplateRequest struct {
	Scope    string   `json:"scope,omitempty"`
	Title    string   `json:"title"`
	Body     string   `json:"body"`
	Progress Progress `json:"progress,omitempty"`
}

// Placeholders are the words a template's body may hold in braces; the
// desktop app fills them in when it inserts the template.
var Placeholders = []string{"nickname", "counselor", "next_contact", "hours"}

// Validate checks a template's title, body and progress. The progress
// next_contact is refused: it needs a date, which the reply's date
// picker gives.
func (r TemplateRequest) Validate(creating bool) error {
	if creating && r.Scope != ScopeOrg && r.Scope != ScopePersonal {
		return Errorf(CodeInvalid, "scope must be %q or %q", ScopeOrg, ScopePersonal)
	}
	title := strings.TrimSpace(r.Title)
	if title == "" || !visible(title) {
		return Errorf(CodeInvalid, "a template needs a title")
	}
	if n := utf8.RuneCountInString(title); n > MaxTemplateTitleRunes {
		return Errorf(CodeInvalid, "title has %d characters; the limit is %d", n, MaxTemplateTitleRunes)
	}
	for _, c := range title {
		if unicode.IsControl(c) || bidiControl(c) {
			return Errorf(CodeInvalid, "title contains a control or text-direction character")
		}
	}
	if err := ValidateBody(r.Body); err != nil {
		return Errorf(CodeInvalid, "template text: %s", AsError(err).Message)
	}
	if n := utf8.RuneCountInString(r.Body); n > MaxTemplateBodyRunes {
		return Errorf(CodeInvalid, "template text has %d characters; the limit is %d", n, MaxTemplateBodyRunes)
	}
	if err := CheckPlaceholders(r.Body); err != nil {
		return err
	}
	if r.Progress != "" && (!r.Progress.Valid() || r.Progress == ProgressNextContact) {
		return Errorf(CodeInvalid, "a template may set any progress but next_contact (which needs a date), not %q", truncate(string(r.Progress), 32))
	}
	return nil
}

// CheckPlaceholders refuses a body with a placeholder-like word in
// braces ("{nickmane}") that is not one of Placeholders: a typo would
// otherwise reach a client as written. Other braces are plain text.
func CheckPlaceholders(body string) error {
	for _, name := range placeholderNames(body) {
		known := false
		for _, p := range Placeholders {
			known = known || p == name
		}
		if !known {
			return Errorf(CodeInvalid, "unknown placeholder {%s}; known: {%s}", truncate(name, 32), strings.Join(Placeholders, "}, {"))
		}
	}
	return nil
}

// placeholderNames returns the words of the form {lower_case} in s.
func placeholderNames(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return out
		}
		s = s[i+1:]
		j := strings.IndexByte(s, '}')
		if j < 0 {
			return out
		}
		word := s[:j]
		if word != "" && strings.IndexFunc(word, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r == '_') }) < 0 {
			out = append(out, word)
			s = s[j+1:]
		}
	}
}

// ExpandPlaceholders fills a template's placeholders from values (keyed
// by placeholder name); one without a value is left as written, for the
// counselor to see and edit before sending.
func ExpandPlaceholders(body string, values map[string]string) string {
	for _, p := range Placeholders {
		if v, ok := values[p]; ok && v != "" {
			body = strings.ReplaceAll(body, "{"+p+"}", v)
		}
	}
	return body
}

// JapaneseDate writes a calendar date the way a Japanese message names
// it: 12月3日（木）.
func JapaneseDate(d time.Time) string {
	return fmt.Sprintf("%d月%d日（%s）", int(d.Month()), d.Day(), japaneseWeekdays[d.Weekday()])
}

var japaneseWeekdays = [...]string{"日", "月", "火", "水", "木", "金", "土"}

// ContactDue says where the conversation's next-contact date stands on
// the day today (the organisation's date, as hours.Today gives it):
// overdue (passed), due (today), or neither (no date, or later).
func (c Conversation) ContactDue(today time.Time) (overdue, due bool) {
	if c.Progress != ProgressNextContact || c.NextContact == "" {
		return false, false
	}
	d, err := ParseDate(c.NextContact)
	if err != nil {
		return false, false
	}
	return d.Before(today), d.Equal(today)
}
