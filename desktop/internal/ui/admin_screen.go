package ui

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/desktop/internal/slips"
	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// AdminAPI is what the admin screen needs of the server; *client.Client
// provides it.
type AdminAPI interface {
	Clients(ctx context.Context) ([]protocol.Account, error)
	CreateClient(ctx context.Context, req protocol.CreateClientRequest) (protocol.Credentials, error)
	BulkCreateClients(ctx context.Context, req protocol.BulkCreateClientsRequest) ([]protocol.Credentials, error)
	UpdateClient(ctx context.Context, id int64, req protocol.UpdateClientRequest) (protocol.Account, error)
	DeleteClient(ctx context.Context, id int64) error
	ResetClientPassword(ctx context.Context, id int64) (protocol.Credentials, error)
	Staff(ctx context.Context) ([]protocol.Account, error)
	CreateStaff(ctx context.Context, req protocol.CreateStaffRequest) (protocol.Credentials, error)
	DeleteStaff(ctx context.Context, id int64) error
	ResetStaffPassword(ctx context.Context, id int64) (protocol.Credentials, error)
	ForceLogout(ctx context.Context, accountID int64) error
	Org(ctx context.Context) (protocol.Org, error)
	Conversations(ctx context.Context) ([]protocol.Conversation, error)
	AuditLog(ctx context.Context, before int64, limit int) (protocol.AuditPage, error)
	Supervise(ctx context.Context, conversationID, before int64, limit int) (protocol.MessagePage, error)
	Devices(ctx context.Context, accountID int64) ([]protocol.Device, error)
	ResetStaffTOTP(ctx context.Context, id int64) error
	UpdateSettings(ctx context.Context, patch protocol.SettingsPatch) (protocol.Org, error)
}

// Admin is the admin settings screen.
type Admin struct {
	api    AdminAPI
	win    fyne.Window
	server string // the server's address, without a trailing slash
	appURL string // where this organisation's clients open the app
	// async runs network calls off the UI goroutine and do brings results
	// back; tests run both inline.
	async func(func())
	do    func(func())

	clients    []protocol.Account
	shown      []protocol.Account
	filter     *widget.Entry
	clientList *widget.List
	selected   *protocol.Account
	nickname   *widget.Entry
	note       *widget.Entry
	bulkPrefix *widget.Entry
	bulkCount  *widget.Entry
	until      *widget.Entry

	staff     []protocol.Account
	staffList *widget.List
	staffSel  *protocol.Account
	staffNick *widget.Entry
	staffRole *widget.Select

	orgName    string
	pause      *widget.Check
	zone       *widget.Entry
	days       [7]*widget.Check
	starts     [7]*widget.Entry
	ends       [7]*widget.Entry
	closed     *widget.RadioGroup
	retention  *widget.Entry
	writeFirst *widget.Check
	appName    *widget.Entry
	appIcon    *widget.Select
	appLink    *widget.Label
	hoursOnly  *widget.Check
	margin     *widget.Entry
	auditDays  *widget.Entry

	audit          []protocol.AuditEntry
	auditList      *widget.List
	superviseSel   *widget.Select
	superviseConvs []protocol.Conversation
	// LastDevices is what the last device list showed.
	LastDevices []protocol.Device
	// LastSupervised is what the last supervisor's view showed.
	LastSupervised []protocol.Message
	// newWindow opens the supervisor's window.
	newWindow func(title string) fyne.Window

	// LastCredentials are the most recently issued, for the slip sheet.
	LastCredentials []protocol.Credentials

	content fyne.CanvasObject
}

// NewAdmin builds the admin screen for the server at serverURL.
func NewAdmin(api AdminAPI, win fyne.Window, serverURL string) *Admin {
	server := strings.TrimSuffix(serverURL, "/")
	a := &Admin{api: api, win: win, server: server, appURL: server + "/", async: func(f func()) { go f() }, do: fyne.Do,
		newWindow: fyne.CurrentApp().NewWindow}
	a.buildUI()
	return a
}

