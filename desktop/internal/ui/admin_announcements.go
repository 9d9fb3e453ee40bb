package ui

import (
	"context"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// announcementsTab sends お知らせ (issue 16) to every client or to chosen
// groups, with an optional period, and lists those not yet deleted.
type announcementsTab struct {
	env *adminEnv

	groups   []protocol.Group
	list     []protocol.Announcement
	rows     *widget.List
	selected *protocol.Announcement
	sel      *selection
	body     *widget.Entry
	to       *widget.CheckGroup
	from     *widget.Entry
	until    *widget.Entry
	content  fyne.CanvasObject
}

func newAnnouncementsTab(env *adminEnv) *announcementsTab {
	t := &announcementsTab{env: env}
	t.rows = widget.NewList(
		func() int { return len(t.list) },
		func() fyne.CanvasObject { return newJALabel("announcement · groups · until") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(t.list) {
				o.(*jaLabel).SetText(t.line(t.list[i]))
			}
		})
	t.rows.OnSelected = func(i widget.ListItemID) {
		if i < len(t.list) {
			t.choose(&t.list[i])
		}
	}
	t.rows.OnUnselected = func(widget.ListItemID) { t.choose(nil) }
	t.body = widget.NewMultiLineEntry()
	t.body.SetPlaceHolder(T("news.body", "e.g. We are closed from 29 December to 3 January."))
	t.body.Wrapping = fyne.TextWrapWord
	t.body.SetMinRowsVisible(4)
	t.to = widget.NewCheckGroup(nil, nil)
	t.from = widget.NewEntry()
	t.from.SetPlaceHolder(T("news.fromHint", "From YYYY-MM-DD (empty: now)"))
	t.until = widget.NewEntry()
	t.until.SetPlaceHolder(T("news.untilHint", "Last day YYYY-MM-DD (empty: none)"))
	send := widget.NewButton(T("news.send", "Send announcement"), func() { t.Send(t.body.Text, t.from.Text, t.until.Text) })
	send.Importance = widget.HighImportance
	t.sel = newSelection(T("news.noneSelected", "Choose an announcement in the list to delete it."))
	del := widget.NewButton(T("news.delete", "Delete announcement"), t.confirmDelete)
	del.Importance = widget.DangerImportance
	t.sel.add(del)
	form := container.NewVBox(
		widget.NewLabelWithStyle(T("news.new", "New announcement"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		t.body,
		widget.NewLabel(T("news.to", "To (none ticked: every client)")),
		t.to,
		container.NewGridWithColumns(2, t.from, t.until),
		send,
		newJALabel(T("news.help", "Clients see it as a notice at the top of the app until they close it; phones with notifications on are told only that there is news. It is deleted on the same schedule as messages.")),
		widget.NewSeparator(),
		t.sel.label, del,
	)
	split := container.NewHSplit(t.rows, container.NewVScroll(form))
	split.Offset = 0.5
	t.content = split
	return t
}

// line says one announcement in a line: its start, to whom, until when.
func (t *announcementsTab) line(a protocol.Announcement) string {
	body, _, _ := strings.Cut(a.Body, "\n")
	if r := []rune(body); len(r) > 30 {
		body = string(r[:30]) + "…"
	}
	to := T("news.everyone", "everyone")
	if len(a.GroupIDs) > 0 {
		var names []string
		for _, id := range a.GroupIDs {
			for _, g := range t.groups {
				if g.ID == id {
					names = append(names, g.Name)
				}
			}
		}
		to = strings.Join(names, "、")
	}
	line := body + " · " + to
	if a.EndsAt != nil {
		line += " · " + T("admin.until", "until {{.Date}}", map[string]any{"Date": a.EndsAt.Add(-time.Second).Local().Format("2006-01-02")})
	}
	return line
}

func (t *announcementsTab) setGroups(groups []protocol.Group) {
	t.groups = groups
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.Name
	}
	ticked := t.to.Selected
	t.to.Options = names
	t.to.Selected = nil
	for _, n := range ticked {
		for _, m := range names {
			if n == m {
				t.to.Selected = append(t.to.Selected, n)
			}
		}
	}
	t.to.Refresh()
}

func (t *announcementsTab) show(list []protocol.Announcement) {
	t.list = list
	t.rows.UnselectAll()
	t.choose(nil)
	t.rows.Refresh()
}

func (t *announcementsTab) choose(a *protocol.Announcement) {
	t.selected = a
	if a == nil {
		t.sel.set("")
		return
	}
	t.sel.set(t.line(*a))
}

// Load fetches the announcements.
func (t *announcementsTab) Load() {
	var list []protocol.Announcement
	t.env.call(T("admin.loadFailed", "Could not load"), func(ctx context.Context) error {
		var err error
		list, err = t.env.api.Announcements(ctx)
		return err
	}, func() { t.show(list) })
}

// Send sends the announcement written, to the ticked groups (none: all).
func (t *announcementsTab) Send(body, from, until string) {
	if strings.TrimSpace(body) == "" {
		Inform(t.env.win, T("news.send", "Send announcement"), T("news.needBody", "Write the announcement."))
		return
	}
	req := protocol.AnnouncementRequest{Body: body}
	for _, name := range t.to.Selected {
		for _, g := range t.groups {
			if g.Name == name {
				req.GroupIDs = append(req.GroupIDs, g.ID)
			}
		}
	}
	for _, d := range []struct {
		text string
		set  func(time.Time)
	}{
		{from, func(day time.Time) { req.StartsAt = &day }},
		{until, func(day time.Time) { end := day.AddDate(0, 0, 1); req.EndsAt = &end }}, // through that day
	} {
		if s := strings.TrimSpace(d.text); s != "" {
			day, err := time.ParseInLocation("2006-01-02", s, time.Local)
			if err != nil {
				Inform(t.env.win, T("news.send", "Send announcement"), T("admin.badDate", "Write the date as 2027-03-31."))
				return
			}
			d.set(day)
		}
	}
	to := T("news.toEveryone", "every client")
	if len(req.GroupIDs) > 0 {
		to = strings.Join(t.to.Selected, "、")
	}
	Confirm(t.env.win, T("news.confirmTitle", "Send this announcement?"),
		T("news.confirmBody", "It goes to {{.To}}. Clients cannot answer it; it is not part of any conversation.", map[string]any{"To": to}),
		T("news.send", "Send announcement"), T("dialog.cancel", "Cancel"), func() {
			t.env.call(T("news.failed", "Could not send the announcement"), func(ctx context.Context) error {
				_, err := t.env.api.CreateAnnouncement(ctx, req)
				return err
			}, func() {
				t.body.SetText("")
				t.from.SetText("")
				t.until.SetText("")
				t.Load()
			})
		})
}

func (t *announcementsTab) confirmDelete() {
	if t.selected == nil {
		return
	}
	id := t.selected.ID
	Confirm(t.env.win, T("news.delete", "Delete announcement"), T("news.deleteBody", "Clients no longer see it. This cannot be undone."),
		T("news.delete", "Delete announcement"), T("dialog.cancel", "Cancel"), func() {
			t.env.call(T("admin.deleteFailed", "Could not delete"), func(ctx context.Context) error {
				return t.env.api.DeleteAnnouncement(ctx, id)
			}, t.Load)
		})
}
