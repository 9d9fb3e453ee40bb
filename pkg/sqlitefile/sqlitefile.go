// Package sqlitefile opens Taiwa's SQLite files (the server's database and
// key file, the desktop's cache) with the pragmas every one of them needs,
// set in the DSN so that each pooled connection gets them.
package sqlitefile

import (
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Defaults are the pragmas of every file: a write-ahead log, a wait
// instead of an error when another connection writes, and secure_delete,
// so that deleted text is overwritten in the file rather than left in
// free pages.
var Defaults = []string{"journal_mode(WAL)", "busy_timeout(10000)", "secure_delete(ON)"}

// Open opens (creating if needed) the file at path with Defaults and the
// extra pragmas given, e.g. "synchronous(FULL)", "foreign_keys(ON)",
// "query_only(ON)".
func Open(path string, extra ...string) (*sql.DB, error) {
	return open(path, url.Values{}, extra)
}

// OpenWriter is Open for a file's writing connection: its transactions
// take the write lock when they begin (BEGIN IMMEDIATE), so that while
// another process holds it they wait (busy_timeout) rather than fail at
// their first write, which a deferred transaction does to avoid deadlock.
func OpenWriter(path string, extra ...string) (*sql.DB, error) {
	return open(path, url.Values{"_txlock": {"immediate"}}, extra)
}

func open(path string, q url.Values, extra []string) (*sql.DB, error) {
	for _, p := range append(append([]string{}, Defaults...), extra...) {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}
