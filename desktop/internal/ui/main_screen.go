package ui

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// Actions are what the main screen asks of the app behind it. Each runs
// on the UI goroutine and must not block: network and disk work go to
// goroutines of the app's own.
type Actions struct {
	// Send queues a reply in the outbox; it is delivered, now or after
	// reconnection, with its idempotency id.
	Send func(conversationID int64, body string)
	// Read reports the conversation in front as read up to seq.
	Read func(conversationID, seq int64)
	// Alert draws attention without showing text: a client wrote while
	// the counselor was busy or away (once per burst).
	Alert func()
	// Unread hears the total of unread client messages after each change
	// (for the tray).
	Unread func(total int)
	// Older asks for the messages before seq `before` of a conversation;
	// the app answers with OlderLoaded.
	Older func(conversationID, before int64)
	// Draft hears the reply box's text of a conversation as it changes,
	// to keep it across restarts.
	Draft func(conversationID int64, text string)
	// Typing says the counselor is writing in a conversation (the app
	// tells the other side, at most every protocol.TypingEvery).
	Typing func(conversationID int64)
	// SendWith is Send for a reply that also sets the conversation's
	// progress or was made from a template (issue 14); nil: Send.
	SendWith func(conversationID int64, body string, x SendExtras)
	// SetProgress changes a conversation's progress by hand; done runs
	// on the UI goroutine.
	SetProgress func(conversationID int64, req protocol.ProgressRequest, done func(error))
	// Templates lists and edits canned replies.
	Templates TemplateAPI
	// Unhandled hears how many conversations have a client message with
	// no reply after it (for the tray), after each change.
	Unhandled func(total int)
	// Remind tells the counselor of promised contacts due today or
	// overdue: once a day, when there are any.
	Remind func(overdue, today int)
	// Files are attachments: thumbnails, the viewer, saving a copy,
	// sending one (issue 14); nil: files show as text only.
	Files FileAPI
	// SetNote replaces staff's note about a client; done runs on the UI
	// goroutine.
	SetNote func(clientID int64, req protocol.NoteRequest, done func(error))
	// Claim takes a conversation from the pool (担当する); the app
	// answers with Claimed.
	Claim func(conversationID int64)
	// Preview reads what a pool conversation shows before it is taken
	// (the server records each reading); the app answers with
	// PreviewLoaded.
	Preview func(conversationID int64)
	// AlertRisk draws attention, without names or text, to a
	// conversation raised by a crisis phrase (risk first).
	AlertRisk func()
	// AlertPool draws attention, without names or text, to a
	// conversation that came into the pool (once per burst).
	AlertPool func()
	// Note queues a staff-only note in the outbox (never sent to the
	// client).
	Note func(conversationID int64, body string)
	// Transfer hands a conversation to a colleague (to), or back to the
	// pool (nil), with a note; the app answers with Transferred.
	Transfer func(conversationID int64, to *int64, note string)
	// End ends a conversation (対応終了); the app answers with Ended.
	End func(conversationID int64)
	// SetPresence sets the staff member's presence (受付中, 離席,
	// 受付停止); the app answers with SetMe.
	SetPresence func(p protocol.Presence)
	// Nominations sets the switch 指名を受け付ける (either answer settles
	// a lapsed one); the app answers with SetMe.
	Nominations func(on bool)
}

// presences are the choices of the presence menu, in its order.
var presences = []protocol.Presence{protocol.PresenceAvailable, protocol.PresenceAway, protocol.PresenceStopped}

func presenceText(p protocol.Presence) string {
	switch p {
	case protocol.PresenceAway:
		return T("presence.away", "Away")
	case protocol.PresenceStopped:
		return T("presence.stopped", "Not taking conversations")
	}
	return T("presence.available", "Taking conversations")
}

// SendExtras are what a reply carries besides its text: the progress it
// sets (with the date it promises) and the template it came from.
type SendExtras struct {
	Progress    protocol.Progress
	NextContact string
	TemplateID  int64
	Decides     int64 // the client's message the reply confirms as decided (決定)
}

// BurstQuiet is how long clients must stay silent before another OS
// notification: one per burst of messages, not one per message.
const BurstQuiet = time.Minute

// Main is the counselor's window: every conversation on the left, one in
// front, and the reply box. It draws the inbox; the inbox decides.
type Main struct {
	in      *inbox.Inbox
	win     fyne.Window
	actions Actions

	status   *widget.Label
	avail    *widget.Label
	list     *convList
	title    *widget.Label
	subtitle *widget.Label
	banner   *fyne.Container
	bannerL  *jaLabel
	bannerB  *widget.Button
	claimBtn *widget.Button
	handBtn  *widget.Button // 引き継ぐ…
	endBtn   *widget.Button // 対応終了
	presence *widget.Select // 受付中 / 離席 / 受付停止
	team     *widget.Label  // how many colleagues take conversations now
	noteMode *widget.Check  // the reply box writes a staff-only note
	history  *historyView
	compose  *composeEntry
	sendBtn  *widget.Button
	convBox  *fyne.Container
	content  fyne.CanvasObject
	work     fyne.CanvasObject // everything with client data
	lock     *fyne.Container   // shown instead of work outside access hours
	lockText *jaLabel
	// Issue 14: the conversation's progress, the reply's tools, what the
	// reply will set when sent, and the reminder of due contacts.
	progress  *progressBar
	tmplBtn   *widget.Button
	dateBtn   *widget.Button
	fileBtn   *widget.Button // sends a photo or PDF (issue 14)
	staged    SendExtras
	stagedBy  map[int64]SendExtras // what waiting replies of other conversations will set
	stagedBox *fyne.Container
	stagedL   *widget.Label
	due       *marker
	templates []protocol.Template // the last list fetched, shown at once next time
	reminded  time.Time           // the organisation's day the due contacts were last announced
	noteBtn   *widget.Button
	piiL      *widget.Label // warns of what looks like personal data in the reply
	noteDlg   *noteEditor
	// The dialogs open now, for tests to drive.
	datePicker *datePicker
	picker     *templatePicker

	settling   bool   // the screen itself sets the reply box's text
	composing  bool   // the cursor is in the reply box
	searching  bool   // the cursor is in the search box
	shown      int64  // the conversation the reply box belongs to
	arrived    int64  // the conversation the banner names
	bannerDo   func() // what the banner's button does
	foreground bool
	staff      map[int64]protocol.Account // staff by account, for "who wrote"
	// The pool: which previews were asked for, which conversation is
	// being taken, and when the last arrival was announced.
	previewAsked map[int64]bool
	// lapseTold: the signed-in staff member was told, this session, why
	// their 指名を受け付ける switch turned itself off.
	lapseTold bool
	claiming  int64
	lastPool  time.Time

	// Connection state, for the status line's countdown.
	connected bool
	retryAt   time.Time
	// Paging: which conversation is loading older messages, and which
	// could not (offline) until the next connection.
	loadingOlder int64
	olderFailed  map[int64]bool
	// Notifications: one per burst.
	lastArrival time.Time
	looked      bool
	readSent    map[int64]int64
	lastTick    time.Time
	unread      map[int64]int // unread counts by conversation, for the tray
}

