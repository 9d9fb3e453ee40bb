package ui

import (
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// convList is the left pane: the view (自分の担当, 未対応, and for admins
// 全体), then its conversations (waiting first, longest wait first; then
// the others by last activity), a filter and a search by nickname. Its
// selection only mirrors the inbox's conversation in front; picking a row
// asks the inbox, never the other way round.
type convList struct {
	in     *inbox.Inbox
	onPick func(id int64)
	// staffName names a staff member by account (the assignee in 全体).
	staffName func(id int64) string

	view      inbox.View
	viewBtns  [3]*widget.Button
	viewBar   *fyne.Container
	search    *searchEntry
	filter    *widget.Select
	list      *widget.List
	count     *widget.Label
	hint      *jaLabel // why the pool shows nothing (away, at the limit)
	content   fyne.CanvasObject
	showAll   bool // the 全体 view is offered (admins)
	onViewSet func(v inbox.View)

	shown     []*inbox.Conv
	rows      map[int64]*convRow // the row widget showing each conversation in view
	selIndex  int                // the row the list shows selected, -1 for none
	selecting bool               // the list is being made to mirror the inbox
}

var filterOrder = []inbox.Filter{inbox.FilterAll, inbox.FilterWaiting, inbox.FilterUnread, inbox.FilterDue, inbox.FilterAnswered,
	inbox.FilterNew, inbox.FilterInProgress, inbox.FilterAwaiting, inbox.FilterNextContact, inbox.FilterDone, inbox.FilterUnable}

// filterLabels name filterOrder's filters.
func filterLabels() []string {
	return []string{T("list.all", "All"), T("list.waiting", "Waiting for a reply"), T("list.unread", "Unread"),
		T("list.due", "Contact due"), T("list.answered", "Answered"),
		T("list.progress", "Progress: {{.Progress}}", map[string]any{"Progress": progressText(protocol.ProgressNew)}),
		T("list.progress", "Progress: {{.Progress}}", map[string]any{"Progress": progressText(protocol.ProgressInProgress)}),
		T("list.progress", "Progress: {{.Progress}}", map[string]any{"Progress": progressText(protocol.ProgressAwaiting)}),
		T("list.progress", "Progress: {{.Progress}}", map[string]any{"Progress": progressText(protocol.ProgressNextContact)}),
		T("list.progress", "Progress: {{.Progress}}", map[string]any{"Progress": progressText(protocol.ProgressDone)}),
		T("list.progress", "Progress: {{.Progress}}", map[string]any{"Progress": progressText(protocol.ProgressUnable)}),
	}
}

func newConvList(in *inbox.Inbox, onPick func(id int64)) *convList {
	l := &convList{in: in, onPick: onPick, rows: map[int64]*convRow{}, staffName: func(int64) string { return "" }}
	for i, v := range []inbox.View{inbox.ViewMine, inbox.ViewPool, inbox.ViewAll} {
		l.viewBtns[i] = widget.NewButton("", func() { l.SetView(v) })
	}
	l.viewBtns[2].Hide()
	// Two to a row: the list stays narrow, the conversation wide.
	l.viewBar = container.NewVBox(container.NewGridWithColumns(2, l.viewBtns[0], l.viewBtns[1]), l.viewBtns[2])
	l.search = newSearchEntry()
	l.search.SetPlaceHolder(T("list.search", "Search by nickname (Ctrl+F)"))
	l.search.OnSubmitted = func(string) {
		if len(l.shown) > 0 {
			l.onPick(l.shown[0].ID)
		}
	}
	l.filter = widget.NewSelect(filterLabels(), nil)
	l.filter.SetSelectedIndex(0)
	l.list = widget.NewList(
		func() int { return len(l.shown) },
		newConvRow,
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(l.shown) {
				r := o.(*convRow)
				if r.conv != 0 && l.rows[r.conv] == r {
					delete(l.rows, r.conv)
				}
				r.bind(l, l.shown[i])
				l.rows[r.conv] = r
			}
		})
	l.selIndex = -1
	l.list.OnSelected = func(i widget.ListItemID) {
		l.selIndex = i
		if l.selecting || i >= len(l.shown) {
			return
		}
		l.onPick(l.shown[i].ID)
	}
	l.list.OnUnselected = func(i widget.ListItemID) {
		if l.selIndex == i {
			l.selIndex = -1
		}
	}
	l.search.OnChanged = func(string) { l.Sync(inbox.Effect{All: true}) }
	l.filter.OnChanged = func(string) { l.Sync(inbox.Effect{All: true}) }
	l.count = widget.NewLabel("")
	l.count.Importance = widget.LowImportance
	l.hint = newJALabel("")
	l.hint.Importance = widget.WarningImportance
	l.hint.Hide()
	top := container.NewVBox(l.viewBar, l.search, l.filter, l.hint)
	l.content = container.NewBorder(top, l.count, nil, nil, l.list)
	l.showViews()
	return l
}

