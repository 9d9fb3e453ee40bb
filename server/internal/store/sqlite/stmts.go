package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxStmts bounds the writer's prepared statements. The store's SQL is a
// fixed set of texts, but a few are built with a variable number of
// placeholders; past the bound a text is simply not kept.
const maxStmts = 256

// stmts keeps the writer connection's statements prepared. Parsing and
// planning SQL was the largest part of a send's CPU (about 40 % of the
// store's time in BenchmarkSend): a send runs about ten statements, each
// prepared again on every execution when passed as text.
//
// A statement is prepared the first time its text runs, on the writer's
// own connection (inside the batch's transaction, which it does not
// disturb), and kept for the connection's life.
type stmts struct {
	db *sql.Conn
	mu sync.Mutex
	m  map[string]*sql.Stmt // nil: the text does not prepare; run it as text
}

func newStmts(db *sql.Conn) *stmts {
	return &stmts{db: db, m: map[string]*sql.Stmt{}}
}

// get returns the prepared statement for query, or nil (run it as text).
func (c *stmts) get(ctx context.Context, query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[query]
	if ok || len(c.m) >= maxStmts {
		return s
	}
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		s = nil // it fails as text too, where its caller sees why
	}
	c.m[query] = s
	return s
}

// close finalizes every kept statement.
func (c *stmts) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, s := range c.m {
		if s != nil {
			errs = append(errs, s.Close())
		}
		delete(c.m, q)
	}
	return errors.Join(errs...)
}

// wtx is the writer's transaction on its own connection: statements
// that return at most one row or none run prepared once for the
// connection's life. Query (many rows) runs as text: a statement's rows
// stay open while the caller iterates, and running the same prepared
// statement again meanwhile (a lookup per row) would reset it under them.
//
// The transaction is the writer's BEGIN and COMMIT on the connection,
// not a database/sql Tx: a statement prepared on the connection had to
// be bound to each Tx anew (an allocation and a dependency entry per
// statement per transaction, and closing them all at its end).
type wtx struct {
	conn  *sql.Conn
	stmts *stmts
}

// Exec runs a statement that returns no rows.
func (t *wtx) Exec(query string, args ...any) (sql.Result, error) {
	return t.ExecContext(context.Background(), query, args...)
}

// ExecContext runs a statement that returns no rows.
func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := t.stmts.get(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.conn.ExecContext(ctx, query, args...)
}

// QueryRow runs a statement that returns at most one row.
func (t *wtx) QueryRow(query string, args ...any) *sql.Row {
	return t.QueryRowContext(context.Background(), query, args...)
}

// QueryRowContext runs a statement that returns at most one row. The row
// must be scanned (which closes it) before the same text runs again.
func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.stmts.get(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.conn.QueryRowContext(ctx, query, args...)
}

// Query runs a statement that returns rows, as text.
func (t *wtx) Query(query string, args ...any) (*sql.Rows, error) {
	return t.conn.QueryContext(context.Background(), query, args...)
}

// QueryContext runs a statement that returns rows, as text.
func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.conn.QueryContext(ctx, query, args...)
}
