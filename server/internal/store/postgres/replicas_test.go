package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/sealkeys"
	"github.com/taiwa-chat/taiwa/server/internal/store"
	"github.com/taiwa-chat/taiwa/server/internal/store/postgres/pgtest"
	"github.com/taiwa-chat/taiwa/server/internal/store/storetest"
)

// recorder keeps what one replica published.
type recorder struct {
	mu      sync.Mutex
	changes []store.Change
	more    chan struct{}
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{}, 1)} }

func (r *recorder) publish(c []store.Change) {
	r.mu.Lock()
	r.changes = append(r.changes, c...)
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
}

func (r *recorder) messageIDs() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []int64
	for _, c := range r.changes {
		if c.Kind == store.ChangeMessage {
			ids = append(ids, c.Message.ID)
		}
	}
	return ids
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// replicas opens n stores on one database, as n servers would, sharing a
// master key and key directory.
func replicas(t *testing.T, n int, now func() time.Time) ([]*DB, []*recorder) {
	t.Helper()
	dsn := pgtest.DB(t)
	master, kekDir := sealkeys.NewMasterKey(), t.TempDir()
	dbs := make([]*DB, n)
	recs := make([]*recorder, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		recs[i] = newRecorder()
		wg.Add(1)
		// They start together: migrations must take turns.
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = Open(context.Background(), dsn, Options{Now: now, Publish: recs[i].publish, MasterKey: master, KEKDir: kekDir})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	return dbs, recs
}

// The trap: values of a sequence become visible out of commit order. A
// reader that remembers the last ID it read skips a row committed late.
// The store hands out IDs under the feed row's lock, held to commit: a
// second writer waits for the first to commit before it takes an ID.
func TestIDsVisibleInCommitOrder(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DB(t)
	db := openDSN(t, dsn, Options{})
	pool := db.Pool()

	// The trap itself, with a plain sequence: T1 takes 1, T2 takes 2 and
	// commits first; a reader then sees 2 and not 1.
	if _, err := pool.Exec(ctx, "CREATE SEQUENCE trap; CREATE TABLE trap_rows (id bigint)"); err != nil {
		t.Fatal(err)
	}
	t1, _ := pool.Begin(ctx)
	t2, _ := pool.Begin(ctx)
	t1.Exec(ctx, "INSERT INTO trap_rows VALUES (nextval('trap'))")
	t2.Exec(ctx, "INSERT INTO trap_rows VALUES (nextval('trap'))")
	if err := t2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var seen int64
	pool.QueryRow(ctx, "SELECT max(id) FROM trap_rows").Scan(&seen)
	t1.Commit(ctx)
	if seen != 2 {
		t.Fatalf("the trap did not show (saw %d): the test proves nothing", seen)
	}

	// The store's way: the second writer cannot take an ID before the
	// first commits.
	w1, _ := pool.Begin(ctx)
	var first int64
	if err := w1.QueryRow(ctx, "UPDATE feed SET last_change = last_change + 1 WHERE id = 1 RETURNING last_change").Scan(&first); err != nil {
		t.Fatal(err)
	}
	took := make(chan int64, 1)
	go func() {
		var id int64
		err := pgx.BeginFunc(ctx, pool, func(w2 pgx.Tx) error {
			if _, err := w2.Exec(ctx, "SELECT 1 FROM feed WHERE id = 1 FOR UPDATE"); err != nil {
				return err
			}
			return w2.QueryRow(ctx, "UPDATE feed SET last_change = last_change + 1 WHERE id = 1 RETURNING last_change").Scan(&id)
		})
		if err != nil {
			t.Error(err)
		}
		took <- id
	}()
	select {
	case id := <-took:
		t.Fatalf("a second writer took ID %d while the first (%d) was uncommitted", id, first)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := w1.Exec(ctx, "INSERT INTO changes VALUES ($1, 0, '{}')", first); err != nil {
		t.Fatal(err)
	}
	if err := w1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if second := <-took; second != first+1 {
		t.Fatalf("second writer took %d after %d", second, first)
	}
}

// Three replicas write at once; every replica publishes every message
// exactly once, in ID order, with none missing.
func TestReplicasPublishEverythingOnceInOrder(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC))
	dbs, recs := replicas(t, 3, clock.Now)
	f := &storetest.Fixture{Store: dbs[0], Clock: clock}
	o := f.Org(t, 6)
	ctx := context.Background()
	const each = 40
	var wg sync.WaitGroup
	for i, cl := range o.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := dbs[i%len(dbs)]
			for j := range each {
				if _, _, err := st.Send(ctx, cl, store.SendRequest{Ref: fmt.Sprint(j), Body: fmt.Sprintf("c%d m%d", i, j)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	all, err := dbs[1].MessagesAfter(ctx, o.Admin, 0, 10000)
	if err != nil || len(all) != len(o.Clients)*each {
		t.Fatalf("stored %d messages, %v", len(all), err)
	}
	var want []int64
	for _, m := range all {
		want = append(want, m.ID)
	}
	for i, r := range recs {
		waitFor(t, 5*time.Second, fmt.Sprintf("replica %d publishes all", i), func() bool { return len(r.messageIDs()) >= len(want) })
		if got := r.messageIDs(); !slices.Equal(got, want) {
			t.Fatalf("replica %d published %d messages, out of order, twice or with gaps: %v", i, len(got), got)
		}
	}
}

// A forced logout on one replica reaches another within a second.
func TestRevocationReachesOtherReplicas(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	dbs, recs := replicas(t, 2, clock.Now)
	f := &storetest.Fixture{Store: dbs[0], Clock: clock}
	o := f.Org(t, 1)
	ctx := context.Background()
	sess, err := dbs[1].CreateSession(ctx, store.NewSession{AccountID: o.Clients[0].AccountID, TokenHash: []byte("token-on-b"), ExpiresAt: clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := dbs[0].RevokeAccountSessions(ctx, o.Admin, o.Clients[0].AccountID, "forced"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "replica B hears the revocation", func() bool {
		recs[1].mu.Lock()
		defer recs[1].mu.Unlock()
		for _, c := range recs[1].changes {
			if c.Kind == store.ChangeRevoked && slices.Contains(c.SessionIDs, sess.ID) {
				return true
			}
		}
		return false
	})
	t.Logf("revocation reached replica B in %v", time.Since(start))
}

// One replica sweeps at a time; one that dies holding the sweep lock
// leaves the next sweep to another.
func TestSweepOneReplicaAtATime(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC))
	dbs, _ := replicas(t, 2, clock.Now)
	f := &storetest.Fixture{Store: dbs[0], Clock: clock}
	o := f.Org(t, 1)
	ctx := context.Background()
	f.Send(t, o.Clients[0], 0, "1", "消える")
	clock.Add(8 * 24 * time.Hour)

	// A replica mid-sweep: it holds the lock on its connection.
	dying, err := pgx.Connect(ctx, dbs[0].dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dying.Exec(ctx, "SELECT pg_advisory_lock($1, $2)", lockNamespace, lockSweep); err != nil {
		t.Fatal(err)
	}
	if res, err := dbs[1].Sweep(ctx); err != nil || res.Messages != 0 {
		t.Fatalf("swept beside another sweep: %+v %v", res, err)
	}
	dying.Close(ctx) // the replica dies: its session, and the lock, end
	// The server lets go of the lock when the dead session's backend has
	// exited, a moment after the connection closed: the next sweep, or
	// the one after, does the work.
	var res store.SweepResult
	waitFor(t, 5*time.Second, "a sweep after the death", func() bool {
		var err error
		if res, err = dbs[1].Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		return res.Messages == 1
	})
	// Left: only the apology that sweep sent (nobody took the
	// conversation in the days it waited).
	if msgs, _ := dbs[0].MessagesAfter(ctx, o.Admin, 0, 0); len(msgs) != 1 || msgs[0].Kind != protocol.KindApology {
		t.Fatalf("expired messages left: %+v", msgs)
	}

	// Side by side, the two never both work.
	for range 3 {
		clock.Add(time.Hour)
		f.Send(t, o.Clients[0], 0, fmt.Sprint(clock.Now().Unix()), "x")
	}
	clock.Add(8 * 24 * time.Hour)
	var wg sync.WaitGroup
	results := make([]store.SweepResult, 2)
	for i := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if results[i], err = dbs[i].Sweep(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// The 3 messages, and the apology an earlier sweep sent the client
	// (nobody took the conversation in three days): all by one replica.
	if results[0].Messages+results[1].Messages != 4 || (results[0].Messages != 0 && results[1].Messages != 0) {
		t.Fatalf("sweeps side by side: %+v", results)
	}
}

// A replica deletes a client; another replica that had its key in memory
// forgets it as the deletion reaches its feed.
func TestDeletionForgottenOnEveryReplica(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	dbs, recs := replicas(t, 2, clock.Now)
	f := &storetest.Fixture{Store: dbs[0], Clock: clock}
	o := f.Org(t, 1)
	ctx := context.Background()
	m := f.Send(t, o.Clients[0], 0, "1", "言葉")
	if msgs, err := dbs[1].MessagesAfter(ctx, o.Admin, 0, 0); err != nil || len(msgs) != 1 || msgs[0].Body != "言葉" {
		t.Fatalf("replica B reads %+v %v", msgs, err)
	}
	if err := dbs[0].DeleteAccount(ctx, o.Admin, o.Clients[0].AccountID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "replica B hears the deletion", func() bool {
		recs[1].mu.Lock()
		defer recs[1].mu.Unlock()
		for _, c := range recs[1].changes {
			if c.Kind == store.ChangeConversationDeleted && c.ConversationID == m.ConversationID {
				return true
			}
		}
		return false
	})
	if _, err := dbs[1].ring.Open(o.Clients[0].AccountID, sealkeys.Slice(m.ExpiresAt), []byte("x"), nil); err == nil {
		t.Fatal("replica B still holds the deleted client's key")
	}
}
