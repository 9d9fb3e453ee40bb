package ui

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/servertest"
)

type adminHarness struct {
	a       *Admin
	srv     *servertest.Server
	w       fyne.Window
	windows []fyne.Window // the supervisor's windows opened
}

func newAdminForTest(t *testing.T) *adminHarness {
	t.Helper()
	app := test.NewTempApp(t)
	app.Settings().SetTheme(Theme{})
	h := &adminHarness{srv: servertest.New(t)}
	h.w = app.NewWindow("admin")
	h.w.Resize(fyne.NewSize(1000, 700))
	h.a = NewAdmin(h.srv.Admin, h.w, h.srv.URL+"/", AdminOptions{NewWindow: func(title string) fyne.Window {
		w := app.NewWindow(title)
		h.windows = append(h.windows, w)
		return w
	}})
	inline := func(f func()) { f() }
	h.a.env.async, h.a.env.do = inline, inline
	h.w.SetContent(h.a.Content())
	h.a.Reload()
	return h
}

// overlayObjects are the objects of the dialog on top of the window.
func overlayObjects(w fyne.Window) []fyne.CanvasObject {
	top := w.Canvas().Overlays().Top()
	if top == nil {
		return nil
	}
	return test.LaidOutObjects(top)
}

// closeDialogs removes every dialog, as a person closing them would.
func closeDialogs(w fyne.Window) {
	for o := w.Canvas().Overlays(); o.Top() != nil; {
		o.Remove(o.Top())
	}
}

// issuedOnScreen reads the credentials the dialog shows, row by row.
func issuedOnScreen(t *testing.T, w fyne.Window) ([]protocol.Credentials, *credentialsView) {
	t.Helper()
	var (
		out  []protocol.Credentials
		view *credentialsView
	)
	for _, o := range overlayObjects(w) {
		switch x := o.(type) {
		case *credRow:
			if x.Visible() && x.id.Text != "" {
				out = append(out, protocol.Credentials{Account: protocol.Account{Nickname: x.nick.Text}, LoginID: x.id.Text, Password: x.pw.Text})
			}
		case *credentialsView:
			view = x
		}
	}
	if view == nil {
		t.Fatal("no credentials dialog shown")
	}
	return out, view
}

func TestAdminClients(t *testing.T) {
	h := newAdminForTest(t)
	a, srv, w := h.a, h.srv, h.w
	ctx := context.Background()
	if a.org.retention.Text != "7" {
		t.Fatalf("retention shown as %q days", a.org.retention.Text)
	}
	a.clients.Register("さくら", "初回面談済み")
	creds, _ := issuedOnScreen(t, w)
	if len(creds) != 1 || len(a.clients.all) != 1 || creds[0].Account.Nickname != "さくら" {
		t.Fatalf("register: %d credentials shown, %d clients", len(creds), len(a.clients.all))
	}
	cred := creds[0]
	if _, _, err := client.Login(ctx, srv.URL, cred.LoginID, cred.Password, ""); err != nil {
		t.Fatalf("issued credentials do not work: %v", err)
	}
	closeDialogs(w)

	a.clients.BulkRegister("セミナー", "3")
	creds, view := issuedOnScreen(t, w)
	if len(creds) != 3 || len(a.clients.all) != 4 {
		t.Fatalf("bulk: %d credentials shown, %d clients", len(creds), len(a.clients.all))
	}
	var html, csv bytes.Buffer
	if err := view.Write(&html, "html"); err != nil {
		t.Fatal(err)
	}
	if err := view.Write(&csv, "csv"); err != nil {
		t.Fatal(err)
	}
	for _, c := range creds {
		if !strings.Contains(html.String(), c.Password) || !strings.Contains(csv.String(), c.LoginID) {
			t.Fatalf("sheet lacks %s", c.LoginID)
		}
	}
	if !strings.Contains(html.String(), srv.URL) || strings.Contains(html.String(), "相談員") {
		t.Fatal("the client sheet does not say where to open the app, or is a staff sheet")
	}
	closeDialogs(w)

	test.Type(a.clients.filter, "セミナー")
	if len(a.clients.shown) != 3 {
		t.Fatalf("filter shows %d", len(a.clients.shown))
	}
	// Nothing selected: the buttons say so by being disabled.
	if !strings.Contains(a.clients.sel.label.source, T("admin.noneSelected", "Choose a client in the list to act on them.")) {
		t.Fatalf("selection label %q", a.clients.sel.label.source)
	}
	for _, b := range a.clients.sel.buttons {
		if !b.Disabled() {
			t.Fatalf("%q enabled with nobody selected", b.Text)
		}
	}
	// Bulk registration makes several at once: find セミナー-1's row.
	first := 0
	for i, c := range a.clients.shown {
		if c.Nickname == "セミナー-1" {
			first = i
		}
	}
	a.clients.list.Select(first)
	if !strings.Contains(a.clients.sel.label.source, "セミナー") {
		t.Fatalf("the selection does not name who: %q", a.clients.sel.label.source)
	}
	a.clients.SetAccessUntil("2027-03-31")
	list, _ := srv.Admin.Clients(ctx)
	var until *time.Time
	for _, c := range list {
		if c.Nickname == "セミナー-1" {
			until = c.AccessUntil
		}
	}
	if until == nil || until.Local().Format("2006-01-02") != "2027-04-01" {
		t.Fatalf("access until = %v (the day after 2027-03-31, local midnight)", until)
	}
	if a.clients.until.Text != "2027-03-31" {
		t.Fatalf("access until shown as %q", a.clients.until.Text)
	}

	// A new password asks first: it ends the client's sessions.
	a.clients.confirmReset()
	if w.Canvas().Overlays().Top() == nil {
		t.Fatal("a password reset did not ask")
	}
	closeDialogs(w)

	a.clients.filter.SetText("さくら")
	a.clients.list.Select(0)
	a.clients.ConfirmDelete() // asks first: nothing deleted yet
	if list, _ := srv.Admin.Clients(ctx); len(list) != 4 {
		t.Fatal("deleted without confirmation")
	}
	w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn}) // Enter confirms
	if list, _ := srv.Admin.Clients(ctx); len(list) != 3 {
		t.Fatalf("%d clients after delete", len(list))
	}
	if _, _, err := client.Login(ctx, srv.URL, cred.LoginID, cred.Password, ""); err == nil {
		t.Fatal("deleted client can still sign in")
	}
}

