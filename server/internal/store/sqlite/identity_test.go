package sqlite

import (
	"context"
	"strconv"
	"testing"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
	"github.com/taiwa-chat/taiwa/server/internal/store/storetest"
)

// IDs are never handed out twice: an app that was offline while a client
// was deleted and another registered must not see the new client under
// the old client's account or conversation ID.

// A database from before the rebuild keeps its IDs and rows, and its
// counters start above every ID still named anywhere.
func TestUpgradeKeepsIDsAndNeverReusesThem(t *testing.T) {
	dir := t.TempDir()
	legacyDB(t, dir, 9,
		`INSERT INTO orgs(id, name, settings, created_at, app_code) VALUES (1, 'o', '{}', 0, 'abc')`,
		`INSERT INTO accounts(id, org_id, role, login_id, nickname, password_hash, created_at) VALUES (1, 1, 'admin', 'adm', 'a', 'x', 0), (2, 1, 'client', 'cli', 'c', 'x', 0)`,
		`INSERT INTO conversations(id, org_id, client_id, updated_at) VALUES (4, 1, 2, 0)`,
		`INSERT INTO sessions(id, account_id, token_hash, created_at, expires_at) VALUES (3, 2, x'01', 0, 99999999999999)`,
		// Deleted before the upgrade: client 9 with session 8 and conversation 7.
		`INSERT INTO ended_sessions(token_hash, session_id, org_id, account_id, created_at, ended_at, reason) VALUES (x'02', 8, 1, 9, 0, 0, 'deleted')`,
		`INSERT INTO audit_log(org_id, at, actor_id, actor_role, action, target_id, target_role) VALUES (1, 0, 1, 'admin', 'account_deleted', 9, 'client')`,
	)

	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	admin := store.Principal{AccountID: 1, OrgID: 1, Role: protocol.RoleAdmin}
	conv, err := db.Conversation(ctx, admin, 4)
	if err != nil || conv.ClientID != 2 {
		t.Fatalf("conversation 4 after the upgrade: %+v %v", conv, err)
	}
	if _, _, err := db.SessionByToken(ctx, []byte{1}); err != nil {
		t.Fatalf("session 3 after the upgrade: %v", err)
	}
	a, err := db.CreateAccount(ctx, store.Principal{}, store.NewAccount{OrgID: 1, Role: protocol.RoleClient, LoginID: "new", Nickname: "n", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := db.CreateSession(ctx, store.NewSession{AccountID: a.ID, TokenHash: []byte{3}, ExpiresAt: db.clock().Add(1e12)})
	if err != nil {
		t.Fatal(err)
	}
	c := storetest.ClientConversation(t, db, store.Principal{AccountID: a.ID, OrgID: 1, Role: protocol.RoleClient})
	if a.ID <= 9 || s.ID <= 8 || c.ID <= 4 {
		t.Fatalf("after the upgrade: account %d (≤ 9), session %d (≤ 8), conversation %d (≤ 4)", a.ID, s.ID, c.ID)
	}
	var fk int
	if err := (writerSQL{db}).QueryRow("PRAGMA foreign_keys", &fk); err != nil || fk != 1 {
		t.Fatalf("foreign keys after the upgrade: %d %v", fk, err)
	}
}

// An admin's device list names only devices of their own organisation,
// whatever the account ID.
func TestDevicesStayInTheirOrganisation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.Org(t, 1), f.Org(t, 1)
	victim := b.Clients[0]
	if _, err := f.db.CreateSession(ctx, store.NewSession{AccountID: victim.AccountID, TokenHash: []byte("b-session-hash-0000000000000000"), Device: "B's phone", ExpiresAt: f.Clock.Now().Add(1e12)}); err != nil {
		t.Fatal(err)
	}
	// A record left by organisation A under the same account ID (as IDs
	// were reused before schema 10).
	if _, err := (writerSQL{f.db}).Exec(`INSERT INTO ended_sessions(token_hash, session_id, org_id, account_id, created_at, ended_at, reason)
		VALUES (x'aa', 999, ?, ?, 0, 0, 'deleted')`, a.ID, victim.AccountID); err != nil {
		t.Fatal(err)
	}
	devices, err := f.db.Devices(ctx, a.Admin, victim.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devices {
		if d.Active || d.Device == "B's phone" {
			t.Fatalf("organisation A sees organisation B's device: %+v", devices)
		}
	}
}

// Idempotency refs are kept only as keyed hashes, and still work.
func TestRefsAreNotStoredInTheClear(t *testing.T) {
	f := newFixture(t)
	o := f.Org(t, 1)
	cl := o.Clients[0]
	const ref = "REF-MARKER-meaningful-7319"
	first := send(t, f.db, cl, 0, ref, "こんにちは")
	again, created, err := f.db.Send(context.Background(), cl, store.SendRequest{Ref: ref, Body: "こんにちは"})
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("resend: %+v created=%v %v", again, created, err)
	}
	if _, err := (writerSQL{f.db}).Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	if hits := fileContains(t, f.dir, ref); len(hits) > 0 {
		t.Fatalf("the ref is stored in the clear in %v", hits)
	}
}

// Refs stored in the clear by an older version are hashed at start, once,
// and a resend with one still finds its message.
func TestLegacyRefsAreHashed(t *testing.T) {
	f := newFixture(t)
	o := f.Org(t, 1)
	cl := o.Clients[0]
	m := send(t, f.db, cl, 0, "placeholder", "昔のメッセージ")
	const ref = "LEGACY-REF-marker-5521"
	for _, stmt := range []string{
		"UPDATE messages SET ref = '" + ref + "' WHERE id = " + itoa(m.ID),
		"DELETE FROM upgrades WHERE name = 'hash_refs'",
	} {
		if _, err := (writerSQL{f.db}).Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	f.db.Close()
	db, err := Open(f.dir, Options{Now: f.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if hits := fileContains(t, f.dir, ref); len(hits) > 0 {
		t.Fatalf("the legacy ref is still in the clear in %v", hits)
	}
	again, created, err := db.Send(context.Background(), cl, store.SendRequest{Ref: ref, Body: "昔のメッセージ"})
	if err != nil || created || again.ID != m.ID {
		t.Fatalf("resend with a legacy ref: %+v created=%v %v", again, created, err)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