// NewMain builds the main screen over an inbox.
func NewMain(in *inbox.Inbox, win fyne.Window, actions Actions) *Main {
	m := &Main{in: in, win: win, actions: actions, foreground: true, looked: true,
		olderFailed: map[int64]bool{}, readSent: map[int64]int64{}, stagedBy: map[int64]SendExtras{}, previewAsked: map[int64]bool{}}
	m.buildUI()
	return m
}

// Content is the screen's root object.
func (m *Main) Content() fyne.CanvasObject { return m.content }

func (m *Main) buildUI() {
	m.status = widget.NewLabel(T("status.connecting", "Connecting…"))
	m.status.Importance = widget.WarningImportance
	m.avail = widget.NewLabel("")
	m.title = widget.NewLabelWithStyle(T("main.nobody", "No conversation yet: clients write first."), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	m.title.SizeName = theme.SizeNameSubHeadingText
	m.subtitle = widget.NewLabel("")
	// A long state (risk, nomination) is cut with "…", never widening the
	// window past the screen.
	m.subtitle.Truncation = fyne.TextTruncateEllipsis
	m.subtitle.Importance = widget.LowImportance

	m.list = newConvList(m.in, m.pick)
	m.list.staffName = m.staffName

	m.history = newHistoryView()
	m.history.onOlder = m.needOlder
	m.history.meta = m.metaLine
	m.history.headText = m.headText
	m.history.onDecide = m.decide
	if m.actions.Files != nil {
		m.history.thumb = m.actions.Files.Thumb
		m.history.onOpen, m.history.onSave = m.openFile, m.saveFile
	}

	m.bannerL = newJALabel("")
	m.bannerB = widget.NewButtonWithIcon("", theme.NavigateNextIcon(), func() {
		if m.bannerDo != nil {
			m.bannerDo()
		}
	})
	m.claimBtn = widget.NewButtonWithIcon(T("pool.claim", "Take it"), theme.ConfirmIcon(), m.Claim)
	m.claimBtn.Importance = widget.HighImportance
	m.claimBtn.Hide()
	m.handBtn = widget.NewButtonWithIcon(T("handover.button", "Hand over…"), theme.MailForwardIcon(), m.ShowTransfer)
	m.handBtn.Hide()
	m.endBtn = widget.NewButtonWithIcon(T("end.button", "End"), theme.MediaStopIcon(), m.confirmEnd)
	m.endBtn.Hide()
	labels := make([]string, len(presences))
	for i, p := range presences {
		labels[i] = presenceText(p)
	}
	m.presence = widget.NewSelect(labels, func(string) {
		if i := m.presence.SelectedIndex(); i >= 0 && !m.settling && m.actions.SetPresence != nil && presences[i] != m.in.Presence() {
			m.actions.SetPresence(presences[i])
		}
	})
	m.team = widget.NewLabel("")
	m.team.Importance = widget.LowImportance
	m.noteMode = widget.NewCheck(T("compose.noteMode", "Staff note"), func(bool) {
		if f := m.in.Focused(); f != nil {
			m.showWritable(f)
		}
	})
	m.noteMode.Hide()
	closeB := widget.NewButtonWithIcon("", theme.CancelIcon(), m.hideBanner)
	closeB.Importance = widget.LowImportance
	m.banner = container.NewStack(
		canvasBackground(theme.ColorNameWarning),
		container.NewBorder(nil, nil, widget.NewIcon(theme.MailComposeIcon()), container.NewHBox(m.bannerB, closeB), m.bannerL))
	m.banner.Hide()

	m.compose = newComposeEntry(m.send, m.step)
	m.compose.onFind = m.find
	m.compose.onView = func(v int) { m.list.SetView(inbox.View(v)) }
	m.list.search.onEscape = func() {
		m.list.search.SetText("")
		if c := m.win.Canvas(); c != nil && !m.compose.Disabled() {
			c.Focus(m.compose)
		}
	}
	m.compose.SetPlaceHolder(T("compose.placeholder", "Write a reply. Enter starts a new line; Ctrl+Enter sends."))
	// The cursor in the reply box or the search box holds the front: the
	// counselor is writing, or choosing whom to open themselves.
	m.compose.onFocus = func(on bool) { m.composing = on; m.in.SetComposing(m.composing || m.searching) }
	m.list.search.onFocus = func(on bool) { m.searching = on; m.in.SetComposing(m.composing || m.searching) }
	m.compose.OnChanged = func(s string) {
		m.grow()
		m.checkPII(s)
		if m.settling {
			return
		}
		m.in.SetDraft(s)
		if f := m.in.Focused(); f != nil {
			if m.actions.Draft != nil {
				m.actions.Draft(f.ID, s)
			}
			if s != "" && m.actions.Typing != nil {
				m.actions.Typing(f.ID)
			}
			if s == "" || len(s) == 1 { // the list row shows "draft"
				m.list.Sync(inbox.Effect{Convs: []int64{f.ID}})
			}
		}
	}
	m.sendBtn = widget.NewButtonWithIcon(T("compose.send", "Send"), theme.MailSendIcon(), m.send)
	m.sendBtn.Importance = widget.HighImportance

	m.progress = newProgressBar(m.chooseProgress)
	m.compose.onTemplates, m.compose.onDate = m.pickTemplate, m.pickDate
	m.tmplBtn = widget.NewButtonWithIcon(T("compose.templates", "Canned replies (Ctrl+T)"), theme.ListIcon(), m.pickTemplate)
	m.dateBtn = widget.NewButtonWithIcon(T("compose.date", "Next contact date (Ctrl+D)"), theme.HistoryIcon(), m.pickDate)
	m.stagedL = widget.NewLabel("")
	m.stagedL.Importance = widget.WarningImportance
	unstage := widget.NewButtonWithIcon("", theme.CancelIcon(), func() { m.stage(SendExtras{}) })
	unstage.Importance = widget.LowImportance
	// Long words beside the buttons wrap (anywhere: Japanese has no
	// spaces) instead of widening the window past the screen.
	m.stagedL.Wrapping = fyne.TextWrapBreak
	m.stagedBox = container.NewBorder(nil, nil, nil, unstage, m.stagedL)
	m.stagedBox.Hide()
	m.due = newMarker(dueIcon, widget.DangerImportance)
	m.piiL = widget.NewLabel("")
	m.piiL.Importance = widget.DangerImportance
	m.piiL.Wrapping = fyne.TextWrapBreak
	m.piiL.Hide()
	m.fileBtn = widget.NewButtonWithIcon(T("compose.file", "Photo or PDF…"), theme.FileImageIcon(), m.chooseFile)
	toolBtns := container.NewHBox(m.tmplBtn, m.dateBtn)
	if m.actions.Files != nil {
		toolBtns.Add(m.fileBtn)
	}
	tools := container.NewBorder(nil, nil, toolBtns, nil, container.NewVBox(m.stagedBox, m.piiL))
	m.noteBtn = widget.NewButtonWithIcon(T("note.button", "Note"), theme.DocumentIcon(), m.editNote)
	m.noteBtn.Importance = widget.LowImportance
	header := container.NewVBox(container.NewBorder(nil, nil, nil, container.NewHBox(m.endBtn, m.handBtn, m.claimBtn),
		container.NewBorder(nil, nil, m.title, nil, m.subtitle)), container.NewHBox(m.progress.content, m.noteBtn), m.banner)
	composeBox := container.NewBorder(tools, nil, nil, container.NewVBox(layout.NewSpacer(), m.noteMode, m.sendBtn), m.compose)
	m.convBox = container.NewBorder(header, composeBox, nil, nil, m.history)
	split := container.NewHSplit(m.list.content, m.convBox)
	split.Offset = 0.26
	top := container.NewHBox(m.status, layout.NewSpacer(), m.due.box, m.team, m.presence, m.avail)
	m.work = split
	m.lockText = newJALabel("")
	m.lockText.Alignment = fyne.TextAlignCenter
	m.lockText.TextStyle.Bold = true
	m.lock = container.NewCenter(container.NewVBox(widget.NewIcon(theme.VisibilityOffIcon()), m.lockText))
	m.lock.Hide()
	m.content = container.NewBorder(top, nil, nil, nil, container.NewStack(m.work, m.lock))
	m.Apply(inbox.Effect{All: true, FocusChanged: true})
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
		m.Apply(inbox.Effect{All: true})
	}
}

