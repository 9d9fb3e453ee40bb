package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// auditTab lists the organisation's audit log and lets an admin read any
// conversation as a supervisor: read-only, and recorded in the log.
func (a *Admin) auditTab() fyne.CanvasObject {
	a.auditList = widget.NewList(
		func() int { return len(a.audit) },
		func() fyne.CanvasObject { return widget.NewLabel("2026-01-01 00:00 · admin · action · #0") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(a.audit) {
				o.(*widget.Label).SetText(auditLine(a.audit[i]))
			}
		})
	older := widget.NewButton(T("audit.older", "Older entries"), func() { a.loadAudit(true) })
	reload := widget.NewButton(T("audit.reload", "Reload"), func() { a.loadAudit(false) })
	a.superviseSel = widget.NewSelect(nil, nil)
	a.superviseSel.PlaceHolder = T("audit.pickConversation", "Choose a conversation")
	read := widget.NewButton(T("audit.supervise", "Read (recorded)"), func() {
		if i := a.superviseSel.SelectedIndex(); i >= 0 && i < len(a.superviseConvs) {
			a.Supervise(a.superviseConvs[i])
		}
	})
	hint := widget.NewLabel(T("audit.hint", "Who did what and when. Message text is never recorded; clients appear by number. Reading a conversation here is recorded too."))
	hint.Wrapping = fyne.TextWrapWord
	hint.Importance = widget.LowImportance
	top := container.NewVBox(hint,
		container.NewBorder(nil, nil, widget.NewLabel(T("audit.supervisor", "Supervisor's view")), read, a.superviseSel),
		container.NewHBox(reload, older))
	return container.NewBorder(top, nil, nil, nil, a.auditList)
}

func auditLine(e protocol.AuditEntry) string {
	who := T("audit.operator", "operator")
	if e.ActorRole != protocol.ActorOperator {
		who = fmt.Sprintf("%s (#%d)", e.ActorName, derefID(e.ActorID))
	}
	what := T("audit."+string(e.Action), string(e.Action))
	if e.TargetID != nil {
		what += fmt.Sprintf(" → %s #%d", T("role."+string(e.TargetRole), string(e.TargetRole)), *e.TargetID)
	}
	if e.Detail != "" && e.Action != protocol.AuditAccountCreated && e.Action != protocol.AuditAccountDeleted {
		what += " (" + e.Detail + ")"
	}
	return e.At.Local().Format("2006-01-02 15:04") + " · " + who + " · " + what
}

func derefID(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// loadAudit reads the newest page, or the next older one.
func (a *Admin) loadAudit(older bool) {
	var before int64
	if older && len(a.audit) > 0 {
		before = a.audit[len(a.audit)-1].ID
	}
	var (
		page  protocol.AuditPage
		convs []protocol.Conversation
	)
	a.call(func(ctx context.Context) error {
		var err error
		if page, err = a.api.AuditLog(ctx, before, 100); err != nil {
			return err
		}
		convs, err = a.api.Conversations(ctx)
		return err
	}, func() {
		if older {
			a.audit = append(a.audit, page.Entries...)
		} else {
			a.audit = page.Entries
		}
		a.auditList.Refresh()
		a.superviseConvs = convs
		names := make([]string, len(convs))
		for i, c := range convs {
			names[i] = fmt.Sprintf("%s (#%d)", c.Nickname, c.ClientID)
		}
		a.superviseSel.SetOptions(names)
	})
}

// Supervise opens a conversation read-only in a window of its own; the
// server records the opening before it answers.
func (a *Admin) Supervise(c protocol.Conversation) {
	var page protocol.MessagePage
	a.call(func(ctx context.Context) error {
		var err error
		page, err = a.api.Supervise(ctx, c.ID, 0, 500)
		return err
	}, func() {
		a.LastSupervised = page.Messages
		lines := container.NewVBox()
		for _, m := range page.Messages {
			who := c.Nickname
			if m.SenderRole != protocol.RoleClient {
				who = T("role."+string(m.SenderRole), string(m.SenderRole))
			}
			text := m.Body
			if m.Kind == protocol.KindClosedNotice {
				text = T("audit.closedNotice", "(automatic closed-hours notice)")
			}
			l := widget.NewLabel(m.CreatedAt.Local().Format("01/02 15:04") + " " + who + "\n" + text)
			l.Wrapping = fyne.TextWrapWord
			lines.Add(l)
		}
		if a.newWindow == nil {
			return // tests read LastSupervised
		}
		w := a.newWindow(T("audit.windowTitle", "Supervisor's view (read-only): {{.Name}}", map[string]any{"Name": c.Nickname}))
		note := widget.NewLabel(T("audit.readOnly", "Read-only. This opening is recorded in the audit log."))
		note.Importance = widget.WarningImportance
		w.SetContent(container.NewBorder(note, nil, nil, nil, container.NewVScroll(lines)))
		w.Resize(fyne.NewSize(560, 640))
		w.Show()
		a.loadAudit(false)
	})
}
