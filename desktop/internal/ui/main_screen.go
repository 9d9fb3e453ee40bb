package ui

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// Actions are what the main screen asks of the app behind it.
type Actions struct {
	// Send queues a reply in the outbox; it is delivered, now or after
	// reconnection, with its idempotency id.
	Send func(conversationID int64, body string)
	// Read reports the conversation in front as read up to seq.
	Read func(conversationID, seq int64)
	// Alert draws attention without showing text: a client wrote while
	// the counselor was busy or away.
	Alert func()
	// Unread hears the total of unread client messages after each redraw
	// (for the tray icon).
	Unread func(total int)
}

// Main is the counselor's window: the waiting queue on the left, one
// conversation in front, and the reply box.
type Main struct {
	in      *inbox.Inbox
	win     fyne.Window
	actions Actions

	status     *widget.Label
	avail      *widget.Label
	queue      *widget.List
	queued     []*inbox.Conv
	title      *widget.Label
	history    *fyne.Container
	scroll     *container.Scroll
	compose    *composeEntry
	sendBtn    *widget.Button
	content    fyne.CanvasObject
	work       fyne.CanvasObject // everything with client data
	lock       *fyne.Container   // shown instead of work outside access hours
	lockText   *widget.Label
	settling   bool // true while the screen itself sets the compose text
	shown      int64
	foreground bool
}

// NewMain builds the main screen over an inbox.
func NewMain(in *inbox.Inbox, win fyne.Window, actions Actions) *Main {
	m := &Main{in: in, win: win, actions: actions, foreground: true}
	m.buildUI()
	return m
}

// Content is the screen's root object.
func (m *Main) Content() fyne.CanvasObject { return m.content }

func (m *Main) buildUI() {
	m.status = widget.NewLabel(T("status.connecting", "Connecting…"))
	m.avail = widget.NewLabel("")
	m.title = widget.NewLabelWithStyle(T("main.nobody", "No conversation yet: clients write first."), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	m.history = container.NewVBox()
	m.scroll = container.NewVScroll(m.history)

	m.queue = widget.NewList(
		func() int { return len(m.queued) },
		func() fyne.CanvasObject { return widget.NewLabel("nickname · 00:00 · 0") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(m.queued) {
				o.(*widget.Label).SetText(m.queueLine(m.queued[i]))
			}
		})
	m.queue.OnSelected = func(i widget.ListItemID) {
		if i < len(m.queued) && m.in.Focus(m.queued[i].ID) {
			m.Refresh()
		}
	}

	m.compose = newComposeEntry(m.send)
	m.compose.SetPlaceHolder(T("compose.placeholder", "Write a reply. Enter starts a new line; Ctrl+Enter sends."))
	m.compose.OnChanged = func(s string) {
		if !m.settling {
			m.in.SetDraft(s)
		}
	}
	m.sendBtn = widget.NewButtonWithIcon(T("compose.send", "Send"), theme.MailSendIcon(), m.send)
	m.sendBtn.Importance = widget.HighImportance

	queueBox := container.NewBorder(widget.NewLabelWithStyle(T("queue.title", "Waiting"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		nil, nil, nil, m.queue)
	composeBox := container.NewBorder(nil, nil, nil, m.sendBtn, m.compose)
	convBox := container.NewBorder(m.title, composeBox, nil, nil, m.scroll)
	split := container.NewHSplit(queueBox, convBox)
	split.Offset = 0.25
	top := container.NewHBox(m.status, layout.NewSpacer(), m.avail)
	m.work = split
	m.lockText = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	m.lockText.Wrapping = fyne.TextWrapWord
	m.lock = container.NewCenter(container.NewVBox(widget.NewIcon(theme.VisibilityOffIcon()), m.lockText))
	m.lock.Hide()
	m.content = container.NewBorder(top, nil, nil, nil, container.NewStack(m.work, m.lock))
	m.Refresh()
}

// Lock hides every piece of client data behind a notice: the organisation
// opens client data to counselors only around business hours. The server
// refuses the data meanwhile; this keeps what the app already holds off
// the screen, drafts included.
func (m *Main) Lock(opens time.Time) {
	text := T("lock.outside", "Outside access hours: client data cannot be shown now.")
	if !opens.IsZero() {
		text += "\n" + T("lock.opens", "Available again from {{.At}}.", map[string]any{"At": opens.Local().Format("1/2 15:04")})
	}
	m.lockText.SetText(text)
	m.work.Hide()
	m.lock.Show()
}

// Unlock shows the conversations again.
func (m *Main) Unlock() {
	if m.lock.Visible() {
		m.lock.Hide()
		m.work.Show()
		m.Refresh()
	}
}

// Locked reports whether the lock notice is shown.
func (m *Main) Locked() bool { return m.lock.Visible() }

// Shortcuts registers the window's keyboard shortcuts: Ctrl+Down/Up walk
// the queue (Cmd on macOS).
func (m *Main) Shortcuts(c fyne.Canvas) {
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyDown, Modifier: fyne.KeyModifierShortcutDefault}, func(fyne.Shortcut) {
		if m.in.Step(1) {
			m.Refresh()
		}
	})
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyUp, Modifier: fyne.KeyModifierShortcutDefault}, func(fyne.Shortcut) {
		if m.in.Step(-1) {
			m.Refresh()
		}
	})
}

