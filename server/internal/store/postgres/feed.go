package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// feedPoll is how often a replica reads the changes table without being
// woken: notifications are lost while its listening connection is away.
const feedPoll = time.Second

// feedRead bounds the changes one read takes.
const feedRead = 1000

// feed reads the changes every replica commits, in ID order (commit order,
// see the package doc), and publishes them on this replica.
type feed struct {
	db      *DB
	publish func([]store.Change)

	wake       chan struct{}
	subs       chan *subReq
	quit       chan struct{}
	done       chan struct{}
	stopListen context.CancelFunc
	listening  sync.WaitGroup

	mu        sync.Mutex
	published int64 // the last change ID published
	waiters   []waiter
}

// waiter is a committed batch whose callers hear back once its changes
// are published.
type waiter struct {
	through int64
	reqs    []*writeReq
	errs    []error
}

type subReq struct {
	ctx      context.Context
	p        store.Principal
	register func()
	snap     store.Snapshot
	err      error
	done     chan struct{}
}

// newFeed starts reading after the changes already committed: a replica
// that starts has no connection that missed them.
func newFeed(ctx context.Context, db *DB, publish func([]store.Change)) (*feed, error) {
	f := &feed{db: db, publish: publish, wake: make(chan struct{}, 1), subs: make(chan *subReq, 256),
		quit: make(chan struct{}), done: make(chan struct{})}
	if err := db.pool.QueryRow(ctx, "SELECT last_change FROM feed WHERE id = 1").Scan(&f.published); err != nil {
		return nil, fmt.Errorf("read the feed: %w", err)
	}
	lctx, cancel := context.WithCancel(context.Background())
	f.stopListen = cancel
	f.listening.Add(1)
	go f.listen(lctx)
	go f.run()
	return f, nil
}

func (f *feed) stop() {
	close(f.quit)
	<-f.done
	f.stopListen()
	f.listening.Wait()
}

func (f *feed) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// listen holds a connection that LISTENs and pokes the feed at each
// notification, reconnecting when it drops (and then poking: whatever was
// notified meanwhile is read all the same).
func (f *feed) listen(ctx context.Context) {
	defer f.listening.Done()
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		began := time.Now()
		err := f.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > 10*time.Second {
			backoff = 50 * time.Millisecond // it had been up: start over
		}
		f.db.log.Warn("change feed: listening connection lost; reconnecting", "err", err, "in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (f *feed) listenOnce(ctx context.Context) error {
	cfg := f.db.pool.Config().ConnConfig.Copy()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel+"; LISTEN "+typingChannel); err != nil {
		return err
	}
	f.poke()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Channel == typingChannel {
			f.db.heardTyping(n.Payload)
			continue
		}
		f.poke()
	}
}

// run is the feed's goroutine: it reads when woken, every feedPoll, and
// serves subscriptions between reads.
func (f *feed) run() {
	defer close(f.done)
	tick := time.NewTicker(feedPoll)
	defer tick.Stop()
	for {
		select {
		case <-f.wake:
		case <-tick.C:
		case r := <-f.subs:
			f.subscribe(r)
			continue
		case <-f.quit:
			f.catchUp(context.Background())
			f.failWaiters(ErrClosed)
			for {
				select {
				case r := <-f.subs:
					r.err = ErrClosed
					close(r.done)
				default:
					return
				}
			}
		}
		f.catchUp(context.Background())
	}
}

// catchUp publishes every committed change after the cursor.
func (f *feed) catchUp(ctx context.Context) {
	if err := f.readAll(q{ctx: ctx, c: f.db.pool}, 0); err != nil && !errors.Is(err, context.Canceled) {
		f.db.log.Error("change feed: read failed; retrying", "err", err)
	}
}

// readAll publishes the changes after the cursor (up to through, if not
// zero) as seen by q.
func (f *feed) readAll(q q, through int64) error {
	for {
		f.mu.Lock()
		cursor := f.published
		f.mu.Unlock()
		if through != 0 && cursor >= through {
			return nil
		}
		rows, err := q.Query("SELECT id, data FROM changes WHERE id > ? ORDER BY id LIMIT ?", cursor, feedRead)
		if err != nil {
			return err
		}
		var (
			changes []store.Change
			last    = cursor
			n       int
		)
		for rows.Next() {
			var (
				id   int64
				data []byte
			)
			if err := rows.Scan(&id, &data); err != nil {
				rows.Close()
				return err
			}
			n++
			if last != 0 && id != last+1 && f.gap(q, last, id) {
				f.db.log.Error("change feed: changes were pruned before this replica read them; its connections resume", "after", last, "next", id)
				if f.db.onGap != nil {
					f.db.onGap()
				}
			}
			last = id
			c, err := f.decode(data)
			if err != nil {
				f.db.log.Error("change feed: unreadable change", "id", id, "err", err)
				continue
			}
			changes = append(changes, c...)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		f.forgetErased(changes)
		if len(changes) > 0 {
			f.publish(changes)
		}
		f.mu.Lock()
		f.published = last
		ready := f.takeReady()
		f.mu.Unlock()
		answer(ready)
		if n < feedRead {
			return nil
		}
	}
}

// gap reports whether changes after after are missing for good: change
// IDs are handed out without holes (under the feed lock, committed with
// the feed row, a batch that fails takes none), so a hole means pruning.
func (f *feed) gap(q q, after, next int64) bool {
	var oldest int64
	if err := q.QueryRow("SELECT COALESCE(MIN(id), 0) FROM changes").Scan(&oldest); err != nil {
		return false
	}
	return oldest > after+1
}

// decode reads a change back, opening a message's sealed body. A body
// whose key is gone (the client was deleted since) reads as nothing: the
// deletion follows in the feed.
func (f *feed) decode(data []byte) ([]store.Change, error) {
	var e feedEntry
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, err
	}
	if e.Message != nil && e.Sealed != nil {
		body, err := f.db.ring.Open(e.ClientID, e.Slice, e.Sealed, bodyAAD(e.Message.ConversationID, e.Message.Seq))
		if err != nil {
			return nil, fmt.Errorf("open message %d: %w", e.Message.ID, err)
		}
		e.Message.Body = string(body)
	}
	e.Remote = e.Origin != f.db.replica
	if e.Remote {
		e.Conn = 0 // another replica's connection number
	}
	return []store.Change{e.Change}, nil
}

