package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// progressText names a progress in the person's language.
func progressText(p protocol.Progress) string {
	switch p {
	case protocol.ProgressNew:
		return T("progress.new", "New")
	case protocol.ProgressInProgress:
		return T("progress.inProgress", "In progress")
	case protocol.ProgressAwaiting:
		return T("progress.awaiting", "Waiting for the client")
	case protocol.ProgressNextContact:
		return T("progress.nextContact", "Next contact set")
	case protocol.ProgressDone:
		return T("progress.done", "Done")
	case protocol.ProgressUnable:
		return T("progress.unable", "Could not help")
	}
	return string(p)
}

// dateText writes a next-contact date for the screen: 12月3日（木） in
// Japanese, Thu 12/3 in English.
func dateText(date string) string {
	d, err := protocol.ParseDate(date)
	if err != nil {
		return date
	}
	if lang := T("lang.code", "en"); lang == "ja" {
		return protocol.JapaneseDate(d)
	}
	return d.Format("Mon 1/2")
}

// Marker icons: a colour, an icon and a word each, never colour alone.
var (
	unreadIcon    = theme.NewPrimaryThemedResource(theme.MailComposeIcon())
	unhandledIcon = theme.NewWarningThemedResource(theme.MailReplyIcon())
	dueIcon       = theme.NewErrorThemedResource(theme.HistoryIcon())
)

// marker is one icon with its word, shown or hidden as a pair.
type marker struct {
	icon  *widget.Icon
	label *widget.Label
	box   *fyne.Container
}

func newMarker(res fyne.Resource, imp widget.Importance) *marker {
	m := &marker{icon: widget.NewIcon(res), label: widget.NewLabel("")}
	m.label.Importance = imp
	m.label.SizeName = theme.SizeNameCaptionText
	m.box = container.New(&iconLabel{}, m.icon, m.label)
	m.box.Hide()
	return m
}

// set shows the marker with text, or hides it for "".
func (m *marker) set(text string) {
	if text == "" {
		if m.box.Visible() {
			m.box.Hide()
		}
		return
	}
	setText(m.label, text)
	if !m.box.Visible() {
		m.box.Show()
	}
}

// iconLabel lays a small icon and a caption side by side, tight.
type iconLabel struct{}

func (iconLabel) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	s := theme.IconInlineSize()
	objs[0].Resize(fyne.NewSquareSize(s))
	objs[0].Move(fyne.NewPos(0, (size.Height-s)/2))
	objs[1].Move(fyne.NewPos(s-theme.Padding(), 0))
	objs[1].Resize(fyne.NewSize(size.Width-s+theme.Padding(), size.Height))
}

func (iconLabel) MinSize(objs []fyne.CanvasObject) fyne.Size {
	l := objs[1].MinSize()
	return fyne.NewSize(theme.IconInlineSize()+l.Width-theme.Padding(), max(l.Height, theme.IconInlineSize()))
}

// progressLine says a conversation's progress for its list row: the
// next-contact date with it, and whether that date is due.
func progressLine(in *inbox.Inbox, c *inbox.Conv) (text string, due string) {
	p := c.Progress()
	if p != protocol.ProgressNextContact || c.NextContact == "" {
		return progressText(p), ""
	}
	text = T("progress.nextContactOn", "Next contact {{.Date}}", map[string]any{"Date": dateText(c.NextContact)})
	switch overdue, today := in.Due(c); {
	case overdue:
		// The marker says it is a contact; the narrow row keeps the date.
		return dateText(c.NextContact), T("progress.overdue", "Overdue")
	case today:
		return dateText(c.NextContact), T("progress.today", "Contact today")
	}
	return text, ""
}

// progressBar is the header's progress control for the conversation in
// front: a choice of progress, who set it and when, and the date.
type progressBar struct {
	sel      *widget.Select
	who      *widget.Label
	content  fyne.CanvasObject
	settling bool
	// onChoose hears a progress chosen by the counselor (not one shown
	// because the conversation changed).
	onChoose func(p protocol.Progress)
}

