package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// toolsRec records what the working tools ask of the app.
type toolsRec struct {
	progress []protocol.ProgressRequest
	sent     []SendExtras
	bodies   []string
	lists    int
}

func withTools(m *Main, r *toolsRec, templates []protocol.Template) {
	m.actions.SetProgress = func(_ int64, req protocol.ProgressRequest, done func(error)) {
		r.progress = append(r.progress, req)
		done(nil)
	}
	m.actions.SendWith = func(_ int64, body string, x SendExtras) {
		r.bodies = append(r.bodies, body)
		r.sent = append(r.sent, x)
	}
	m.actions.Templates = TemplateAPI{List: func(done func([]protocol.Template, error)) {
		r.lists++
		done(templates, nil)
	}}
}

// The header shows the progress of the conversation in front, who set it
// and when; choosing another sets it, and next contact asks for a date.
func TestProgressHeader(t *testing.T) {
	m, in, clk, _, w := newMainForTest(t)
	r := &toolsRec{}
	withTools(m, r, nil)
	at := clk.t.Add(-time.Hour)
	by := int64(1)
	c := in.Conv(1).Conversation
	c.Progress, c.ProgressBy, c.ProgressAt = protocol.ProgressAwaiting, &by, &at
	m.Apply(in.Apply(&protocol.ConversationFrame{Conversation: c}))
	m.Apply(in.Apply(clientMsg(1, 1, "こんにちは")))
	if got := m.progress.sel.Selected; got != progressText(protocol.ProgressAwaiting) {
		t.Fatalf("header shows %q", got)
	}
	if !strings.Contains(m.progress.who.Text, T("msg.you", "you")) {
		t.Fatalf("who set it: %q", m.progress.who.Text)
	}
	if len(r.progress) != 0 {
		t.Fatal("showing a conversation's progress set it")
	}
	m.progress.sel.SetSelectedIndex(4) // 完了
	if len(r.progress) != 1 || r.progress[0].Progress != protocol.ProgressDone {
		t.Fatalf("set %+v", r.progress)
	}
	m.progress.sel.SetSelectedIndex(3) // 次回連絡予定: a date first
	if len(r.progress) != 1 || m.datePicker == nil || w.Canvas().Overlays().Top() == nil {
		t.Fatalf("next contact set without a date: %+v", r.progress)
	}
	m.datePicker.choose(time.Date(2026, 11, 22, 0, 0, 0, 0, time.Local)) // yesterday: refused here
	if len(r.progress) != 1 || m.datePicker.refused.Text == "" {
		t.Fatalf("a past date was taken, or silently refused: %+v", r.progress)
	}
	m.datePicker.choose(time.Date(2026, 12, 3, 0, 0, 0, 0, time.Local))
	if len(r.progress) != 2 || r.progress[1] != (protocol.ProgressRequest{Progress: protocol.ProgressNextContact, NextContact: "2026-12-03"}) {
		t.Fatalf("set %+v", r.progress)
	}
	if w.Canvas().Overlays().Top() != nil {
		t.Fatal("the date picker stayed open")
	}
}

// Ctrl+D puts the date into the reply at the cursor in Japanese form and
// has the reply set it; nothing is sent until the counselor sends.
func TestDateIntoReply(t *testing.T) {
	m, in, clk, _, w := newMainForTest(t)
	r := &toolsRec{}
	withTools(m, r, nil)
	m.Apply(in.Apply(clientMsg(1, 1, "いつ頃になりますか")))
	w.Canvas().Focus(m.compose)
	test.Type(m.compose, "ではにご連絡します。")
	m.compose.CursorColumn = 2 // after では
	m.compose.TypedShortcut(ctrlKey(fyne.KeyD))
	if m.datePicker == nil {
		t.Fatal("Ctrl+D opened no date picker")
	}
	m.datePicker.choose(time.Date(2026, 12, 3, 0, 0, 0, 0, time.Local))
	if m.compose.Text != "では12月3日（木）にご連絡します。" {
		t.Fatalf("reply box: %q", m.compose.Text)
	}
	if x := m.Staged(); x.Progress != protocol.ProgressNextContact || x.NextContact != "2026-12-03" {
		t.Fatalf("staged %+v", x)
	}
	if !m.stagedBox.Visible() || !strings.Contains(m.stagedL.Text, "12") {
		t.Fatalf("the reply box does not say what sending sets: %q", m.stagedL.Text)
	}
	if len(r.sent) != 0 {
		t.Fatal("sent before the counselor pressed send")
	}
	clk.t = clk.t.Add(inbox.ConfirmWindow + time.Second) // no "send now?" question
	m.compose.TypedShortcut(ctrlEnter())
	if len(r.sent) != 1 || r.sent[0].NextContact != "2026-12-03" || r.bodies[0] != "では12月3日（木）にご連絡します。" {
		t.Fatalf("sent %+v %q", r.sent, r.bodies)
	}
	if m.Staged() != (SendExtras{}) || m.stagedBox.Visible() {
		t.Fatal("what was sent stays staged for the next reply")
	}
}

