package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// readStmts keeps the statements of an app's connection prepared on the
// read pool: its session lookup, snapshot and replay. Bringing 5,000
// connections up spent half of the server's CPU parsing and planning
// these same few texts again for every connection. database/sql prepares
// a *sql.Stmt once per pooled connection and reuses it, inside read
// transactions too (Tx.StmtContext finds the connection's copy).
//
// Only for statements whose rows are read to the end before the same
// text runs again on that connection (no nesting of one text in itself).
type readStmts struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt // nil: the text does not prepare; run it as text
}

func newReadStmts(db *sql.DB) *readStmts {
	return &readStmts{db: db, m: map[string]*sql.Stmt{}}
}

// get returns the prepared statement for query, or nil: run it as text.
func (r *readStmts) get(ctx context.Context, query string) *sql.Stmt {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.m[query]
	if ok || len(r.m) >= maxStmts {
		return s
	}
	// Preparing on the pool takes one of its connections for a moment.
	s, err := r.db.PrepareContext(ctx, query)
	if err != nil {
		if ctx.Err() != nil {
			return nil // not the text's fault: try again next time
		}
		s = nil // it fails as text too, where its caller sees why
	}
	r.m[query] = s
	return s
}

// pool runs queries on the read pool through prepared statements.
type readPool struct{ *readStmts }

func (p readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := p.get(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, query, args...)
}

func (p readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := p.get(ctx, query); s != nil {
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
	if s := t.st.get(ctx, query); s != nil {
		return t.tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t readTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.st.get(ctx, query); s != nil {
		return t.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// close closes the prepared statements.
func (r *readStmts) close() error {
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
