package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// ErrClosed is returned for writes after Close.
var ErrClosed = errors.New("store is closed")

// wtx is one write inside a batch's transaction: queries in the SQLite
// store's parameter style, and the message IDs handed out under the feed
// lock.
type wtx struct {
	q
	lastMessage int64
}

// nextMessageID hands out the next message ID (never reused: the feed row
// keeps the last one, committed with the batch).
func (w *wtx) nextMessageID() int64 {
	w.lastMessage++
	return w.lastMessage
}

// writeFn does one write inside the batch's transaction and returns the
// changes it made, to publish once the batch is committed.
type writeFn func(tx *wtx) ([]store.Change, error)

type writeReq struct {
	fn   writeFn
	done chan error
}

// do queues fn for the writer and waits until its batch is committed and
// its changes published. Cancelling ctx stops the wait, not the write.
func (db *DB) do(ctx context.Context, fn writeFn) error {
	req := &writeReq{fn: fn, done: make(chan error, 1)}
	select {
	case <-db.done:
		return ErrClosed
	default:
	}
	select {
	case db.reqs <- req:
	case <-db.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer is this replica's one writing goroutine: it takes whatever is
// queued, runs each request in its own savepoint (one failing request
// does not spoil the others) and commits once.
func (db *DB) writer() {
	defer close(db.closed)
	batch := make([]*writeReq, 0, db.maxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-db.reqs:
			batch = append(batch, r)
		case <-db.done:
			for {
				select {
				case r := <-db.reqs:
					db.commit([]*writeReq{r})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < db.maxBatch {
			select {
			case r := <-db.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		db.commit(batch)
	}
}

// feedEntry is a change as the changes table keeps it: a message's body
// is sealed as in the messages table, never in the clear.
type feedEntry struct {
	store.Change
	Sealed []byte `json:"sealed,omitempty"`
	Slice  int64  `json:"slice,omitempty"`
	// Origin is the replica that committed the change.
	Origin string `json:"origin,omitempty"`
}

func (db *DB) encodeChange(c store.Change) (string, error) {
	e := feedEntry{Change: c, Origin: db.replica}
	if c.Message != nil && c.Message.Body != "" {
		m := *c.Message
		slice, blob, err := db.ring.Seal(c.ClientID, m.ExpiresAt, []byte(m.Body), bodyAAD(m.ConversationID, m.Seq))
		if err != nil {
			return "", fmt.Errorf("seal change: %w", err)
		}
		m.Body = ""
		e.Change.Message, e.Sealed, e.Slice = &m, blob, slice
	}
	b, err := json.Marshal(e)
	return string(b), err
}

// writeRetryFor is how long a batch is tried again while the database is
// unreachable (a restart, a failover): its callers wait, and an app sees
// a slow acknowledgement instead of an error.
const writeRetryFor = 20 * time.Second

// retryable reports whether a batch that failed with err before its
// commit was sent can run again: the database is unreachable or shutting
// down, and nothing of the batch was committed.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return unavailable(pe)
	}
	return true // not the database's answer: the connection itself failed
}

// unavailable reports whether the database's answer is that it cannot
// serve (a connection exception, or it is shutting down), not a refusal
// of the request.
func unavailable(pe *pgconn.PgError) bool {
	return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P")
}

// lostConnection reports whether err says the database went away (the
// connection dropped, the server shut down) rather than refusing the
// request itself. Unlike retryable, an error that is not the database's
// answer counts only when it is a network one: a request's own errors
// (validation, rules) come back as plain errors too.
func lostConnection(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return unavailable(pe)
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "conn closed")
}

func (db *DB) commit(batch []*writeReq) {
	start := time.Now()
	backoff := 50 * time.Millisecond
	for !db.commitOnce(batch, start) {
		select {
		case <-db.done:
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// commitOnce tries a batch once. It reports false, having answered
// nobody, when the batch should be tried again.
func (db *DB) commitOnce(batch []*writeReq, start time.Time) bool {
	committing := false
	errs := make([]error, len(batch))
	ctx := context.Background()
	var lastChange int64
	err := func() error {
		tx, err := db.pool.Begin(ctx)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op
		// The order of every write of every replica: see the package doc.
		var lastMessage int64
		if err := tx.QueryRow(ctx, "SELECT last_change, last_message FROM feed WHERE id = 1 FOR UPDATE").Scan(&lastChange, &lastMessage); err != nil {
			return fmt.Errorf("lock the feed: %w", err)
		}
		w := &wtx{q: q{ctx: ctx, c: tx}, lastMessage: lastMessage}
		var (
			ids  []int64
			data []string
		)
		// A batch of one needs no savepoint (two round trips fewer while
		// every replica's writes wait for the lock): if it fails, nothing
		// is written.
		alone := len(batch) == 1
		for i, r := range batch {
			var sp pgx.Tx = tx
			if !alone {
				if sp, err = tx.Begin(ctx); err != nil { // a savepoint
					return fmt.Errorf("savepoint: %w", err)
				}
			}
			w.c = sp
			before := w.lastMessage
			ch, err := r.fn(w)
			if err != nil {
				if lostConnection(err) {
					// Not the request's doing: the batch is tried again.
					return fmt.Errorf("write: %w", err)
				}
				errs[i] = err
				w.lastMessage = before
				if alone {
					lastChange = 0
					return nil // rolled back by the deferred Rollback
				}
				if rerr := sp.Rollback(ctx); rerr != nil {
					return fmt.Errorf("rollback to savepoint: %w", rerr)
				}
				continue
			}
			if !alone {
				if err := sp.Commit(ctx); err != nil {
					return fmt.Errorf("release savepoint: %w", err)
				}
			}
			for _, c := range ch {
				d, err := db.encodeChange(c)
				if err != nil {
					return err
				}
				lastChange++
				ids, data = append(ids, lastChange), append(data, d)
			}
		}
		w.c = tx
		// The batch's record, in one round trip.
		var tail pgx.Batch
		if len(ids) > 0 {
			tail.Queue(`INSERT INTO changes(id, at, data) SELECT i, $2, d::jsonb FROM unnest($1::bigint[], $3::text[]) AS u(i, d)`,
				ids, ms(db.clock()), data)
			tail.Queue("NOTIFY " + notifyChannel)
		}
		if w.lastMessage != lastMessage || len(ids) > 0 {
			tail.Queue("UPDATE feed SET last_change = $1, last_message = $2 WHERE id = 1", lastChange, w.lastMessage)
		}
		if tail.Len() > 0 {
			if err := tx.SendBatch(ctx, &tail).Close(); err != nil {
				return fmt.Errorf("record the batch's changes: %w", err)
			}
		}
		committing = true
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		if len(ids) == 0 {
			lastChange = 0 // nothing to wait for
		}
		return nil
	}()
	if err != nil {
		closing := db.closing.Load()
		if !committing && !closing && retryable(err) && time.Since(start) < writeRetryFor {
			db.log.Warn("write batch: database unreachable; trying again", "size", len(batch), "err", err)
			return false
		}
		// A commit cut off in flight may or may not have happened: the
		// callers hear an error they may retry (a resent message finds
		// itself by its ref).
		db.log.Error("write batch failed", "size", len(batch), "err", err)
		for _, r := range batch {
			r.done <- fmt.Errorf("store write: %w", err)
		}
		return true
	}
	if db.onBatch != nil {
		db.onBatch(len(batch), time.Since(start))
	}
	// Answer once the feed has published the batch's changes: an app that
	// hears its write acknowledged has had the chance to hear it live.
	db.feed.answerAfter(lastChange, batch, errs)
	return true
}

// inTx runs fn in a transaction of its own, outside the writer (reads
// that must see one state, and the sweep's own bookkeeping).
func (db *DB) inTx(ctx context.Context, fn func(q) error) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error { return fn(q{ctx: ctx, c: tx}) })
}
