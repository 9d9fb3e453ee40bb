package postgres

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/kekdir"
	"github.com/taiwa-chat/taiwa/server/internal/sealkeys"
	"github.com/taiwa-chat/taiwa/server/internal/store"
	"github.com/taiwa-chat/taiwa/server/internal/store/postgres/pgtest"
	"github.com/taiwa-chat/taiwa/server/internal/store/storetest"
)

// attacker is whoever holds a copy of the database taken before a
// deletion, and later obtains the master key and the key-encryption key
// directory as they are then: the worst case the guarantee covers.
type attacker struct {
	pool   *pgxpool.Pool
	master []byte
	kekDir string
}

// read tries to read a message's body from the copy with the keys as they
// are now (a fresh look at the directory: nothing cached).
func (a attacker) read(t *testing.T, id int64) (string, error) {
	t.Helper()
	ctx := context.Background()
	var (
		conv, seq, client, slice int64
		sealed                   []byte
	)
	err := a.pool.QueryRow(ctx, `SELECT m.conversation_id, m.seq, c.client_id, m.slice, m.sealed FROM messages m
		JOIN conversations c ON c.id = m.conversation_id WHERE m.id = $1`, id).Scan(&conv, &seq, &client, &slice, &sealed)
	if err != nil {
		t.Fatalf("the copy lacks message %d: %v", id, err)
	}
	dir, err := kekdir.Open(a.kekDir, a.master)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := sealkeys.New(&vault{pool: a.pool, kek: dir}, a.master)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ring.Open(client, slice, sealed, bodyAAD(conv, seq))
	return string(b), err
}

// containsUnder reports whether any file under dir holds needle.
func containsUnder(t *testing.T, dir string, needle []byte) string {
	t.Helper()
	found := ""
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, needle) {
			found = p
		}
		return nil
	})
	return found
}

// The deletion guarantee on PostgreSQL (docs/security.md): a base backup
// (data directory and WAL) taken before a client's deletion still holds
// the client's key, wrapped; with the master key and the key directory it
// reads the client's words until the next key-encryption key rotation,
// and never after it.
func TestCopyBeforeDeletionUnreadableAfterRotation(t *testing.T) {
	c := pgtest.Own(t)
	ctx := context.Background()
	dsn, err := c.CreateDB(ctx, "taiwa")
	if err != nil {
		t.Fatal(err)
	}
	master, kekDir := sealkeys.NewMasterKey(), t.TempDir()
	var db *DB
	f := storetest.NewFixture(t, func(t testing.TB, now func() time.Time, publish func([]store.Change)) store.Store {
		db = openDSN(t, dsn, Options{Now: now, Publish: publish, MasterKey: master, KEKDir: kekDir, KEKRotation: time.Hour})
		return db
	})
	o := f.Org(t, 2)
	if _, err := db.Sweep(ctx); err != nil { // the first sweep starts an epoch
		t.Fatal(err)
	}
	f.Clock.Add(10 * time.Minute) // the deletion falls inside the epoch
	gone := f.Send(t, o.Clients[0], 0, "g", "MARKER-deleted-client")
	kept := f.Send(t, o.Clients[1], 0, "k", "MARKER-kept-client")

	backup, err := c.Backup()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(backup) })
	if p := containsUnder(t, backup, []byte("MARKER")); p != "" {
		t.Fatalf("the copy holds a body in the clear: %s", p)
	}
	copyCluster, err := pgtest.Attach(backup)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { copyCluster.Stop("immediate") })
	pool, err := pgxpool.New(ctx, copyCluster.DSN("taiwa"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	thief := attacker{pool: pool, master: master, kekDir: kekDir}
	if got, err := thief.read(t, gone.ID); err != nil || got != "MARKER-deleted-client" {
		t.Fatalf("before the deletion the copy reads %q, %v: the check cannot fail", got, err)
	}

	if err := f.Store.DeleteAccount(ctx, o.Admin, o.Clients[0].AccountID); err != nil {
		t.Fatal(err)
	}
	f.Clock.Add(30 * time.Minute)
	if _, err := db.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	// Within the delay the copy still reads: the epoch the key was wrapped
	// under lives until the next rotation. (This is the stated delay, not
	// a wish: the test fails if the guarantee were stronger than said.)
	if got, err := thief.read(t, gone.ID); err != nil || got != "MARKER-deleted-client" {
		t.Fatalf("within the delay: %q, %v", got, err)
	}

	f.Clock.Add(20*time.Minute + time.Second) // an hour since the epoch began
	if _, err := db.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := thief.read(t, gone.ID); !errors.Is(err, sealkeys.ErrErased) {
		t.Fatalf("after the rotation the copy still reads %q (%v)", got, err)
	}
	// The kept client's key was wrapped again: the live store reads it,
	// the old copy (whose wrapping is gone) does not.
	msgs, err := f.Store.MessagesAfter(ctx, o.Admin, 0, 0)
	if err != nil || len(msgs) != 1 || msgs[0].Body != "MARKER-kept-client" {
		t.Fatalf("the live store after the rotation: %+v %v", msgs, err)
	}
	if _, err := thief.read(t, kept.ID); !errors.Is(err, sealkeys.ErrErased) {
		t.Fatalf("the old copy reads a key wrapped under a destroyed epoch: %v", err)
	}
	// A server restarted on the live database opens every live key.
	db.Close()
	again := openDSN(t, dsn, Options{Now: f.Clock.Now, MasterKey: master, KEKDir: kekDir})
	if msgs, err := again.MessagesAfter(ctx, o.Admin, 0, 0); err != nil || len(msgs) != 1 || msgs[0].Body != "MARKER-kept-client" {
		t.Fatalf("after a restart: %+v %v", msgs, err)
	}
	again.Close()

	// The old copy restored as the database: the server starts on it, and
	// its first sweep drops what no key can open any more; the rest (its
	// accounts, as they were) serves.
	restored := openDSN(t, copyCluster.DSN("taiwa"), Options{Now: f.Clock.Now, MasterKey: master, KEKDir: kekDir})
	if _, err := restored.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if msgs, err := restored.MessagesAfter(ctx, o.Admin, 0, 0); err != nil || len(msgs) != 0 {
		t.Fatalf("the restored copy after its sweep: %+v %v", msgs, err)
	}
	if cs, err := restored.Accounts(ctx, o.Admin, protocol.RoleClient); err != nil || len(cs) != 2 {
		t.Fatalf("the restored copy's clients: %+v %v", cs, err)
	}
	if _, _, err := restored.Send(ctx, o.Clients[1], store.SendRequest{Ref: "after-restore", Body: "また話せますか"}); err != nil {
		t.Fatalf("a send after the restore: %v", err)
	}
}