// Locked reports whether the lock notice is shown.
func (m *Main) Locked() bool { return m.lock.Visible() }

// Shortcuts registers the window's keyboard shortcuts: Ctrl+Down/Up walk
// the conversations, Ctrl+1/2/3 show 自分の担当/未対応/全体 (Cmd on
// macOS). The reply box handles them itself while it has the focus,
// which is nearly always.
func (m *Main) Shortcuts(c fyne.Canvas) {
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyDown, Modifier: fyne.KeyModifierShortcutDefault}, func(fyne.Shortcut) { m.step(1) })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyUp, Modifier: fyne.KeyModifierShortcutDefault}, func(fyne.Shortcut) { m.step(-1) })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault}, func(fyne.Shortcut) { m.find() })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyT, Modifier: fyne.KeyModifierShortcutDefault}, func(fyne.Shortcut) { m.pickTemplate() })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyD, Modifier: fyne.KeyModifierShortcutDefault}, func(fyne.Shortcut) { m.pickDate() })
	for i, k := range []fyne.KeyName{fyne.Key1, fyne.Key2, fyne.Key3} {
		c.AddShortcut(&desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault}, func(fyne.Shortcut) { m.list.SetView(inbox.View(i)) })
	}
}

// find puts the cursor in the list's search box (Ctrl/Cmd+F).
func (m *Main) find() {
	if c := m.win.Canvas(); c != nil {
		c.Focus(m.list.search)
	}
}

func (m *Main) step(dir int) {
	if m.in.Step(m.list.View(), dir) {
		m.Apply(inbox.Effect{FocusChanged: true})
	}
}

// pick brings a conversation to the front at the counselor's request and
// puts the cursor in its reply box.
func (m *Main) pick(id int64) {
	if m.in.Focus(id) {
		m.Apply(inbox.Effect{FocusChanged: true})
	}
	if c := m.win.Canvas(); c != nil && !m.compose.Disabled() {
		c.Focus(m.compose)
	}
}

// SetConnection shows whether the app is live, and while it is not, when
// it tries again (the countdown runs with Tick).
func (m *Main) SetConnection(connected bool, retryIn time.Duration) {
	m.connected = connected
	m.retryAt = time.Time{}
	if retryIn > 0 {
		m.retryAt = m.in.Now().Add(retryIn)
	}
	if connected {
		clear(m.olderFailed)
		m.history.Refresh()
		m.needOlder()
	}
	m.showStatus()
}

func (m *Main) showStatus() {
	switch {
	case m.connected:
		m.status.SetText(T("status.online", "Online"))
		m.status.Importance = widget.SuccessImportance
	case !m.retryAt.IsZero():
		secs := max(int(m.retryAt.Sub(m.in.Now()).Seconds()+0.5), 0)
		m.status.SetText(T("status.offline", "Offline: reconnecting in {{.Seconds}} s; replies wait in the outbox", map[string]any{"Seconds": secs}))
		m.status.Importance = widget.DangerImportance
	default:
		m.status.SetText(T("status.connecting", "Connecting…"))
		m.status.Importance = widget.WarningImportance
	}
	m.status.Refresh()
}

// Tick moves the clocks on screen: the offline countdown every second,
// wait times every minute. The app calls it once a second.
func (m *Main) Tick() {
	if !m.connected {
		m.showStatus()
	}
	if eff := m.in.TypingEnded(); eff.Changed() {
		m.Apply(eff)
	}
	now := m.in.Now()
	if now.Truncate(time.Minute) != m.lastTick.Truncate(time.Minute) {
		m.lastTick = now
		m.list.Tick()
		m.showSubtitle()
		m.showDue() // a new day makes contacts due
	}
}

// SetForeground records whether the window has the person's attention.
func (m *Main) SetForeground(fg bool) {
	m.foreground = fg
	if fg {
		m.looked = true
		m.markRead()
	}
}

