package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// superviseLimit is how many of a conversation's newest messages the
// supervisor's view shows.
const superviseLimit = 500

// auditTab lists the organisation's audit log and lets an admin read any
// conversation as a supervisor: read-only, and recorded in the log.
type auditTab struct {
	env *adminEnv

	entries []protocol.AuditEntry
	more    bool
	list    *widget.List
	older   *widget.Button
	pick    *widget.Select
	convs   []protocol.Conversation
	read    *widget.Button
	staff   map[int64]string
	content fyne.CanvasObject
}

func newAuditTab(env *adminEnv) *auditTab {
	t := &auditTab{env: env}
	t.list = widget.NewList(
		func() int { return len(t.entries) },
		func() fyne.CanvasObject { return widget.NewLabel("2026-01-01 00:00 · admin · action · #0") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(t.entries) {
				o.(*widget.Label).SetText(auditLine(t.entries[i]))
			}
		})
	t.older = widget.NewButton(T("audit.older", "Older entries"), func() { t.Load(true) })
	reload := widget.NewButton(T("audit.reload", "Reload"), func() { t.Load(false) })
	t.pick = widget.NewSelect(nil, func(string) { t.read.Enable() })
	t.pick.PlaceHolder = T("audit.pickConversation", "Choose a conversation")
	t.read = widget.NewButton(T("audit.supervise", "Read (recorded)"), func() {
		if i := t.pick.SelectedIndex(); i >= 0 && i < len(t.convs) {
			t.Supervise(t.convs[i])
		}
	})
	t.read.Disable()
	hint := newJALabel(T("audit.hint", "Who did what and when. Message text is never recorded; clients appear by number. Reading a conversation here is recorded too."))
	hint.Importance = widget.LowImportance
	top := container.NewVBox(hint,
		container.NewBorder(nil, nil, widget.NewLabel(T("audit.supervisor", "Supervisor's view")), t.read, t.pick),
		container.NewHBox(reload, t.older))
	t.content = container.NewBorder(top, nil, nil, nil, t.list)
	return t
}

// auditLine says one entry in words: when, who, what to whom, and which
// fields or settings (never their values).
func auditLine(e protocol.AuditEntry) string {
	who := T("audit.operator", "operator (server command line)")
	switch {
	case e.ActorID == nil && e.ActorRole == string(protocol.RoleClient):
		who = T("audit.clientWords", "a client's message") // risk first: never named
	case e.ActorRole == protocol.ActorAPIKey:
		who = T("audit.byKey", "API key “{{.Name}}”", map[string]any{"Name": e.ActorName})
	case e.ActorRole == string(protocol.RoleSystem):
		who = T("audit.system", "automatic (after the end of access)")
	case e.ActorRole != protocol.ActorOperator:
		who = fmt.Sprintf("%s（%s #%d）", e.ActorName, T("role."+e.ActorRole, e.ActorRole), derefID(e.ActorID))
	}
	what := T("audit."+string(e.Action), englishName(string(e.Action)))
	if e.TargetID != nil {
		what += fmt.Sprintf(" → %s #%d", T("role."+string(e.TargetRole), string(e.TargetRole)), *e.TargetID)
	}
	if e.Detail != "" && e.Action != protocol.AuditAccountCreated && e.Action != protocol.AuditAccountDeleted {
		var parts []string
		for _, d := range strings.Split(e.Detail, ",") {
			d = strings.TrimSpace(d)
			parts = append(parts, T("audit.detail."+d, englishName(d)))
		}
		what += "（" + strings.Join(parts, "、") + "）"
	}
	return e.At.Local().Format("2006-01-02 15:04") + " · " + who + " · " + what
}

// englishName turns an internal name (a new setting the translations do
// not know yet) into words: "counselor_hours_only" → "counselor hours only".
func englishName(s string) string { return strings.ReplaceAll(s, "_", " ") }

