package ui

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/servertest"
)

func newAdminForTest(t *testing.T) (*Admin, *servertest.Server, fyne.Window) {
	t.Helper()
	app := test.NewTempApp(t)
	w := app.NewWindow("admin")
	w.Resize(fyne.NewSize(1000, 700))
	srv := servertest.New(t)
	a := NewAdmin(srv.Admin, w, srv.URL+"/")
	inline := func(f func()) { f() }
	a.async, a.do = inline, inline
	w.SetContent(a.Content())
	a.Reload()
	return a, srv, w
}

func TestAdminClients(t *testing.T) {
	a, srv, _ := newAdminForTest(t)
	ctx := context.Background()
	if a.retention.Text != "7" {
		t.Fatalf("retention shown as %q days", a.retention.Text)
	}
	a.Register("さくら", "初回面談済み")
	if len(a.LastCredentials) != 1 || len(a.clients) != 1 {
		t.Fatalf("register: %d credentials, %d clients", len(a.LastCredentials), len(a.clients))
	}
	cred := a.LastCredentials[0]
	if _, _, err := client.Login(ctx, srv.URL, cred.LoginID, cred.Password, ""); err != nil {
		t.Fatalf("issued credentials do not work: %v", err)
	}

	a.BulkRegister("セミナー", "3")
	if len(a.LastCredentials) != 3 || len(a.clients) != 4 {
		t.Fatalf("bulk: %d credentials, %d clients", len(a.LastCredentials), len(a.clients))
	}
	var html, csv bytes.Buffer
	if err := a.WriteSheet(&html, "html"); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteSheet(&csv, "csv"); err != nil {
		t.Fatal(err)
	}
	for _, c := range a.LastCredentials {
		if !strings.Contains(html.String(), c.Password) || !strings.Contains(csv.String(), c.LoginID) {
			t.Fatalf("sheet lacks %s", c.LoginID)
		}
	}
	if !strings.Contains(html.String(), srv.URL) {
		t.Fatal("sheet does not say where to open the app")
	}

	test.Type(a.filter, "セミナー")
	if len(a.shown) != 3 {
		t.Fatalf("filter shows %d", len(a.shown))
	}
	a.clientList.Select(0)
	if a.selected == nil || !strings.HasPrefix(a.selected.Nickname, "セミナー") {
		t.Fatal("selection")
	}
	a.SetAccessUntil("2027-03-31")
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

	a.filter.SetText("さくら")
	a.clientList.Select(0)
	a.ConfirmDeleteSelected() // asks first: nothing deleted yet
	if list, _ := srv.Admin.Clients(ctx); len(list) != 4 {
		t.Fatal("deleted without confirmation")
	}
	a.DeleteClient(cred.Account.ID)
	if list, _ := srv.Admin.Clients(ctx); len(list) != 3 {
		t.Fatalf("%d clients after delete", len(list))
	}
	if _, _, err := client.Login(ctx, srv.URL, cred.LoginID, cred.Password, ""); err == nil {
		t.Fatal("deleted client can still sign in")
	}
}