// showTeam shows the staff member's presence and how many colleagues
// take conversations now.
func (m *Main) showTeam() {
	m.settling = true
	if i := slices.Index(presences, m.in.Presence()); i >= 0 && m.presence.SelectedIndex() != i {
		m.presence.SetSelectedIndex(i)
	}
	m.settling = false
	n := 0
	for id := range m.staff {
		if d, ok := m.in.Desk(id); ok && d.Online && d.Presence == protocol.PresenceAvailable {
			n++
		}
	}
	m.team.SetText(T("team.taking", "{{.Count}} taking conversations", map[string]any{"Count": n}))
	m.list.showViews()
	m.list.showHint()
}

// SetStaff names the organisation's staff, for "who wrote" on replies,
// with their presence and load as the staff list said.
func (m *Main) SetStaff(staff map[int64]protocol.Account) {
	m.staff = staff
	for _, a := range staff {
		if _, heard := m.in.Desk(a.ID); !heard {
			m.in.SetDesk(protocol.PresenceFrame{AccountID: a.ID, Presence: a.Presence, OpenConversations: a.OpenConversations, Online: a.Online})
		}
	}
	m.showTeam()
	m.history.Refresh()
	m.list.Sync(inbox.Effect{All: true})
	m.showSubtitle()
}

// staffName names a staff member for colleagues ("" while unknown).
func (m *Main) staffName(id int64) string {
	if a, ok := m.staff[id]; ok {
		return staffLabel(a)
	}
	return T("role.colleague", "a colleague")
}

// Open brings a conversation to the front as if picked in the list.
func (m *Main) Open(id int64) { m.pick(id) }

// SetView shows one view of the list (自分の担当, 未対応, 全体).
func (m *Main) SetView(v inbox.View) { m.list.SetView(v) }

// View is the list's view.
func (m *Main) View() inbox.View { return m.list.View() }

// Claim takes the conversation in front from the pool (the 担当する
// button).
func (m *Main) Claim() {
	f := m.in.Focused()
	if f == nil || !(f.InPool() || m.nominatedMine(f)) || m.claiming != 0 || m.actions.Claim == nil {
		return
	}
	m.claiming = f.ID
	m.claimBtn.Disable()
	m.claimBtn.SetText(T("pool.claiming", "Taking…"))
	m.actions.Claim(f.ID)
}

// Claimed takes the answer to Actions.Claim: the conversation is the
// counselor's (it moves to 自分の担当 and its history loads), or a
// colleague was first.
func (m *Main) Claimed(id int64, conv protocol.Conversation, err error) {
	m.claiming = 0
	m.claimBtn.Enable()
	m.claimBtn.SetText(m.claimText())
	if err != nil {
		ShowError(m.win, T("pool.claimFailed", "Not taken"), claimRefusal(err))
		m.Apply(inbox.Effect{Convs: []int64{id}})
		return
	}
	eff := m.in.Apply(&protocol.ConversationFrame{Conversation: conv})
	eff.Received = 0 // taken here: nothing to announce
	m.in.Focus(id)
	eff.FocusChanged = true
	m.list.SetView(inbox.ViewMine)
	m.Apply(eff)
	if c := m.win.Canvas(); c != nil && !m.compose.Disabled() {
		c.Focus(m.compose)
	}
}

// claimRefusal says in words why a claim failed.
func claimRefusal(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case protocol.CodeTaken:
			return &protocol.Error{Code: pe.Code, Message: T("pool.taken", "A colleague took this conversation first.")}
		case protocol.CodeForbidden:
			return &protocol.Error{Code: pe.Code, Message: T("pool.notOffered", "This conversation is not offered to you now.")}
		}
	}
	return err
}

// PreviewLoaded takes the answer to Actions.Preview.
func (m *Main) PreviewLoaded(id int64, pv protocol.Preview, err error) {
	if err != nil {
		delete(m.previewAsked, id) // ask again when it is next shown
		if f := m.in.Focused(); f != nil && f.ID == id {
			m.history.Refresh()
		}
		return
	}
	m.Apply(m.in.SetPreview(id, pv.Messages))
}

// needPreview asks once for the preview of a pool conversation in front.
func (m *Main) needPreview(f *inbox.Conv) {
	if f.Preview != nil || m.previewAsked[f.ID] || m.actions.Preview == nil {
		return
	}
	m.previewAsked[f.ID] = true
	m.actions.Preview(f.ID)
}

// SetMe updates the signed-in account (its display name or presence
// changed).
func (m *Main) SetMe(a protocol.Account) {
	m.in.SetMe(a)
	m.history.Refresh()
	m.showTeam()
}

// tellLapse says, once a session, why the switch 指名を受け付ける turned
// itself off (days without using Taiwa), and offers to turn it on again.
func (m *Main) tellLapse() {
	me := m.in.Me()
	if m.lapseTold || me.NominationLapsedAt == nil || me.AcceptNominations || m.actions.Nominations == nil {
		return
	}
	m.lapseTold = true
	resumed := false
	days := m.in.Org().Settings.NominationLapseDays
	if days <= 0 {
		days = protocol.DefaultNominationLapseDays
	}
	d := Confirm(m.win, T("nomination.lapsedTitle", "Nominations were switched off"),
		T("nomination.lapsedBody", "You had not used Taiwa for {{.Days}} days, so clients stopped seeing you as someone to nominate (since {{.At}}): nobody waits for a counselor who is away. Take nominations again?",
			map[string]any{"Days": days, "At": me.NominationLapsedAt.Local().Format("1/2 15:04")}),
		T("nomination.resume", "Take nominations again"), T("nomination.keepOff", "Leave them off"), func() { resumed = true; m.actions.Nominations(true) })
	d.SetOnClosed(func() {
		if !resumed {
			m.actions.Nominations(false) // left off: settled, not told again
		}
	})
}

// nominatedMine reports whether f is a nomination (指名) of the signed-in
// counselor that they have not taken yet.
func (m *Main) nominatedMine(f *inbox.Conv) bool {
	return f != nil && f.NominatedAt != nil && m.in.Mine(f)
}

// claimText is the 担当する button's text for the conversation in front.
func (m *Main) claimText() string {
	if m.nominatedMine(m.in.Focused()) {
		return T("pool.acceptNomination", "Take the nomination")
	}
	return T("pool.claim", "Take it")
}

// confirmEnd asks, naming the client, then ends the conversation in front.
func (m *Main) confirmEnd() {
	f := m.in.Focused()
	if f == nil || m.actions.End == nil {
		return
	}
	id, name := f.ID, f.Nickname
	Confirm(m.win, T("end.title", "End the conversation with {{.Name}}?", map[string]any{"Name": name}),
		T("end.body", "It leaves your list and this computer. If {{.Name}} writes again, the conversation waits in the pool for whoever takes it.", map[string]any{"Name": name}),
		T("end.do", "End it"), T("confirm.back", "Back to editing"), func() { m.actions.End(id) })
}

