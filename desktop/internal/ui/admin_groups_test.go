package ui

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// TestAdminGroupsAndRegistrar: an admin adds a group, registers clients
// into it, adds a registrar of it; the registrar's own screen lists the
// group's clients with login IDs and registers into it; a counselor's
// view of the clients has no login IDs and names the group.
func TestAdminGroupsAndRegistrar(t *testing.T) {
	h := newAdminForTest(t)
	a, srv, w := h.a, h.srv, h.w
	ctx := context.Background()
	a.groups.Add("A社")
	if len(a.groups.groups) != 2 || !strings.Contains(GroupLine(a.groups.groups[0]), "既定") && !strings.Contains(GroupLine(a.groups.groups[0]), "default") {
		t.Fatalf("groups: %+v", a.groups.groups)
	}
	a.clients.group.SetSelected("A社")
	a.clients.BulkRegister("a", "3")
	closeDialogs(w)
	a.clients.group.SetSelected(a.groups.groups[0].Name)
	a.clients.Register("さくら", "")
	closeDialogs(w)
	a.clients.groupFilter.SetSelected("A社")
	if len(a.clients.shown) != 3 || a.clients.shown[0].GroupName != "A社" {
		t.Fatalf("A社's clients shown: %d", len(a.clients.shown))
	}
	if !strings.Contains(clientLine(a.clients.shown[0]), "A社") {
		t.Errorf("the list line lacks the group: %q", clientLine(a.clients.shown[0]))
	}

	// An announcement to A社 only, sent from the tab after asking.
	a.news.to.SetSelected([]string{"A社"})
	a.news.Send("年末年始は12月29日から休業します。", "", "2099-01-03")
	if list, _ := srv.Admin.Announcements(ctx); len(list) != 0 {
		t.Fatal("sent without asking")
	}
	w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn}) // Enter confirms
	sent, err := srv.Admin.Announcements(ctx)
	if err != nil || len(sent) != 1 || len(sent[0].GroupIDs) != 1 || sent[0].GroupIDs[0] != a.groups.groups[1].ID || sent[0].EndsAt == nil {
		t.Fatalf("sent: %+v %v", sent, err)
	}
	if len(a.news.list) != 1 || !strings.Contains(a.news.line(a.news.list[0]), "A社") {
		t.Fatalf("the tab lists %+v", a.news.list)
	}

	// An API key for A社, shown once, works on the provisioning API.
	a.keys.scope.SetSelected([]string{"A社"})
	a.keys.Make("予約システム")
	if !strings.HasPrefix(a.keys.shown, protocol.APIKeyPrefix) || len(a.keys.keys) != 1 || !strings.Contains(a.keys.line(a.keys.keys[0]), "A社") {
		t.Fatalf("the key made: %q, listed %+v", a.keys.shown, a.keys.keys)
	}
	closeDialogs(w)
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/provision/clients", strings.NewReader(fmt.Sprintf(`{"nickname":"予約客","group_id":%d}`, a.groups.groups[1].ID)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.keys.shown)
	req.Header.Set(protocol.HeaderIdempotencyKey, "order-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("the key does not work: %v %v", resp, err)
	}
	resp.Body.Close()
	a.keys.list.Select(0)
	a.keys.confirmRevoke()
	w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if keys, _ := srv.Admin.APIKeys(ctx); len(keys) != 1 || keys[0].RevokedAt == nil {
		t.Fatalf("not revoked: %+v", keys)
	}
	a.Reload()

	a.staff.nick.SetText("受付")
	a.staff.role.SetSelectedIndex(2)
	if !a.staff.regGroup.Visible() {
		t.Fatal("no group to choose for a registrar")
	}
	a.staff.regGroup.SetSelected("A社")
	a.staff.Add("受付", protocol.RoleRegistrar)
	creds, _ := issuedOnScreen(t, w)
	closeDialogs(w)
	reg, _, err := client.Login(ctx, srv.URL, creds[0].LoginID, creds[0].Password, "")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRegistrar(reg, w, srv.URL+"/", func(f func()) { f() })
	r.env.async = func(f func()) { f() }
	w.SetContent(r.Content())
	r.Reload()
	if len(r.clients.all) != 4 || r.clients.all[0].LoginID == "" {
		t.Fatalf("the registrar's list: %+v", r.clients.all)
	}
	if len(r.clients.groups) != 1 || r.clients.group.Selected != "A社" {
		t.Fatalf("the registrar's groups: %+v", r.clients.groups)
	}
	test.Type(r.clients.nickname, "いつき")
	r.clients.Register(r.clients.nickname.Text, "")
	closeDialogs(w)
	if len(r.clients.all) != 5 {
		t.Fatalf("after registering: %d", len(r.clients.all))
	}
	if _, err := reg.Announcements(ctx); err == nil {
		t.Error("a registrar read the announcements")
	}
	if _, err := reg.Conversations(ctx); err == nil {
		t.Error("a registrar read the conversations")
	}

	// The figures per group: A社 registered five (three in bulk, one by
	// the key, one by the registrar), the default group one ("<5").
	a.usage.Load()
	var csvOut bytes.Buffer
	if err := WriteUsageCSV(&csvOut, a.usage.rows); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csvOut.String(), ",A社,5,") || !strings.Contains(csvOut.String(), ",既定のグループ,<5,") {
		t.Errorf("usage CSV:\n%s", csvOut.String())
	}

	cc := srv.Counselor(t, "みどり")
	co, _, err := client.Login(ctx, srv.URL, cc.LoginID, cc.Password, "")
	if err != nil {
		t.Fatal(err)
	}
	list, err := co.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if c.LoginID != "" {
			t.Errorf("a counselor sees login ID %q", c.LoginID)
		}
	}
}