// forgetErased drops from this replica's memory the keys that the
// changes destroyed (a deleted client's).
func (f *feed) forgetErased(changes []store.Change) {
	for _, c := range changes {
		if c.Kind == store.ChangeConversationDeleted {
			f.db.ring.ForgetClient(c.ClientID)
		}
	}
}

// takeReady removes the waiters whose changes are published. f.mu held.
func (f *feed) takeReady() []waiter {
	var ready []waiter
	keep := f.waiters[:0]
	for _, w := range f.waiters {
		if w.through <= f.published {
			ready = append(ready, w)
		} else {
			keep = append(keep, w)
		}
	}
	f.waiters = keep
	return ready
}

func answer(ws []waiter) {
	for _, w := range ws {
		for i, r := range w.reqs {
			r.done <- w.errs[i]
		}
	}
}

// answerAfter answers a committed batch's callers once the changes up to
// through are published (at once if through is zero or already passed).
func (f *feed) answerAfter(through int64, reqs []*writeReq, errs []error) {
	w := waiter{through: through, reqs: append([]*writeReq(nil), reqs...), errs: errs}
	f.mu.Lock()
	if through <= f.published {
		f.mu.Unlock()
		answer([]waiter{w})
		return
	}
	f.waiters = append(f.waiters, w)
	f.mu.Unlock()
	f.poke()
}

func (f *feed) failWaiters(err error) {
	f.mu.Lock()
	ws := f.waiters
	f.waiters = nil
	f.mu.Unlock()
	for _, w := range ws {
		for _, r := range w.reqs {
			r.done <- err
		}
	}
}

// Subscribe registers at a point between commits, on every replica's
// scale: the feed row is held FOR SHARE, which waits for the batch in
// progress (on any replica) to commit and keeps the next from starting.
// The changes committed up to that point are published first, then
// register runs and the snapshot is read; every later change reaches
// what register installed.
func (db *DB) Subscribe(ctx context.Context, p store.Principal, register func()) (store.Snapshot, error) {
	r := &subReq{ctx: ctx, p: p, register: register, done: make(chan struct{})}
	select {
	case db.feed.subs <- r:
	case <-ctx.Done():
		return store.Snapshot{}, ctx.Err()
	case <-db.feed.quit:
		return store.Snapshot{}, ErrClosed
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return store.Snapshot{}, ctx.Err()
	}
	if r.err != nil {
		return r.snap, r.err
	}
	// Outside the subscription's transaction: the figure is kept for all
	// (store.ReplyTimes), and waiting for another's computation while
	// holding the feed would hold up every subscription behind it.
	var err error
	if r.snap.Org.TypicalReplySeconds, err = db.replyTime(ctx, p.OrgID); err != nil {
		return store.Snapshot{}, err
	}
	return r.snap, nil
}

// subscribe serves r and every other subscription queued with it, in
// one transaction.
func (f *feed) subscribe(first *subReq) {
	reqs := []*subReq{first}
	for len(reqs) < 256 {
		select {
		case r := <-f.subs:
			reqs = append(reqs, r)
			continue
		default:
		}
		break
	}
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, f.db.pool, func(tx pgx.Tx) error {
		q := q{ctx: ctx, c: tx}
		var lastChange, lastMessage int64
		if err := q.QueryRow("SELECT last_change, last_message FROM feed WHERE id = 1 FOR SHARE").Scan(&lastChange, &lastMessage); err != nil {
			return fmt.Errorf("hold the feed: %w", err)
		}
		if err := f.readAll(q, lastChange); err != nil {
			return fmt.Errorf("catch up: %w", err)
		}
		for _, r := range reqs {
			if r.ctx.Err() != nil {
				r.err = r.ctx.Err()
				continue
			}
			r.register()
			r.snap, r.err = f.db.snapshot(q, r.p)
			r.snap.HighWater = lastMessage
		}
		return nil
	})
	for _, r := range reqs {
		if err != nil && r.err == nil {
			r.err = err
		}
		close(r.done)
	}
}

// snapshot reads what p sees, inside the subscription's transaction.
func (db *DB) snapshot(q q, p store.Principal) (store.Snapshot, error) {
	var snap store.Snapshot
	var err error
	if snap.Conversations, err = db.listConversations(q, p); err != nil {
		return snap, err
	}
	if snap.Offered, err = db.offered(q, p); err != nil {
		return snap, err
	}
	s, code, err := loadOrg(q, p.OrgID)
	if err != nil {
		return snap, err
	}
	snap.Org = db.orgView(p.OrgID, s, code) // the typical reply time comes after (Subscribe)
	return snap, nil
}
