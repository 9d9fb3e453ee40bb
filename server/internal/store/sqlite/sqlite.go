// Package sqlite is the embedded SQLite implementation of store.Store.
//
// Durability: every acknowledged write is committed with synchronous=FULL.
// One fsync per write would cap throughput at the disk's commit rate, so all
// writes go through a single writer goroutine that commits whatever is queued
// in one transaction (group commit) and answers each caller after its batch
// is durable. Deleted data is scrubbed with secure_delete=ON and a TRUNCATE
// checkpoint of the WAL.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/sqlitefile"
	"github.com/taiwa-chat/taiwa/server/internal/attachfiles"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/sealkeys"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// Options configure a DB. The zero value is usable.
type Options struct {
	// Now is the clock (tests move it); defaults to time.Now.
	Now func() time.Time
	// Publish receives the changes of each committed batch, in commit order,
	// on the writer goroutine: it must not block.
	Publish func([]store.Change)
	// Logger for storage events; defaults to slog.Default().
	Logger *slog.Logger
	// MaxBatch bounds how many writes share one transaction.
	MaxBatch int
	// SweepBatch bounds how many expired messages one write of the
	// retention sweep deletes (default DefaultSweepBatch).
	SweepBatch int
	// OnBatch, if set, observes each commit (for metrics).
	OnBatch func(size int, d time.Duration)
	// StaffIdle, if set, ends a staff session unused for that long (the
	// desktop app then wipes and asks for the password).
	StaffIdle time.Duration
	// SharedIdle, if set, does the same for sessions opened on a shared
	// device (store.NewSession.Shared).
	SharedIdle time.Duration
	// MasterKey unwraps the keys that seal message bodies (sealkeys.KeySize
	// bytes). Without one, the key in the data directory's MasterKeyFile
	// is used, created on first use.
	MasterKey []byte
}

// Files in the data directory besides the database.
const (
	KeyFileName   = "keys.db"    // the sealing keys, wrapped
	MasterKeyFile = "master.key" // the fallback master key
)

// DB is a store.Store on a SQLite file.
type DB struct {
	read  *sql.DB  // pool for reads
	reads readPool // the read pool through prepared statements (readStmts)
	write *sql.DB  // the one writer connection's pool (migrations, Close)
	// wconn is that connection, held by the writer goroutine for its life
	// (only it and what runs between its batches use it): statements
	// prepared on it run as they are, where statements bound to a
	// database/sql transaction had to be bound anew in every one.
	wconn   *sql.Conn
	stmts   *stmts // the writer's prepared statements
	now     func() time.Time
	publish func([]store.Change)
	log     *slog.Logger
	onBatch func(int, time.Duration)
	ring    *sealkeys.Ring
	files   *attachfiles.Dir // attachments' sealed content
	idle    rules.Idle       // Options.StaffIdle and SharedIdle
	replies store.ReplyTimes // each organisation's typical reply time, kept a minute

	// scrubPending is set when a checkpoint could not finish, so that the
	// next sweep retries it even if it deletes nothing.
	scrubPending atomic.Bool

	reqs     chan *writeReq
	maxBatch int
	// sweepBatchSize is Options.SweepBatch.
	sweepBatchSize int
	done           chan struct{}
	closed         chan struct{}
	closeErr       error // the writer's, from finalizing its statements and connection
}

var _ store.Store = (*DB)(nil)

// DefaultSweepBatch is how many expired messages one write of the sweep
// deletes: a few milliseconds of the writer, so that acks never wait long
// behind a large deletion.
const DefaultSweepBatch = 1000

// walSizeLimit is the size the write-ahead log is cut back to when it is
// reused after a checkpoint: a few seconds of sends at 500 messages/s.
const walSizeLimit = 16 << 20

// FileName is the database file inside the data directory.
const FileName = "taiwa.db"