// Ended takes the answer to Actions.End.
func (m *Main) Ended(id int64, conv protocol.Conversation, err error) {
	if err != nil {
		ShowError(m.win, T("end.failed", "Not ended"), err)
		return
	}
	if c := m.in.Conv(id); c != nil && m.in.Readable(c) {
		m.Apply(m.in.Apply(&protocol.ConversationFrame{Conversation: conv}))
	}
}

// staffChoice names a colleague in the hand-over list, with their
// presence and load: 佐藤「さとう」 · 受付中 · 3件.
func (m *Main) staffChoice(a protocol.Account) string {
	s := staffLabel(a)
	d, ok := m.in.Desk(a.ID)
	if !ok {
		return s
	}
	s += " · " + presenceText(d.Presence) + " · " + T("team.open", "{{.Count}} open", map[string]any{"Count": d.OpenConversations})
	if !d.Online {
		s += " · " + T("team.offline", "offline")
	}
	return s
}

// staffLabel names a staff member for colleagues, with the name clients
// see above their replies when it differs: 田中「たなか」.
func staffLabel(a protocol.Account) string {
	if a.DisplayName != "" && a.DisplayName != a.Nickname {
		return a.Nickname + "「" + a.DisplayName + "」"
	}
	return a.Nickname
}

// typingText says who is writing in a conversation.
func typingText(who *protocol.TypingFrame, client string) string {
	if who.SenderRole == protocol.RoleClient {
		return T("typing.client", "{{.Name}} is writing…", map[string]any{"Name": client})
	}
	name := who.SenderName
	if name == "" {
		name = T("role.counselor", "counselor")
	}
	return T("typing.staff", "{{.Name}} (staff) is writing a reply…", map[string]any{"Name": name})
}

// Apply shows the effect of a change in the inbox: the rows it names,
// not everything.
func (m *Main) Apply(eff inbox.Effect) {
	if eff.Notify {
		m.notify(eff)
	}
	for _, e := range eff.Refused {
		ShowError(m.win, T("refused.title", "Reply not sent"), refusal(e))
	}
	if eff.All {
		m.list.OfferAll(m.in.Me().Role == protocol.RoleAdmin)
		m.tellLapse()
	}
	if eff.All || eff.Staff {
		m.showTeam()
	}
	for _, w := range eff.Withdrawn {
		delete(m.previewAsked, w.ID)
		if w.Mine {
			m.showWithdrawn(w)
		}
	}
	if eff.Risk != 0 && m.actions.AlertRisk != nil {
		// Every time, whatever the burst: a person at risk is waiting.
		m.actions.AlertRisk()
	}
	if eff.PoolArrived != 0 {
		m.notifyPool(eff.PoolArrived)
	}
	if eff.Received != 0 && eff.Received != m.claiming {
		m.showReceived(eff.Received)
	}
	if eff.Arrived != 0 && eff.Arrived != m.in.FocusedID() {
		m.showBanner(eff.Arrived)
	}
	if !eff.Changed() {
		return
	}
	m.list.Sync(eff)
	m.avail.SetText(availabilityText(m.in.Org().Availability))
	m.showDue()
	m.showFocused(eff)
	m.countUnread(eff)
}

// countUnread tells the tray the unread total, counting again only the
// conversations that changed.
func (m *Main) countUnread(eff inbox.Effect) {
	if m.actions.Unread == nil {
		return
	}
	// One's own conversations: the pool and colleagues' are not one's unread.
	if eff.All || m.unread == nil {
		m.unread = map[int64]int{}
		for _, c := range m.in.List(inbox.ViewMine, inbox.FilterAll, "") {
			m.unread[c.ID] = c.Unread()
		}
	} else {
		for _, id := range eff.Convs {
			if c := m.in.Conv(id); c != nil && m.in.Mine(c) {
				m.unread[id] = c.Unread()
			} else {
				delete(m.unread, id)
			}
		}
	}
	total := 0
	for _, n := range m.unread {
		total += n
	}
	m.actions.Unread(total)
	if m.actions.Unhandled != nil {
		m.actions.Unhandled(m.in.UnhandledCount())
	}
}

// notify raises one OS notification per burst: when clients had been
// quiet for BurstQuiet, or the counselor has looked since the last one.
func (m *Main) notify(eff inbox.Effect) {
	now := m.in.Now()
	quiet := now.Sub(m.lastArrival) >= BurstQuiet
	m.lastArrival = now
	if eff.Arrived == 0 && m.foreground {
		return // in front of a counselor who is looking
	}
	if (quiet || m.looked) && m.actions.Alert != nil {
		m.looked = m.foreground && eff.Arrived == 0
		m.actions.Alert()
	}
}

func (m *Main) showBanner(id int64) {
	c := m.in.Conv(id)
	if c == nil {
		return
	}
	m.arrived = id
	m.setBanner(T("banner.arrived", "{{.Name}} has written. Finish your reply; the conversation waits in the list.", map[string]any{"Name": c.Nickname}),
		T("banner.open", "Open {{.Name}}", map[string]any{"Name": c.Nickname}), func() { m.pick(id) })
}

// setBanner shows a line above the history with a button (none when
// button is ""). It is not modal and never takes the keyboard.
func (m *Main) setBanner(text, button string, do func()) {
	m.bannerL.SetText(text)
	m.bannerDo = do
	if button == "" {
		m.bannerB.Hide()
	} else {
		m.bannerB.SetText(button)
		m.bannerB.Show()
	}
	if !m.banner.Visible() {
		m.banner.Show()
		m.convBox.Refresh() // the history makes room for it
	}
}

func (m *Main) hideBanner() {
	m.arrived = 0
	m.bannerDo = nil
	if m.banner.Visible() {
		m.banner.Hide()
		m.convBox.Refresh()
	}
}

// notifyPool announces a conversation that came into the pool: an OS
// notification once per burst, and a banner unless one of one's own
// clients is announced there. It never comes to the front by itself.
func (m *Main) notifyPool(id int64) {
	c := m.in.Conv(id)
	if c == nil {
		return
	}
	now := m.in.Now()
	if (now.Sub(m.lastPool) >= BurstQuiet || !m.foreground) && m.actions.AlertPool != nil {
		m.actions.AlertPool()
	}
	m.lastPool = now
	if m.arrived != 0 {
		return
	}
	m.setBanner(T("banner.pool", "{{.Name}} is waiting in the pool for someone to take the conversation.", map[string]any{"Name": c.Nickname}),
		T("banner.openPool", "Show the pool"), func() {
			m.hideBanner()
			m.list.SetView(inbox.ViewPool)
		})
}