func derefID(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// Load reads the newest page, or the next older one, and the
// conversations a supervisor may open.
func (t *auditTab) Load(older bool) {
	var before int64
	if older && len(t.entries) > 0 {
		before = t.entries[len(t.entries)-1].ID
	}
	var (
		page  protocol.AuditPage
		convs []protocol.Conversation
		staff []protocol.Account
	)
	t.env.call(T("audit.loadFailed", "Could not load the audit log"), func(ctx context.Context) error {
		var err error
		if page, err = t.env.api.AuditLog(ctx, before, 100); err != nil {
			return err
		}
		if convs, err = t.env.api.Conversations(ctx); err != nil {
			return err
		}
		staff, err = t.env.api.Staff(ctx)
		return err
	}, func() {
		if older {
			t.entries = append(t.entries, page.Entries...)
		} else {
			t.entries = page.Entries
		}
		t.more = page.More
		if t.more {
			t.older.Enable()
		} else {
			t.older.Disable()
		}
		t.list.Refresh()
		t.staff = map[int64]string{}
		for _, s := range staff {
			t.staff[s.ID] = s.Nickname
		}
		t.convs = Superviseable(convs)
		convs := t.convs
		names := make([]string, len(convs))
		for i, c := range convs {
			names[i] = fmt.Sprintf("%s (#%d)", c.Nickname, c.ClientID)
		}
		t.pick.SetOptions(names)
	})
}

// Supervise opens a conversation read-only in a window of its own (the
// session's: it closes when the session ends); the server records the
// opening before it answers.
func (t *auditTab) Supervise(c protocol.Conversation) {
	var page protocol.MessagePage
	t.env.call(T("audit.superviseFailed", "Could not open the conversation"), func(ctx context.Context) error {
		var err error
		page, err = t.env.api.Supervise(ctx, c.ID, 0, superviseLimit)
		return err
	}, func() {
		w := t.env.newWindow(T("audit.windowTitle", "Supervisor's view (read-only): {{.Name}}", map[string]any{"Name": c.Nickname}))
		w.SetContent(newSuperviseView(c, page, t.staff).content)
		w.Resize(fyne.NewSize(640, 720))
		w.Show()
		t.Load(false)
	})
}

// superviseView is a conversation as a supervisor reads it: the same
// history as the counselor's, with no reply box.
type superviseView struct {
	history *historyView
	content fyne.CanvasObject
}

func newSuperviseView(c protocol.Conversation, page protocol.MessagePage, staff map[int64]string) *superviseView {
	v := &superviseView{history: newHistoryView()}
	conv := &inbox.Conv{Conversation: c, Messages: page.Messages}
	v.history.meta = func(r *histRow) string {
		when := r.msg.CreatedAt.Local().Format("01/02 15:04")
		if r.key.kind == rowClient {
			return when + " · " + c.Nickname
		}
		who := staff[r.msg.SenderID]
		if who == "" {
			who = T("role."+string(r.msg.SenderRole), string(r.msg.SenderRole))
		}
		return when + " · " + who
	}
	v.history.headText = func() string {
		if page.NextBefore != 0 {
			return T("audit.limited", "Only the newest {{.Count}} messages are shown.", map[string]any{"Count": superviseLimit})
		}
		return T("history.start", "The conversation begins here.")
	}
	v.history.Sync(conv)
	note := widget.NewLabel(T("audit.readOnly", "Read-only. This opening is recorded in the audit log."))
	note.Importance = widget.WarningImportance
	v.content = container.NewBorder(note, nil, nil, nil, v.history)
	return v
}

// Superviseable are the conversations a supervisor can read, by
// nickname: those that hold messages (an empty one opened to "the
// conversation starts here" and nothing else, as the guide's screenshot
// found), in an order a person can search by eye among hundreds.
func Superviseable(convs []protocol.Conversation) []protocol.Conversation {
	out := make([]protocol.Conversation, 0, len(convs))
	for _, c := range convs {
		if c.LastSeq > 0 && c.LastSeq >= c.FirstSeq {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b protocol.Conversation) int { return strings.Compare(a.Nickname, b.Nickname) })
	return out
}