// Open opens (creating if needed) the database in dir and applies migrations.
func Open(dir string, opt Options) (*DB, error) {
	path := filepath.Join(dir, FileName)
	// Every acknowledged write is durable (synchronous=FULL). The
	// write-ahead log is reused from its start after each checkpoint but
	// keeps the size of its largest burst; the sweep's TRUNCATE then had
	// to give back all of it while holding the writer (a 300 MB log took
	// 190 ms). journal_size_limit cuts it back to walSizeLimit as soon as
	// it is reused, so what the sweep truncates stays small.
	pragmas := []string{"synchronous(FULL)", "foreign_keys(ON)", fmt.Sprintf("journal_size_limit(%d)", walSizeLimit)}
	write, err := sqlitefile.OpenWriter(path, pragmas...)
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	write.SetConnMaxLifetime(0)
	if err := migrate(write); err != nil {
		write.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	master := opt.MasterKey
	if master == nil {
		if master, err = sealkeys.LoadOrCreate(filepath.Join(dir, MasterKeyFile)); err != nil {
			write.Close()
			return nil, err
		}
	}
	ring, err := sealkeys.Open(filepath.Join(dir, KeyFileName), master)
	if err != nil {
		write.Close()
		return nil, err
	}
	// One-time upgrades of what older versions stored; recorded, so that
	// no later start scans the messages again.
	now := time.Now()
	for _, u := range []struct {
		name string
		run  func() error
	}{
		{"seal_bodies", func() error { return sealLegacy(write, ring) }},
		{"hash_refs", func() error { return hashLegacyRefs(write, ring) }},
	} {
		if err := upgradeOnce(write, u.name, now, u.run); err != nil {
			ring.Close()
			write.Close()
			return nil, fmt.Errorf("upgrade %s (%s): %w", path, u.name, err)
		}
	}
	if err := dropOrphanKeys(write, ring); err != nil {
		ring.Close()
		write.Close()
		return nil, err
	}
	files, err := attachfiles.Open(filepath.Join(dir, AttachmentsDir))
	if err != nil {
		ring.Close()
		write.Close()
		return nil, err
	}
	read, err := sqlitefile.Open(path, append(pragmas, "query_only(ON)")...)
	if err != nil {
		ring.Close()
		write.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	wconn, err := write.Conn(context.Background())
	if err != nil {
		read.Close()
		ring.Close()
		write.Close()
		return nil, fmt.Errorf("take the write connection of %s: %w", path, err)
	}
	db := &DB{
		read:     read,
		reads:    readPool{newReadStmts(read)},
		write:    write,
		wconn:    wconn,
		stmts:    newStmts(wconn),
		now:      opt.Now,
		publish:  opt.Publish,
		log:      opt.Logger,
		onBatch:  opt.OnBatch,
		ring:     ring,
		files:    files,
		idle:     rules.Idle{Staff: opt.StaffIdle, Shared: opt.SharedIdle},
		maxBatch: opt.MaxBatch,
		reqs:     make(chan *writeReq, 1024),
		done:     make(chan struct{}),
		closed:   make(chan struct{}),
	}
	if db.now == nil {
		db.now = time.Now
	}
	if db.publish == nil {
		db.publish = func([]store.Change) {}
	}
	if db.log == nil {
		db.log = slog.Default()
	}
	if db.maxBatch <= 0 {
		db.maxBatch = 256
	}
	if db.sweepBatchSize = opt.SweepBatch; db.sweepBatchSize <= 0 {
		db.sweepBatchSize = DefaultSweepBatch
	}
	go db.writer()
	return db, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// Close stops accepting writes, finishes the queued ones and closes.
func (db *DB) Close() error {
	select {
	case <-db.done:
	default:
		close(db.done)
	}
	<-db.closed
	// The writer has finalized its statements and given back its
	// connection on its way out.
	return errors.Join(db.closeErr, db.reads.close(), db.read.Close(), db.write.Close(), db.ring.Close())
}

// now returns the clock's time at the millisecond precision stored.
func (db *DB) clock() time.Time { return db.now().UTC().Truncate(time.Millisecond) }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func nullMS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: ms(*t), Valid: true}
}