// OfferAll offers the 全体 view (admins, who read every conversation).
func (l *convList) OfferAll(on bool) {
	if on == l.showAll {
		return
	}
	l.showAll = on
	if on {
		l.viewBtns[2].Show()
	} else {
		l.viewBtns[2].Hide()
		if l.view == inbox.ViewAll {
			l.view = inbox.ViewMine
		}
	}
	l.viewBar.Refresh()
	l.showViews()
}

// SetView shows one view's conversations.
func (l *convList) SetView(v inbox.View) {
	if v == inbox.ViewAll && !l.showAll {
		v = inbox.ViewMine
	}
	changed := v != l.view
	l.view = v
	l.showViews()
	l.Sync(inbox.Effect{All: true})
	if changed && l.onViewSet != nil {
		l.onViewSet(v)
	}
}

// View is the view shown.
func (l *convList) View() inbox.View { return l.view }

// showViews names each view with its count and marks the one shown.
func (l *convList) showViews() {
	mine, _ := l.in.Count(inbox.ViewMine)
	pool, _ := l.in.Count(inbox.ViewPool)
	all, _ := l.in.Count(inbox.ViewAll)
	mineText := T("view.mine", "Mine {{.Count}}", map[string]any{"Count": mine})
	if max := l.in.Org().Settings.MaxOpen; max > 0 && l.in.Me().Role == protocol.RoleCounselor {
		mineText = T("view.mineOf", "Mine {{.Count}}/{{.Max}}", map[string]any{"Count": mine, "Max": max})
	}
	texts := [3]string{
		mineText,
		T("view.pool", "Unassigned {{.Count}}", map[string]any{"Count": pool}),
		T("view.all", "All {{.Count}}", map[string]any{"Count": all}),
	}
	for i, b := range l.viewBtns {
		imp := widget.LowImportance
		if inbox.View(i) == l.view {
			imp = widget.HighImportance
		} else if inbox.View(i) == inbox.ViewPool && pool > 0 {
			imp = widget.WarningImportance // something waits for someone to take it
		}
		if b.Text != texts[i] || b.Importance != imp {
			b.Text, b.Importance = texts[i], imp
			b.Refresh()
		}
	}
}

func (l *convList) currentFilter() inbox.Filter {
	return filterOrder[max(l.filter.SelectedIndex(), 0)]
}

// Sync brings the list up to date with the inbox after eff: when the
// order holds, only the changed rows are redrawn.
func (l *convList) Sync(eff inbox.Effect) {
	next := l.in.List(l.view, l.currentFilter(), l.search.Text)
	same := len(next) == len(l.shown)
	for i := 0; same && i < len(next); i++ {
		same = next[i] == l.shown[i]
	}
	l.shown = next
	switch {
	case !same || eff.All || eff.FocusChanged:
		l.list.Refresh()
	default:
		// The order holds: redraw the changed rows in view, each by itself
		// (widget.List's RefreshItem redraws every row in view).
		for _, id := range eff.Convs {
			if r := l.rows[id]; r != nil && r.conv == id {
				if c := l.in.Conv(id); c != nil {
					r.bind(l, c)
				}
			}
		}
	}
	viewTotal, _ := l.in.Count(l.view)
	l.count.SetText(T("list.count", "{{.Shown}} of {{.Total}} conversations", map[string]any{"Shown": len(next), "Total": viewTotal}))
	l.showViews()
	l.showHint()
	l.mirror()
}