func TestAdminSettings(t *testing.T) {
	a, srv, _ := newAdminForTest(t)
	ctx := context.Background()
	a.days[1].SetChecked(true)
	a.starts[1].SetText("09:00")
	a.ends[1].SetText("17:30")
	a.retention.SetText("3")
	a.closed.SetSelected(a.closed.Options[1])
	a.pause.SetChecked(true)
	test.Type(a.appName, "メモ")
	a.appIcon.SetSelectedIndex(1)
	a.SaveSettings()
	org, err := srv.Admin.Org(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := org.Settings
	if s.RetentionSeconds != 3*86400 || s.ClosedBehavior != protocol.ClosedBlock || !s.Pause.On ||
		len(s.Hours.Spans) != 1 || s.Hours.Spans[0].End != 17*60+30 || org.Availability.State != hours.StatePaused ||
		s.AppName != "メモ" || s.AppIcon != "notes" {
		t.Fatalf("saved settings %+v", org)
	}
	// The organisation's own app address is shown and printed on slips.
	if want := srv.URL + org.AppPath; a.appLink.Text != want || !strings.HasPrefix(org.AppPath, "/a/") {
		t.Fatalf("app address shown %q, want %q", a.appLink.Text, want)
	}
	a.Register("ゆう", "")
	var sheet bytes.Buffer
	if err := a.WriteSheet(&sheet, "html"); err != nil || !strings.Contains(sheet.String(), srv.URL+org.AppPath) {
		t.Fatalf("slip does not name the organisation's app address: %v", err)
	}
	// Bad input is refused on the form; nothing is sent.
	a.retention.SetText("0")
	a.SaveSettings()
	a.retention.SetText("3")
	a.starts[1].SetText("9時")
	a.SaveSettings()
	if org2, _ := srv.Admin.Org(ctx); org2.Settings.RetentionSeconds != 3*86400 || org2.Settings.Hours.Spans[0].Start != 9*60 {
		t.Fatalf("bad input changed settings: %+v", org2.Settings)
	}
}

func TestAdminStaff(t *testing.T) {
	a, srv, _ := newAdminForTest(t)
	a.AddStaff("佐藤", protocol.RoleCounselor)
	if len(a.LastCredentials) != 1 || len(a.staff) != 2 {
		t.Fatalf("add staff: %d creds, %d staff", len(a.LastCredentials), len(a.staff))
	}
	first := a.LastCredentials[0]
	if _, _, err := client.Login(context.Background(), srv.URL, first.LoginID, first.Password, ""); err != nil {
		t.Fatal(err)
	}
	a.ResetStaff(first.Account.ID)
	if len(a.LastCredentials) != 1 || a.LastCredentials[0].Password == first.Password {
		t.Fatal("no new password issued")
	}
	if _, _, err := client.Login(context.Background(), srv.URL, first.LoginID, first.Password, ""); err == nil {
		t.Fatal("old staff password still works")
	}
	if _, _, err := client.Login(context.Background(), srv.URL, first.LoginID, a.LastCredentials[0].Password, ""); err != nil {
		t.Fatalf("new staff password: %v", err)
	}
}

func TestAdminAuditAndSupervisorView(t *testing.T) {
	a, srv, _ := newAdminForTest(t)
	ctx := context.Background()
	cl, _ := srv.Client(t, "さくら")
	live := cl.Live(client.LiveOptions{})
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go live.Run(lctx)
	if _, err := live.Send(ctx, 0, "監督者にだけ見える相談"); err != nil {
		t.Fatal(err)
	}
	a.hoursOnly.SetChecked(true)
	a.margin.SetText("45")
	a.auditDays.SetText("90")
	a.SaveSettings()
	org, _ := srv.Admin.Org(ctx)
	if s := org.Settings; !s.CounselorHoursOnly || s.CounselorMarginMinutes != 45 || s.AuditRetentionDays != 90 {
		t.Fatalf("settings %+v", s)
	}
	a.margin.SetText("999")
	a.SaveSettings() // refused on the form
	if org, _ := srv.Admin.Org(ctx); org.Settings.CounselorMarginMinutes != 45 {
		t.Fatal("bad margin sent")
	}

	a.loadAudit(false)
	if len(a.superviseConvs) != 1 || len(a.superviseSel.Options) != 1 {
		t.Fatalf("conversations to supervise: %d", len(a.superviseConvs))
	}
	a.Supervise(a.superviseConvs[0])
	if len(a.LastSupervised) != 1 || a.LastSupervised[0].Body != "監督者にだけ見える相談" {
		t.Fatalf("supervisor's view showed %+v", a.LastSupervised)
	}
	var (
		lines   []string
		actions = map[protocol.AuditAction]bool{}
	)
	for _, e := range a.audit {
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
}

func TestAdminSeesDevices(t *testing.T) {
	a, srv, _ := newAdminForTest(t)
	ctx := context.Background()
	cl, cred := srv.Client(t, "さくら")
	if err := srv.Admin.ForceLogout(ctx, cred.Account.ID); err != nil {
		t.Fatal(err)
	}
	if err := cl.ConfirmWiped(ctx); err != nil {
		t.Fatal(err)
	}
	a.ShowDevices(cred.Account.ID, "さくら")
	if len(a.LastDevices) != 1 || a.LastDevices[0].Active || a.LastDevices[0].WipedAt == nil {
		t.Fatalf("devices %+v", a.LastDevices)
	}
	if line := DeviceLine(a.LastDevices[0]); !strings.Contains(line, a.LastDevices[0].WipedAt.Local().Format("2006-01-02 15:04")) {
		t.Fatalf("line does not say when it wiped: %q", line)
	}
}