// showReceived says that a conversation was handed to the counselor.
func (m *Main) showReceived(id int64) {
	c := m.in.Conv(id)
	if c == nil {
		return
	}
	if m.actions.Alert != nil && !m.foreground {
		m.actions.Alert()
	}
	if m.arrived != 0 {
		return
	}
	m.setBanner(T("banner.received", "{{.Name}}'s conversation is now yours.", map[string]any{"Name": c.Nickname}),
		T("banner.open", "Open {{.Name}}", map[string]any{"Name": c.Nickname}), func() {
			m.hideBanner()
			m.list.SetView(inbox.ViewMine)
			m.pick(id)
		})
}

// showWithdrawn says that one of the counselor's conversations left this
// app (taken over or handed on): its words are gone from here.
func (m *Main) showWithdrawn(w inbox.Withdrawal) {
	if m.arrived == w.ID {
		m.arrived = 0
	}
	m.setBanner(T("banner.withdrawn", "{{.Name}}'s conversation is no longer yours: it was handed on, and its messages were removed from this computer.", map[string]any{"Name": w.Nickname}), "", nil)
}

// BannerText is what the arrival banner says ("" when hidden).
func (m *Main) BannerText() string {
	if !m.banner.Visible() {
		return ""
	}
	return m.bannerL.source
}

func (m *Main) showFocused(eff inbox.Effect) {
	f := m.in.Focused()
	if f == nil {
		m.title.SetText(T("main.nobody", "No conversation yet: clients write first."))
		m.subtitle.SetText("")
		m.history.Sync(nil)
		m.setCompose("")
		m.compose.Disable()
		m.sendBtn.Disable()
		m.sendBtn.SetText(T("compose.send", "Send"))
		m.shown = 0
		m.stage(SendExtras{})
		m.progress.show(m.in, nil, m.staff)
		m.showNote(nil)
		m.tmplBtn.Disable()
		m.dateBtn.Disable()
		m.fileBtn.Disable()
		if m.claiming == 0 {
			m.claimBtn.Hide()
		}
		m.handBtn.Hide()
		m.endBtn.Hide()
		m.noteMode.Hide()
		return
	}
	if f.ID == m.arrived {
		m.hideBanner()
	}
	if m.shown != f.ID {
		// The button names the person: the last guard against a wrong reply.
		m.sendBtn.SetText(T("compose.sendTo", "Send to {{.Name}}", map[string]any{"Name": f.Nickname}))
		m.title.SetText(ConvName(f.Conversation))
		m.setCompose(f.Draft)
		prev := m.shown
		m.shown = f.ID
		// What a reply was to set belongs to that conversation's reply,
		// as its draft does: it waits there while another is in front.
		if prev != 0 && m.staged != (SendExtras{}) {
			m.stagedBy[prev] = m.staged
		}
		m.stage(m.stagedBy[f.ID])
		delete(m.stagedBy, f.ID)
		m.tmplBtn.Enable()
		m.dateBtn.Enable()
	} else if touches(eff, f.ID) {
		m.title.SetText(ConvName(f.Conversation))
		m.sendBtn.SetText(T("compose.sendTo", "Send to {{.Name}}", map[string]any{"Name": f.Nickname}))
	}
	m.progress.show(m.in, f, m.staff)
	m.showNote(&f.Conversation)
	if !m.in.Readable(f) {
		// A pool or a colleague's conversation: its progress and the
		// note about its client are theirs to set (rules.SetProgress,
		// rules.ClientNote), not a control that would only be refused.
		m.progress.sel.Disable()
		m.noteBtn.Disable()
	}
	m.showWritable(f)
	m.showSubtitle()
	if (f.InPool() || m.nominatedMine(f)) && m.claiming == 0 {
		m.claimBtn.SetText(m.claimText())
		m.claimBtn.Show()
	} else if m.claiming == 0 {
		m.claimBtn.Hide()
	}
	admin := m.in.Me().Role == protocol.RoleAdmin
	if m.in.Mine(f) || (admin && (f.AssigneeID != nil || f.InPool())) {
		m.handBtn.Show()
		m.endBtn.Show()
	} else {
		m.handBtn.Hide()
		m.endBtn.Hide()
	}
	if eff.All || eff.FocusChanged || touches(eff, f.ID) {
		if m.in.Readable(f) {
			m.history.Sync(f)
		} else {
			// The pool: what the preview shows, never cached, never marked read.
			m.needPreview(f)
			pv := *f
			pv.Messages = f.Preview
			m.history.Sync(&pv)
		}
	}
	m.markRead()
}

// showWritable enables the reply box where the counselor may write: their
// own conversations, and the pool's where a reply takes the conversation;
// elsewhere it says why not.
func (m *Main) showWritable(f *inbox.Conv) {
	// A staff-only note goes where one reads in full: one's own, and (an
	// admin) any.
	if m.in.Readable(f) {
		m.noteMode.Show()
	} else {
		m.noteMode.SetChecked(false)
		m.noteMode.Hide()
	}
	ok, why := true, ""
	switch {
	case m.noteMode.Checked:
		why = T("compose.notePlaceholder", "A note for staff only: the client never sees it. Ctrl+Enter keeps it.")
	case m.in.Mine(f):
	case f.InPool() && m.in.Org().Settings.ClaimByButton:
		ok, why = false, T("compose.claimFirst", "Take this conversation (Take it, above) to answer.")
	case f.InPool():
		why = T("compose.replyTakes", "Your reply takes this conversation from the pool. Enter starts a new line; Ctrl+Enter sends.")
	case f.AssigneeID != nil:
		ok, why = false, T("compose.colleagues", "{{.Name}} has this conversation: only they answer it.", map[string]any{"Name": m.staffName(*f.AssigneeID)})
	}
	if why == "" {
		why = T("compose.placeholder", "Write a reply. Enter starts a new line; Ctrl+Enter sends.")
	}
	if m.compose.PlaceHolder != why {
		m.compose.SetPlaceHolder(why)
	}
	if ok && !m.noteMode.Checked {
		m.fileBtn.Enable() // a note carries no file
	} else {
		m.fileBtn.Disable()
	}
	if ok {
		m.compose.Enable()
		m.sendBtn.Enable()
	} else {
		m.compose.Disable()
		m.sendBtn.Disable()
	}
	send := T("compose.sendTo", "Send to {{.Name}}", map[string]any{"Name": f.Nickname})
	if m.noteMode.Checked {
		send = T("compose.keepNote", "Keep the note")
	}
	if m.sendBtn.Text != send {
		m.sendBtn.SetText(send)
	}
}

