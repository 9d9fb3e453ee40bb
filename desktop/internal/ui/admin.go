package ui

import (
	"context"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/desktop/internal/slips"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// AdminAPI is what the admin screens need of the server; *client.Client
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
	TemplatesAPI
	UnansweredWeeks(ctx context.Context, weeks int) ([]protocol.UnansweredWeek, error)
	// Issue 16: client groups.
	Groups(ctx context.Context) ([]protocol.Group, error)
	CreateGroup(ctx context.Context, req protocol.GroupRequest) (protocol.Group, error)
	UpdateGroup(ctx context.Context, id int64, req protocol.GroupRequest) (protocol.Group, error)
	// Announcements (お知らせ).
	Announcements(ctx context.Context) ([]protocol.Announcement, error)
	CreateAnnouncement(ctx context.Context, req protocol.AnnouncementRequest) (protocol.Announcement, error)
	DeleteAnnouncement(ctx context.Context, id int64) error
	// The provisioning API's keys.
	APIKeysAPI
	GroupUsage(ctx context.Context, weeks int) ([]protocol.GroupUsage, error)
}

// adminEnv is what the admin tabs share: the server, the window, and how
// calls run (off the UI goroutine, results back on it).
type adminEnv struct {
	api    AdminAPI
	win    fyne.Window
	server string // the server's address, without a trailing slash
	appURL string // where this organisation's clients open the app
	org    string // the organisation's name, for slips
	// retention and contact are the organisation's settings that the
	// client guide on each client's slip states.
	retention int64
	contact   string
	// async runs network calls off the UI goroutine and do brings results
	// back (fyne.Do); tests run both inline.
	async func(func())
	do    func(func())
	// newWindow opens a window that belongs to the session (it closes
	// when the session ends).
	newWindow func(title string) fyne.Window
}

// callContext bounds one admin call; a bulk registration of 500 clients
// hashes 500 passwords, so it is generous.
func callContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

// call runs f off the UI goroutine; a failure is shown titled with what
// failed ("Could not register"), saying what happened and what to do.
func (e *adminEnv) call(failed string, f func(ctx context.Context) error, then func()) {
	e.async(func() {
		ctx, cancel := callContext()
		defer cancel()
		err := f(ctx)
		e.do(func() {
			if err != nil {
				ShowError(e.win, failed, err)
				return
			}
			if then != nil {
				then()
			}
		})
	})
}

// issued shows credentials once, with the right slips for who they are.
func (e *adminEnv) issued(creds []protocol.Credentials) *credentialsView {
	return showCredentials(e.win, slips.Sheet{OrgName: e.org, AppURL: e.appURL, Server: e.server, Slips: creds,
		RetentionSeconds: e.retention, Contact: e.contact})
}

// Admin is the admin settings window: one tab per job, each its own type.
type Admin struct {
	env      *adminEnv
	tabs     *container.AppTabs
	clients  *clientsTab
	org      *orgTab
	staff    *staffTab
	audit    *auditTab
	auditTab *container.TabItem
	// Issue 14: the organisation's canned replies.
	templates    *templatesTab
	templatesTab *container.TabItem
	// Issue 16: client groups and announcements.
	groups   *groupsTab
	news     *announcementsTab
	newsTab  *container.TabItem
	keys     *apiKeysTab
	keysTab  *container.TabItem
	usage    *usageTab
	usageTab *container.TabItem
}

// AdminOptions connect the admin screen to the app's session.
type AdminOptions struct {
	// NewWindow opens the session's other windows (supervisor's views),
	// which close when the session ends.
	NewWindow func(title string) fyne.Window
	// Do brings results back to the UI goroutine (default fyne.Do).
	Do func(func())
}

