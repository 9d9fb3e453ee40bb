// Package postgres is the PostgreSQL implementation of store.Store, for
// several Taiwa servers (replicas) on one database.
//
// Order: every write batch of every replica first locks the one row of the
// feed table and holds it to its commit. Writes are thus committed one
// batch at a time across all replicas, in the order of the message and
// change IDs they take under that lock: the IDs a resuming app uses as its
// cursor, and the change feed's, become visible in commit order, so a
// reader that remembers "the last ID I read" never skips a row committed
// late (the trap of sequences, whose values become visible out of commit
// order). Each replica batches whatever is queued into one transaction
// (group commit, as the SQLite store does), so the lock is taken once per
// batch, not per message.
//
// Durability: an acknowledged write is committed with synchronous_commit
// on (set on every connection, whatever the server's default).
//
// Fan-out: the changes a batch makes are rows of the changes table,
// committed with it, and a NOTIFY wakes every replica, which reads the
// committed rows after its cursor and publishes them. A notification is
// only a wake-up: one lost while a replica was away is made up by the
// next read (and a read every second).
//
// Deletion: PostgreSQL keeps deleted rows in dead tuples and its WAL, so
// message keys are wrapped under key-encryption keys that live outside the
// database (package kekdir) and rotate; see keys.go.
package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taiwa-chat/taiwa/server/internal/attachfiles"
	"github.com/taiwa-chat/taiwa/server/internal/kekdir"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/sealkeys"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// Options configure a DB.
type Options struct {
	// Now is the clock (tests move it); defaults to time.Now.
	Now func() time.Time
	// Publish receives committed changes, in commit order, on the feed's
	// goroutine: it must not block.
	Publish func([]store.Change)
	// Logger for storage events; defaults to slog.Default().
	Logger *slog.Logger
	// MaxBatch bounds how many writes share one transaction.
	MaxBatch int
	// SweepBatch bounds how many expired messages one write of the sweep
	// deletes.
	SweepBatch int
	// OnBatch, if set, observes each commit (for metrics).
	OnBatch func(size int, d time.Duration)
	// StaffIdle and SharedIdle end sessions unused for that long.
	StaffIdle  time.Duration
	SharedIdle time.Duration
	// MasterKey seals the key-encryption keys (and TOTP secrets; it keys
	// the idempotency-ref hash). Required: sealkeys.KeySize bytes.
	MasterKey []byte
	// KEKDir is the directory of key-encryption keys, outside the
	// database and its backups, shared by every replica. Required.
	KEKDir string
	// AttachmentDir is the directory of attachment files (sealed), shared
	// by every replica like KEKDir; default: "attachments" beside KEKDir.
	AttachmentDir string
	// KEKRotation is how often the key-encryption key rotates: a deleted
	// message key is unreadable in every copy of the database at most this
	// long (plus one sweep) after its deletion. Default DefaultKEKRotation.
	KEKRotation time.Duration
	// PoolSize bounds the connections (default 16).
	PoolSize int
	// OnTyping hears the typing hints relayed by the other replicas (on
	// the listening goroutine: it must not block).
	OnTyping func(store.Typing)
	// FeedKept is how long the changes table keeps a change (default 1h).
	FeedKept time.Duration
	// OnGap hears that this replica missed changes (cut off from the
	// database for longer than FeedKept): its connections must resume
	// from the database, as after a reconnection.
	OnGap func()
}

// DefaultKEKRotation is how often key-encryption keys rotate by default.
const DefaultKEKRotation = time.Hour

// DefaultSweepBatch is how many expired messages one write of the sweep
// deletes.
const DefaultSweepBatch = 1000

// Advisory lock keys (one namespace for Taiwa: "taiw" in ASCII).
const (
	lockNamespace = 0x74616977
	lockMigrate   = 1 // migrations at start
	lockSweep     = 2 // retention sweeps, key destruction, rotation, timeouts
)

// notifyChannel is the channel a commit with changes notifies: a wake-up
// only, never the data. typingChannel carries typing hints themselves:
// they are not stored, and one lost costs nothing.
const (
	notifyChannel = "taiwa_changes"
	typingChannel = "taiwa_typing"
)

// DB is a store.Store on PostgreSQL.
type DB struct {
	pool     *pgxpool.Pool
	dsn      string
	now      func() time.Time
	log      *slog.Logger
	onBatch  func(int, time.Duration)
	ring     *sealkeys.Ring
	files    *attachfiles.Dir // attachments' sealed content
	vault    *vault
	idle     rules.Idle
	replies  store.ReplyTimes // each organisation's typical reply time, kept a minute
	rotation time.Duration
	feedKept time.Duration

	feed *feed
	// replica tells this replica's notifications from the others'.
	replica  string
	onTyping func(store.Typing)
	onGap    func()
	stopBeat context.CancelFunc
	beating  chan struct{}

	reqs           chan *writeReq
	maxBatch       int
	sweepBatchSize int
	done           chan struct{}
	closed         chan struct{}
	closing        atomic.Bool
}

var _ store.Store = (*DB)(nil)