// ShowTransfer asks to whom the conversation in front goes (a colleague,
// or back to the pool) and with which note, then hands it over.
func (m *Main) ShowTransfer() {
	f := m.in.Focused()
	if f == nil || m.actions.Transfer == nil {
		return
	}
	id, name := f.ID, f.Nickname
	var (
		labels []string
		to     []*int64
	)
	if f.AssigneeID != nil {
		labels, to = append(labels, T("handover.toPool", "Back to the pool (未対応)")), append(to, nil)
	}
	staff := make([]protocol.Account, 0, len(m.staff))
	for _, a := range m.staff {
		if f.AssigneeID == nil || a.ID != *f.AssigneeID {
			staff = append(staff, a)
		}
	}
	slices.SortFunc(staff, func(a, b protocol.Account) int { return strings.Compare(a.Nickname, b.Nickname) })
	for _, a := range staff {
		labels, to = append(labels, m.staffChoice(a)), append(to, &a.ID)
	}
	pick := widget.NewSelect(labels, nil)
	pick.PlaceHolder = T("handover.pick", "To whom?")
	note := widget.NewMultiLineEntry()
	note.Wrapping = fyne.TextWrapWord
	note.SetMinRowsVisible(4)
	note.SetPlaceHolder(T("handover.notePlaceholder", "A note for staff only: what the next counselor should know. The client never sees it."))
	hint := newJALabel(T("handover.hint", "The conversation leaves your list and this computer; whoever takes it reads it all, with your note."))
	hint.Importance = widget.LowImportance
	ConfirmContent(m.win, T("handover.title", "Hand over {{.Name}}'s conversation", map[string]any{"Name": name}),
		container.NewVBox(hint, pick, note), T("handover.do", "Hand over"), T("dialog.cancel", "Cancel"), func() {
			i := pick.SelectedIndex()
			if i < 0 {
				Inform(m.win, T("handover.button", "Hand over…"), T("handover.pickFirst", "Choose a colleague, or the pool."))
				return
			}
			m.actions.Transfer(id, to[i], note.Text)
		})
}

// Transferred takes the answer to Actions.Transfer.
func (m *Main) Transferred(id int64, conv protocol.Conversation, err error) {
	if err != nil {
		ShowError(m.win, T("handover.failed", "Not handed over"), err)
		return
	}
	// An admin keeps reading it; a counselor's app is told to let it go.
	if m.in.Conv(id) != nil && m.in.Readable(m.in.Conv(id)) {
		m.Apply(m.in.Apply(&protocol.ConversationFrame{Conversation: conv}))
	}
}

func touches(eff inbox.Effect, id int64) bool {
	for _, c := range eff.Convs {
		if c == id {
			return true
		}
	}
	return false
}

func (m *Main) showSubtitle() {
	f := m.in.Focused()
	if f == nil {
		return
	}
	if who, ok := f.Typing(m.in.Now()); ok {
		m.subtitle.SetText(typingText(who, f.Nickname))
		return
	}
	// Risk first: the reason it is at the top, before anything else.
	text := ""
	if f.RiskAt != nil {
		text = T("title.risk", "⚠ crisis words: answer first") + " · "
	}
	switch {
	case m.nominatedMine(f):
		text += T("title.nominated", "nominated you {{.Ago}} ago: take it (or hand it on) before it returns to the pool",
			map[string]any{"Ago": waitText(m.in.Now().Sub(*f.NominatedAt))})
	case f.InPool():
		text += T("title.pool", "unassigned: waiting {{.Wait}} for someone to take it", map[string]any{"Wait": waitText(m.in.Wait(f))})
	case f.AssigneeID != nil && !m.in.Mine(f):
		text += T("title.colleagues", "{{.Name}}'s conversation", map[string]any{"Name": m.staffName(*f.AssigneeID)})
	case f.Waiting():
		text += T("title.waiting", "waiting for a reply for {{.Wait}}", map[string]any{"Wait": waitText(m.in.Wait(f))})
	case f.LastSeq == 0:
		text += T("list.stateNew", "Has not written yet")
	default:
		text += T("list.stateAnswered", "Answered")
	}
	m.subtitle.SetText(text)
}

// markRead reports the conversation in front as read: it is shown to a
// counselor who is looking.
func (m *Main) markRead() {
	f := m.in.Focused()
	// Read marks are the assignee's: the client learns their counselor has
	// read, not that an admin looked in.
	if f == nil || !m.foreground || m.actions.Read == nil || m.lock.Visible() || !m.in.Mine(f) {
		return
	}
	n := len(f.Messages)
	if n == 0 {
		return
	}
	seq := f.Messages[n-1].Seq
	if seq > f.StaffReadSeq && seq > m.readSent[f.ID] {
		m.readSent[f.ID] = seq
		m.actions.Read(f.ID, seq)
	}
}

// metaLine says when a message was written, by whom (replies), and
// whether the client has read it.
func (m *Main) metaLine(r *histRow) string {
	if r.key.kind == rowPending {
		state := T("msg.pending", "waiting to send")
		if m.connected {
			state = T("msg.sending", "sending…")
		}
		if r.msg.Kind == protocol.KindNote {
			return T("msg.note", "Staff note (the client never sees it)") + " · " + state
		}
		return state
	}
	// The message's number (#N, its seq): what a 決定 quotes, the same
	// on the client's phone.
	when := "#" + strconv.FormatInt(r.msg.Seq, 10) + " · " + r.msg.CreatedAt.Local().Format("15:04")
	if r.key.kind == rowClient {
		return when
	}
	if r.key.kind == rowNote {
		return T("msg.note", "Staff note (the client never sees it)") + " · " + when + " · " + m.writer(r.msg)
	}
	line := when + " · " + m.writer(r.msg)
	if f := m.in.Focused(); f != nil && r.msg.Seq <= f.ClientReadSeq {
		line += " · " + T("msg.read", "read")
	}
	return line
}

// writer names who wrote a staff message: "you", or the colleague.
func (m *Main) writer(msg protocol.Message) string {
	staff := m.staff[msg.SenderID]
	who := staffLabel(staff)
	switch {
	case msg.SenderID != 0 && msg.SenderID == m.in.Me().ID:
		me := m.in.Me()
		me.Nickname = T("msg.you", "you")
		who = staffLabel(me)
	case who == "" && msg.SenderRole == protocol.RoleAdmin:
		who = T("role.admin", "admin")
	case who == "":
		who = T("role.counselor", "counselor")
	}
	return who
}

