package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/pkg/sqlitefile"
	"github.com/taiwa-chat/taiwa/server/internal/store"
	"github.com/taiwa-chat/taiwa/server/internal/store/storetest"
)

// fixture is the conformance suite's fixture with the SQLite store and
// its directory, for what only this implementation shows: its files, its
// queries, its writer.
type fixture struct {
	*storetest.Fixture
	db  *DB
	dir string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	f.Fixture = storetest.NewFixture(t, func(t testing.TB, now func() time.Time, publish func([]store.Change)) store.Store {
		db, err := Open(f.dir, Options{Now: now, Publish: publish})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		f.db = db
		return db
	})
	return f
}

func send(t *testing.T, db *DB, p store.Principal, conv int64, ref, body string) protocol.Message {
	t.Helper()
	m, _, err := db.Send(context.Background(), p, store.SendRequest{Ref: ref, ConversationID: conv, Body: body})
	if err != nil {
		t.Fatalf("send %q: %v", ref, err)
	}
	return m
}

var code = storetest.Code

// fileContains reports which of the database's files contain marker.
func fileContains(t *testing.T, dir, marker string) []string {
	t.Helper()
	var hits []string
	for _, name := range []string{FileName, FileName + "-wal", FileName + "-shm"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(marker)) {
			hits = append(hits, name)
		}
	}
	return hits
}

func TestRetentionSweepScrubsFiles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o := f.Org(t, 1)
	old := send(t, f.db, o.Clients[0], 0, "old", "MARKER-old-7f3a 消えるはずの言葉")
	if hits := fileContains(t, f.dir, "MARKER-old-7f3a"); len(hits) > 0 {
		t.Fatalf("body stored in the clear in %v", hits)
	}
	// What is stored is the sealed body: it must go from the files too.
	sealed := sealedBody(t, f.db, old.ID)
	if len(fileContains(t, f.dir, string(sealed))) == 0 {
		t.Fatal("sealed body not found before deletion: the check cannot fail")
	}
	f.Clock.Add(7*24*time.Hour + time.Second)
	if res, err := f.db.Sweep(ctx); err != nil || res.Messages != 1 {
		t.Fatalf("sweep = %+v %v", res, err)
	}
	if hits := fileContains(t, f.dir, string(sealed)); len(hits) > 0 {
		t.Errorf("sealed body still in %v", hits)
	}
}

func TestDeleteClientScrubs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o := f.Org(t, 1)
	cl := o.Clients[0]
	m := send(t, f.db, cl, 0, "1", "MARKER-deleted-client-aa91")
	sealed := sealedBody(t, f.db, m.ID)
	if err := f.db.DeleteAccount(ctx, o.Admin, cl.AccountID); err != nil {
		t.Fatal(err)
	}
	for _, marker := range []string{"MARKER-deleted-client-aa91", string(sealed)} {
		if hits := fileContains(t, f.dir, marker); len(hits) > 0 {
			t.Fatalf("the deleted client's text remains in %v", hits)
		}
	}
}

func TestGroupCommit(t *testing.T) {
	f := newFixture(t)
	o := f.Org(t, 50)
	var (
		mu      sync.Mutex
		batches []int
	)
	f.db.onBatch = func(n int, _ time.Duration) { mu.Lock(); batches = append(batches, n); mu.Unlock() }
	var wg sync.WaitGroup
	errs := make(chan error, 50*20)
	for _, cl := range o.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if _, _, err := f.db.Send(context.Background(), cl, store.SendRequest{Ref: fmt.Sprint(i), Body: "x"}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	msgs, _ := f.db.MessagesAfter(context.Background(), o.Admin, 0, 5000)
	if len(msgs) != 1000 {
		t.Fatalf("stored %d, want 1000", len(msgs))
	}
	mu.Lock()
	defer mu.Unlock()
	maxBatch := 0
	for _, b := range batches {
		maxBatch = max(maxBatch, b)
	}
	if maxBatch < 2 {
		t.Fatalf("50 concurrent senders never shared a commit (batches %v)", batches)
	}
	// Published in commit order: message IDs strictly increase.
	var last int64
	for _, c := range f.Published(store.ChangeMessage) {
		if c.Message.ID <= last {
			t.Fatalf("published out of order: %d after %d", c.Message.ID, last)
		}
		last = c.Message.ID
	}
}

func TestFailedWriteDoesNotSpoilBatch(t *testing.T) {
	f := newFixture(t)
	o := f.Org(t, 1)
	var wg sync.WaitGroup
	results := make([]error, 40)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := o.Clients[0]
			if i%2 == 1 {
				p = o.Staff // staff may not write first: refused inside the batch
			}
			_, _, results[i] = f.db.Send(context.Background(), p, store.SendRequest{Ref: fmt.Sprint(i), ConversationID: 1, Body: "x"})
		}()
	}
	wg.Wait()
	for i, err := range results {
		if i%2 == 0 && err != nil {
			t.Fatalf("client send %d failed: %v", i, err)
		}
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (writerSQL{db}).Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("opened a database from the future")
	}
}