// Open connects, applies migrations (one replica at a time) and starts
// the writer and the change feed.
func Open(ctx context.Context, dsn string, opt Options) (*DB, error) {
	if len(opt.MasterKey) != sealkeys.KeySize {
		return nil, errors.New("postgres store: a master key is required")
	}
	if opt.KEKDir == "" {
		return nil, errors.New("postgres store: a key-encryption key directory is required")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database address: %w", err)
	}
	// Acknowledged means committed and flushed, whatever the server's
	// default says.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	cfg.ConnConfig.RuntimeParams["application_name"] = "taiwa"
	cfg.MaxConns = int32(max(opt.PoolSize, 0))
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	kek, err := kekdir.Open(opt.KEKDir, opt.MasterKey)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if err := migrate(ctx, pool, kek); err != nil {
		pool.Close()
		return nil, err
	}
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	v := &vault{pool: pool, kek: kek}
	if err := v.check(ctx, log); err != nil {
		pool.Close()
		return nil, err
	}
	ring, err := sealkeys.New(v, opt.MasterKey)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if opt.AttachmentDir == "" {
		opt.AttachmentDir = filepath.Join(filepath.Dir(filepath.Clean(opt.KEKDir)), "attachments")
	}
	files, err := attachfiles.Open(opt.AttachmentDir)
	if err != nil {
		pool.Close()
		return nil, err
	}
	db := &DB{
		pool:     pool,
		dsn:      dsn,
		now:      opt.Now,
		log:      opt.Logger,
		onBatch:  opt.OnBatch,
		ring:     ring,
		files:    files,
		vault:    v,
		idle:     rules.Idle{Staff: opt.StaffIdle, Shared: opt.SharedIdle},
		rotation: opt.KEKRotation,
		feedKept: opt.FeedKept,
		replica:  newAppCode(),
		onTyping: opt.OnTyping,
		onGap:    opt.OnGap,
		maxBatch: opt.MaxBatch,
		reqs:     make(chan *writeReq, 1024),
		done:     make(chan struct{}),
		closed:   make(chan struct{}),
	}
	if db.now == nil {
		db.now = time.Now
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
	if db.rotation <= 0 {
		db.rotation = DefaultKEKRotation
	}
	if db.feedKept <= 0 {
		db.feedKept = time.Hour
	}
	publish := opt.Publish
	if publish == nil {
		publish = func([]store.Change) {}
	}
	if db.feed, err = newFeed(ctx, db, publish); err != nil {
		pool.Close()
		return nil, err
	}
	bctx, cancel := context.WithCancel(context.Background())
	db.stopBeat, db.beating = cancel, make(chan struct{})
	go func() { defer close(db.beating); db.beat(bctx) }()
	go db.writer()
	return db, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// Close finishes queued writes, stops the feed and closes the pool.
func (db *DB) Close() error {
	if !db.closing.CompareAndSwap(false, true) {
		<-db.closed
		return nil
	}
	close(db.done)
	<-db.closed
	db.feed.stop()
	db.stopBeat()
	<-db.beating
	db.leave()
	db.pool.Close()
	return nil
}

// KEKDir is the directory of key-encryption keys (for tests).
func (db *DB) KEKDir() *kekdir.Dir { return db.vault.kek }

// Pool is the connection pool (for tests).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// clock returns the clock's time at the millisecond precision stored.
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

// placeholder finds SQLite-style parameters: "?" and "?N".
var placeholder = regexp.MustCompile(`\?(\d*)`)

// rebind turns "?" and "?N" parameters into PostgreSQL's "$N", so that the
// queries read as the SQLite store's do. Queries hold no literal "?".
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	n := 0
	return placeholder.ReplaceAllStringFunc(query, func(m string) string {
		if len(m) > 1 {
			return "$" + m[1:]
		}
		n++
		return "$" + strconv.Itoa(n)
	})
}

// q is a connection or transaction with the calling context bound, read
// with the SQLite store's parameter style.
type q struct {
	ctx context.Context
	c   interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

func (q q) Exec(query string, args ...any) (pgconn.CommandTag, error) {
	return q.c.Exec(q.ctx, rebind(query), args...)
}

func (q q) Query(query string, args ...any) (pgx.Rows, error) {
	return q.c.Query(q.ctx, rebind(query), args...)
}

func (q q) QueryRow(query string, args ...any) pgx.Row {
	return q.c.QueryRow(q.ctx, rebind(query), args...)
}

// read is the pool, for reads outside the writer.
func (db *DB) read(ctx context.Context) q { return q{ctx: ctx, c: db.pool} }

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// newAppCode is an organisation's unguessable app address.
func newAppCode() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// DefaultKEKDir is where a server keeps key-encryption keys without
// --kek-dir: beside its data, never in the database.
func DefaultKEKDir(dataDir string) string { return filepath.Join(dataDir, "kek") }

// numbered finds "?N" parameters.
var numbered = regexp.MustCompile(`\?(\d+)`)

// shiftParams renumbers a fragment's "?N" parameters by n, for a query
// that puts n parameters of its own before the fragment's.
func shiftParams(fragment string, n int) string {
	return numbered.ReplaceAllStringFunc(fragment, func(m string) string {
		v, _ := strconv.Atoi(m[1:])
		return "?" + strconv.Itoa(v+n)
	})
}