// Ctrl+T opens the canned replies, most used first as the server orders
// them; typing searches titles; Enter inserts the highlighted one, filled
// in for this client, for editing; the template's progress goes with the
// reply when it is sent, and only then.
func TestTemplateIntoReply(t *testing.T) {
	m, in, clk, _, w := newMainForTest(t)
	r := &toolsRec{}
	templates := []protocol.Template{
		{ID: 7, Scope: protocol.ScopeOrg, Title: "お待ちください", Body: "{nickname}さん、{counselor}です。受付は{hours}です。", Progress: protocol.ProgressAwaiting, Uses: 9},
		{ID: 8, Scope: protocol.ScopePersonal, Title: "締めのあいさつ", Body: "{nickname}さん、ありがとうございました。", Progress: protocol.ProgressDone, Uses: 2},
		{ID: 9, Scope: protocol.ScopeOrg, Title: "次回の連絡", Body: "{next_contact}にご連絡します。"},
	}
	withTools(m, r, templates)
	org := protocol.Org{Settings: protocol.Settings{Hours: hours.Schedule{TimeZone: "Asia/Tokyo"}}}
	for d := time.Monday; d <= time.Friday; d++ {
		org.Settings.Hours.Spans = append(org.Settings.Hours.Spans, hours.Span{Day: d, Start: 9 * 60, End: 17 * 60})
	}
	m.Apply(in.Apply(&protocol.SettingsFrame{Org: org}))
	m.SetMe(protocol.Account{ID: 1, Role: protocol.RoleCounselor, Nickname: "田中", DisplayName: "みどり"})
	m.Apply(in.Apply(clientMsg(1, 1, "相談があります")))
	w.Canvas().Focus(m.compose)
	m.compose.TypedShortcut(ctrlKey(fyne.KeyT))
	p := m.picker
	if p == nil || r.lists != 1 || len(p.shown) != 3 || p.shown[0].ID != 7 {
		t.Fatalf("picker: %+v", p)
	}
	test.Type(p.search, "締め")
	if len(p.shown) != 1 || p.shown[0].ID != 8 {
		t.Fatalf("search kept %+v", p.shown)
	}
	p.search.SetText("")
	if len(p.shown) != 3 || !p.edit.Disabled() {
		t.Fatal("the organisation's template is editable from the reply box")
	}
	p.search.OnSubmitted(p.search.Text) // Enter: the highlighted, most used one
	want := "さくらさん、みどりです。受付は" + T("day.mon", "Mon") + "〜" + T("day.fri", "Fri") + " 9:00〜17:00です。"
	if m.compose.Text != want {
		t.Fatalf("reply box %q, want %q", m.compose.Text, want)
	}
	if x := m.Staged(); x.Progress != protocol.ProgressAwaiting || x.TemplateID != 7 {
		t.Fatalf("staged %+v", x)
	}
	if len(r.sent) != 0 {
		t.Fatal("a template was sent by itself")
	}
	// Edited, then sent: the text as edited, the template's progress with it.
	test.Type(m.compose, "ごゆっくりどうぞ。")
	clk.t = clk.t.Add(inbox.ConfirmWindow + time.Second)
	m.send()
	if len(r.sent) != 1 || r.sent[0] != (SendExtras{Progress: protocol.ProgressAwaiting, TemplateID: 7}) || !strings.HasSuffix(r.bodies[0], "ごゆっくりどうぞ。") {
		t.Fatalf("sent %+v %q", r.sent, r.bodies)
	}
	// A date chosen for the reply is kept when a template follows, and
	// fills the template's date.
	m.pickDate()
	m.datePicker.choose(time.Date(2026, 12, 3, 0, 0, 0, 0, time.Local))
	m.setCompose("")
	m.pickTemplate()
	m.picker.search.SetText("次回")
	m.picker.insertCurrent()
	if m.compose.Text != "12月3日（木）にご連絡します。" {
		t.Fatalf("reply box %q", m.compose.Text)
	}
	if x := m.Staged(); x.Progress != protocol.ProgressNextContact || x.NextContact != "2026-12-03" || x.TemplateID != 9 {
		t.Fatalf("staged %+v", x)
	}
	// Another conversation in front: what was staged does not follow, and
	// waits with its draft until さくら is back in front.
	staged := m.Staged()
	m.pick(2)
	if m.Staged() != (SendExtras{}) || m.stagedBox.Visible() {
		t.Fatalf("staged extras followed to another conversation: %+v", m.Staged())
	}
	m.pick(1)
	if m.Staged() != staged {
		t.Fatalf("back to さくら: staged %+v, want %+v", m.Staged(), staged)
	}
}