func TestReopenKeepsData(t *testing.T) {
	f := newFixture(t)
	o := f.Org(t, 1)
	send(t, f.db, o.Clients[0], 0, "1", "durable")
	f.db.Close()
	db, err := Open(f.dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	msgs, err := db.MessagesAfter(context.Background(), o.Admin, 0, 0)
	if err != nil || len(msgs) != 1 || msgs[0].Body != "durable" {
		t.Fatalf("after reopen: %+v %v", msgs, err)
	}
	if _, _, err := f.db.Send(context.Background(), o.Clients[0], store.SendRequest{Ref: "x", Body: "y"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
}

// A client's conversation listing must find its one row by index, not walk
// the organisation: every client's connection runs it, so a walk makes a
// mass reconnect quadratic.
func TestClientListingUsesIndex(t *testing.T) {
	f := newFixture(t)
	o := f.Org(t, 1)
	query, args := conversationsQuery(o.Clients[0])
	rows, err := f.db.read.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	joined := strings.Join(plan, "; ")
	if !strings.Contains(joined, "(client_id=?)") || strings.Contains(joined, "conversations_org") {
		t.Fatalf("client listing plan: %s", joined)
	}
}

// A database from the first release (schema 2) upgrades in place: its
// organisations get app codes, its push tokens (which belonged to no
// session) are dropped for the apps to register again.
func TestUpgradeFromSchema2(t *testing.T) {
	dir := t.TempDir()
	legacyDB(t, dir, 2,
		`INSERT INTO orgs(id, name, settings, created_at) VALUES (1, 'a', '{"display_name":"a","retention_seconds":604800,"hours":{"time_zone":"Asia/Tokyo"},"closed_behavior":"accept"}', 0),
			(2, 'b', '{"display_name":"b","retention_seconds":604800,"hours":{"time_zone":"Asia/Tokyo"},"closed_behavior":"accept"}', 0)`,
		`INSERT INTO accounts(id, org_id, role, login_id, nickname, password_hash, created_at) VALUES (1, 1, 'client', 'c', 'c', 'x', 0)`,
		`INSERT INTO push_tokens(token, account_id, created_at) VALUES ('old-token', 1, 0)`,
	)

	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	a, err := db.Org(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := db.Org(ctx, 2)
	if !regexp.MustCompile(`^/a/[0-9a-f]{16}/$`).MatchString(a.AppPath) || a.AppPath == b.AppPath {
		t.Fatalf("app paths %q %q", a.AppPath, b.AppPath)
	}
	if _, err := db.AppLook(ctx, strings.Trim(strings.TrimPrefix(a.AppPath, "/a/"), "/")); err != nil {
		t.Fatalf("look up the upgraded org's app: %v", err)
	}
	if toks, err := db.PushTokens(ctx, 1); err != nil || len(toks) != 0 {
		t.Fatalf("tokens after upgrade: %v %v", toks, err)
	}
}

func TestAppLook(t *testing.T) {
	f := newFixture(t)
	o := f.Org(t, 0)
	ctx := context.Background()
	org, err := f.db.Org(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	appCode := strings.Trim(strings.TrimPrefix(org.AppPath, "/a/"), "/")
	str := func(s string) *string { return &s }
	tests := []struct {
		name  string
		patch protocol.SettingsPatch
		want  protocol.AppLook
		code  protocol.Code
	}{
		{"neutral name and icon", protocol.SettingsPatch{AppName: str(" メモ "), AppIcon: str("notes")}, protocol.AppLook{Name: "メモ", Icon: "notes"}, ""},
		{"back to the default", protocol.SettingsPatch{AppName: str(""), AppIcon: str("")}, protocol.AppLook{}, ""},
		{"unknown icon", protocol.SettingsPatch{AppIcon: str("../../etc/passwd")}, protocol.AppLook{}, protocol.CodeInvalid},
		{"name too long", protocol.SettingsPatch{AppName: str(strings.Repeat("あ", protocol.MaxAppNameRunes+1))}, protocol.AppLook{}, protocol.CodeInvalid},
		{"name on two lines", protocol.SettingsPatch{AppName: str("a\nb")}, protocol.AppLook{}, protocol.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.db.UpdateSettings(ctx, o.Admin, tt.patch)
			if code(err) != tt.code {
				t.Fatalf("update: %v, want code %q", err, tt.code)
			}
			got, err := f.db.AppLook(ctx, appCode)
			if err != nil || got != tt.want {
				t.Fatalf("look %+v %v, want %+v", got, err, tt.want)
			}
		})
	}
	if _, err := f.db.AppLook(ctx, "ffffffffffffffff"); code(err) != protocol.CodeNotFound {
		t.Fatalf("unknown code: %v", err)
	}
}

// sealedBody reads a message's sealed body as stored.
func sealedBody(t *testing.T, db *DB, id int64) []byte {
	t.Helper()
	var b []byte
	if err := db.read.QueryRow("SELECT sealed FROM messages WHERE id = ?", id).Scan(&b); err != nil || len(b) == 0 {
		t.Fatalf("sealed body of %d: %v", id, err)
	}
	return b
}

// legacyDB makes the database in dir as an older version would have left
// it: the first version migrations, then stmts.
func legacyDB(t *testing.T, dir string, version int, stmts ...string) {
	t.Helper()
	raw, err := sqlitefile.Open(filepath.Join(dir, FileName), "foreign_keys(ON)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	for n := 1; n <= version; n++ {
		if err := apply(raw, n); err != nil {
			t.Fatalf("migration %d: %v", n, err)
		}
	}
	for _, q := range stmts {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// The sweep deletes in bounded batches, each announced exactly: through
// the highest seq it deleted, for each conversation it touched.
func TestSweepInBatches(t *testing.T) {
	dir := t.TempDir()
	var (
		mu      sync.Mutex
		changes []store.Change
	)
	clock := storetest.NewClock(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC))
	db, err := Open(dir, Options{Now: clock.Now, SweepBatch: 3, Publish: func(c []store.Change) {
		mu.Lock()
		changes = append(changes, c...)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f := &fixture{Fixture: storetest.NewFixture(t, func(testing.TB, func() time.Time, func([]store.Change)) store.Store { return db }), db: db, dir: dir}
	o := f.Org(t, 2)
	a, b := o.Clients[0], o.Clients[1]
	for i := range 10 {
		send(t, db, a, 0, fmt.Sprint("a", i), "x")
		if i < 2 {
			send(t, db, b, 0, fmt.Sprint("b", i), "y")
		}
	}
	clock.Add(time.Hour)
	send(t, db, a, 0, "later", "z") // kept: it expires an hour later
	clock.Add(7*24*time.Hour - time.Hour - time.Millisecond)
	res, err := db.Sweep(context.Background())
	if err != nil || res.Messages != 0 {
		t.Fatalf("before expiry: %+v %v", res, err)
	}
	clock.Add(2 * time.Millisecond)
	res, err = db.Sweep(context.Background())
	if err != nil || res.Messages != 12 {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	through := map[int64][]int64{}
	for _, c := range changes {
		if c.Kind == store.ChangeDeleted {
			through[c.ConversationID] = append(through[c.ConversationID], c.ThroughSeq)
		}
	}
	ca, cb := f.Conversation(t, a), f.Conversation(t, b)
	// Batches of 3 over 12 messages: each conversation's announcements rise
	// to its last expired seq, whatever the other's take.
	if !increasingTo(through[ca.ID], 10) || len(through[ca.ID]) < 3 {
		t.Fatalf("a's deletions %v", through[ca.ID])
	}
	if !increasingTo(through[cb.ID], 2) {
		t.Fatalf("b's deletions %v", through[cb.ID])
	}
	if ca.FirstSeq != 11 || cb.FirstSeq != 3 {
		t.Fatalf("first seqs %d, %d", ca.FirstSeq, cb.FirstSeq)
	}
}

func increasingTo(seqs []int64, last int64) bool {
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			return false
		}
	}
	return len(seqs) > 0 && seqs[len(seqs)-1] == last
}

// writerSQL runs statements on the writer's own connection, between its
// batches: the writer holds the store's one write connection for its
// life, so a test cannot take it from the pool.
type writerSQL struct{ db *DB }

// Exec runs one statement.
func (w writerSQL) Exec(query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := w.db.runBetween(context.Background(), func() error {
		var err error
		res, err = w.db.wconn.ExecContext(context.Background(), query, args...)
		return err
	})
	return res, err
}

// QueryRow runs a query of one row and scans it into dest.
func (w writerSQL) QueryRow(query string, dest ...any) error {
	return w.db.runBetween(context.Background(), func() error {
		return w.db.wconn.QueryRowContext(context.Background(), query).Scan(dest...)
	})
}

// Tx runs fn in a transaction of its own on the writer's connection.
func (w writerSQL) Tx(fn func(tx *sql.Tx) error) error {
	ctx := context.Background()
	return w.db.runBetween(ctx, func() error {
		tx, err := w.db.wconn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Commit()
	})
}

// TestBurstLeavesNoLargeLog: a burst of writes grows the write-ahead log;
// once the log is reused it is cut back to walSizeLimit instead of keeping
// the burst's size until the sweep's TRUNCATE gives it all back while
// holding the writer.
func TestBurstLeavesNoLargeLog(t *testing.T) {
	f := newFixture(t)
	o := f.Org(t, 2)
	conv := f.Conversation(t, o.Clients[0]).ID
	now := ms(f.Clock.Now())
	// Few rows of large bodies: the log grows as fast, the test runs faster.
	if err := (writerSQL{f.db}).Tx(func(tx *sql.Tx) error {
		return insertMessages(tx, o.ID, conv, o.Clients[0].AccountID, 2_500, now, now+int64(time.Hour/time.Millisecond), make([]byte, 8<<10))
	}); err != nil {
		t.Fatal(err)
	}
	wal := filepath.Join(f.dir, FileName+"-wal")
	walSize := func() int64 {
		t.Helper()
		st, err := os.Stat(wal)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	if n := walSize(); n <= walSizeLimit {
		t.Fatalf("the burst grew the log to only %d bytes: the check cannot fail", n)
	}
	// The log is copied into the database beside the writer (as between
	// sweep batches); the next write starts it again from the beginning.
	f.db.checkpointAside(context.Background())
	send(t, f.db, o.Clients[1], 0, "after", "眠れない")
	if n := walSize(); n > walSizeLimit {
		t.Fatalf("log kept %d bytes after it was reused (limit %d)", n, walSizeLimit)
	}
}

// TestReplyTimeUnderConcurrentReads: many connections' snapshots and
// organisation reads at once, each round with the typical reply time due
// again. A snapshot that waited for another's computation while holding
// one of the eight reading connections could leave it none to run on.
func TestReplyTimeUnderConcurrentReads(t *testing.T) {
	f := newFixture(t)
	o := f.Org(t, 1)
	now := ms(f.Clock.Now())
	if err := (writerSQL{f.db}).Tx(func(tx *sql.Tx) error {
		for i := range 2000 {
			if _, err := tx.Exec("INSERT INTO answer_waits(org_id, at, wait_ms) VALUES (?,?,?)", o.ID, now-int64(i), 60_000); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for round := range 10 {
		f.Clock.Add(store.ReplyTimeKept)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			wg.Go(func() {
				var err error
				if i%4 == 0 {
					_, err = f.db.Org(ctx, o.ID)
				} else {
					_, err = f.db.Subscribe(ctx, o.Clients[0], func() {})
				}
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		cancel()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}
