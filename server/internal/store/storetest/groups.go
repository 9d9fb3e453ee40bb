package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// testGroups: client groups and registrars (issue 16) as stored. Clients
// land in the default group unless they name one; a registrar registers,
// lists (with login IDs), resets and deletes clients of their groups only
// and reads no conversation; a counselor sees the group's name beside the
// nickname and never a login ID; a group's passed end of access ends its
// clients' sessions at once.
func testGroups(t *testing.T, open Opener) {
	ctx := context.Background()
	f := NewFixture(t, open)
	o := f.Org(t, 1)
	other := f.Org(t, 0)

	groups, err := f.Store.Groups(ctx, o.Admin)
	if err != nil || len(groups) != 1 || !groups[0].Default || groups[0].Clients != 1 {
		t.Fatalf("the default group holds the first client: %+v %v", groups, err)
	}
	name := func(s string) *string { return &s }
	a, err := f.Store.CreateGroup(ctx, o.Admin, protocol.GroupRequest{Name: name("A社")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Store.CreateGroup(ctx, o.Admin, protocol.GroupRequest{Name: name("B社")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.CreateGroup(ctx, o.Admin, protocol.GroupRequest{Name: name("A社")}); Code(err) != protocol.CodeConflict {
		t.Errorf("a second A社: %v", err)
	}
	if _, err := f.Store.CreateGroup(ctx, o.Staff, protocol.GroupRequest{Name: name("C社")}); Code(err) != protocol.CodeForbidden {
		t.Errorf("a counselor made a group: %v", err)
	}
	// A group of another organisation is no group here.
	if _, err := f.Store.CreateAccount(ctx, o.Admin, store.NewAccount{OrgID: o.ID, Role: protocol.RoleClient, LoginID: "x-other", Nickname: "x", PasswordHash: "x",
		GroupID: mustGroup(t, f, other.Admin)}); Code(err) != protocol.CodeInvalid {
		t.Errorf("a client in another organisation's group: %v", err)
	}

	// A registrar of A社.
	regAcct, err := f.Store.CreateAccount(ctx, o.Admin, store.NewAccount{OrgID: o.ID, Role: protocol.RoleRegistrar, LoginID: "reg-1", Nickname: "受付",
		PasswordHash: "x", GroupIDs: []int64{a.ID}})
	if err != nil {
		t.Fatal(err)
	}
	reg := store.Principal{AccountID: regAcct.ID, OrgID: o.ID, Role: protocol.RoleRegistrar}
	if _, err := f.Store.CreateAccount(ctx, o.Admin, store.NewAccount{OrgID: o.ID, Role: protocol.RoleRegistrar, LoginID: "reg-2", Nickname: "x",
		PasswordHash: "x", GroupIDs: []int64{mustGroup(t, f, other.Admin)}}); Code(err) != protocol.CodeInvalid {
		t.Errorf("a registrar of another organisation's group: %v", err)
	}
	inA, err := f.Store.CreateAccount(ctx, reg, store.NewAccount{OrgID: o.ID, Role: protocol.RoleClient, LoginID: "a-1", Nickname: "あおい", PasswordHash: "x", GroupID: a.ID})
	if err != nil {
		t.Fatalf("registrar registers in A社: %v", err)
	}
	if inA.GroupID != a.ID || inA.GroupName != "A社" {
		t.Errorf("registered into %d %q", inA.GroupID, inA.GroupName)
	}
	if _, err := f.Store.CreateAccount(ctx, reg, store.NewAccount{OrgID: o.ID, Role: protocol.RoleClient, LoginID: "b-1", Nickname: "x", PasswordHash: "x", GroupID: b.ID}); Code(err) != protocol.CodeForbidden {
		t.Errorf("registrar registered in B社: %v", err)
	}
	if _, err := f.Store.CreateAccount(ctx, reg, store.NewAccount{OrgID: o.ID, Role: protocol.RoleClient, LoginID: "d-1", Nickname: "x", PasswordHash: "x"}); Code(err) != protocol.CodeForbidden {
		t.Errorf("registrar registered in the default group: %v", err)
	}
	inB, err := f.Store.CreateAccount(ctx, o.Admin, store.NewAccount{OrgID: o.ID, Role: protocol.RoleClient, LoginID: "b-2", Nickname: "そら", PasswordHash: "x", GroupID: b.ID})
	if err != nil {
		t.Fatal(err)
	}

	// The registrar lists A社's clients with login IDs, and nothing else.
	list, err := f.Store.Accounts(ctx, reg, protocol.RoleClient)
	if err != nil || len(list) != 1 || list[0].ID != inA.ID || list[0].LoginID != "a-1" || list[0].GroupName != "A社" {
		t.Errorf("registrar's list: %+v %v", list, err)
	}
	if _, err := f.Store.Accounts(ctx, reg, protocol.RoleCounselor); Code(err) != protocol.CodeForbidden {
		t.Errorf("registrar listed counselors: %v", err)
	}
	if _, err := f.Store.Account(ctx, reg, inB.ID); Code(err) != protocol.CodeNotFound {
		t.Errorf("registrar found B社's client: %v", err)
	}
	if convs, err := f.Store.Conversations(ctx, reg); err == nil && len(convs) > 0 {
		t.Errorf("registrar listed %d conversations", len(convs))
	}
	if g, err := f.Store.Groups(ctx, reg); err != nil || len(g) != 1 || g[0].ID != a.ID {
		t.Errorf("registrar's groups: %+v %v", g, err)
	}
	if err := f.Store.SetPassword(ctx, reg, inB.ID, "y"); Code(err) != protocol.CodeNotFound {
		t.Errorf("registrar reset B社's client: %v", err)
	}
	if err := f.Store.SetPassword(ctx, reg, inA.ID, "y"); err != nil {
		t.Errorf("registrar reset A社's client: %v", err)
	}
	if err := f.Store.DeleteAccount(ctx, reg, inB.ID); Code(err) != protocol.CodeNotFound {
		t.Errorf("registrar deleted B社's client: %v", err)
	}
	if err := f.Store.DeleteAccount(ctx, reg, o.Staff.AccountID); err == nil {
		t.Error("registrar deleted a counselor")
	}

	// A counselor sees the group beside the nickname, never a login ID.
	clients, err := f.Store.Accounts(ctx, o.Staff, protocol.RoleClient)
	if err != nil || len(clients) != 3 {
		t.Fatalf("counselor's client list: %d %v", len(clients), err)
	}
	for _, c := range clients {
		if c.LoginID != "" {
			t.Errorf("a counselor sees login ID %q", c.LoginID)
		}
		if c.GroupName == "" {
			t.Errorf("client %d has no group", c.ID)
		}
	}
	if one, err := f.Store.Account(ctx, o.Staff, inA.ID); err != nil || one.LoginID != "" {
		t.Errorf("a counselor's view of one client: %+v %v", one, err)
	}
	convs, err := f.Store.Conversations(ctx, o.Admin)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]string{}
	for _, c := range convs {
		seen[c.ClientID] = c.GroupName
	}
	if seen[inA.ID] != "A社" || seen[inB.ID] != "B社" || seen[o.Clients[0].AccountID] != "" {
		t.Errorf("conversations' groups: %v", seen)
	}

	// The admin moves a client to B社.
	moved, err := f.Store.UpdateClient(ctx, o.Admin, inA.ID, protocol.UpdateClientRequest{GroupID: b.ID})
	if err != nil || moved.GroupID != b.ID || moved.GroupName != "B社" {
		t.Errorf("moved: %+v %v", moved, err)
	}
	if _, err := f.Store.Account(ctx, reg, inA.ID); Code(err) != protocol.CodeNotFound {
		t.Errorf("registrar still finds a client moved out of A社: %v", err)
	}

	// B社's contract ends: its clients' sessions end at once.
	tok := []byte("group-session-token-0123456789ab")
	if _, err := f.Store.CreateSession(ctx, store.NewSession{AccountID: inB.ID, TokenHash: tok, ExpiresAt: f.Clock.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Store.SessionByToken(ctx, tok); err != nil {
		t.Fatalf("session before the end: %v", err)
	}
	later := f.Clock.Now().Add(time.Hour)
	if _, err := f.Store.UpdateGroup(ctx, o.Admin, b.ID, protocol.GroupRequest{AccessUntil: &later}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Store.SessionByToken(ctx, tok); err != nil {
		t.Fatalf("session before the group's end: %v", err)
	}
	f.Clock.Add(2 * time.Hour)
	if _, _, err := f.Store.SessionByToken(ctx, tok); Code(err) != protocol.CodeUnauthorized {
		t.Errorf("session after the group's end: %v", err)
	}
	if _, _, err := f.Store.Send(ctx, store.Principal{AccountID: inB.ID, OrgID: o.ID, Role: protocol.RoleClient}, store.SendRequest{Ref: "g1", Body: "まだ書けますか"}); Code(err) != protocol.CodeForbidden {
		t.Errorf("a client of an ended group wrote: %v", err)
	}
	now := f.Clock.Now()
	if _, err := f.Store.UpdateGroup(ctx, o.Admin, a.ID, protocol.GroupRequest{AccessUntil: &now}); err != nil {
		t.Fatal(err)
	}
	if g, err := f.Store.UpdateGroup(ctx, o.Admin, b.ID, protocol.GroupRequest{ClearAccessUntil: true}); err != nil || g.AccessUntil != nil {
		t.Errorf("cleared: %+v %v", g, err)
	}
	if _, _, err := f.Store.Send(ctx, store.Principal{AccountID: inB.ID, OrgID: o.ID, Role: protocol.RoleClient}, store.SendRequest{Ref: "g2", Body: "書けました"}); err != nil {
		t.Errorf("a client of a renewed group: %v", err)
	}
	// The registrar deletes their own client (still in A社: o's first
	// registrar client was moved; make another).
	again, err := f.Store.CreateAccount(ctx, o.Admin, store.NewAccount{OrgID: o.ID, Role: protocol.RoleClient, LoginID: "a-2", Nickname: "いつき", PasswordHash: "x", GroupID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Store.DeleteAccount(ctx, reg, again.ID); err != nil {
		t.Errorf("registrar deletes A社's client: %v", err)
	}
	audit, err := f.Store.AuditLog(ctx, o.Admin, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[protocol.AuditAction]int{}
	for _, e := range audit.Entries {
		counts[e.Action]++
	}
	if counts[protocol.AuditGroupCreated] != 2 || counts[protocol.AuditGroupUpdated] != 3 {
		t.Errorf("audit: %v", counts)
	}
}

// mustGroup is the first group p sees (making one if none exists).
func mustGroup(t *testing.T, f *Fixture, p store.Principal) int64 {
	t.Helper()
	gs, err := f.Store.Groups(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) > 0 {
		return gs[0].ID
	}
	n := "他組織"
	g, err := f.Store.CreateGroup(context.Background(), p, protocol.GroupRequest{Name: &n})
	if err != nil {
		t.Fatal(err)
	}
	return g.ID
}