// Rows carry their markers as icon and word; an overdue contact comes
// first and the top bar reminds of it.
func TestRowsShowDueContacts(t *testing.T) {
	m, in, clk, _, _ := newMainForTest(t)
	var reminders [][2]int
	unhandled := -1
	m.actions.Remind = func(overdue, today int) { reminders = append(reminders, [2]int{overdue, today}) }
	m.actions.Unread = func(int) {}
	m.actions.Unhandled = func(n int) { unhandled = n }
	// Both arrive before the screen is drawn (as in a welcome).
	c := in.Conv(3).Conversation
	c.Progress, c.NextContact = protocol.ProgressNextContact, "2026-11-20"
	in.Apply(&protocol.ConversationFrame{Conversation: c})
	c = in.Conv(2).Conversation
	c.Progress, c.NextContact = protocol.ProgressNextContact, "2026-11-23"
	in.Apply(&protocol.ConversationFrame{Conversation: c})
	m.Apply(inbox.Effect{All: true})
	if m.list.shown[0].ID != 3 || m.list.shown[1].ID != 2 {
		t.Fatalf("order %d, %d: overdue, then today, first", m.list.shown[0].ID, m.list.shown[1].ID)
	}
	row := listRow(t, m, "そら")
	if !row.due.box.Visible() || row.due.label.Text != T("progress.overdue", "Overdue") || !strings.Contains(row.state.Text, "11") {
		t.Fatalf("overdue row: %q / %q", row.due.label.Text, row.state.Text)
	}
	if row := listRow(t, m, "ひなた"); row.due.label.Text != T("progress.today", "Contact today") {
		t.Fatalf("today's row: %q", row.due.label.Text)
	}
	if !m.due.box.Visible() || !strings.Contains(m.due.label.Text, "1") {
		t.Fatalf("no reminder: %q", m.due.label.Text)
	}
	// One reminder on the day, however many changes follow; another the
	// next day (the promise of the 23rd is then overdue too).
	m.Apply(in.Apply(clientMsg(1, 1, "こんにちは")))
	if len(reminders) != 1 || reminders[0] != [2]int{1, 1} {
		t.Fatalf("reminders %v", reminders)
	}
	waitingSince := clk.t
	c = in.Conv(1).Conversation
	c.Status, c.WaitingSince = protocol.StatusWaiting, &waitingSince
	m.Apply(in.Apply(&protocol.ConversationFrame{Conversation: c}))
	if unhandled != 1 {
		t.Fatalf("the tray hears %d conversations not answered, want 1", unhandled)
	}
	clk.t = clk.t.Add(24 * time.Hour)
	m.Tick()
	if len(reminders) != 2 || reminders[1] != [2]int{2, 0} {
		t.Fatalf("reminders %v", reminders)
	}
	// The filter keeps the due ones.
	m.list.filter.SetSelectedIndex(3)
	if len(m.list.shown) != 2 {
		t.Fatalf("due filter shows %d", len(m.list.shown))
	}
}

