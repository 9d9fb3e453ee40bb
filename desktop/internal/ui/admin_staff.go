package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// staffTab adds counselors and admins and acts on the one selected: new
// password, sign-out, devices, second factor, deletion.
type staffTab struct {
	env     *adminEnv
	changed func()

	staff    []protocol.Account
	list     *widget.List
	selected *protocol.Account
	sel      *selection
	nick     *widget.Entry
	role     *widget.Select
	content  fyne.CanvasObject
	// Issue 16: a registrar registers the clients of one group, chosen
	// when they are added.
	groups   []protocol.Group
	regGroup *widget.Select
}

func roleName(r protocol.Role) string {
	switch r {
	case protocol.RoleAdmin:
		return T("role.admin", "admin")
	case protocol.RoleRegistrar:
		return T("role.registrar", "registrar")
	}
	return T("role.counselor", "counselor")
}

// setGroups offers the groups a new registrar may register clients of.
func (t *staffTab) setGroups(groups []protocol.Group) {
	t.groups = groups
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.Name
	}
	t.regGroup.SetOptions(names)
	if t.regGroup.SelectedIndex() < 0 && len(names) > 0 {
		t.regGroup.SetSelectedIndex(0)
	}
}

func newStaffTab(env *adminEnv) *staffTab {
	t := &staffTab{env: env}
	t.list = widget.NewList(
		func() int { return len(t.staff) },
		func() fyne.CanvasObject { return widget.NewLabel("nickname · role · login") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(t.staff) {
				s := t.staff[i]
				o.(*widget.Label).SetText(staffLabel(s) + " · " + roleName(s.Role) + " · " + s.LoginID)
			}
		})
	t.list.OnSelected = func(i widget.ListItemID) {
		if i < len(t.staff) {
			t.choose(&t.staff[i])
		}
	}
	t.list.OnUnselected = func(widget.ListItemID) { t.choose(nil) }
	t.nick = widget.NewEntry()
	t.nick.SetPlaceHolder(T("admin.staffName", "Name shown to colleagues"))
	t.regGroup = widget.NewSelect(nil, nil)
	t.regGroup.PlaceHolder = T("admin.registrarGroup", "Group they register clients of")
	t.regGroup.Hide()
	t.role = widget.NewSelect([]string{roleName(protocol.RoleCounselor), roleName(protocol.RoleAdmin), roleName(protocol.RoleRegistrar)}, func(string) {
		if t.role.SelectedIndex() == 2 {
			t.regGroup.Show()
		} else {
			t.regGroup.Hide()
		}
	})
	t.role.SetSelectedIndex(0)
	add := widget.NewButton(T("admin.addStaff", "Add staff member"), func() {
		role := protocol.RoleCounselor
		switch t.role.SelectedIndex() {
		case 1:
			role = protocol.RoleAdmin
		case 2:
			role = protocol.RoleRegistrar
		}
		t.Add(t.nick.Text, role)
	})
	add.Importance = widget.HighImportance

	t.sel = newSelection(T("admin.noStaffSelected", "Choose a staff member in the list to act on them."))
	reset := widget.NewButton(T("admin.reset", "New password…"), t.confirmReset)
	logout := widget.NewButton(T("admin.forceLogout", "Sign out everywhere"), func() {
		if s := t.selected; s != nil {
			env.forceLogout(s.ID, s.Nickname)
		}
	})
	devices := widget.NewButton(T("admin.devices", "Devices and deletions"), func() {
		if s := t.selected; s != nil {
			env.showDevices(s.ID, s.Nickname)
		}
	})
	resetTOTP := widget.NewButton(T("admin.resetTOTP", "Reset two-step sign-in (lost phone)…"), t.confirmResetTOTP)
	del := widget.NewButton(T("admin.delete", "Delete…"), t.confirmDelete)
	del.Importance = widget.DangerImportance
	t.sel.add(reset, logout, devices, resetTOTP, del)

	form := container.NewVBox(
		widget.NewLabelWithStyle(T("admin.newStaff", "New staff member"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		t.nick, t.role, t.regGroup, add, widget.NewSeparator(),
		t.sel.label, reset, logout, devices, resetTOTP, del)
	split := container.NewHSplit(t.list, container.NewVScroll(form))
	split.Offset = 0.58
	t.content = split
	return t
}

func (t *staffTab) choose(s *protocol.Account) {
	t.selected = s
	if s == nil {
		t.sel.set("")
		return
	}
	t.sel.set(T("admin.selectedStaff", "Selected: {{.Name}} ({{.Role}}, {{.Login}})", map[string]any{"Name": s.Nickname, "Role": roleName(s.Role), "Login": s.LoginID}))
}

func (t *staffTab) show(staff []protocol.Account) {
	keep := int64(0)
	if t.selected != nil {
		keep = t.selected.ID
	}
	t.staff = staff
	t.list.UnselectAll()
	t.choose(nil)
	t.list.Refresh()
	for i, s := range staff {
		if s.ID == keep {
			t.list.Select(i)
		}
	}
}

// Add creates a staff member and shows their one-time password on a
// staff slip.
func (t *staffTab) Add(nick string, role protocol.Role) {
	nick = strings.TrimSpace(nick)
	if err := protocol.ValidateNickname(nick); err != nil {
		Inform(t.env.win, T("admin.addStaff", "Add staff member"), T("admin.needNickname", "Enter a nickname of up to {{.Max}} characters.", map[string]any{"Max": protocol.MaxNicknameRune}))
		return
	}
	var groups []int64
	if role == protocol.RoleRegistrar {
		i := t.regGroup.SelectedIndex()
		if i < 0 || i >= len(t.groups) {
			Inform(t.env.win, T("admin.addStaff", "Add staff member"), T("admin.needRegistrarGroup", "Choose the group whose clients the registrar registers."))
			return
		}
		groups = []int64{t.groups[i].ID}
	}
	var cred protocol.Credentials
	t.env.call(T("admin.addStaffFailed", "Could not add the staff member"), func(ctx context.Context) error {
		var err error
		cred, err = t.env.api.CreateStaff(ctx, protocol.CreateStaffRequest{Nickname: nick, Role: role, GroupIDs: groups})
		return err
	}, func() {
		t.nick.SetText("")
		t.env.issued([]protocol.Credentials{cred})
		t.changed()
	})
}

func (t *staffTab) confirmReset() {
	s := t.selected
	if s == nil {
		return
	}
	id, name := s.ID, s.Nickname
	Confirm(t.env.win, T("admin.resetTitle", "Issue a new password?"),
		T("admin.resetBody", "{{.Name}}'s current password stops working and every device of theirs is signed out. The new one is shown once.", map[string]any{"Name": name}),
		T("admin.resetYes", "Issue a new password"), T("dialog.cancel", "Cancel"), func() {
			var cred protocol.Credentials
			t.env.call(T("admin.resetFailed", "Could not issue a password"), func(ctx context.Context) error {
				var err error
				cred, err = t.env.api.ResetStaffPassword(ctx, id)
				return err
			}, func() { t.env.issued([]protocol.Credentials{cred}) })
		})
}

func (t *staffTab) confirmResetTOTP() {
	s := t.selected
	if s == nil {
		return
	}
	id, name := s.ID, s.Nickname
	Confirm(t.env.win, T("totp.title", "Two-step sign-in"),
		T("admin.resetTOTPBody", "Turn off {{.Name}}'s two-step sign-in? They sign in with the password alone until they turn it on again.", map[string]any{"Name": name}),
		T("admin.resetTOTPYes", "Turn off"), T("dialog.cancel", "Cancel"), func() {
			t.env.call(T("admin.resetTOTPFailed", "Could not reset two-step sign-in"), func(ctx context.Context) error { return t.env.api.ResetStaffTOTP(ctx, id) }, func() {
				Inform(t.env.win, T("totp.title", "Two-step sign-in"), T("admin.totpReset", "Two-step sign-in is off for this person; they can turn it on again."))
			})
		})
}

func (t *staffTab) confirmDelete() {
	s := t.selected
	if s == nil {
		return
	}
	id, name := s.ID, s.Nickname
	Confirm(t.env.win, T("admin.deleteStaffTitle", "Delete staff member"),
		T("admin.deleteStaffBody", "Delete {{.Name}}? Their sessions end at once.", map[string]any{"Name": name}),
		T("admin.deleteYes", "Delete {{.Name}}", map[string]any{"Name": name}), T("dialog.cancel", "Cancel"), func() {
			t.env.call(T("admin.deleteFailed", "Could not delete"), func(ctx context.Context) error { return t.env.api.DeleteStaff(ctx, id) }, t.changed)
		})
}