func (m *Main) queueLine(c *inbox.Conv) string {
	wait := m.in.Wait(c).Round(time.Minute)
	line := fmt.Sprintf("%s · %s", c.Nickname, T("queue.wait", "{{.Minutes}} min", map[string]any{"Minutes": int(wait.Minutes())}))
	if n := c.Unread(); n > 0 {
		line += " · " + T("queue.unread", "{{.Count}} unread", map[string]any{"Count": n})
	}
	if c.ID == m.in.FocusedID() {
		line = "▶ " + line
	}
	return line
}

// SetConnection shows whether the app is live.
func (m *Main) SetConnection(connected bool, retryIn time.Duration) {
	switch {
	case connected:
		m.status.SetText(T("status.online", "Online"))
	case retryIn > 0:
		m.status.SetText(T("status.offline", "Offline: reconnecting in {{.Seconds}} s; replies wait in the outbox",
			map[string]any{"Seconds": int(retryIn.Seconds() + 0.5)}))
	default:
		m.status.SetText(T("status.connecting", "Connecting…"))
	}
}

// SetForeground records whether the window has the user's attention.
func (m *Main) SetForeground(fg bool) { m.foreground = fg }

// Apply shows the effect of a change in the inbox.
func (m *Main) Apply(eff inbox.Effect) {
	// Alert when a client writes and either the counselor is busy writing
	// to someone else (the chime) or not looking at the window.
	if eff.Notify != 0 && (eff.Chime || !m.foreground) && m.actions.Alert != nil {
		m.actions.Alert()
	}
	if eff.Refused != nil {
		dialog.ShowError(fmt.Errorf("%s", refusalText(eff.Refused)), m.win)
	}
	if eff.Changed || eff.FocusChanged {
		m.Refresh()
	}
}

func refusalText(e *protocol.Error) string {
	switch e.Code {
	case protocol.CodeClientFirst:
		return T("refused.clientFirst", "Not sent: the client has not written yet, and this organisation lets clients speak first.")
	case protocol.CodeNotFound:
		return T("refused.gone", "Not sent: this conversation no longer exists.")
	}
	return T("refused.other", "Not sent: {{.Message}}", map[string]any{"Message": e.Message})
}

// Refresh redraws everything from the inbox.
func (m *Main) Refresh() {
	m.queued = m.in.Queue()
	m.queue.Refresh()
	if m.actions.Unread != nil {
		total := 0
		for _, c := range m.in.Conversations() {
			total += c.Unread()
		}
		m.actions.Unread(total)
	}
	m.avail.SetText(availabilityText(m.in.Org().Availability))

	f := m.in.Focused()
	if f == nil {
		m.title.SetText(T("main.nobody", "No conversation yet: clients write first."))
		m.history.RemoveAll()
		m.setCompose("")
		m.compose.Disable()
		m.sendBtn.Disable()
		m.sendBtn.SetText(T("compose.send", "Send"))
		m.shown = 0
		return
	}
	m.compose.Enable()
	m.sendBtn.Enable()
	// The button names the person: the last guard against a wrong reply.
	m.sendBtn.SetText(T("compose.sendTo", "Send to {{.Name}}", map[string]any{"Name": f.Nickname}))
	m.title.SetText(f.Nickname)
	if m.shown != f.ID {
		m.setCompose(f.Draft)
		m.shown = f.ID
	}
	m.history.RemoveAll()
	for _, msg := range f.Messages {
		m.history.Add(messageRow(msg))
	}
	for _, p := range f.Pending {
		m.history.Add(pendingRow(p.Body))
	}
	m.history.Refresh()
	m.scroll.ScrollToBottom()
	// Shown in front of a counselor who is looking: read.
	if n := len(f.Messages); n > 0 && m.foreground && m.actions.Read != nil && f.Messages[n-1].Seq > f.StaffReadSeq {
		m.actions.Read(f.ID, f.Messages[n-1].Seq)
	}
}

