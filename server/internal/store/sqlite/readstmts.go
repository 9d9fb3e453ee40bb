package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"
)

// readStmts keeps the statements of an app's connection prepared on the
// read pool: its session lookup, snapshot and replay. Bringing 5,000
// connections up spent half of the server's CPU parsing and planning
// these same few texts again for every connection. database/sql prepares
// a *sql.Stmt once per pooled connection and reuses it, inside read
// transactions too (Tx.StmtContext finds the connection's copy).
//
// A text is prepared in the background the first time it runs (and runs
// as text meanwhile): preparing takes a pooled connection, and a caller
// that holds one already (a read transaction) waiting for another, or
// holding the lock that such callers wait for, deadlocks a busy pool (it
// did: twelve apps reconnecting at once after a restart).
//
// Only for statements whose rows are read to the end before the same
// text runs again on that connection (no nesting of one text in itself).
type readStmts struct {
	db        *sql.DB
	mu        sync.Mutex
	m         map[string]*sql.Stmt // nil: being prepared, or does not prepare; run it as text
	closed    bool
	preparing sync.WaitGroup
}

func newReadStmts(db *sql.DB) *readStmts {
	return &readStmts{db: db, m: map[string]*sql.Stmt{}}
}

// get returns the prepared statement for query, or nil: run it as text.
// It never waits for the pool.
func (r *readStmts) get(query string) *sql.Stmt {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.m[query]
	if !ok && !r.closed && len(r.m) < maxStmts {
		r.m[query] = nil
		r.preparing.Add(1)
		go r.prepare(query)
	}
	return s
}

// prepare prepares query on the pool, holding nothing meanwhile.
func (r *readStmts) prepare(query string) {
	defer r.preparing.Done()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := r.db.PrepareContext(ctx, query)
	if err != nil {
		return // it fails as text too, where its caller sees why; or the pool is closing
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		s.Close()
		return
	}
	r.m[query] = s
}

// readPool runs queries on the read pool through prepared statements.
type readPool struct{ *readStmts }

func (p readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := p.get(query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, query, args...)
}

func (p readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := p.get(query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, query, args...)
}

// readTx runs a read transaction's queries through prepared statements.
type readTx struct {
	tx *sql.Tx
	st *readStmts
}

func (t readTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := t.st.get(query); s != nil {
		return t.tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t readTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.st.get(query); s != nil {
		return t.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// close closes the prepared statements, once those being prepared are.
func (r *readStmts) close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.preparing.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for q, s := range r.m {
		if s != nil {
			errs = append(errs, s.Close())
		}
		delete(r.m, q)
	}
	return errors.Join(errs...)
}
