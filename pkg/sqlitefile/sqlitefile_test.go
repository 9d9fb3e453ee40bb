package sqlitefile

import (
	"path/filepath"
	"testing"
	"time"
)

func TestPragmasOnEveryConnection(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "x.db"), "synchronous(FULL)", "foreign_keys(ON)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(3)
	for range 3 { // more than one pooled connection
		conn, err := db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for pragma, want := range map[string]string{"journal_mode": "wal", "secure_delete": "1", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000"} {
			var got string
			if err := conn.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
				t.Fatalf("%s = %q (%v), want %q", pragma, got, err, want)
			}
		}
	}
}

// A writer waits for another process's write lock instead of failing.
func TestWriterWaitsForTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	w, err := OpenWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Exec("CREATE TABLE t(v)"); err != nil {
		t.Fatal(err)
	}
	other, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(300 * time.Millisecond)
		conn.ExecContext(t.Context(), "ROLLBACK")
		close(released)
	}()
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	// Reading first then writing is what fails at once in a deferred
	// transaction while another holds the lock.
	var n int
	if err := tx.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatalf("the write failed instead of waiting: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	<-released
}
