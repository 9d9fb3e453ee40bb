package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// testAPIKeys: a key is found by its hash until revoked, acts as a
// registrar of its groups (create, set access, delete; not other
// groups'), is named in the audit log; an Idempotency-Key makes exactly
// one client however many requests carry it at once.
func testAPIKeys(t *testing.T, open Opener) {
	ctx := context.Background()
	f := NewFixture(t, open)
	o := f.Org(t, 0)
	name := "予約システムのグループ"
	g, err := f.Store.CreateGroup(ctx, o.Admin, protocol.GroupRequest{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	other := mustGroup(t, f, o.Admin) // the default group
	if _, err := f.Store.CreateAPIKey(ctx, o.Staff, protocol.APIKeyRequest{Name: "x", GroupIDs: []int64{g.ID}}, []byte("h0")); Code(err) != protocol.CodeForbidden {
		t.Errorf("a counselor made a key: %v", err)
	}
	if _, err := f.Store.CreateAPIKey(ctx, o.Admin, protocol.APIKeyRequest{Name: "x"}, []byte("h0")); Code(err) != protocol.CodeInvalid {
		t.Errorf("a key without groups: %v", err)
	}
	hash := []byte("0123456789abcdef0123456789abcdef")
	k, err := f.Store.CreateAPIKey(ctx, o.Admin, protocol.APIKeyRequest{Name: "予約システム", GroupIDs: []int64{g.ID}}, hash)
	if err != nil {
		t.Fatal(err)
	}
	p, got, err := f.Store.APIKeyByToken(ctx, hash)
	if err != nil || got.ID != k.ID || p.KeyID != k.ID || p.OrgID != o.ID || p.Role != protocol.RoleRegistrar || p.AccountID != 0 {
		t.Fatalf("by token: %+v %+v %v", p, got, err)
	}

	// Eight requests at once with one Idempotency-Key: one client.
	idem := func(key string) *store.NewIdempotency {
		return &store.NewIdempotency{KeyID: k.ID, Key: key, RequestHash: []byte("req"), Seal: func(login string) []byte { return []byte("sealed:" + login) }}
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		made    []protocol.Account
		replays int
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := f.Store.CreateAccount(ctx, p, store.NewAccount{OrgID: o.ID, Role: protocol.RoleClient, LoginID: "idem-" + string(rune('a'+i)),
				Nickname: "予約客", PasswordHash: "x", GroupID: g.ID, Idem: idem("order-1001")})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				made = append(made, a)
			case errors.Is(err, store.ErrIdempotencyKeyUsed):
				replays++
			default:
				t.Errorf("create: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(made) != 1 || replays != 7 {
		t.Fatalf("one Idempotency-Key made %d clients (%d replays)", len(made), replays)
	}
	rec, err := f.Store.Idempotent(ctx, k.ID, "order-1001")
	if err != nil || rec == nil || rec.AccountID != made[0].ID || rec.GroupID != g.ID || string(rec.Sealed) != "sealed:"+made[0].LoginID {
		t.Fatalf("the record: %+v %v", rec, err)
	}
	if r, err := f.Store.Idempotent(ctx, k.ID, "order-9999"); err != nil || r != nil {
		t.Errorf("an unused key: %+v %v", r, err)
	}
	clients, _ := f.Store.Accounts(ctx, o.Admin, protocol.RoleClient)
	if len(clients) != 1 {
		t.Fatalf("%d clients after eight requests", len(clients))
	}
	// Not in another group; nothing but the end of access.
	if _, err := f.Store.CreateAccount(ctx, p, store.NewAccount{OrgID: o.ID, Role: protocol.RoleClient, LoginID: "idem-x", Nickname: "x", PasswordHash: "x",
		GroupID: other, Idem: idem("order-1002")}); Code(err) != protocol.CodeForbidden {
		t.Errorf("a key created in another group: %v", err)
	}
	until := f.Clock.Now().Add(30 * 24 * time.Hour)
	if a, err := f.Store.UpdateClient(ctx, p, made[0].ID, protocol.UpdateClientRequest{AccessUntil: &until}); err != nil || a.AccessUntil == nil {
		t.Errorf("a key set access_until: %+v %v", a, err)
	}
	nick := "改名"
	if _, err := f.Store.UpdateClient(ctx, p, made[0].ID, protocol.UpdateClientRequest{Nickname: &nick}); Code(err) != protocol.CodeForbidden {
		t.Errorf("a key renamed a client: %v", err)
	}
	outsider, err := f.Store.CreateAccount(ctx, o.Admin, store.NewAccount{OrgID: o.ID, Role: protocol.RoleClient, LoginID: "outsider", Nickname: "x", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.UpdateClient(ctx, p, outsider.ID, protocol.UpdateClientRequest{AccessUntil: &until}); Code(err) != protocol.CodeNotFound {
		t.Errorf("a key changed another group's client: %v", err)
	}
	if err := f.Store.DeleteAccount(ctx, p, outsider.ID); Code(err) != protocol.CodeNotFound {
		t.Errorf("a key deleted another group's client: %v", err)
	}
	if err := f.Store.DeleteAccount(ctx, p, made[0].ID); err != nil {
		t.Errorf("a key deleted its client: %v", err)
	}
	// A retry after the deletion still finds the record (the same answer),
	// and creates nothing.
	if r, _ := f.Store.Idempotent(ctx, k.ID, "order-1001"); r == nil {
		t.Error("the record went with the client")
	}

	if err := f.Store.RevokeAPIKey(ctx, o.Admin, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Store.APIKeyByToken(ctx, hash); Code(err) != protocol.CodeUnauthorized {
		t.Errorf("a revoked key still works: %v", err)
	}
	keys, err := f.Store.APIKeys(ctx, o.Admin)
	if err != nil || len(keys) != 1 || keys[0].RevokedAt == nil {
		t.Errorf("keys: %+v %v", keys, err)
	}
	audit, err := f.Store.AuditLog(ctx, o.Admin, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	byKey := 0
	for _, e := range audit.Entries {
		if e.ActorRole == protocol.ActorAPIKey {
			byKey++
			if e.ActorName != "予約システム" {
				t.Errorf("a key's entry names %q", e.ActorName)
			}
		}
	}
	// Created one client, set its access, deleted it.
	if byKey != 3 {
		t.Errorf("%d audit entries by the key, want 3", byKey)
	}

	// A day later the Idempotency-Keys are forgotten.
	f.Clock.Add(store.IdempotencyKept + time.Minute)
	if _, err := f.Store.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.Store.Idempotent(ctx, k.ID, "order-1001"); r != nil {
		t.Error("an Idempotency-Key outlived its day")
	}
}

// testAutoDelete: with delete_after_access_days set, a client whose own
// or group's access ended that long ago is deleted by the sweep, with the
// erasure and receipts of a manual deletion; one not yet due stays.
func testAutoDelete(t *testing.T, open Opener) {
	ctx := context.Background()
	f := NewFixture(t, open)
	o := f.Org(t, 0)
	days := 30
	if _, err := f.Store.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{DeleteAfterAccessDays: &days}); err != nil {
		t.Fatal(err)
	}
	name := "終了した契約"
	g, err := f.Store.CreateGroup(ctx, o.Admin, protocol.GroupRequest{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	now := f.Clock.Now()
	ended, soon := now.Add(time.Hour), now.Add(20*24*time.Hour)
	mk := func(login string, group int64, until *time.Time) int64 {
		t.Helper()
		a, err := f.Store.CreateAccount(ctx, o.Admin, store.NewAccount{OrgID: o.ID, Role: protocol.RoleClient, LoginID: login, Nickname: login, PasswordHash: "x",
			GroupID: group, AccessUntil: until})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	own := mk("own-end", 0, &ended)
	byGroup := mk("group-end", g.ID, nil)
	later := mk("later-end", 0, &soon)
	forever := mk("no-end", 0, nil)
	if _, err := f.Store.UpdateGroup(ctx, o.Admin, g.ID, protocol.GroupRequest{AccessUntil: &ended}); err != nil {
		t.Fatal(err)
	}
	cl := store.Principal{AccountID: own, OrgID: o.ID, Role: protocol.RoleClient}
	if _, _, err := f.Store.Send(ctx, cl, store.SendRequest{Ref: "a1", Body: "契約が終わる前の相談"}); err != nil {
		t.Fatal(err)
	}
	f.Clock.Add(29 * 24 * time.Hour) // not yet 30 days after the end
	if res, err := f.Store.Sweep(ctx); err != nil || res.AutoDeleted != 0 {
		t.Fatalf("early sweep deleted %d: %v", res.AutoDeleted, err)
	}
	f.Clock.Add(2 * 24 * time.Hour)
	before := len(f.Published(store.ChangeConversationDeleted))
	res, err := f.Store.Sweep(ctx)
	if err != nil || res.AutoDeleted != 2 {
		t.Fatalf("the sweep deleted %d, want 2: %v", res.AutoDeleted, err)
	}
	if got := len(f.Published(store.ChangeConversationDeleted)) - before; got != 2 {
		t.Errorf("%d deletions published (the apps' receipts), want 2", got)
	}
	left, _ := f.Store.Accounts(ctx, o.Admin, protocol.RoleClient)
	ids := map[int64]bool{}
	for _, a := range left {
		ids[a.ID] = true
	}
	if ids[own] || ids[byGroup] || !ids[later] || !ids[forever] {
		t.Errorf("left after the sweep: %v", ids)
	}
	audit, err := f.Store.AuditLog(ctx, o.Admin, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	auto := 0
	for _, e := range audit.Entries {
		if e.Action == protocol.AuditAutoDeleted {
			auto++
			if e.ActorRole != string(protocol.RoleSystem) {
				t.Errorf("automatic deletion recorded as %q", e.ActorRole)
			}
		}
	}
	if auto != 2 {
		t.Errorf("%d automatic deletions in the audit log", auto)
	}
}