// NewAdmin builds the admin screen for the server at serverURL, in win.
func NewAdmin(api AdminAPI, win fyne.Window, serverURL string, opts AdminOptions) *Admin {
	server := strings.TrimSuffix(serverURL, "/")
	if opts.Do == nil {
		opts.Do = fyne.Do
	}
	env := &adminEnv{api: api, win: win, server: server, appURL: server + "/", async: func(f func()) { go f() }, do: opts.Do, newWindow: opts.NewWindow}
	a := &Admin{env: env}
	a.clients = newClientsTab(env)
	a.org = newOrgTab(env)
	a.staff = newStaffTab(env)
	a.audit = newAuditTab(env)
	a.auditTab = container.NewTabItem(T("admin.audit", "Audit"), a.audit.content)
	a.templates = newTemplatesTab(env, api)
	a.templatesTab = container.NewTabItem(T("admin.templates", "Canned replies"), a.templates.content)
	a.groups = newGroupsTab(env)
	a.groups.changed = a.Reload
	a.news = newAnnouncementsTab(env)
	a.newsTab = container.NewTabItem(T("admin.news", "Announcements"), a.news.content)
	a.keys = newAPIKeysTab(env, api)
	a.keysTab = container.NewTabItem(T("admin.keys", "API keys"), a.keys.content)
	a.usage = newUsageTab(env)
	a.usageTab = container.NewTabItem(T("admin.usage", "Usage"), a.usage.content)
	a.tabs = container.NewAppTabs(
		container.NewTabItem(T("admin.clients", "Clients"), a.clients.content),
		container.NewTabItem(T("admin.settings", "Organisation"), a.org.content),
		container.NewTabItem(T("admin.staff", "Staff"), a.staff.content),
		a.auditTab,
		a.templatesTab,
		// Last, so that the tabs before keep their places.
		container.NewTabItem(T("admin.groups", "Groups"), a.groups.content),
		a.newsTab,
		a.keysTab,
		a.usageTab,
	)
	a.tabs.OnSelected = func(t *container.TabItem) {
		if t == a.auditTab {
			a.audit.Load(false)
		}
		if t == a.templatesTab {
			a.templates.Load()
		}
		if t == a.newsTab {
			a.news.Load()
		}
		if t == a.keysTab {
			a.keys.Load()
		}
		if t == a.usageTab {
			a.usage.Load()
		}
	}
	a.clients.changed = a.Reload
	a.staff.changed = a.Reload
	return a
}

// Content is the screen's root object.
func (a *Admin) Content() fyne.CanvasObject { return a.tabs }

// Reload fetches clients, staff and settings.
func (a *Admin) Reload() {
	var (
		clients, staff []protocol.Account
		org            protocol.Org
		groups         []protocol.Group
	)
	a.env.call(T("admin.loadFailed", "Could not load"), func(ctx context.Context) error {
		var err error
		if clients, err = a.env.api.Clients(ctx); err != nil {
			return err
		}
		if groups, err = a.env.api.Groups(ctx); err != nil {
			return err
		}
		if staff, err = a.env.api.Staff(ctx); err != nil {
			return err
		}
		org, err = a.env.api.Org(ctx)
		return err
	}, func() {
		a.org.show(org)
		a.clients.setGroups(groups)
		a.clients.show(clients)
		a.groups.show(groups)
		a.staff.setGroups(groups)
		a.news.setGroups(groups)
		a.keys.setGroups(groups)
		a.staff.show(staff)
	})
}

// RegistrarAPI is what a registrar's screen needs (issue 16): the
// clients of their groups, nothing of conversations.
type RegistrarAPI interface {
	Clients(ctx context.Context) ([]protocol.Account, error)
	CreateClient(ctx context.Context, req protocol.CreateClientRequest) (protocol.Credentials, error)
	BulkCreateClients(ctx context.Context, req protocol.BulkCreateClientsRequest) ([]protocol.Credentials, error)
	DeleteClient(ctx context.Context, id int64) error
	ResetClientPassword(ctx context.Context, id int64) (protocol.Credentials, error)
	Groups(ctx context.Context) ([]protocol.Group, error)
	Org(ctx context.Context) (protocol.Org, error)
}

// registrarAdmin adapts a RegistrarAPI to the clients tab, which asks
// nothing else of it in registrar mode; the rest is refused here as the
// server would.
type registrarAdmin struct {
	RegistrarAPI
	AdminAPI // nil: never called in registrar mode
}

func (r registrarAdmin) Clients(ctx context.Context) ([]protocol.Account, error) {
	return r.RegistrarAPI.Clients(ctx)
}
func (r registrarAdmin) CreateClient(ctx context.Context, req protocol.CreateClientRequest) (protocol.Credentials, error) {
	return r.RegistrarAPI.CreateClient(ctx, req)
}
func (r registrarAdmin) BulkCreateClients(ctx context.Context, req protocol.BulkCreateClientsRequest) ([]protocol.Credentials, error) {
	return r.RegistrarAPI.BulkCreateClients(ctx, req)
}
func (r registrarAdmin) DeleteClient(ctx context.Context, id int64) error {
	return r.RegistrarAPI.DeleteClient(ctx, id)
}
func (r registrarAdmin) ResetClientPassword(ctx context.Context, id int64) (protocol.Credentials, error) {
	return r.RegistrarAPI.ResetClientPassword(ctx, id)
}
func (r registrarAdmin) Groups(ctx context.Context) ([]protocol.Group, error) {
	return r.RegistrarAPI.Groups(ctx)
}
func (r registrarAdmin) Org(ctx context.Context) (protocol.Org, error) {
	return r.RegistrarAPI.Org(ctx)
}