// Content is the screen's root object.
func (a *Admin) Content() fyne.CanvasObject { return a.content }

// callContext bounds one admin call; a bulk registration of 500 clients
// hashes 500 passwords, so it is generous.
func callContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

// call runs f off the UI goroutine and reports its error in a dialog.
func (a *Admin) call(f func(ctx context.Context) error, then func()) {
	a.async(func() {
		ctx, cancel := callContext()
		defer cancel()
		err := f(ctx)
		a.do(func() {
			if err != nil {
				dialog.ShowError(fmt.Errorf("%s", errorText(err)), a.win)
				return
			}
			if then != nil {
				then()
			}
		})
	})
}

func errorText(err error) string {
	if pe := protocol.AsError(err); pe.Code != protocol.CodeInternal {
		return pe.Message
	}
	return err.Error()
}

func (a *Admin) buildUI() {
	tabs := container.NewAppTabs(
		container.NewTabItem(T("admin.clients", "Clients"), a.clientsTab()),
		container.NewTabItem(T("admin.settings", "Organisation"), a.settingsTab()),
		container.NewTabItem(T("admin.staff", "Staff"), a.staffTab()),
		container.NewTabItem(T("admin.audit", "Audit"), a.auditTab()),
	)
	tabs.OnSelected = func(t *container.TabItem) {
		if t.Text == T("admin.audit", "Audit") {
			a.loadAudit(false)
		}
	}
	a.content = tabs
}