// showHint says, in the pool's view, why it is not offered.
func (l *convList) showHint() {
	text := ""
	if offered, atLimit := l.in.Offered(); l.view == inbox.ViewPool && !offered {
		text = T("pool.notOfferedAway", "You are away: the pool is not shown. Choose “Taking conversations” at the top right to see it.")
		if atLimit {
			text = T("pool.notOfferedFull", "You have as many conversations as the organisation allows ({{.Max}}): the pool is shown again when one ends or is handed on.",
				map[string]any{"Max": l.in.Org().Settings.MaxOpen})
		}
	}
	if text == "" {
		l.hint.Hide()
		return
	}
	l.hint.SetText(text)
	l.hint.Show()
}

func (l *convList) index(id int64) int {
	return slices.IndexFunc(l.shown, func(c *inbox.Conv) bool { return c.ID == id })
}

// mirror selects the conversation in front, or nothing if it is filtered
// out: the list never shows one person selected while another is in front.
func (l *convList) mirror() {
	l.selecting = true
	defer func() { l.selecting = false }()
	if i := l.index(l.in.FocusedID()); i >= 0 {
		l.list.Select(i)
		return
	}
	l.list.UnselectAll()
}

// SelectedID is the conversation the list shows selected (0: none).
func (l *convList) SelectedID() int64 {
	if l.selIndex < 0 || l.selIndex >= len(l.shown) {
		return 0
	}
	return l.shown[l.selIndex].ID
}

// Tick redraws the rows in view: wait times move on.
func (l *convList) Tick() { l.list.Refresh() }

// convRow is one conversation in the list: nickname and wait (or last
// activity) on the first line, its state and unread count on the second.
type convRow struct {
	widget.BaseWidget
	name, when, state *widget.Label
	// Markers at a glance, each an icon, a colour and a word: unread,
	// unhandled (no reply after the client's message), a contact due.
	unread, unhandled, due *marker
	conv                   int64 // the conversation shown
}

func newConvRow() fyne.CanvasObject {
	r := &convRow{name: widget.NewLabel("nickname"), when: widget.NewLabel("00:00"), state: widget.NewLabel("state")}
	r.name.TextStyle.Bold = true
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.when.Importance = widget.LowImportance
	r.state.Importance = widget.LowImportance
	r.state.SizeName = theme.SizeNameCaptionText
	r.state.Truncation = fyne.TextTruncateEllipsis
	r.unread = newMarker(unreadIcon, widget.HighImportance)
	r.unhandled = newMarker(unhandledIcon, widget.WarningImportance)
	r.due = newMarker(dueIcon, widget.DangerImportance)
	r.ExtendBaseWidget(r)
	return r
}

func (r *convRow) CreateRenderer() fyne.WidgetRenderer {
	top := container.NewBorder(nil, nil, nil, r.when, r.name)
	second := container.NewBorder(nil, nil, container.NewHBox(r.due.box, r.unhandled.box, r.unread.box), nil, r.state)
	return widget.NewSimpleRenderer(container.New(&tightRows{}, top, second))
}

