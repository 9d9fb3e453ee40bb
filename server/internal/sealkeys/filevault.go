package sealkeys

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/taiwa-chat/taiwa/pkg/sealbox"
	"github.com/taiwa-chat/taiwa/pkg/sqlitefile"
)

// FileVault keeps the keys in their own SQLite file, wrapped by the master
// key. With secure_delete and a truncating checkpoint, a destroyed key
// leaves no copy in the file or its log.
type FileVault struct {
	db     *sql.DB
	master *sealbox.Box
}

var _ Vault = (*FileVault)(nil)

// OpenFileVault opens (creating if needed) the key file at path.
func OpenFileVault(path string, master []byte) (*FileVault, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("master key must be %d bytes, not %d", KeySize, len(master))
	}
	m, err := sealbox.New(master)
	if err != nil {
		return nil, err
	}
	db, err := sqlitefile.OpenWriter(path, "synchronous(FULL)")
	if err != nil {
		return nil, fmt.Errorf("open key file: %w", err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS keys (
		kind TEXT NOT NULL, id INTEGER NOT NULL, wrapped BLOB NOT NULL, PRIMARY KEY (kind, id)) WITHOUT ROWID`); err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare key file %s: %w", path, err)
	}
	v := &FileVault{db: db, master: m}
	// A wrong master key must stop the server at once, not at the first
	// read: the file carries a check value, wrapped like every key.
	var wrapped []byte
	err = db.QueryRow("SELECT wrapped FROM keys WHERE kind = 'check' AND id = 0").Scan(&wrapped)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := db.Exec("INSERT INTO keys(kind, id, wrapped) VALUES ('check', 0, ?)", m.Seal(NewMasterKey(), Label("check", 0))); err != nil {
			db.Close()
			return nil, fmt.Errorf("prepare key file %s: %w", path, err)
		}
	case err != nil:
		db.Close()
		return nil, fmt.Errorf("read key file %s: %w", path, err)
	default:
		if _, err := v.unwrap("check", 0, wrapped); err != nil {
			db.Close()
			return nil, fmt.Errorf("key file %s: %w (is this the right master key?)", path, err)
		}
	}
	return v, nil
}

// Close closes the key file.
func (v *FileVault) Close() error { return v.db.Close() }

func (v *FileVault) unwrap(kind string, id int64, wrapped []byte) ([]byte, error) {
	k, err := v.master.Open(wrapped, Label(kind, id))
	if err != nil {
		return nil, fmt.Errorf("unwrap %s key %d: %w", kind, id, err)
	}
	return k, nil
}

// Load reads and unwraps a key.
func (v *FileVault) Load(kind string, id int64) ([]byte, error) {
	var wrapped []byte
	err := v.db.QueryRow("SELECT wrapped FROM keys WHERE kind = ? AND id = ?", kind, id).Scan(&wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrErased
	}
	if err != nil {
		return nil, fmt.Errorf("read %s key %d: %w", kind, id, err)
	}
	return v.unwrap(kind, id, wrapped)
}

// Create stores a new key. One process owns the file, so none can have
// made it meanwhile.
func (v *FileVault) Create(kind string, id int64, key []byte) ([]byte, error) {
	if _, err := v.db.Exec("INSERT INTO keys(kind, id, wrapped) VALUES (?,?,?)", kind, id, v.master.Seal(key, Label(kind, id))); err != nil {
		return nil, fmt.Errorf("store %s key %d: %w", kind, id, err)
	}
	return key, nil
}

// DestroyClient deletes a client's key and scrubs the file.
func (v *FileVault) DestroyClient(id int64) error {
	return v.destroy("DELETE FROM keys WHERE kind = 'client' AND id = ?", id)
}

// DestroySlicesThrough deletes the keys of slices up to last and scrubs the file.
func (v *FileVault) DestroySlicesThrough(last int64) error {
	return v.destroy("DELETE FROM keys WHERE kind = 'slice' AND id <= ?", last)
}

// destroy deletes keys and scrubs the file: with secure_delete the rows
// are overwritten, and the truncating checkpoint leaves no copy in the
// write-ahead log.
func (v *FileVault) destroy(query string, arg int64) error {
	res, err := v.db.Exec(query, arg)
	if err != nil {
		return fmt.Errorf("destroy keys: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("destroy keys: %w", err)
	} else if n == 0 {
		return nil
	}
	if _, err := v.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("scrub key file: %w", err)
	}
	return nil
}

// ClientIDs lists the clients with a key.
func (v *FileVault) ClientIDs() ([]int64, error) {
	rows, err := v.db.Query("SELECT id FROM keys WHERE kind = 'client'")
	if err != nil {
		return nil, fmt.Errorf("list client keys: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list client keys: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Count reports how many keys the file holds.
func (v *FileVault) Count() (int, error) {
	var n int
	if err := v.db.QueryRow("SELECT COUNT(*) FROM keys WHERE kind != 'check'").Scan(&n); err != nil {
		return 0, fmt.Errorf("count keys: %w", err)
	}
	return n, nil
}
