package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// ErrClosed is returned for writes after Close.
var ErrClosed = errors.New("store is closed")

// writeFn does one write inside the batch's transaction and returns the
// changes to publish once the batch is committed.
type writeFn func(tx *wtx) ([]store.Change, error)

type writeReq struct {
	fn writeFn
	// between, if set instead of fn, runs on the writer goroutine outside
	// any transaction, after every earlier write is committed and published
	// and before any later one starts.
	between func() error
	// scrub asks for a WAL TRUNCATE checkpoint after the commit, so that
	// deleted rows leave no copy in the WAL file.
	scrub bool
	done  chan error
}

// do queues fn for the writer and waits until its batch is durable.
// Cancelling ctx stops the wait, not the write: once queued, a write that
// a caller gave up on may still commit (and its idempotency ref then
// returns it on a resend).
func (db *DB) do(ctx context.Context, scrub bool, fn writeFn) error {
	return db.submit(ctx, &writeReq{fn: fn, scrub: scrub, done: make(chan error, 1)})
}

// runBetween runs f on the writer goroutine between commits.
func (db *DB) runBetween(ctx context.Context, f func() error) error {
	return db.submit(ctx, &writeReq{between: f, done: make(chan error, 1)})
}

// submit queues a request for the writer and waits for its answer.
func (db *DB) submit(ctx context.Context, req *writeReq) error {
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

// writer is the single goroutine that writes. It takes whatever is queued,
// runs each request in its own savepoint (one failing request does not
// spoil the others), commits once, publishes, then answers.
func (db *DB) writer() {
	defer close(db.closed)
	defer func() {
		// Finalize the statements before giving the connection back.
		db.closeErr = errors.Join(db.stmts.close(), db.wconn.Close())
	}()
	batch := make([]*writeReq, 0, db.maxBatch)
	for {
		batch = batch[:0]
		var pending *writeReq
		select {
		case r := <-db.reqs:
			if r.between != nil {
				pending = r
			} else {
				batch = append(batch, r)
			}
		case <-db.done:
			// Finish what is already queued, then stop.
			for {
				select {
				case r := <-db.reqs:
					if r.between != nil {
						r.done <- r.between()
					} else {
						db.commit([]*writeReq{r})
					}
				default:
					return
				}
			}
		}
	fill:
		for pending == nil && len(batch) < db.maxBatch {
			select {
			case r := <-db.reqs:
				if r.between != nil {
					pending = r
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		if len(batch) > 0 {
			db.commit(batch)
		}
		if pending != nil {
			pending.done <- pending.between()
		}
	}
}

func (db *DB) commit(batch []*writeReq) {
	start := time.Now()
	errs := make([]error, len(batch))
	var changes []store.Change
	scrub := false
	err := func() error {
		tx := &wtx{conn: db.wconn, stmts: db.stmts}
		if _, err := tx.Exec("BEGIN IMMEDIATE"); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		committed := false
		defer func() {
			if committed {
				return
			}
			// A failed COMMIT (busy, full disk) leaves the transaction
			// open; some errors have SQLite roll it back already, and
			// then this says so, harmlessly.
			if _, err := tx.Exec("ROLLBACK"); err != nil {
				db.log.Warn("rollback after a failed write batch", "err", err)
			}
		}()
		for i, r := range batch {
			if _, err := tx.Exec("SAVEPOINT w"); err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			ch, err := r.fn(tx)
			if err != nil {
				errs[i] = err
				if _, rerr := tx.Exec("ROLLBACK TO w"); rerr != nil {
					return fmt.Errorf("rollback to savepoint: %w", rerr)
				}
				if _, rerr := tx.Exec("RELEASE w"); rerr != nil {
					return fmt.Errorf("release savepoint: %w", rerr)
				}
				continue
			}
			if _, err := tx.Exec("RELEASE w"); err != nil {
				return fmt.Errorf("release savepoint: %w", err)
			}
			changes = append(changes, ch...)
			scrub = scrub || r.scrub
		}
		if _, err := tx.Exec("COMMIT"); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		committed = true
		return nil
	}()
	if err != nil {
		db.log.Error("write batch failed", "size", len(batch), "err", err)
		for _, r := range batch {
			r.done <- fmt.Errorf("store write: %w", err)
		}
		return
	}
	if db.onBatch != nil {
		db.onBatch(len(batch), time.Since(start))
	}
	if scrub {
		db.checkpoint()
	}
	if len(changes) > 0 {
		db.publish(changes)
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}

// checkpointAside copies what it can of the WAL into the database from
// a reading connection (a PASSIVE checkpoint: it waits for no one and
// holds no writer), so that the checkpoints the writer runs itself find
// little left. A failure is only logged: the writer's checkpoint does the
// whole job anyway.
func (db *DB) checkpointAside(ctx context.Context) {
	var busy, logFrames, done int
	if err := db.read.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &done); err != nil && ctx.Err() == nil {
		db.log.Warn("passive wal checkpoint failed", "err", err)
	}
}

// checkpoint copies the WAL into the database and truncates it to zero
// bytes, so that pages holding deleted rows do not survive in the WAL. It
// waits (busy_timeout) for readers that still hold an older snapshot.
func (db *DB) checkpoint() {
	for attempt := 0; attempt < 5; attempt++ {
		var busy, logFrames, done int
		err := db.wconn.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done)
		if err == nil && busy == 0 {
			db.scrubPending.Store(false)
			return
		}
		db.log.Warn("wal checkpoint incomplete; retrying", "attempt", attempt, "busy", busy, "err", err)
		time.Sleep(50 * time.Millisecond << attempt)
	}
	db.scrubPending.Store(true)
	db.log.Error("wal checkpoint did not complete; deleted pages may remain in the WAL until the next sweep")
}