func (r *convRow) bind(l *convList, c *inbox.Conv) {
	in := l.in
	r.conv = c.ID
	if c.RiskAt != nil {
		setText(r.name, "⚠ "+ConvName(c.Conversation)) // risk first: seen at a glance, selected or not
	} else {
		setText(r.name, ConvName(c.Conversation))
	}
	unread := 0
	if in.Readable(c) {
		unread = c.Unread()
	}
	state, due := progressLine(in, c)
	switch {
	case c.InPool():
		r.when.Importance = widget.WarningImportance
		setText(r.when, waitText(in.Wait(c)))
		state = T("list.statePool", "Unassigned: waiting for someone to take it")
	case c.Waiting():
		r.when.Importance = widget.WarningImportance
		setText(r.when, waitText(in.Wait(c)))
		r.unhandled.set(T("marker.unhandled", "Not answered"))
	default:
		r.when.Importance = widget.LowImportance
		setText(r.when, whenText(c.LastActivity(), in.Now()))
		r.unhandled.set("")
		if c.LastSeq == 0 && c.Progress() == protocol.ProgressNew {
			state = T("list.stateNew", "Has not written yet")
		}
		switch c.Outcome {
		case protocol.OutcomeUnanswered:
			state = T("list.unanswered", "対応できず: nobody took it in time; apology sent")
		case protocol.OutcomeEnded:
			state = T("list.ended", "Ended")
		}
	}
	r.due.set(due)
	if unread > 0 {
		r.unread.set(T("marker.unread", "{{.Count}} unread", map[string]any{"Count": unread}))
	} else {
		r.unread.set("")
	}
	if who, ok := c.Typing(in.Now()); ok {
		state = typingText(who, c.Nickname)
	}
	if c.RiskAt != nil {
		// Risk first: staff see why this one is at the top.
		r.when.Importance = widget.DangerImportance
		state = T("list.risk", "⚠ Crisis words: answer first") + " · " + state
	}
	if c.NominatedAt != nil {
		// 指名: the client asked for this counselor, who has not taken it yet.
		state = T("list.nominated", "Nominated you") + " · " + state
	}
	if l.view == inbox.ViewAll && c.AssigneeID != nil && !in.Mine(c) {
		state = T("list.assignee", "{{.Name}}'s", map[string]any{"Name": l.staffName(*c.AssigneeID)}) + " · " + state
	}
	if c.Draft != "" {
		state += " · " + T("list.draft", "draft")
	}
	if n := len(c.Pending); n > 0 {
		state += " · " + T("list.pending", "{{.Count}} waiting to send", map[string]any{"Count": n})
	}
	setText(r.state, state)
}

// setText changes a label only if its text changed: each change shapes
// the text again, which is what a list redraw spends its time on.
func setText(l *widget.Label, s string) {
	if l.Text != s {
		l.SetText(s)
	}
}

// waitText says how long a client has waited: minutes, then hours.
func waitText(d time.Duration) string {
	m := int(d / time.Minute)
	if m < 60 {
		return T("queue.wait", "{{.Minutes}} min", map[string]any{"Minutes": m})
	}
	return T("queue.waitHours", "{{.Hours}} h {{.Minutes}} min", map[string]any{"Hours": m / 60, "Minutes": m % 60})
}

// whenText is a time today, else a date.
func whenText(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	if localDay(t).Equal(localDay(now)) {
		return t.Local().Format("15:04")
	}
	return t.Local().Format("1/2")
}

// tightRows stacks objects with no padding between them: two lines of one
// list row read as one entry.
type tightRows struct{}

func (tightRows) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	y := float32(0)
	for _, o := range objs {
		h := o.MinSize().Height
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, h))
		y += h - 8 // labels carry their own padding; overlap it
	}
}

func (tightRows) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		m := o.MinSize()
		s.Width = max(s.Width, m.Width)
		s.Height += m.Height - 8
	}
	return s.AddWidthHeight(0, 8)
}

// ConvName is a client as staff see them: the nickname, and beside it the
// group's name (issue 16), never anything that identifies the person.
func ConvName(c protocol.Conversation) string {
	if c.GroupName == "" {
		return c.Nickname
	}
	return c.Nickname + "（" + c.GroupName + "）"
}