func newProgressBar(onChoose func(protocol.Progress)) *progressBar {
	b := &progressBar{onChoose: onChoose, who: widget.NewLabel("")}
	opts := make([]string, len(protocol.Progresses))
	for i, p := range protocol.Progresses {
		opts[i] = progressText(p)
	}
	b.sel = widget.NewSelect(opts, func(string) {
		if b.settling || b.onChoose == nil {
			return
		}
		if i := b.sel.SelectedIndex(); i >= 0 {
			b.onChoose(protocol.Progresses[i])
		}
	})
	b.who.Importance = widget.LowImportance
	b.who.SizeName = theme.SizeNameCaptionText
	b.content = container.NewHBox(widget.NewLabel(T("progress.label", "Progress")), b.sel, b.who)
	return b
}

// show puts a conversation's progress on the bar without calling onChoose.
func (b *progressBar) show(in *inbox.Inbox, c *inbox.Conv, staff map[int64]protocol.Account) {
	b.settling = true
	defer func() { b.settling = false }()
	if c == nil {
		b.sel.ClearSelected()
		b.sel.Disable()
		setText(b.who, "")
		return
	}
	b.sel.Enable()
	p := c.Progress()
	for i, v := range protocol.Progresses {
		if v == p {
			if b.sel.SelectedIndex() != i {
				b.sel.SetSelectedIndex(i)
			}
		}
	}
	who := ""
	if p == protocol.ProgressNextContact && c.NextContact != "" {
		who = dateText(c.NextContact) + " · "
	}
	if c.ProgressAt != nil {
		by := T("progress.auto", "automatically")
		if c.ProgressBy != nil {
			by = staffLabel(staff[*c.ProgressBy])
			if *c.ProgressBy == in.Me().ID {
				by = T("msg.you", "you")
			}
			if by == "" {
				by = T("role.counselor", "counselor")
			}
		}
		who += T("progress.by", "{{.Who}}, {{.When}}", map[string]any{"Who": by, "When": whenText(*c.ProgressAt, in.Now())})
	}
	if d := decisionsText(c.Decisions, c.Messages); d != "" {
		who += "  " + d
	}
	setText(b.who, who)
}

// datePicker asks for a next-contact date: a calendar, with tomorrow and
// a week ahead one click away. Dates before today are refused.
type datePicker struct {
	dlg     dialog.Dialog
	today   time.Time
	chosen  func(date time.Time)
	cal     *widget.Calendar
	refused *widget.Label // says why a day was not taken
}

func showDatePicker(win fyne.Window, today time.Time, chosen func(date time.Time)) *datePicker {
	p := &datePicker{today: today, chosen: chosen}
	p.cal = widget.NewCalendar(today, p.choose)
	tomorrow := widget.NewButton(T("date.tomorrow", "Tomorrow"), func() { p.choose(today.AddDate(0, 0, 1)) })
	week := widget.NewButton(T("date.week", "In a week"), func() { p.choose(today.AddDate(0, 0, 7)) })
	hint := newJALabel(T("date.hint", "The date goes into the reply as text, and becomes the conversation's next-contact date when you send."))
	p.refused = widget.NewLabel("")
	p.refused.Importance = widget.DangerImportance
	content := container.NewVBox(hint, container.NewGridWithColumns(2, tomorrow, week), p.cal, p.refused)
	p.dlg = newCustom(win, T("date.title", "Next contact date"), content)
	p.dlg.Resize(fyne.NewSize(420, 0).Max(p.dlg.MinSize()))
	p.dlg.Show()
	return p
}

// choose takes a day (the calendar gives local midnight) as a date.
func (p *datePicker) choose(t time.Time) {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if d.Before(p.today) {
		// The server would refuse it: a promise is for today or later.
		p.refused.SetText(T("date.past", "That day has passed: choose today or later."))
		return
	}
	p.dlg.Hide()
	p.chosen(d)
}