func (m *Main) setCompose(s string) {
	m.settling = true
	m.compose.SetText(s)
	m.settling = false
}

// send sends the reply box's text to the conversation in front, asking
// first if that conversation came to the front a moment ago.
func (m *Main) send() {
	f := m.in.Focused()
	text := m.compose.Text
	if f == nil || strings.TrimSpace(text) == "" {
		return
	}
	target := f.ID
	do := func() {
		m.actions.Send(target, text)
		if c := m.in.Conv(target); c != nil {
			c.Draft = ""
		}
		if cur := m.in.Focused(); cur != nil && cur.ID == target {
			m.setCompose("")
		}
		m.Refresh()
	}
	if m.in.NeedsConfirm() {
		dialog.ShowConfirm(T("confirm.title", "Send now?"),
			T("confirm.body", "The conversation changed a moment ago. Send this reply to {{.Name}}?", map[string]any{"Name": f.Nickname}),
			func(ok bool) {
				if ok {
					do()
				}
			}, m.win)
		return
	}
	do()
}

func availabilityText(a hours.Availability) string {
	at := func() string {
		if a.ReopensAt == nil {
			return ""
		}
		return a.ReopensAt.Local().Format("1/2 15:04")
	}
	switch a.State {
	case hours.StateClosed:
		return T("avail.closed", "Outside business hours · reopens {{.At}}", map[string]any{"At": at()})
	case hours.StatePaused:
		if a.ReopensAt != nil {
			return T("avail.pausedUntil", "Paused · reopens {{.At}}", map[string]any{"At": at()})
		}
		return T("avail.paused", "Paused")
	case hours.StateOpen:
		return T("avail.open", "Open")
	}
	return ""
}

func messageRow(m protocol.Message) fyne.CanvasObject {
	when := m.CreatedAt.Local().Format("15:04")
	if m.Kind == protocol.KindClosedNotice {
		txt := T("msg.closedNotice", "Automatic notice sent: closed now")
		if m.ReopensAt != nil {
			txt = T("msg.closedNoticeAt", "Automatic notice sent: replies from {{.At}}", map[string]any{"At": m.ReopensAt.Local().Format("1/2 15:04")})
		}
		l := widget.NewLabelWithStyle(when+"  "+txt, fyne.TextAlignCenter, fyne.TextStyle{Italic: true})
		l.Wrapping = fyne.TextWrapWord
		return l
	}
	body := widget.NewLabel(m.Body)
	body.Wrapping = fyne.TextWrapWord
	meta := widget.NewLabelWithStyle(when, fyne.TextAlignLeading, fyne.TextStyle{})
	meta.Importance = widget.LowImportance
	if m.SenderRole == protocol.RoleClient {
		return container.NewBorder(nil, nil, nil, meta, body)
	}
	// Staff replies sit on the right, like any chat.
	body.Alignment = fyne.TextAlignTrailing
	return container.NewBorder(nil, nil, meta, nil, body)
}

func pendingRow(text string) fyne.CanvasObject {
	body := widget.NewLabel(text)
	body.Wrapping = fyne.TextWrapWord
	body.Alignment = fyne.TextAlignTrailing
	body.Importance = widget.LowImportance
	meta := widget.NewLabel(T("msg.pending", "waiting to send"))
	meta.Importance = widget.LowImportance
	return container.NewBorder(nil, nil, meta, nil, body)
}

// composeEntry is a multi-line entry where Enter inserts a newline (input
// methods confirm conversions with Enter) and Ctrl+Enter or Cmd+Enter sends.
type composeEntry struct {
	widget.Entry
	onSend func()
}

func newComposeEntry(onSend func()) *composeEntry {
	e := &composeEntry{onSend: onSend}
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.ExtendBaseWidget(e)
	return e
}

// TypedShortcut sends on Ctrl/Cmd+Enter and leaves every other shortcut
// (copy, paste, select all…) to the entry.
func (e *composeEntry) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok && (cs.KeyName == fyne.KeyReturn || cs.KeyName == fyne.KeyEnter) &&
		cs.Modifier == fyne.KeyModifierShortcutDefault {
		e.onSend()
		return
	}
	e.Entry.TypedShortcut(s)
}
