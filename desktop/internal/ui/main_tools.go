package ui

import (
	"strings"
	"time"

	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/pii"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// The main screen's working tools (issue 14): the progress in the
// header, canned replies and the next-contact date in the reply box.

// chooseProgress sets the progress the counselor chose in the header;
// next contact asks for its date first.
func (m *Main) chooseProgress(p protocol.Progress) {
	f := m.in.Focused()
	if f == nil || m.actions.SetProgress == nil {
		return
	}
	id := f.ID
	set := func(req protocol.ProgressRequest) {
		m.actions.SetProgress(id, req, func(err error) {
			if err != nil {
				ShowError(m.win, T("progress.failed", "Could not change the progress"), err)
			}
			// The server's answer comes as a conversation frame too;
			// until then (or after a refusal) show what is known.
			m.progress.show(m.in, m.in.Focused(), m.staff)
		})
	}
	if p != protocol.ProgressNextContact {
		set(protocol.ProgressRequest{Progress: p})
		return
	}
	dp := showDatePicker(m.win, m.in.Today(), func(d time.Time) {
		set(protocol.ProgressRequest{Progress: p, NextContact: d.Format(protocol.DateLayout)})
	})
	// Closed without a date: the header shows the progress as it is.
	dp.dlg.SetOnClosed(func() { m.progress.show(m.in, m.in.Focused(), m.staff) })
	m.datePicker = dp
}

// pickDate inserts a next-contact date into the reply, in the form a
// Japanese message writes it (「12月3日（木）」), and has the reply set it
// as the conversation's next contact when sent.
func (m *Main) pickDate() {
	f := m.in.Focused()
	if f == nil || m.compose.Disabled() {
		return
	}
	id := f.ID
	m.datePicker = showDatePicker(m.win, m.in.Today(), func(d time.Time) {
		if m.shown != id {
			return // another conversation came to the front meanwhile
		}
		m.insertText(protocol.JapaneseDate(d))
		m.stage(SendExtras{Progress: protocol.ProgressNextContact, NextContact: d.Format(protocol.DateLayout), TemplateID: m.staged.TemplateID, Decides: m.staged.Decides})
	})
}

// pickTemplate opens the canned replies; the one chosen goes into the
// reply box, filled in for the conversation in front, for editing.
func (m *Main) pickTemplate() {
	f := m.in.Focused()
	if f == nil || m.compose.Disabled() {
		return
	}
	id := f.ID
	api := m.actions.Templates
	list := api.List
	api.List = func(done func([]protocol.Template, error)) {
		if list == nil {
			done(nil, nil)
			return
		}
		list(func(ts []protocol.Template, err error) {
			if err == nil {
				m.templates = ts
			}
			done(ts, err)
		})
	}
	m.picker = showTemplatePicker(m.win, api, m.templates, func(t protocol.Template) {
		c := m.in.Conv(id)
		if c == nil || m.shown != id {
			return
		}
		next := m.staged.NextContact
		if next == "" && c.Progress() == protocol.ProgressNextContact {
			next = c.NextContact
		}
		m.insertText(expandTemplate(t.Body, c.Nickname, m.in.Me(), next, m.in.Org()))
		x := SendExtras{Progress: m.staged.Progress, NextContact: m.staged.NextContact, TemplateID: t.ID, Decides: m.staged.Decides}
		// A date chosen for this reply is a promise: a template's
		// progress does not replace it.
		if x.Progress != protocol.ProgressNextContact && t.Progress != "" {
			x.Progress = t.Progress
		}
		m.stage(x)
	})
}

// insertText puts text into the reply box at the cursor and leaves the
// cursor after it; the box keeps the keyboard.
func (m *Main) insertText(text string) {
	insertAtCursor(&m.compose.Entry, text) // OnChanged keeps the draft
	if c := m.win.Canvas(); c != nil {
		c.Focus(m.compose)
	}
}

// insertAtCursor puts text into an entry at its cursor and moves the
// cursor after it.
func insertAtCursor(e *widget.Entry, text string) {
	lines := strings.Split(e.Text, "\n")
	row := min(max(e.CursorRow, 0), len(lines)-1)
	line := []rune(lines[row])
	col := min(max(e.CursorColumn, 0), len(line))
	lines[row] = string(line[:col]) + text + string(line[col:])
	e.SetText(strings.Join(lines, "\n"))
	ins := strings.Split(text, "\n")
	e.CursorRow = row + len(ins) - 1
	if len(ins) == 1 {
		e.CursorColumn = col + len([]rune(text))
	} else {
		e.CursorColumn = len([]rune(ins[len(ins)-1]))
	}
	e.Refresh()
}

// stage records what the reply will set when sent, and says so beside
// the reply box (with a button to drop it).
func (m *Main) stage(x SendExtras) {
	m.staged = x
	var text string
	switch {
	case x.Decides != 0:
		text = T("compose.setsDecision", "Sending records #{{.N}} as decided and sets the progress: {{.Progress}}", map[string]any{"N": x.Decides, "Progress": progressText(x.Progress)})
	case x.Progress == protocol.ProgressNextContact:
		text = T("compose.setsDate", "Sending sets the next contact: {{.Date}}", map[string]any{"Date": dateText(x.NextContact)})
	case x.Progress != "":
		text = T("compose.sets", "Sending sets the progress: {{.Progress}}", map[string]any{"Progress": progressText(x.Progress)})
	}
	if text == "" {
		m.stagedBox.Hide()
		return
	}
	setText(m.stagedL, text)
	m.stagedBox.Show()
}

// Staged is what the reply in the box will set when sent.
func (m *Main) Staged() SendExtras { return m.staged }

// showDue reminds of promised contacts: overdue ones and today's.
func (m *Main) showDue() {
	overdue, today := m.in.DueCounts()
	var parts []string
	if overdue > 0 {
		parts = append(parts, T("due.overdue", "{{.Count}} overdue contacts", map[string]any{"Count": overdue}))
	}
	if today > 0 {
		parts = append(parts, T("due.today", "{{.Count}} to contact today", map[string]any{"Count": today}))
	}
	m.due.set(strings.Join(parts, " · "))
	// On the day: one notification, the first time the desk sees it.
	if day := m.in.Today(); (overdue > 0 || today > 0) && !day.Equal(m.reminded) && m.actions.Remind != nil {
		m.reminded = day
		m.actions.Remind(overdue, today)
	}
}

// checkPII warns, beside the reply box, when the reply looks like it
// holds personal data (a phone number, an address…): the counselor may
// send it all the same.
func (m *Main) checkPII(text string) {
	kinds := pii.Find(text)
	if len(kinds) == 0 {
		if m.piiL.Visible() {
			m.piiL.Hide()
		}
		return
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = piiName(k)
	}
	setText(m.piiL, T("pii.warn", "Looks like personal data: {{.Kinds}}. Check before sending.", map[string]any{"Kinds": strings.Join(names, T("pii.sep", ", "))}))
	if !m.piiL.Visible() {
		m.piiL.Show()
	}
}

// piiName names a kind of personal data.
func piiName(k pii.Kind) string {
	switch k {
	case pii.Phone:
		return T("pii.phone", "a phone number")
	case pii.Postal:
		return T("pii.postal", "a postal code")
	case pii.Address:
		return T("pii.address", "an address")
	case pii.Email:
		return T("pii.email", "an e-mail address")
	case pii.Name:
		return T("pii.name", "a full name")
	}
	return string(k)
}