func TestHoursText(t *testing.T) {
	tests := []struct {
		name  string
		spans []hours.Span
		want  string
	}{
		{"always", nil, T("hours.always", "around the clock")},
		{"weekdays", []hours.Span{{Day: 1, Start: 540, End: 1020}, {Day: 2, Start: 540, End: 1020}, {Day: 3, Start: 540, End: 1020}},
			T("day.mon", "Mon") + "〜" + T("day.wed", "Wed") + " 9:00〜17:00"},
		{"two kinds", []hours.Span{{Day: 1, Start: 540, End: 1020}, {Day: 6, Start: 600, End: 720}},
			T("day.mon", "Mon") + " 9:00〜17:00、" + T("day.sat", "Sat") + " 10:00〜12:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hoursText(hours.Schedule{Spans: tt.spans}); got != tt.want {
				t.Errorf("%q, want %q", got, tt.want)
			}
		})
	}
}

// A right click on a client's message offers 決定: the reply box gets the
// sentence quoting its number, and the reply records the decision and
// sets 完了 when sent; the header lists the decisions.
func TestDecideFromHistory(t *testing.T) {
	m, in, clk, _, _ := newMainForTest(t)
	r := &toolsRec{}
	withTools(m, r, nil)
	m.Apply(in.Apply(clientMsg(1, 1, "Aの案でお願いします")))
	var row *rowView
	for _, o := range test.LaidOutObjects(m.history) {
		if rv, ok := o.(*rowView); ok && rv.key.kind == rowClient {
			row = rv
		}
	}
	if row == nil {
		t.Fatal("no client row drawn")
	}
	items := row.decideItems()
	if len(items) != 1 || !strings.Contains(items[0].Label, "#1") {
		t.Fatalf("menu %+v", items)
	}
	items[0].Action()
	if m.compose.Text != "#1 の内容で決定しました。" {
		t.Fatalf("reply box %q", m.compose.Text)
	}
	if x := m.Staged(); x.Decides != 1 || x.Progress != protocol.ProgressDone {
		t.Fatalf("staged %+v", x)
	}
	clk.t = clk.t.Add(inbox.ConfirmWindow + time.Second)
	m.send()
	if len(r.sent) != 1 || r.sent[0].Decides != 1 || r.sent[0].Progress != protocol.ProgressDone {
		t.Fatalf("sent %+v", r.sent)
	}
	// The decision comes back with the conversation.
	c := in.Conv(1).Conversation
	c.Decisions = []protocol.Decision{{Seq: 1, ReplySeq: 2, By: 1, At: clk.t}}
	m.Apply(in.Apply(&protocol.ConversationFrame{Conversation: c}))
	if !strings.Contains(m.progress.who.Text, "#1") || !strings.Contains(m.progress.who.Text, "「Aの案でお願いします」") {
		t.Fatalf("header %q", m.progress.who.Text)
	}
	// Staff rows offer no 決定; the meta line shows the number.
	if !strings.HasPrefix(m.metaLine(&m.history.rows[len(m.history.rows)-1]), "#") {
		t.Fatalf("meta %q", m.metaLine(&m.history.rows[len(m.history.rows)-1]))
	}
}

