package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/sealkeys"
)

// copyDatabase is the attacker's or the forgotten backup's copy: the
// database file as it is on disk after a checkpoint.
func copyDatabase(t *testing.T, f *fixture) string {
	t.Helper()
	if _, err := (writerSQL{f.db}).Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(f.dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// readFromCopy tries to read a message's body from a copy of the
// database with the server's key file and master key as they are now.
func readFromCopy(t *testing.T, f *fixture, copyPath string, id int64) (string, error) {
	t.Helper()
	c, err := sql.Open("sqlite", "file:"+copyPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var (
		conv, seq, client, slice int64
		sealed                   []byte
	)
	err = c.QueryRow(`SELECT m.conversation_id, m.seq, c.client_id, m.slice, m.sealed FROM messages m
		JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ?`, id).Scan(&conv, &seq, &client, &slice, &sealed)
	if err != nil {
		t.Fatalf("the copy lacks message %d: %v", id, err)
	}
	b, err := f.db.ring.Open(client, slice, sealed, bodyAAD(conv, seq))
	return string(b), err
}

// A copy of the database taken before a deletion cannot be read after it,
// though it still holds every byte it held: the keys are gone.
func TestCopyBeforeDeletionUnreadableAfter(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o := f.Org(t, 2)
	hour := int64(3600)
	if _, err := f.db.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{RetentionSeconds: &hour}); err != nil {
		t.Fatal(err)
	}
	deleted := send(t, f.db, o.Clients[0], 0, "d", "MARKER-client-deleted")
	expiring := send(t, f.db, o.Clients[1], 0, "e", "MARKER-expires")
	backup := copyDatabase(t, f)

	if b, _ := os.ReadFile(backup); strings.Contains(string(b), "MARKER") {
		t.Fatal("the copy holds a body in the clear")
	}
	for id, want := range map[int64]string{deleted.ID: "MARKER-client-deleted", expiring.ID: "MARKER-expires"} {
		if got, err := readFromCopy(t, f, backup, id); err != nil || got != want {
			t.Fatalf("before deletion the copy reads %q, %v: the check cannot fail", got, err)
		}
	}

	// The client is deleted: its key goes.
	if err := f.db.DeleteAccount(ctx, o.Admin, o.Clients[0].AccountID); err != nil {
		t.Fatal(err)
	}
	if _, err := readFromCopy(t, f, backup, deleted.ID); !errors.Is(err, sealkeys.ErrErased) {
		t.Fatalf("deleted client's message read from the old copy: %v", err)
	}
	if _, err := readFromCopy(t, f, backup, expiring.ID); err != nil {
		t.Fatalf("another client's unexpired message: %v", err)
	}

	// Retention runs out and the slice ends: that key goes too.
	f.Clock.Add(time.Hour + sealkeys.SliceLength)
	if _, err := f.db.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := readFromCopy(t, f, backup, expiring.ID); !errors.Is(err, sealkeys.ErrErased) {
		t.Fatalf("expired message read from the old copy: %v", err)
	}
}

// Shortening retention moves messages to earlier slices: they are sealed
// again and still read; and bodies stored in the clear by an older
// version are sealed when the database is opened.
func TestResealing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o := f.Org(t, 1)
	m := send(t, f.db, o.Clients[0], 0, "1", "MARKER-reseal")
	day := int64(24 * 3600)
	if _, err := f.db.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{RetentionSeconds: &day}); err != nil {
		t.Fatal(err)
	}
	msgs, err := f.db.MessagesAfter(ctx, o.Admin, 0, 0)
	if err != nil || len(msgs) != 1 || msgs[0].Body != "MARKER-reseal" || sealkeys.Slice(msgs[0].ExpiresAt) != sealkeys.Slice(m.CreatedAt.Add(24*time.Hour)) {
		t.Fatalf("after shortening: %+v %v", msgs, err)
	}
	var slice int64
	f.db.read.QueryRow("SELECT slice FROM messages WHERE id = ?", m.ID).Scan(&slice)
	if slice != sealkeys.Slice(msgs[0].ExpiresAt) {
		t.Fatalf("stored slice %d, want %d", slice, sealkeys.Slice(msgs[0].ExpiresAt))
	}

	// An older version's clear body, as an upgrade finds it (before the
	// upgrade was recorded).
	if _, err := (writerSQL{f.db}).Exec("UPDATE messages SET body = 'MARKER-legacy', sealed = NULL, slice = NULL WHERE id = ?", m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := (writerSQL{f.db}).Exec("DELETE FROM upgrades WHERE name = 'seal_bodies'"); err != nil {
		t.Fatal(err)
	}
	f.db.Close()
	db, err := Open(f.dir, Options{Now: f.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if hits := fileContains(t, f.dir, "MARKER-legacy"); len(hits) > 0 {
		t.Fatalf("clear body left in %v after sealing", hits)
	}
	msgs, err = db.MessagesAfter(ctx, o.Admin, 0, 0)
	if err != nil || len(msgs) != 1 || msgs[0].Body != "MARKER-legacy" {
		t.Fatalf("after sealing at open: %+v %v", msgs, err)
	}
}

// A new key costs a durable write: keys are made when a client is
// registered and by the sweeper ahead of the hour, never by a send.
func TestKeysPreparedAheadOfSends(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o := f.Org(t, 2)
	if _, err := f.db.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	keys := func() int {
		t.Helper()
		n, err := f.db.ring.CountKeys()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := keys()
	send(t, f.db, o.Clients[0], 0, "1", "first words")
	send(t, f.db, o.Clients[1], 0, "2", "other words")
	if after := keys(); after != before {
		t.Fatalf("sends made %d keys", after-before)
	}
	// The next hour's key is ready before the hour begins.
	f.Clock.Add(sealkeys.SliceLength)
	send(t, f.db, o.Clients[0], 0, "3", "an hour later")
	if after := keys(); after != before {
		t.Fatalf("a send in the next hour made %d keys", after-before)
	}
}