func TestAdminSettings(t *testing.T) {
	h := newAdminForTest(t)
	a, srv := h.a, h.srv
	ctx := context.Background()
	o := a.org
	// An unticked day's times are empty and disabled: nothing grey that
	// looks like a value. Ticking fills usual hours.
	if o.starts[1].Text != "" || !o.starts[1].Disabled() || o.starts[1].PlaceHolder != "" {
		t.Fatalf("unticked Monday shows %q (placeholder %q, disabled %v)", o.starts[1].Text, o.starts[1].PlaceHolder, o.starts[1].Disabled())
	}
	test.Tap(o.days[1])
	if o.starts[1].Text != defaultStart || o.ends[1].Text != defaultEnd || o.starts[1].Disabled() {
		t.Fatalf("ticked Monday shows %q–%q", o.starts[1].Text, o.ends[1].Text)
	}
	// The weekly count of 対応できず is there from the first look.
	if want := T("admin.unansweredWeeks", "", map[string]any{"Now": 0, "Before": "0, 0, 0, 0, 0, 0, 0"}); want == "" || o.unanswered.source != want {
		t.Fatalf("unanswered weeks %q, want %q", o.unanswered.source, want)
	}
	o.unansweredHours.SetText("168")
	o.apology.SetText("お返事できず申し訳ありません。\n電話相談 0120-000-000（平日10〜16時）")
	o.ends[1].SetText("17:30")
	o.retention.SetText("3")
	o.closed.SetSelected(o.closed.Options[1])
	test.Type(o.appName, "メモ")
	o.appIcon.SetSelectedIndex(1)
	o.Save()
	org, err := srv.Admin.Org(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := org.Settings
	if s.RetentionSeconds != 3*86400 || s.ClosedBehavior != protocol.ClosedBlock ||
		len(s.Hours.Spans) != 1 || s.Hours.Spans[0].End != 17*60+30 || s.AppName != "メモ" || s.AppIcon != "notes" ||
		s.UnansweredTimeoutHours != 168 || !strings.HasPrefix(s.ApologyText, "お返事できず") {
		t.Fatalf("saved settings %+v", org)
	}
	// Pause is a switch that acts at once: no Save.
	test.Tap(o.pause)
	if org, _ := srv.Admin.Org(ctx); !org.Settings.Pause.On || org.Availability.State != hours.StatePaused {
		t.Fatalf("pause did not take effect at once: %+v", org.Settings.Pause)
	}
	test.Tap(o.pause)
	if org, _ := srv.Admin.Org(ctx); org.Settings.Pause.On {
		t.Fatal("unpause did not take effect at once")
	}
	// The organisation's own app address is shown and printed on slips.
	if want := srv.URL + org.AppPath; o.appLink.Text != want || !strings.HasPrefix(org.AppPath, "/a/") {
		t.Fatalf("app address shown %q, want %q", o.appLink.Text, want)
	}
	closeDialogs(h.w)
	a.clients.Register("ゆう", "")
	_, view := issuedOnScreen(t, h.w)
	var sheet bytes.Buffer
	if err := view.Write(&sheet, "html"); err != nil || !strings.Contains(sheet.String(), srv.URL+org.AppPath) {
		t.Fatalf("slip does not name the organisation's app address: %v", err)
	}
	closeDialogs(h.w)
	// Bad input is refused on the form; nothing is sent.
	o.retention.SetText("0")
	o.Save()
	o.retention.SetText("3")
	o.starts[1].SetText("9時")
	o.Save()
	if org2, _ := srv.Admin.Org(ctx); org2.Settings.RetentionSeconds != 3*86400 || org2.Settings.Hours.Spans[0].Start != 9*60 {
		t.Fatalf("bad input changed settings: %+v", org2.Settings)
	}
}

func TestAdminStaff(t *testing.T) {
	h := newAdminForTest(t)
	a, srv, w := h.a, h.srv, h.w
	a.staff.Add("佐藤", protocol.RoleCounselor)
	creds, view := issuedOnScreen(t, w)
	if len(creds) != 1 || len(a.staff.staff) != 2 {
		t.Fatalf("add staff: %d creds, %d staff", len(creds), len(a.staff.staff))
	}
	var slip bytes.Buffer
	view.Write(&slip, "html")
	if !strings.Contains(slip.String(), "相談員") || strings.Contains(slip.String(), "スマートフォン") {
		t.Fatal("a staff member got a client's slip")
	}
	first := creds[0]
	if _, _, err := client.Login(context.Background(), srv.URL, first.LoginID, first.Password, ""); err != nil {
		t.Fatal(err)
	}
	closeDialogs(w)
	for i, s := range a.staff.staff {
		if s.LoginID == first.LoginID {
			a.staff.list.Select(i)
		}
	}
	a.staff.confirmReset()
	w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	creds, _ = issuedOnScreen(t, w)
	if len(creds) != 1 || creds[0].Password == first.Password {
		t.Fatal("no new password issued")
	}
	if _, _, err := client.Login(context.Background(), srv.URL, first.LoginID, first.Password, ""); err == nil {
		t.Fatal("old staff password still works")
	}
	if _, _, err := client.Login(context.Background(), srv.URL, first.LoginID, creds[0].Password, ""); err != nil {
		t.Fatalf("new staff password: %v", err)
	}
}

// The credentials dialog shows each password in a monospace label at
// full height, selectable, and asks before closing unsaved.
func TestCredentialsAreReadable(t *testing.T) {
	h := newAdminForTest(t)
	h.a.clients.Register("ひなた", "")
	_, view := issuedOnScreen(t, h.w)
	for _, o := range overlayObjects(h.w) {
		r, ok := o.(*credRow)
		if !ok || r.pw.Text == "" {
			continue
		}
		if !r.pw.TextStyle.Monospace || !r.pw.Selectable || !r.id.Selectable {
			t.Fatal("password not monospace and selectable")
		}
		if r.pw.Size().Height < r.pw.MinSize().Height || strings.ContainsAny(r.pw.Text, "\t") {
			t.Fatalf("password cut off: %v < %v", r.pw.Size(), r.pw.MinSize())
		}
	}
	h.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if !strings.Contains(strings.Join(dialogTexts(h.w), " "), T("cred.closeTitle", "Close without printing?")) {
		t.Fatal("closing unsaved credentials did not ask")
	}
	_ = view
}

// dialogTexts are the texts of the labels in the top dialog.
func dialogTexts(w fyne.Window) []string {
	var out []string
	for _, o := range overlayObjects(w) {
		switch l := o.(type) {
		case *widget.Label:
			out = append(out, l.Text)
		case *jaLabel:
			out = append(out, l.source)
		}
	}
	return out
}

func TestAdminAuditAndSupervisorView(t *testing.T) {
	h := newAdminForTest(t)
	a, srv := h.a, h.srv
	ctx := context.Background()
	cl, _ := srv.Client(t, "さくら")
	live := cl.Live(client.LiveOptions{})
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go live.Run(lctx)
	if _, err := live.Send(ctx, 0, "監督者にだけ見える相談"); err != nil {
		t.Fatal(err)
	}
	a.org.hoursOnly.SetChecked(true)
	a.org.margin.SetText("45")
	a.org.auditDays.SetText("90")
	if a.org.claimBy.Selected != a.org.claimBy.Options[0] {
		t.Fatal("a first reply takes a conversation by default")
	}
	a.org.claimBy.SetSelected(a.org.claimBy.Options[1]) // only the button
	a.org.Save()
	org, _ := srv.Admin.Org(ctx)
	if s := org.Settings; !s.CounselorHoursOnly || s.CounselorMarginMinutes != 45 || s.AuditRetentionDays != 90 || !s.ClaimByButton {
		t.Fatalf("settings %+v", s)
	}
	a.org.margin.SetText("999")
	a.org.Save() // refused on the form
	if org, _ := srv.Admin.Org(ctx); org.Settings.CounselorMarginMinutes != 45 {
		t.Fatal("bad margin sent")
	}

	// The audit tab loads when selected (the tab is known by value).
	a.tabs.Select(a.auditTab)
	if len(a.audit.convs) != 1 || len(a.audit.pick.Options) != 1 {
		t.Fatalf("conversations to supervise: %d", len(a.audit.convs))
	}
	a.audit.pick.SetSelectedIndex(0)
	test.Tap(a.audit.read)
	if len(h.windows) != 1 {
		t.Fatalf("%d supervisor windows", len(h.windows))
	}
	var shown []string
	for _, o := range test.LaidOutObjects(h.windows[0].Content()) {
		if rv, ok := o.(*rowView); ok {
			shown = append(shown, rv.Text()...)
		}
	}
	if !strings.Contains(strings.Join(shown, "\n"), "監督者にだけ見える相談") {
		t.Fatalf("supervisor's view showed %q", shown)
	}
	var (
		lines   []string
		actions = map[protocol.AuditAction]bool{}
	)
	for _, e := range a.audit.entries {
		lines = append(lines, auditLine(e))
		actions[e.Action] = true
	}
	all := strings.Join(lines, "\n")
	for _, want := range []protocol.AuditAction{protocol.AuditSupervisorView, protocol.AuditSettingsChanged, protocol.AuditAccountCreated} {
		if !actions[want] {
			t.Errorf("audit tab lacks %s:\n%s", want, all)
		}
	}
	if strings.Contains(all, "監督者にだけ見える相談") || strings.Contains(all, "さくら") {
		t.Errorf("audit tab shows message text or a client's nickname:\n%s", all)
	}
	if strings.Contains(all, "counselor_hours_only") || strings.Contains(all, "settings_changed") {
		t.Errorf("audit tab shows internal names:\n%s", all)
	}
}

func TestAdminSeesDevices(t *testing.T) {
	h := newAdminForTest(t)
	a, srv := h.a, h.srv
	ctx := context.Background()
	cl, cred := srv.Client(t, "さくら")
	if err := srv.Admin.ForceLogout(ctx, cred.Account.ID); err != nil {
		t.Fatal(err)
	}
	if err := cl.ConfirmWiped(ctx); err != nil {
		t.Fatal(err)
	}
	devices, _ := srv.Admin.Devices(ctx, cred.Account.ID)
	a.env.showDevices(cred.Account.ID, "さくら")
	texts := strings.Join(dialogTexts(h.w), "\n")
	if len(devices) != 1 || !strings.Contains(texts, devices[0].WipedAt.Local().Format("2006-01-02 15:04")) {
		t.Fatalf("the dialog does not say when the device wiped itself:\n%s", texts)
	}
	// The list is tall enough to read, not one line at a time.
	for _, o := range overlayObjects(h.w) {
		if s, ok := o.(*container.Scroll); ok && s.Size().Height < 48 {
			t.Fatalf("devices list is %v px tall", s.Size().Height)
		}
	}
}

// The client app's texts and the organisation's name are set here.
func TestAdminClientAppTexts(t *testing.T) {
	h := newAdminForTest(t)
	o := h.a.org
	o.orgName.SetText("こころ相談室・本部")
	test.Tap(o.showName)
	o.welcome.SetText("ようこそ。ここでは、お名前を出さずに相談できます。")
	o.contact.SetText("ログインできないときは、受付（平日 9:00–17:00）へお電話ください。")
	o.Save()
	org, err := h.srv.Admin.Org(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := org.Settings
	if s.DisplayName != "こころ相談室・本部" || !s.ShowOrgName || !strings.HasPrefix(s.WelcomeText, "ようこそ") || !strings.Contains(s.ContactText, "受付") {
		t.Fatalf("saved %+v", s)
	}
	o.welcome.SetText(strings.Repeat("長", protocol.MaxClientTextRunes+1))
	o.Save() // refused on the form
	if org, _ := h.srv.Admin.Org(context.Background()); !strings.HasPrefix(org.Settings.WelcomeText, "ようこそ") {
		t.Fatal("an over-long welcome was sent")
	}
}

// A staff member chooses the name clients see above their replies.
func TestDisplayNameDialog(t *testing.T) {
	h := newAdminForTest(t)
	cred := h.srv.Counselor(t, "田中")
	cl, _, err := client.Login(context.Background(), h.srv.URL, cred.LoginID, cred.Password, "")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan protocol.Account, 1)
	ShowDisplayName(h.w, cl, protocol.Account{}, func(f func()) { f() }, func(a protocol.Account) { done <- a })
	field, ok := h.w.Canvas().Focused().(*Field)
	if !ok {
		t.Fatal("the name field does not have the cursor")
	}
	test.Type(field, "たなか")
	field.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) // Enter submits
	select {
	case a := <-done:
		if a.DisplayName != "たなか" {
			t.Fatalf("display name %q", a.DisplayName)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not saved")
	}
	staff, _ := h.srv.Admin.Staff(context.Background())
	for _, s := range staff {
		if s.ID == cred.Account.ID && s.DisplayName != "たなか" {
			t.Fatalf("the server has %q", s.DisplayName)
		}
	}
}

// The profile for nomination (指名): without a name the switch is refused
// on the spot; with one, the introduction and the switch reach the server
// and clients can then nominate the counselor.
func TestProfileNominations(t *testing.T) {
	h := newAdminForTest(t)
	cred := h.srv.Counselor(t, "田中")
	cl, _, err := client.Login(context.Background(), h.srv.URL, cred.LoginID, cred.Password, "")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan protocol.Account, 1)
	open := func() (*Field, *widget.Entry, *widget.Check) {
		t.Helper()
		ShowDisplayName(h.w, cl, protocol.Account{}, func(f func()) { f() }, func(a protocol.Account) { done <- a })
		var (
			intro  *widget.Entry
			accept *widget.Check
		)
		for _, o := range overlayObjects(h.w) {
			switch x := o.(type) {
			case *widget.Entry:
				if x.MultiLine {
					intro = x
				}
			case *widget.Check:
				accept = x
			}
		}
		field, ok := h.w.Canvas().Focused().(*Field)
		if !ok || intro == nil || accept == nil {
			t.Fatalf("the profile dialog: %v %v %v", field, intro, accept)
		}
		return field, intro, accept
	}
	field, _, accept := open()
	accept.SetChecked(true)
	field.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	want := T("me.nominationNeedsName", "Clients nominate you by the name they see: choose one first.")
	if texts := dialogTexts(h.w); want == "" || !slices.ContainsFunc(texts, func(s string) bool { return strings.Contains(s, want) }) {
		t.Fatalf("no word on the missing name: %q", texts)
	}
	closeDialogs(h.w)
	field, intro, accept := open()
	test.Type(field, "たなか")
	intro.SetText("学生の相談を多く受けてきました")
	accept.SetChecked(true)
	field.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	select {
	case a := <-done:
		if !a.AcceptNominations || a.Intro != "学生の相談を多く受けてきました" {
			t.Fatalf("saved: %+v", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not saved")
	}
	kl, _ := h.srv.Client(t, "さくら")
	ns, err := kl.Nominees(context.Background())
	if err != nil || len(ns) != 1 || ns[0].DisplayName != "たなか" {
		t.Fatalf("nominees: %+v %v", ns, err)
	}
}

// The supervisor's picker offers conversations that hold messages, by
// nickname: an empty one opened onto nothing (seen in the guide's
// screenshot), and hundreds in arrival order cannot be searched by eye.
func TestSuperviseable(t *testing.T) {
	convs := []protocol.Conversation{
		{ID: 1, Nickname: "みなと", LastSeq: 3, FirstSeq: 1},
		{ID: 2, Nickname: "セミナー-1", LastSeq: 0, FirstSeq: 1}, // never written
		{ID: 3, Nickname: "かい", LastSeq: 1, FirstSeq: 1},
		{ID: 4, Nickname: "さくら", LastSeq: 9, FirstSeq: 10}, // all deleted by retention
		{ID: 5, Nickname: "相談者001", LastSeq: 15, FirstSeq: 3},
	}
	var got []int64
	for _, c := range Superviseable(convs) {
		got = append(got, c.ID)
	}
	if want := []int64{3, 1, 5}; !slices.Equal(got, want) {
		t.Fatalf("offered %v, want %v", got, want)
	}
}