// Registrar is a registrar's whole screen: the clients of their groups,
// registered, listed with login IDs, reset and deleted (issue 16).
type Registrar struct {
	env     *adminEnv
	clients *clientsTab
}

// NewRegistrar builds the registrar's screen for the server at serverURL.
func NewRegistrar(api RegistrarAPI, win fyne.Window, serverURL string, do func(func())) *Registrar {
	server := strings.TrimSuffix(serverURL, "/")
	if do == nil {
		do = fyne.Do
	}
	env := &adminEnv{api: registrarAdmin{RegistrarAPI: api}, win: win, server: server, appURL: server + "/", async: func(f func()) { go f() }, do: do}
	r := &Registrar{env: env}
	r.clients = newClientsTabFor(env, true)
	r.clients.changed = r.Reload
	return r
}

// Content is the screen's root object.
func (r *Registrar) Content() fyne.CanvasObject { return r.clients.content }

// Reload fetches the clients and groups.
func (r *Registrar) Reload() {
	var (
		clients []protocol.Account
		groups  []protocol.Group
		org     protocol.Org
	)
	r.env.call(T("admin.loadFailed", "Could not load"), func(ctx context.Context) error {
		var err error
		if clients, err = r.env.api.Clients(ctx); err != nil {
			return err
		}
		if org, err = r.env.api.Org(ctx); err != nil {
			return err
		}
		groups, err = r.env.api.Groups(ctx)
		return err
	}, func() {
		r.env.org = org.Settings.DisplayName
		if org.AppPath != "" {
			r.env.appURL = r.env.server + org.AppPath
		}
		r.clients.setGroups(groups)
		r.clients.show(clients)
	})
}

// selection shows who is selected, and enables the buttons that act on
// them only then: nothing happens silently with nobody selected.
type selection struct {
	label   *jaLabel
	buttons []*widget.Button
	none    string
}

func newSelection(none string) *selection {
	s := &selection{label: newJALabel(none), none: none}
	s.label.TextStyle.Bold = true
	return s
}

func (s *selection) add(b ...*widget.Button) {
	s.buttons = append(s.buttons, b...)
	s.set("")
}

// set names the selection ("" for none).
func (s *selection) set(name string) {
	if name == "" {
		s.label.SetText(s.none)
	} else {
		s.label.SetText(name)
	}
	for _, b := range s.buttons {
		if name == "" {
			b.Disable()
		} else {
			b.Enable()
		}
	}
}

// showDevices lists an account's devices: signed in or signed out, and
// when each last confirmed applying deletions (a lost phone that comes
// back online wipes itself and says so).
func (e *adminEnv) showDevices(id int64, name string) {
	var list []protocol.Device
	e.call(T("devices.failed", "Could not load the devices"), func(ctx context.Context) error {
		var err error
		list, err = e.api.Devices(ctx, id)
		return err
	}, func() {
		lines := container.NewVBox()
		if len(list) == 0 {
			lines.Add(widget.NewLabel(T("devices.none", "No device has signed in.")))
		}
		for _, d := range list {
			lines.Add(newJALabel(DeviceLine(d)))
		}
		scroll := container.NewVScroll(lines)
		// A scroll collapses to one line in a dialog unless told its size.
		scroll.SetMinSize(fyne.NewSize(620, min(float32(max(len(list), 1))*64, 420)))
		d := newCustom(e.win, T("devices.title", "Devices of {{.Name}}", map[string]any{"Name": name}), scroll)
		d.Show()
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

// forceLogout ends every session of an account, after asking.
func (e *adminEnv) forceLogout(id int64, name string) {
	Confirm(e.win, T("admin.forceLogout", "Sign out everywhere"),
		T("admin.forceLogoutBody", "Sign {{.Name}} out on every device? Their apps wipe what they hold; they sign in again with their password.", map[string]any{"Name": name}),
		T("admin.forceLogoutYes", "Sign out"), T("dialog.cancel", "Cancel"), func() {
			e.call(T("admin.forceLogoutFailed", "Could not sign out"), func(ctx context.Context) error { return e.api.ForceLogout(ctx, id) }, func() {
				Inform(e.win, T("admin.forceLogout", "Sign out everywhere"), T("admin.loggedOut", "All of this account's devices have been signed out."))
			})
		})
}
