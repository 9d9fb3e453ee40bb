package ui

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// clientsTab registers clients (one, or many for a seminar), and acts on
// the one selected: access period, new password, sign-out, devices,
// deletion.
type clientsTab struct {
	env     *adminEnv
	changed func() // something changed on the server: reload

	all      []protocol.Account
	shown    []protocol.Account
	filter   *widget.Entry
	list     *widget.List
	selected *protocol.Account
	sel      *selection

	nickname   *widget.Entry
	note       *widget.Entry
	bulkPrefix *widget.Entry
	bulkCount  *widget.Entry
	until      *widget.Entry
	content    fyne.CanvasObject

	// Issue 16: every client is registered into a group (group), and the
	// list can show one group (groupFilter). A registrar's tab has no
	// note, access date, sign-out or devices: those are the admins'.
	groups      []protocol.Group
	group       *widget.Select
	groupFilter *widget.Select
	registrar   bool
}

func newClientsTab(env *adminEnv) *clientsTab { return newClientsTabFor(env, false) }

func newClientsTabFor(env *adminEnv, registrar bool) *clientsTab {
	t := &clientsTab{env: env, registrar: registrar}
	t.filter = widget.NewEntry()
	t.filter.SetPlaceHolder(T("admin.find", "Find by nickname or login ID"))
	t.filter.OnChanged = func(string) { t.applyFilter() }
	t.group = widget.NewSelect(nil, nil)
	t.group.PlaceHolder = T("admin.chooseGroup", "Group")
	t.groupFilter = widget.NewSelect(nil, func(string) { t.applyFilter() })
	t.list = widget.NewList(
		func() int { return len(t.shown) },
		func() fyne.CanvasObject { return widget.NewLabel("nickname · login-id · until") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(t.shown) {
				o.(*widget.Label).SetText(clientLine(t.shown[i]))
			}
		})
	t.list.OnSelected = func(i widget.ListItemID) {
		if i < len(t.shown) {
			t.choose(&t.shown[i])
		}
	}
	t.list.OnUnselected = func(widget.ListItemID) { t.choose(nil) }

	t.nickname = widget.NewEntry()
	t.nickname.SetPlaceHolder(T("admin.nickname", "Nickname (no real names)"))
	t.note = widget.NewEntry()
	t.note.SetPlaceHolder(T("admin.note", "Note for counselors (optional)"))
	register := widget.NewButton(T("admin.register", "Register"), func() { t.Register(t.nickname.Text, t.note.Text) })
	register.Importance = widget.HighImportance
	t.nickname.OnSubmitted = func(string) { t.Register(t.nickname.Text, t.note.Text) }
	t.bulkPrefix = widget.NewEntry()
	t.bulkPrefix.SetPlaceHolder(T("admin.bulkPrefix", "Prefix, e.g. seminar"))
	t.bulkCount = widget.NewEntry()
	t.bulkCount.SetPlaceHolder(T("admin.bulkCountHint", "How many"))
	bulk := widget.NewButton(T("admin.bulk", "Register many"), func() { t.BulkRegister(t.bulkPrefix.Text, t.bulkCount.Text) })

	t.sel = newSelection(T("admin.noneSelected", "Choose a client in the list to act on them."))
	t.until = widget.NewEntry()
	t.until.SetPlaceHolder(T("admin.untilHint", "YYYY-MM-DD, empty: no limit"))
	setUntil := widget.NewButton(T("admin.setUntil", "Set access until"), func() { t.SetAccessUntil(t.until.Text) })
	reset := widget.NewButton(T("admin.reset", "New password…"), t.confirmReset)
	logout := widget.NewButton(T("admin.forceLogout", "Sign out everywhere"), func() {
		if c := t.selected; c != nil {
			env.forceLogout(c.ID, c.Nickname)
		}
	})
	devices := widget.NewButton(T("admin.devices", "Devices and deletions"), func() {
		if c := t.selected; c != nil {
			env.showDevices(c.ID, c.Nickname)
		}
	})
	del := widget.NewButton(T("admin.delete", "Delete…"), t.ConfirmDelete)
	del.Importance = widget.DangerImportance
	groupRow := container.NewBorder(nil, nil, widget.NewLabel(T("admin.group", "Group")), nil, t.group)
	var form *fyne.Container
	if registrar {
		t.sel.add(reset, del)
		form = container.NewVBox(
			groupRow,
			widget.NewLabelWithStyle(T("admin.newClient", "New client"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
			t.nickname, register,
			widget.NewSeparator(),
			widget.NewLabelWithStyle(T("admin.newClients", "Many clients (seminar, sealed letters)"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
			container.NewGridWithColumns(2, t.bulkPrefix, t.bulkCount), bulk,
			widget.NewSeparator(),
			t.sel.label, reset, del,
		)
	} else {
		t.sel.add(setUntil, reset, logout, devices, del)
		form = container.NewVBox(
			groupRow,
			widget.NewLabelWithStyle(T("admin.newClient", "New client"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
			t.nickname, t.note, register,
			widget.NewSeparator(),
			widget.NewLabelWithStyle(T("admin.newClients", "Many clients (seminar, sealed letters)"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
			container.NewGridWithColumns(2, t.bulkPrefix, t.bulkCount), bulk,
			widget.NewSeparator(),
			t.sel.label,
			widget.NewLabel(T("admin.accessUntil", "Last day of access")),
			container.NewBorder(nil, nil, nil, setUntil, t.until), reset, logout, devices, del,
		)
	}
	// The group filter under the search box: beside it, a long group
	// name was cut to a few characters.
	left := container.NewBorder(container.NewVBox(t.filter, t.groupFilter), nil, nil, nil, t.list)
	split := container.NewHSplit(left, container.NewVScroll(form))
	split.Offset = 0.58
	t.content = split
	return t
}

func clientLine(c protocol.Account) string {
	line := c.Nickname + " · " + c.LoginID
	if c.GroupName != "" {
		line += " · " + c.GroupName
	}
	if end := c.AccessEnds(); end != nil {
		line += " · " + T("admin.until", "until {{.Date}}", map[string]any{"Date": end.Add(-time.Second).Local().Format("2006-01-02")})
	}
	if c.DeleteAt != nil {
		line += " · " + T("admin.deleteAt", "deleted {{.Date}}", map[string]any{"Date": c.DeleteAt.Local().Format("2006-01-02")})
	}
	return line
}

// setGroups offers the groups to register into and to filter by; the
// choices made stay when the list is reloaded.
func (t *clientsTab) setGroups(groups []protocol.Group) {
	t.groups = groups
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.Name
	}
	chosen, filtered := t.group.Selected, t.groupFilter.Selected
	t.group.SetOptions(names)
	all := T("admin.allGroups", "All groups")
	t.groupFilter.SetOptions(append([]string{all}, names...))
	if slices.Contains(names, chosen) {
		t.group.SetSelected(chosen)
	} else if len(names) > 0 {
		t.group.SetSelectedIndex(0)
	}
	if slices.Contains(names, filtered) {
		t.groupFilter.SetSelected(filtered)
	} else {
		t.groupFilter.SetSelectedIndex(0)
	}
}

// chosenGroup is the group to register into (0: the server's default).
func (t *clientsTab) chosenGroup() int64 {
	if i := t.group.SelectedIndex(); i >= 0 && i < len(t.groups) {
		return t.groups[i].ID
	}
	return 0
}

func (t *clientsTab) choose(c *protocol.Account) {
	t.selected = c
	if c == nil {
		t.sel.set("")
		t.until.SetText("")
		return
	}
	t.sel.set(T("admin.selected", "Selected: {{.Name}} ({{.Login}})", map[string]any{"Name": c.Nickname, "Login": c.LoginID}))
	t.until.SetText("")
	if c.AccessUntil != nil {
		t.until.SetText(c.AccessUntil.Add(-time.Second).Local().Format("2006-01-02"))
	}
}

func (t *clientsTab) show(clients []protocol.Account) {
	t.all = clients
	t.applyFilter()
}

func (t *clientsTab) applyFilter() {
	q := strings.ToLower(strings.TrimSpace(t.filter.Text))
	keep := int64(0)
	if t.selected != nil {
		keep = t.selected.ID
	}
	t.shown = t.shown[:0]
	var onlyGroup int64
	if i := t.groupFilter.SelectedIndex(); i > 0 && i <= len(t.groups) {
		onlyGroup = t.groups[i-1].ID
	}
	for _, c := range t.all {
		if onlyGroup != 0 && c.GroupID != onlyGroup {
			continue
		}
		if q == "" || strings.Contains(strings.ToLower(c.Nickname), q) || strings.Contains(c.LoginID, q) {
			t.shown = append(t.shown, c)
		}
	}
	t.list.UnselectAll()
	t.choose(nil)
	t.list.Refresh()
	for i, c := range t.shown {
		if c.ID == keep {
			t.list.Select(i)
		}
	}
}

// Register creates one client and shows its credentials once.
func (t *clientsTab) Register(nickname, note string) {
	nickname = strings.TrimSpace(nickname)
	if err := protocol.ValidateNickname(nickname); err != nil {
		Inform(t.env.win, T("admin.register", "Register"), T("admin.needNickname", "Enter a nickname of up to {{.Max}} characters.", map[string]any{"Max": protocol.MaxNicknameRune}))
		return
	}
	var cred protocol.Credentials
	group := t.chosenGroup()
	t.env.call(T("admin.registerFailed", "Could not register"), func(ctx context.Context) error {
		var err error
		cred, err = t.env.api.CreateClient(ctx, protocol.CreateClientRequest{Nickname: nickname, Note: note, GroupID: group})
		return err
	}, func() {
		t.nickname.SetText("")
		t.note.SetText("")
		t.env.issued([]protocol.Credentials{cred})
		t.changed()
	})
}

// BulkRegister creates count clients named prefix-1… for a seminar.
func (t *clientsTab) BulkRegister(prefix, count string) {
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if err != nil || n < 1 || n > protocol.MaxBulkClients || strings.TrimSpace(prefix) == "" {
		Inform(t.env.win, T("admin.bulk", "Register many"),
			T("admin.needBulk", "Enter a prefix and a number from 1 to {{.Max}}.", map[string]any{"Max": protocol.MaxBulkClients}))
		return
	}
	var creds []protocol.Credentials
	group := t.chosenGroup()
	t.env.call(T("admin.registerFailed", "Could not register"), func(ctx context.Context) error {
		var err error
		creds, err = t.env.api.BulkCreateClients(ctx, protocol.BulkCreateClientsRequest{Prefix: strings.TrimSpace(prefix), Count: n, GroupID: group})
		return err
	}, func() {
		t.bulkPrefix.SetText("")
		t.bulkCount.SetText("")
		t.env.issued(creds)
		t.changed()
	})
}

// SetAccessUntil sets (or with an empty date clears) the selected
// client's last day of access.
func (t *clientsTab) SetAccessUntil(date string) {
	if t.selected == nil {
		return
	}
	req := protocol.UpdateClientRequest{ClearAccessUntil: true}
	if d := strings.TrimSpace(date); d != "" {
		day, err := time.ParseInLocation("2006-01-02", d, time.Local)
		if err != nil {
			Inform(t.env.win, T("admin.setUntil", "Set access until"), T("admin.badDate", "Write the date as 2027-03-31."))
			return
		}
		end := day.AddDate(0, 0, 1) // through the end of that day
		req = protocol.UpdateClientRequest{AccessUntil: &end}
	}
	id := t.selected.ID
	t.env.call(T("admin.saveFailed", "Could not save"), func(ctx context.Context) error {
		_, err := t.env.api.UpdateClient(ctx, id, req)
		return err
	}, t.changed)
}

// confirmReset asks, naming the client and what it does, then issues a
// new one-time password.
func (t *clientsTab) confirmReset() {
	c := t.selected
	if c == nil {
		return
	}
	id, name := c.ID, c.Nickname
	Confirm(t.env.win, T("admin.resetTitle", "Issue a new password?"),
		T("admin.resetBody", "{{.Name}}'s current password stops working and every device of theirs is signed out. The new one is shown once.", map[string]any{"Name": name}),
		T("admin.resetYes", "Issue a new password"), T("dialog.cancel", "Cancel"), func() {
			var cred protocol.Credentials
			t.env.call(T("admin.resetFailed", "Could not issue a password"), func(ctx context.Context) error {
				var err error
				cred, err = t.env.api.ResetClientPassword(ctx, id)
				return err
			}, func() { t.env.issued([]protocol.Credentials{cred}) })
		})
}

// ConfirmDelete asks, naming the client, then deletes the client with
// their whole conversation everywhere.
func (t *clientsTab) ConfirmDelete() {
	if t.selected == nil {
		return
	}
	c := *t.selected
	Confirm(t.env.win, T("admin.deleteTitle", "Delete client"),
		T("admin.deleteBody", "Delete {{.Name}}? Their conversation is erased from the server and every device, and their login stops working. This cannot be undone.", map[string]any{"Name": c.Nickname}),
		T("admin.deleteYes", "Delete {{.Name}}", map[string]any{"Name": c.Nickname}), T("dialog.cancel", "Cancel"), func() {
			t.env.call(T("admin.deleteFailed", "Could not delete"), func(ctx context.Context) error { return t.env.api.DeleteClient(ctx, c.ID) }, t.changed)
		})
}
