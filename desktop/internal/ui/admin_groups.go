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

// groupsTab keeps the organisation's client groups (issue 16): one per
// client company, contract or seminar, each with its own end of access.
type groupsTab struct {
	env     *adminEnv
	changed func()

	groups   []protocol.Group
	list     *widget.List
	selected *protocol.Group
	sel      *selection
	name     *widget.Entry
	rename   *widget.Entry
	until    *widget.Entry
	content  fyne.CanvasObject
}

func newGroupsTab(env *adminEnv) *groupsTab {
	t := &groupsTab{env: env}
	t.list = widget.NewList(
		func() int { return len(t.groups) },
		func() fyne.CanvasObject { return newJALabel("group · 000 clients · until 2026-12-31") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(t.groups) {
				o.(*jaLabel).SetText(GroupLine(t.groups[i]))
			}
		})
	t.list.OnSelected = func(i widget.ListItemID) {
		if i < len(t.groups) {
			t.choose(&t.groups[i])
		}
	}
	t.list.OnUnselected = func(widget.ListItemID) { t.choose(nil) }
	t.name = widget.NewEntry()
	t.name.SetPlaceHolder(T("admin.groupName", "Name, e.g. the client company"))
	add := widget.NewButton(T("admin.addGroup", "Add group"), func() { t.Add(t.name.Text) })
	add.Importance = widget.HighImportance
	t.name.OnSubmitted = func(string) { t.Add(t.name.Text) }

	t.sel = newSelection(T("admin.noGroupSelected", "Choose a group in the list to change it."))
	t.rename = widget.NewEntry()
	rename := widget.NewButton(T("admin.renameGroup", "Rename"), func() { t.Rename(t.rename.Text) })
	t.until = widget.NewEntry()
	t.until.SetPlaceHolder(T("admin.untilHint", "YYYY-MM-DD, empty: no limit"))
	setUntil := widget.NewButton(T("admin.setUntil", "Set access until"), func() { t.SetAccessUntil(t.until.Text) })
	t.sel.add(rename, setUntil)

	form := container.NewVBox(
		widget.NewLabelWithStyle(T("admin.newGroup", "New group"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		t.name, add, widget.NewSeparator(),
		t.sel.label,
		container.NewBorder(nil, nil, nil, rename, t.rename),
		widget.NewLabel(T("admin.groupAccessUntil", "Last day of access for the whole group (the contract's end)")),
		container.NewBorder(nil, nil, nil, setUntil, t.until),
		newJALabel(T("admin.groupHelp", "Counselors see the group's name beside each nickname, never the login ID. When the last day has passed, every client of the group is signed out at once.")),
	)
	split := container.NewHSplit(t.list, container.NewVScroll(form))
	split.Offset = 0.5
	t.content = split
	return t
}

// GroupLine says one group in a line: name, clients, end of access.
func GroupLine(g protocol.Group) string {
	line := g.Name + " · " + T("admin.groupClients", "{{.Count}} clients", map[string]any{"Count": g.Clients})
	if g.AccessUntil != nil {
		line += " · " + T("admin.until", "until {{.Date}}", map[string]any{"Date": g.AccessUntil.Add(-time.Second).Local().Format("2006-01-02")})
	}
	if g.Default {
		line += " · " + T("admin.defaultGroup", "default")
	}
	return line
}

func (t *groupsTab) show(groups []protocol.Group) {
	keep := int64(0)
	if t.selected != nil {
		keep = t.selected.ID
	}
	t.groups = groups
	t.list.UnselectAll()
	t.choose(nil)
	t.list.Refresh()
	for i, g := range groups {
		if g.ID == keep {
			t.list.Select(i)
		}
	}
}

func (t *groupsTab) choose(g *protocol.Group) {
	t.selected = g
	if g == nil {
		t.sel.set("")
		t.rename.SetText("")
		t.until.SetText("")
		return
	}
	t.sel.set(T("admin.selectedGroup", "Selected: {{.Name}}", map[string]any{"Name": g.Name}))
	t.rename.SetText(g.Name)
	t.until.SetText("")
	if g.AccessUntil != nil {
		t.until.SetText(g.AccessUntil.Add(-time.Second).Local().Format("2006-01-02"))
	}
}

// Add creates a group.
func (t *groupsTab) Add(name string) {
	name = strings.TrimSpace(name)
	if name == "" {
		Inform(t.env.win, T("admin.addGroup", "Add group"), T("admin.needGroupName", "Enter the group's name."))
		return
	}
	t.env.call(T("admin.saveFailed", "Could not save"), func(ctx context.Context) error {
		_, err := t.env.api.CreateGroup(ctx, protocol.GroupRequest{Name: &name})
		return err
	}, func() {
		t.name.SetText("")
		t.changed()
	})
}

// Rename renames the selected group.
func (t *groupsTab) Rename(name string) {
	if t.selected == nil {
		return
	}
	name = strings.TrimSpace(name)
	id := t.selected.ID
	t.env.call(T("admin.saveFailed", "Could not save"), func(ctx context.Context) error {
		_, err := t.env.api.UpdateGroup(ctx, id, protocol.GroupRequest{Name: &name})
		return err
	}, t.changed)
}

// SetAccessUntil sets (or with an empty date clears) the selected
// group's last day of access; a day already past asks first, as it signs
// every client of the group out.
func (t *groupsTab) SetAccessUntil(date string) {
	if t.selected == nil {
		return
	}
	req := protocol.GroupRequest{ClearAccessUntil: true}
	var end time.Time
	if d := strings.TrimSpace(date); d != "" {
		day, err := time.ParseInLocation("2006-01-02", d, time.Local)
		if err != nil {
			Inform(t.env.win, T("admin.setUntil", "Set access until"), T("admin.badDate", "Write the date as 2027-03-31."))
			return
		}
		end = day.AddDate(0, 0, 1) // through the end of that day
		req = protocol.GroupRequest{AccessUntil: &end}
	}
	g := *t.selected
	save := func() {
		t.env.call(T("admin.saveFailed", "Could not save"), func(ctx context.Context) error {
			_, err := t.env.api.UpdateGroup(ctx, g.ID, req)
			return err
		}, t.changed)
	}
	if req.AccessUntil != nil && !time.Now().Before(end) {
		Confirm(t.env.win, T("admin.groupEndTitle", "End the group's access now?"),
			T("admin.groupEndBody", "Every client of {{.Name}} ({{.Count}}) is signed out at once and cannot sign in again.", map[string]any{"Name": g.Name, "Count": g.Clients}),
			T("admin.groupEndYes", "End access"), T("dialog.cancel", "Cancel"), save)
		return
	}
	save()
}