func (a *Admin) clientsTab() fyne.CanvasObject {
	a.filter = widget.NewEntry()
	a.filter.SetPlaceHolder(T("admin.find", "Find by nickname"))
	a.filter.OnChanged = func(string) { a.applyFilter() }
	a.clientList = widget.NewList(
		func() int { return len(a.shown) },
		func() fyne.CanvasObject { return widget.NewLabel("nickname · login-id · until") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(a.shown) {
				o.(*widget.Label).SetText(clientLine(a.shown[i]))
			}
		})
	a.clientList.OnSelected = func(i widget.ListItemID) {
		if i < len(a.shown) {
			c := a.shown[i]
			a.selected = &c
			a.until.SetText("")
			if c.AccessUntil != nil {
				a.until.SetText(c.AccessUntil.Format("2006-01-02"))
			}
		}
	}
	a.nickname = widget.NewEntry()
	a.nickname.SetPlaceHolder(T("admin.nickname", "Nickname (no real names)"))
	a.note = widget.NewEntry()
	a.note.SetPlaceHolder(T("admin.note", "Note for counselors (optional)"))
	register := widget.NewButton(T("admin.register", "Register"), func() { a.Register(a.nickname.Text, a.note.Text) })
	register.Importance = widget.HighImportance
	a.bulkPrefix = widget.NewEntry()
	a.bulkPrefix.SetPlaceHolder(T("admin.bulkPrefix", "Prefix, e.g. seminar"))
	a.bulkCount = widget.NewEntry()
	a.bulkCount.SetPlaceHolder("30")
	bulk := widget.NewButton(T("admin.bulk", "Register many"), func() { a.BulkRegister(a.bulkPrefix.Text, a.bulkCount.Text) })
	a.until = widget.NewEntry()
	a.until.SetPlaceHolder("2027-03-31")
	setUntil := widget.NewButton(T("admin.setUntil", "Set access until"), func() { a.SetAccessUntil(a.until.Text) })
	reset := widget.NewButton(T("admin.reset", "New password"), a.ResetSelected)
	logout := widget.NewButton(T("admin.forceLogout", "Sign out everywhere"), func() {
		if a.selected != nil {
			a.ForceLogout(a.selected.ID)
		}
	})
	del := widget.NewButton(T("admin.delete", "Delete…"), a.ConfirmDeleteSelected)
	del.Importance = widget.DangerImportance

	form := container.NewVBox(
		widget.NewLabelWithStyle(T("admin.newClient", "New client"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		a.nickname, a.note, register,
		widget.NewSeparator(),
		widget.NewLabelWithStyle(T("admin.newClients", "Many clients (seminar, sealed letters)"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewGridWithColumns(2, a.bulkPrefix, a.bulkCount), bulk,
		widget.NewSeparator(),
		widget.NewLabelWithStyle(T("admin.selected", "Selected client"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewBorder(nil, nil, nil, setUntil, a.until), reset, logout,
		widget.NewButton(T("admin.devices", "Devices and deletions"), func() {
			if a.selected != nil {
				a.ShowDevices(a.selected.ID, a.selected.Nickname)
			}
		}), del,
	)
	left := container.NewBorder(a.filter, nil, nil, nil, a.clientList)
	split := container.NewHSplit(left, container.NewVScroll(form))
	split.Offset = 0.6
	return split
}

func clientLine(c protocol.Account) string {
	line := c.Nickname + " · " + c.LoginID
	if c.AccessUntil != nil {
		line += " · " + T("admin.until", "until {{.Date}}", map[string]any{"Date": c.AccessUntil.Format("2006-01-02")})
	}
	return line
}

func (a *Admin) applyFilter() {
	q := strings.TrimSpace(a.filter.Text)
	a.shown = a.shown[:0]
	for _, c := range a.clients {
		if q == "" || strings.Contains(c.Nickname, q) || strings.Contains(c.LoginID, q) {
			a.shown = append(a.shown, c)
		}
	}
	a.clientList.UnselectAll()
	a.selected = nil
	a.clientList.Refresh()
}

// Reload fetches clients, staff and settings.
func (a *Admin) Reload() {
	var (
		clients, staff []protocol.Account
		org            protocol.Org
	)
	a.call(func(ctx context.Context) error {
		var err error
		if clients, err = a.api.Clients(ctx); err != nil {
			return err
		}
		if staff, err = a.api.Staff(ctx); err != nil {
			return err
		}
		org, err = a.api.Org(ctx)
		return err
	}, func() {
		a.clients, a.staff = clients, staff
		a.applyFilter()
		a.staffList.Refresh()
		a.showSettings(org)
	})
}

// Register creates one client and shows its credentials once.
func (a *Admin) Register(nickname, note string) {
	if strings.TrimSpace(nickname) == "" {
		dialog.ShowInformation(T("admin.register", "Register"), T("admin.needNickname", "Enter a nickname."), a.win)
		return
	}
	var cred protocol.Credentials
	a.call(func(ctx context.Context) error {
		var err error
		cred, err = a.api.CreateClient(ctx, protocol.CreateClientRequest{Nickname: nickname, Note: note})
		return err
	}, func() {
		a.nickname.SetText("")
		a.note.SetText("")
		a.showCredentials([]protocol.Credentials{cred})
		a.Reload()
	})
}

// BulkRegister creates count clients named prefix-01… for a seminar.
func (a *Admin) BulkRegister(prefix, count string) {
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if err != nil || n < 1 || n > protocol.MaxBulkClients || strings.TrimSpace(prefix) == "" {
		dialog.ShowInformation(T("admin.bulk", "Register many"),
			T("admin.needBulk", "Enter a prefix and a number from 1 to {{.Max}}.", map[string]any{"Max": protocol.MaxBulkClients}), a.win)
		return
	}
	var creds []protocol.Credentials
	a.call(func(ctx context.Context) error {
		var err error
		creds, err = a.api.BulkCreateClients(ctx, protocol.BulkCreateClientsRequest{Prefix: prefix, Count: n})
		return err
	}, func() {
		a.showCredentials(creds)
		a.Reload()
	})
}

// showCredentials shows freshly issued passwords, the only time they are
// visible, with a way to save a printable sheet.
func (a *Admin) showCredentials(creds []protocol.Credentials) {
	a.LastCredentials = creds
	var b strings.Builder
	for i, c := range creds {
		if i == 10 {
			b.WriteString(T("admin.more", "…and {{.Count}} more: save the sheet.", map[string]any{"Count": len(creds) - 10}))
			break
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\n", c.Account.Nickname, c.LoginID, c.Password)
	}
	text := widget.NewLabelWithStyle(b.String(), fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	warn := widget.NewLabel(T("admin.onceOnly", "These passwords are shown only now. Save or print the sheet before closing."))
	warn.Wrapping = fyne.TextWrapWord
	saveHTML := widget.NewButton(T("admin.saveHTML", "Save printable sheet (HTML)"), func() { a.saveSheet("html") })
	saveCSV := widget.NewButton(T("admin.saveCSV", "Save CSV"), func() { a.saveSheet("csv") })
	d := dialog.NewCustom(T("admin.issued", "Sign-in details"), T("admin.close", "Close"),
		container.NewVBox(warn, text, container.NewHBox(saveHTML, saveCSV)), a.win)
	d.Resize(fyne.NewSize(560, 420))
	d.Show()
}

func (a *Admin) saveSheet(format string) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		defer w.Close()
		if err := a.WriteSheet(w, format); err != nil {
			dialog.ShowError(err, a.win)
		}
	}, a.win)
	d.SetFileName("taiwa-slips." + format)
	d.Show()
}

// WriteSheet writes the last issued credentials as "html" or "csv".
func (a *Admin) WriteSheet(w io.Writer, format string) error {
	s := slips.Sheet{OrgName: a.orgName, AppURL: a.appURL, Created: time.Now(), Slips: a.LastCredentials}
	if format == "csv" {
		return slips.WriteCSV(w, s)
	}
	return slips.WriteHTML(w, s)
}

// SetAccessUntil sets (or with an empty date clears) the selected
// client's last day of access.
func (a *Admin) SetAccessUntil(date string) {
	if a.selected == nil {
		return
	}
	req := protocol.UpdateClientRequest{ClearAccessUntil: true}
	if d := strings.TrimSpace(date); d != "" {
		day, err := time.ParseInLocation("2006-01-02", d, time.Local)
		if err != nil {
			dialog.ShowInformation(T("admin.setUntil", "Set access until"), T("admin.badDate", "Write the date as 2027-03-31."), a.win)
			return
		}
		end := day.AddDate(0, 0, 1) // through the end of that day
		req = protocol.UpdateClientRequest{AccessUntil: &end}
	}
	id := a.selected.ID
	a.call(func(ctx context.Context) error {
		_, err := a.api.UpdateClient(ctx, id, req)
		return err
	}, a.Reload)
}

// ResetSelected issues a new one-time password for the selected client.
func (a *Admin) ResetSelected() {
	if a.selected == nil {
		return
	}
	id := a.selected.ID
	var cred protocol.Credentials
	a.call(func(ctx context.Context) error {
		var err error
		cred, err = a.api.ResetClientPassword(ctx, id)
		return err
	}, func() { a.showCredentials([]protocol.Credentials{cred}) })
}

// ShowDevices lists an account's devices: signed in or signed out, and
// when each last confirmed applying deletions (a lost phone that comes
// back online wipes itself and says so).
func (a *Admin) ShowDevices(id int64, name string) {
	var list []protocol.Device
	a.call(func(ctx context.Context) error {
		var err error
		list, err = a.api.Devices(ctx, id)
		return err
	}, func() {
		a.LastDevices = list
		lines := container.NewVBox()
		if len(list) == 0 {
			lines.Add(widget.NewLabel(T("devices.none", "No device has signed in.")))
		}
		for _, d := range list {
			lines.Add(widget.NewLabel(DeviceLine(d)))
		}
		dialog.ShowCustom(T("devices.title", "Devices of {{.Name}}", map[string]any{"Name": name}), T("dialog.close", "Close"),
			container.NewVScroll(lines), a.win)
	})
}

// DeviceLine says one device's state in a line.
func DeviceLine(d protocol.Device) string {
	const layout = "2006-01-02 15:04"
	name := d.Device
	if name == "" {
		name = T("devices.unnamed", "device")
	}
	state := T("devices.active", "signed in since {{.At}}", map[string]any{"At": d.SignedInAt.Local().Format(layout)})
	if !d.Active && d.EndedAt != nil {
		state = T("devices.ended", "signed out {{.At}} ({{.Reason}})", map[string]any{"At": d.EndedAt.Local().Format(layout),
			"Reason": T("devices.reason."+d.EndReason, d.EndReason)})
	}
	wiped := T("devices.notConfirmed", "no deletion confirmed yet")
	if d.WipedAt != nil {
		wiped = T("devices.wiped", "deletions applied up to {{.At}}", map[string]any{"At": d.WipedAt.Local().Format(layout)})
		if !d.Active {
			wiped = T("devices.wipedAll", "wiped itself at {{.At}}", map[string]any{"At": d.WipedAt.Local().Format(layout)})
		}
	}
	return name + " · " + state + " · " + wiped
}

// ForceLogout ends every session of an account.
func (a *Admin) ForceLogout(id int64) {
	a.call(func(ctx context.Context) error { return a.api.ForceLogout(ctx, id) }, func() {
		dialog.ShowInformation(T("admin.forceLogout", "Sign out everywhere"), T("admin.loggedOut", "All of this account's devices have been signed out."), a.win)
	})
}

// ConfirmDeleteSelected asks, naming the client, then deletes the client
// with their whole conversation everywhere.
func (a *Admin) ConfirmDeleteSelected() {
	if a.selected == nil {
		return
	}
	c := *a.selected
	dialog.ShowConfirm(T("admin.deleteTitle", "Delete client"),
		T("admin.deleteBody", "Delete {{.Name}}? Their conversation is erased from the server and every device, and their login stops working. This cannot be undone.", map[string]any{"Name": c.Nickname}),
		func(ok bool) {
			if ok {
				a.DeleteClient(c.ID)
			}
		}, a.win)
}

// DeleteClient deletes without asking (after ConfirmDeleteSelected).
func (a *Admin) DeleteClient(id int64) {
	a.call(func(ctx context.Context) error { return a.api.DeleteClient(ctx, id) }, a.Reload)
}

func (a *Admin) settingsTab() fyne.CanvasObject {
	a.pause = widget.NewCheck(T("admin.pause", "Pause the service now"), nil)
	a.zone = widget.NewEntry()
	a.closed = widget.NewRadioGroup([]string{T("admin.closedAccept", "Accept messages and send an automatic notice"), T("admin.closedBlock", "Do not accept messages")}, nil)
	a.retention = widget.NewEntry()
	a.writeFirst = widget.NewCheck(T("admin.writeFirst", "Staff may write first"), nil)
	a.hoursOnly = widget.NewCheck(T("admin.hoursOnly", "Counselors see client data only around business hours"), nil)
	a.margin = widget.NewEntry()
	a.auditDays = widget.NewEntry()
	dayNames := []string{T("day.sun", "Sun"), T("day.mon", "Mon"), T("day.tue", "Tue"), T("day.wed", "Wed"), T("day.thu", "Thu"), T("day.fri", "Fri"), T("day.sat", "Sat")}
	grid := container.NewGridWithColumns(3)
	for d := 0; d < 7; d++ {
		a.days[d] = widget.NewCheck(dayNames[d], nil)
		a.starts[d] = widget.NewEntry()
		a.starts[d].SetPlaceHolder("09:00")
		a.ends[d] = widget.NewEntry()
		a.ends[d].SetPlaceHolder("17:00")
		grid.Add(a.days[d])
		grid.Add(a.starts[d])
		grid.Add(a.ends[d])
	}
	a.appName = widget.NewEntry()
	a.appName.SetPlaceHolder(T("admin.appNameDefault", "empty: the organisation's name"))
	a.appIcon = widget.NewSelect(appIconLabels(), nil)
	a.appLink = widget.NewLabel("")
	a.appLink.Selectable = true
	a.appLink.Wrapping = fyne.TextWrapBreak
	appHint := widget.NewLabel(T("admin.appHint", "For clients whose phone others may see: the app shows this name and icon on the home screen and in its header. Clients install it from the address below (it is printed on their sign-in slips)."))
	appHint.Wrapping = fyne.TextWrapWord
	appHint.Importance = widget.LowImportance
	save := widget.NewButton(T("admin.save", "Save settings"), a.SaveSettings)
	save.Importance = widget.HighImportance
	hint := widget.NewLabel(T("admin.hoursHint", "No day ticked means open around the clock."))
	hint.Importance = widget.LowImportance
	form := widget.NewForm(
		widget.NewFormItem(T("admin.timeZone", "Time zone"), a.zone),
		widget.NewFormItem(T("admin.retention", "Keep messages (days)"), a.retention),
		widget.NewFormItem(T("admin.whenClosed", "When closed"), a.closed),
		widget.NewFormItem(T("admin.margin", "Margin around business hours (minutes)"), a.margin),
		widget.NewFormItem(T("admin.auditDays", "Keep the audit log (days)"), a.auditDays),
	)
	appForm := widget.NewForm(
		widget.NewFormItem(T("admin.appName", "App name"), a.appName),
		widget.NewFormItem(T("admin.appIcon", "App icon"), a.appIcon),
		widget.NewFormItem(T("admin.appLink", "Clients open"), a.appLink),
	)
	return container.NewVScroll(container.NewVBox(a.pause, widget.NewSeparator(),
		widget.NewLabelWithStyle(T("admin.hours", "Business hours"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		hint, grid, a.hoursOnly, form, a.writeFirst, widget.NewSeparator(),
		widget.NewLabelWithStyle(T("admin.app", "Client app"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		appHint, appForm, save))
}

// appIconLabels names protocol.AppIcons, in the same order.
func appIconLabels() []string {
	return []string{T("icon.default", "Standard"), T("icon.notes", "Notes"), T("icon.calendar", "Calendar"), T("icon.weather", "Weather")}
}

func (a *Admin) showSettings(org protocol.Org) {
	s := org.Settings
	a.orgName = s.DisplayName
	a.pause.SetChecked(s.Pause.On)
	a.zone.SetText(s.Hours.TimeZone)
	for d := 0; d < 7; d++ {
		a.days[d].SetChecked(false)
		a.starts[d].SetText("")
		a.ends[d].SetText("")
	}
	for _, sp := range s.Hours.Spans {
		a.days[sp.Day].SetChecked(true)
		a.starts[sp.Day].SetText(sp.Start.String())
		a.ends[sp.Day].SetText(sp.End.String())
	}
	if s.ClosedBehavior == protocol.ClosedBlock {
		a.closed.SetSelected(a.closed.Options[1])
	} else {
		a.closed.SetSelected(a.closed.Options[0])
	}
	a.retention.SetText(strconv.FormatInt(s.RetentionSeconds/86400, 10))
	a.writeFirst.SetChecked(s.StaffMayWriteFirst)
	a.hoursOnly.SetChecked(s.CounselorHoursOnly)
	a.margin.SetText(strconv.Itoa(s.CounselorMarginMinutes))
	auditDays := s.AuditRetentionDays
	if auditDays == 0 {
		auditDays = protocol.DefaultAuditRetentionDays
	}
	a.auditDays.SetText(strconv.Itoa(auditDays))
	a.appName.SetText(s.AppName)
	a.appIcon.SetSelectedIndex(max(0, slices.Index(protocol.AppIcons, s.AppIcon)))
	if org.AppPath != "" {
		a.appURL = a.server + org.AppPath
	}
	a.appLink.SetText(a.appURL)
}

// SaveSettings validates the form and sends it.
func (a *Admin) SaveSettings() {
	sched := hours.Schedule{TimeZone: strings.TrimSpace(a.zone.Text)}
	for d := 0; d < 7; d++ {
		if !a.days[d].Checked {
			continue
		}
		start, err1 := hours.ParseClock(strings.TrimSpace(a.starts[d].Text))
		end, err2 := hours.ParseClock(strings.TrimSpace(a.ends[d].Text))
		if err1 != nil || err2 != nil {
			dialog.ShowInformation(T("admin.hours", "Business hours"), T("admin.badClock", "Write times as 09:00 and 17:00."), a.win)
			return
		}
		sched.Spans = append(sched.Spans, hours.Span{Day: time.Weekday(d), Start: start, End: end})
	}
	days, err := strconv.ParseInt(strings.TrimSpace(a.retention.Text), 10, 64)
	if err != nil || days < 1 || days > 365 {
		dialog.ShowInformation(T("admin.retention", "Keep messages (days)"), T("admin.badRetention", "Enter a number of days from 1 to 365."), a.win)
		return
	}
	secs := days * 86400
	behavior := protocol.ClosedAccept
	if a.closed.Selected == a.closed.Options[1] {
		behavior = protocol.ClosedBlock
	}
	pause := hours.Pause{On: a.pause.Checked}
	writeFirst := a.writeFirst.Checked
	appName := strings.TrimSpace(a.appName.Text)
	if len([]rune(appName)) > protocol.MaxAppNameRunes {
		dialog.ShowInformation(T("admin.appName", "App name"), fmt.Sprintf(T("admin.badAppName", "Use at most %d characters."), protocol.MaxAppNameRunes), a.win)
		return
	}
	appIcon := protocol.AppIcons[max(0, a.appIcon.SelectedIndex())]
	margin, err := strconv.Atoi(strings.TrimSpace(a.margin.Text))
	if err != nil || margin < 0 || margin > protocol.MaxCounselorMarginMinutes {
		dialog.ShowInformation(T("admin.margin", "Margin around business hours (minutes)"),
			fmt.Sprintf(T("admin.badMargin", "Enter minutes from 0 to %d."), protocol.MaxCounselorMarginMinutes), a.win)
		return
	}
	auditDays, err := strconv.Atoi(strings.TrimSpace(a.auditDays.Text))
	if err != nil || auditDays < protocol.MinAuditRetentionDays || auditDays > protocol.MaxAuditRetentionDays {
		dialog.ShowInformation(T("admin.auditDays", "Keep the audit log (days)"),
			fmt.Sprintf(T("admin.badAuditDays", "Enter days from %d to %d."), protocol.MinAuditRetentionDays, protocol.MaxAuditRetentionDays), a.win)
		return
	}
	hoursOnly := a.hoursOnly.Checked
	patch := protocol.SettingsPatch{Hours: &sched, RetentionSeconds: &secs, ClosedBehavior: &behavior, Pause: &pause,
		StaffMayWriteFirst: &writeFirst, AppName: &appName, AppIcon: &appIcon,
		CounselorHoursOnly: &hoursOnly, CounselorMarginMinutes: &margin, AuditRetentionDays: &auditDays}
	var org protocol.Org
	a.call(func(ctx context.Context) error {
		var err error
		org, err = a.api.UpdateSettings(ctx, patch)
		return err
	}, func() {
		a.showSettings(org)
		dialog.ShowInformation(T("admin.settings", "Organisation"), T("admin.saved", "Settings saved."), a.win)
	})
}

func (a *Admin) staffTab() fyne.CanvasObject {
	a.staffList = widget.NewList(
		func() int { return len(a.staff) },
		func() fyne.CanvasObject { return widget.NewLabel("nickname · role · login") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(a.staff) {
				s := a.staff[i]
				role := T("role.counselor", "counselor")
				if s.Role == protocol.RoleAdmin {
					role = T("role.admin", "admin")
				}
				o.(*widget.Label).SetText(s.Nickname + " · " + role + " · " + s.LoginID)
			}
		})
	a.staffList.OnSelected = func(i widget.ListItemID) {
		if i < len(a.staff) {
			s := a.staff[i]
			a.staffSel = &s
		}
	}
	a.staffNick = widget.NewEntry()
	a.staffNick.SetPlaceHolder(T("admin.staffName", "Name shown to colleagues"))
	a.staffRole = widget.NewSelect([]string{T("role.counselor", "counselor"), T("role.admin", "admin")}, nil)
	a.staffRole.SetSelectedIndex(0)
	add := widget.NewButton(T("admin.addStaff", "Add staff member"), func() {
		role := protocol.RoleCounselor
		if a.staffRole.SelectedIndex() == 1 {
			role = protocol.RoleAdmin
		}
		a.AddStaff(a.staffNick.Text, role)
	})
	logout := widget.NewButton(T("admin.forceLogout", "Sign out everywhere"), func() {
		if a.staffSel != nil {
			a.ForceLogout(a.staffSel.ID)
		}
	})
	del := widget.NewButton(T("admin.delete", "Delete…"), func() {
		if a.staffSel == nil {
			return
		}
		s := *a.staffSel
		dialog.ShowConfirm(T("admin.deleteStaffTitle", "Delete staff member"),
			T("admin.deleteStaffBody", "Delete {{.Name}}? Their sessions end at once.", map[string]any{"Name": s.Nickname}),
			func(ok bool) {
				if ok {
					a.call(func(ctx context.Context) error { return a.api.DeleteStaff(ctx, s.ID) }, a.Reload)
				}
			}, a.win)
	})
	del.Importance = widget.DangerImportance
	reset := widget.NewButton(T("admin.reset", "New password"), func() {
		if a.staffSel != nil {
			a.ResetStaff(a.staffSel.ID)
		}
	})
	devices := widget.NewButton(T("admin.devices", "Devices and deletions"), func() {
		if a.staffSel != nil {
			a.ShowDevices(a.staffSel.ID, a.staffSel.Nickname)
		}
	})
	resetTOTP := widget.NewButton(T("admin.resetTOTP", "Reset two-step sign-in (lost phone)"), func() {
		if a.staffSel != nil {
			id := a.staffSel.ID
			a.call(func(ctx context.Context) error { return a.api.ResetStaffTOTP(ctx, id) }, func() {
				dialog.ShowInformation(T("totp.title", "Two-step sign-in"), T("admin.totpReset", "Two-step sign-in is off for this person; they can turn it on again."), a.win)
			})
		}
	})
	form := container.NewVBox(a.staffNick, a.staffRole, add, widget.NewSeparator(), reset, logout, devices, resetTOTP, del)
	split := container.NewHSplit(a.staffList, form)
	split.Offset = 0.6
	return split
}

// AddStaff creates a staff member and shows their one-time password.
func (a *Admin) AddStaff(nick string, role protocol.Role) {
	if strings.TrimSpace(nick) == "" {
		return
	}
	var cred protocol.Credentials
	a.call(func(ctx context.Context) error {
		var err error
		cred, err = a.api.CreateStaff(ctx, protocol.CreateStaffRequest{Nickname: nick, Role: role})
		return err
	}, func() {
		a.staffNick.SetText("")
		a.showCredentials([]protocol.Credentials{cred})
		a.Reload()
	})
}

// ResetStaff issues a new one-time password for a staff member; their
// sessions end.
func (a *Admin) ResetStaff(id int64) {
	var cred protocol.Credentials
	a.call(func(ctx context.Context) error {
		var err error
		cred, err = a.api.ResetStaffPassword(ctx, id)
		return err
	}, func() { a.showCredentials([]protocol.Credentials{cred}) })
}