// The note about the client: its beginning on the header's button, the
// editor says it is for colleagues and holds no personal data, a refusal
// keeps the text and says why.
func TestClientNoteEditor(t *testing.T) {
	m, in, clk, _, w := newMainForTest(t)
	var saved []string
	fail := error(nil)
	m.actions.SetNote = func(clientID int64, req protocol.NoteRequest, done func(error)) {
		if clientID != 11 || req.Expect == nil || !strings.HasPrefix(*req.Expect, "睡眠の話が中心") {
			t.Errorf("note for client %d from %v, want 11 from the note as found", clientID, req.Expect)
		}
		if fail == nil {
			saved = append(saved, req.Note)
		}
		done(fail)
	}
	at := clk.t.Add(-time.Hour)
	by := int64(1)
	c := in.Conv(1).Conversation
	c.Note, c.NoteBy, c.NoteAt = "睡眠の話が中心。次は週末の過ごし方について聞いてみる。\n二行目", &by, &at
	in.Apply(&protocol.ConversationFrame{Conversation: c})
	m.Apply(in.Apply(clientMsg(1, 1, "こんばんは")))
	if !strings.Contains(m.noteBtn.Text, "睡眠の話が中心") || strings.Contains(m.noteBtn.Text, "二行目") {
		t.Fatalf("button %q", m.noteBtn.Text)
	}
	test.Tap(m.noteBtn)
	e := m.noteDlg
	if e == nil || w.Canvas().Overlays().Top() == nil || e.entry.Text != c.Note {
		t.Fatal("the note did not open")
	}
	fail = &protocol.Error{Code: protocol.CodeInvalid, Message: "note must be at most 2000 characters"}
	e.entry.SetText("新しいメモ")
	e.save()
	if e.errLabel.Text == "" || w.Canvas().Overlays().Top() == nil || e.entry.Text != "新しいメモ" {
		t.Fatal("a refusal closed the editor or lost the text")
	}
	fail = &protocol.Error{Code: protocol.CodeConflict, Message: "changed meanwhile"}
	e.save()
	if e.errLabel.Text != T("note.conflict", "A colleague changed this note meanwhile. Copy your text, then close and open the note again to see theirs.") {
		t.Fatalf("conflict shown as %q", e.errLabel.Text)
	}
	fail = nil
	e.save()
	if len(saved) != 1 || saved[0] != "新しいメモ" || w.Canvas().Overlays().Top() != nil {
		t.Fatalf("saved %q", saved)
	}
}

// Escape closes the note as it closes the app's other dialogs (seen in
// the guide's screenshots: it did not), but not once its text was
// changed: a stray key loses nothing written.
func TestNoteEscape(t *testing.T) {
	m, in, _, _, w := newMainForTest(t)
	m.actions.SetNote = func(int64, protocol.NoteRequest, func(error)) {}
	m.Apply(in.Apply(clientMsg(1, 1, "こんばんは")))
	press := func(e *noteEditor) {
		if f := w.Canvas().Focused(); f != nil {
			f.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
		} else if h := w.Canvas().OnTypedKey(); h != nil {
			h(&fyne.KeyEvent{Name: fyne.KeyEscape})
		}
	}
	test.Tap(m.noteBtn)
	press(m.noteDlg)
	if w.Canvas().Overlays().Top() != nil {
		t.Fatal("Escape left an unchanged note open")
	}
	test.Tap(m.noteBtn)
	e := m.noteDlg
	e.entry.SetText("週末の過ごし方について")
	press(e)
	if w.Canvas().Overlays().Top() == nil {
		t.Fatal("Escape threw away a changed note")
	}
	w.Canvas().Unfocus()
	press(e)
	if w.Canvas().Overlays().Top() == nil {
		t.Fatal("Escape (nothing focused) threw away a changed note")
	}
}

// A reply that looks like it holds personal data is flagged beside the
// box, and can still be sent: warn, never block.
func TestPersonalDataWarning(t *testing.T) {
	m, in, clk, rec, w := newMainForTest(t)
	m.Apply(in.Apply(clientMsg(1, 1, "こんにちは")))
	w.Canvas().Focus(m.compose)
	test.Type(m.compose, "折り返しは 03-1234-5678 まで")
	if !m.piiL.Visible() || !strings.Contains(m.piiL.Text, T("pii.phone", "a phone number")) {
		t.Fatalf("no warning: %q", m.piiL.Text)
	}
	clk.t = clk.t.Add(inbox.ConfirmWindow + time.Second)
	m.send()
	if len(rec.sent) != 1 {
		t.Fatal("the warning blocked the reply")
	}
	if m.piiL.Visible() {
		t.Fatal("the warning outlived the text")
	}
	test.Type(m.compose, "12月3日（木）にご連絡します")
	if m.piiL.Visible() {
		t.Fatalf("a date flagged as personal data: %q", m.piiL.Text)
	}
}