// headText says what is above the oldest message shown.
func (m *Main) headText() string {
	f := m.in.Focused()
	switch {
	case f == nil:
		return ""
	case !m.in.Readable(f) && f.InPool() && f.Preview == nil:
		return T("history.previewLoading", "Loading the preview…")
	case !m.in.Readable(f) && f.InPool():
		return T("history.preview", "Preview of what waits. Each preview you open is recorded in the audit log; take the conversation to read it all.")
	case !m.in.Readable(f):
		return ""
	case f.HasOlder() && m.olderFailed[f.ID]:
		return T("history.olderOffline", "Earlier messages can be loaded when online.")
	case f.HasOlder():
		return T("history.loading", "Loading earlier messages…")
	case f.FirstSeq > 1:
		return T("history.deleted", "Earlier messages were deleted at the end of the keeping period.")
	}
	return T("history.start", "The conversation begins here.")
}

// needOlder asks for the page before the oldest message shown, one page
// at a time.
func (m *Main) needOlder() {
	f := m.in.Focused()
	if f == nil || !m.in.Readable(f) || !f.HasOlder() || m.loadingOlder != 0 || m.olderFailed[f.ID] || m.actions.Older == nil {
		return
	}
	m.loadingOlder = f.ID
	m.actions.Older(f.ID, f.Oldest())
}

// OlderLoaded takes the answer to Actions.Older.
func (m *Main) OlderLoaded(conversationID int64, msgs []protocol.Message, err error) {
	m.loadingOlder = 0
	if err != nil || len(msgs) == 0 {
		m.olderFailed[conversationID] = true
		m.history.Refresh()
		return
	}
	m.Apply(m.in.Load(conversationID, msgs))
}

func refusal(e protocol.Error) error {
	switch e.Code {
	case protocol.CodeClientFirst:
		return &protocol.Error{Code: e.Code, Message: T("refused.clientFirst", "Not sent: the client has not written yet, and this organisation lets clients speak first.")}
	case protocol.CodeNotFound:
		return &protocol.Error{Code: e.Code, Message: T("refused.gone", "Not sent: this conversation no longer exists.")}
	case protocol.CodeForbidden:
		return &protocol.Error{Code: e.Code, Message: T("refused.colleagues", "Not sent: this conversation is a colleague's (someone took it first, or it was handed on).")}
	case protocol.CodeClaimFirst:
		return &protocol.Error{Code: e.Code, Message: T("refused.claimFirst", "Not sent: take the conversation (Take it) before answering.")}
	}
	return &e
}

func (m *Main) setCompose(s string) {
	m.settling = true
	m.compose.SetText(s)
	m.settling = false
	m.grow()
}

// grow fits the reply box to its text, from two lines to ten; past that
// it scrolls.
func (m *Main) grow() {
	lines := 1
	w := m.compose.Size().Width - 4*theme.Padding()
	b := m.history.text
	for _, para := range strings.Split(m.compose.Text, "\n") {
		if b == nil || w <= 0 {
			lines++
			continue
		}
		lines += max(int(b.sum([]rune(para))/w), 0) + 1
	}
	rows := min(max(lines-1, 2), 10)
	if rows != m.compose.rows {
		m.compose.rows = rows
		m.compose.SetMinRowsVisible(rows)
		m.convBox.Refresh()
	}
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
	if m.noteMode.Checked && m.actions.Note != nil {
		m.actions.Note(target, text)
		f.Draft = ""
		if m.actions.Draft != nil {
			m.actions.Draft(target, "")
		}
		m.setCompose("")
		m.noteMode.SetChecked(false) // the next words are a reply again
		m.history.ScrollToBottom()
		m.Apply(inbox.Effect{Convs: []int64{target}})
		return
	}
	extras := m.staged
	do := func() {
		if m.actions.SendWith != nil {
			m.actions.SendWith(target, text, extras)
		} else {
			m.actions.Send(target, text)
		}
		if m.shown == target {
			m.stage(SendExtras{})
		}
		if c := m.in.Conv(target); c != nil {
			c.Draft = ""
		}
		if m.actions.Draft != nil {
			m.actions.Draft(target, "")
		}
		if cur := m.in.Focused(); cur != nil && cur.ID == target {
			m.setCompose("")
		}
		m.history.ScrollToBottom()
		m.Apply(inbox.Effect{Convs: []int64{target}})
	}
	if m.in.NeedsConfirm() {
		Confirm(m.win, T("confirm.title", "Send now?"),
			T("confirm.body", "The conversation changed a moment ago. Send this reply to {{.Name}}?", map[string]any{"Name": f.Nickname}),
			T("confirm.send", "Send to {{.Name}}", map[string]any{"Name": f.Nickname}), T("confirm.back", "Back to editing"), do)
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
		return T("avail.open", "Within business hours")
	}
	return ""
}

func noticeText(m protocol.Message) string {
	when := m.CreatedAt.Local().Format("15:04")
	if m.Kind == protocol.KindHandover {
		return when + "  " + T("msg.handoverNotice", "Automatic notice sent: another staff member now answers")
	}
	if m.Kind == protocol.KindApology {
		return when + "  " + T("msg.apology", "Apology sent: nobody took it in time (対応できず)")
	}
	if m.Kind == protocol.KindNominationReturned {
		return when + "  " + T("msg.nominationReturned", "Automatic notice sent: the nominated counselor did not take it in time; back to the pool")
	}
	if m.ReopensAt != nil {
		return when + "  " + T("msg.closedNoticeAt", "Automatic notice sent: replies from {{.At}}", map[string]any{"At": m.ReopensAt.Local().Format("1/2 15:04")})
	}
	return when + "  " + T("msg.closedNotice", "Automatic notice sent: closed now")
}

// dayText names a day for the separator above its first message.
func dayText(day time.Time) string {
	weekdays := []string{T("day.sun", "Sun"), T("day.mon", "Mon"), T("day.tue", "Tue"), T("day.wed", "Wed"), T("day.thu", "Thu"), T("day.fri", "Fri"), T("day.sat", "Sat")}
	return T("history.day", "{{.Weekday}}, {{.Month}}/{{.Day}}/{{.Year}}", map[string]any{
		"Year": day.Year(), "Month": int(day.Month()), "Day": day.Day(), "Weekday": weekdays[day.Weekday()]})
}
