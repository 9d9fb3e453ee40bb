package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/retention"
	"github.com/taiwa-chat/taiwa/server/internal/sealkeys"
)

// upgradeOnce runs a one-time upgrade of stored data unless the upgrades
// table says it is done, and records it when it is: start-up work must
// not grow with the number of stored messages. An upgrade interrupted
// halfway runs again at the next start (each must be safe to repeat).
func upgradeOnce(db *sql.DB, name string, now time.Time, upgrade func() error) error {
	var done int
	if err := db.QueryRow("SELECT COUNT(*) FROM upgrades WHERE name = ?", name).Scan(&done); err != nil {
		return fmt.Errorf("read upgrades: %w", err)
	}
	if done > 0 {
		return nil
	}
	if err := upgrade(); err != nil {
		return err
	}
	if _, err := db.Exec("INSERT INTO upgrades(name, done_at) VALUES (?, ?)", name, ms(now)); err != nil {
		return fmt.Errorf("record upgrade %s: %w", name, err)
	}
	return nil
}

// sealLegacy seals the bodies stored in the clear by versions before
// sealing (schema 5 and older), in batches, then scrubs the files so that
// no clear copy stays in a free page or the log.
func sealLegacy(db *sql.DB, ring *sealkeys.Ring) error {
	sealed := 0
	for {
		n, err := sealBatch(db, ring, 500)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		sealed += n
	}
	if sealed > 0 {
		if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return fmt.Errorf("scrub after sealing: %w", err)
		}
	}
	return nil
}

func sealBatch(db *sql.DB, ring *sealkeys.Ring, limit int) (int, error) {
	tx, err := db.Begin()
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.Query(`SELECT m.id, m.conversation_id, m.seq, c.client_id, m.body, m.expires_at
		FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.sealed IS NULL AND m.body != '' LIMIT ?`, limit)
	if err != nil {
		return 0, fmt.Errorf("find clear bodies: %w", err)
	}
	type row struct {
		id, conv, seq, client, expires int64
		body                           string
	}
	var todo []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.conv, &r.seq, &r.client, &r.body, &r.expires); err != nil {
			rows.Close()
			return 0, fmt.Errorf("find clear bodies: %w", err)
		}
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("find clear bodies: %w", err)
	}
	for _, r := range todo {
		slice, blob, err := ring.Seal(r.client, fromMS(r.expires), []byte(r.body), bodyAAD(r.conv, r.seq))
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec("UPDATE messages SET body = '', slice = ?, sealed = ? WHERE id = ?", slice, blob, r.id); err != nil {
			return 0, fmt.Errorf("seal body: %w", err)
		}
	}
	return len(todo), tx.Commit()
}

// dropOrphanKeys destroys the keys of clients that no longer exist: a
// deletion that stopped between the database's commit and the key's
// destruction is finished here.
func dropOrphanKeys(db *sql.DB, ring *sealkeys.Ring) error {
	rows, err := db.Query("SELECT id FROM accounts WHERE role = 'client'")
	if err != nil {
		return fmt.Errorf("list clients: %w", err)
	}
	keep := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("list clients: %w", err)
		}
		keep[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list clients: %w", err)
	}
	return ring.DestroyClientsExcept(keep)
}

// shortenSealed applies a shorter retention period to an organisation's
// stored messages (retention.Shorten): a message whose expiry moves
// earlier moves to an earlier slice, so its body is sealed again under
// that slice's key.
func (db *DB) shortenSealed(tx *wtx, orgID int64, period time.Duration) error {
	rows, err := tx.Query(`SELECT m.id, m.conversation_id, m.seq, c.client_id, m.created_at, m.expires_at, m.slice, m.sealed
		FROM messages m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.org_id = ? AND m.expires_at > m.created_at + ?`, orgID, period.Milliseconds())
	if err != nil {
		return fmt.Errorf("find messages to shorten: %w", err)
	}
	type row struct {
		id, conv, seq, client, created, expires int64
		slice                                   sql.NullInt64
		sealed                                  []byte
	}
	var todo []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.conv, &r.seq, &r.client, &r.created, &r.expires, &r.slice, &r.sealed); err != nil {
			rows.Close()
			return fmt.Errorf("find messages to shorten: %w", err)
		}
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find messages to shorten: %w", err)
	}
	for _, r := range todo {
		exp := retention.Shorten(fromMS(r.created), fromMS(r.expires), period)
		slice, sealed := any(nil), []byte(nil)
		if r.sealed != nil {
			aad := bodyAAD(r.conv, r.seq)
			body, err := db.ring.Open(r.client, r.slice.Int64, r.sealed, aad)
			if err != nil {
				return fmt.Errorf("reseal message %d: %w", r.id, err)
			}
			s, blob, err := db.ring.Seal(r.client, exp, body, aad)
			if err != nil {
				return fmt.Errorf("reseal message %d: %w", r.id, err)
			}
			slice, sealed = s, blob
		}
		if _, err := tx.Exec("UPDATE messages SET expires_at = ?, slice = ?, sealed = ? WHERE id = ?", ms(exp), slice, sealed, r.id); err != nil {
			return fmt.Errorf("shorten message %d: %w", r.id, err)
		}
	}
	// Files are deleted on the shorter schedule too. They stay sealed
	// under their first slice's key (resealing a large file inside this
	// transaction would hold up every write): the sweep deletes them on
	// time, and the old key goes at its own slice's end.
	if _, err := tx.Exec("UPDATE attachments SET expires_at = MIN(expires_at, created_at + ?) WHERE org_id = ?", period.Milliseconds(), orgID); err != nil {
		return fmt.Errorf("shorten attachments: %w", err)
	}
	return nil
}

// prepareSlices makes the keys of the slices that messages sent in the
// next minutes will expire in, for each retention period in use: a new
// key costs a durable write, which would otherwise hold up the sends of
// the first batch of each hour.
func (db *DB) prepareSlices(ctx context.Context) error {
	rows, err := db.read.QueryContext(ctx, "SELECT DISTINCT json_extract(settings, '$.retention_seconds') FROM orgs")
	if err != nil {
		return fmt.Errorf("list retention periods: %w", err)
	}
	var periods []int64
	for rows.Next() {
		var p sql.NullInt64
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return fmt.Errorf("list retention periods: %w", err)
		}
		if p.Valid && p.Int64 > 0 {
			periods = append(periods, p.Int64)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list retention periods: %w", err)
	}
	now := db.clock()
	for _, p := range periods {
		// This slice and the next: the sweeper runs well within an hour.
		for _, ahead := range []time.Duration{0, sealkeys.SliceLength} {
			if err := db.ring.EnsureSlice(now.Add(time.Duration(p)*time.Second + ahead)); err != nil {
				return fmt.Errorf("prepare slice key: %w", err)
			}
		}
	}
	return nil
}

// hashLegacyRefs replaces the idempotency refs that older versions stored
// in the clear with their keyed hashes.
func hashLegacyRefs(db *sql.DB, ring *sealkeys.Ring) error {
	tx, err := db.Begin()
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	rows, err := tx.Query("SELECT id, sender_id, ref FROM messages WHERE typeof(ref) = 'text'")
	if err != nil {
		return fmt.Errorf("find refs: %w", err)
	}
	type row struct {
		id, sender int64
		ref        string
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.sender, &r.ref); err != nil {
			rows.Close()
			return fmt.Errorf("find refs: %w", err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find refs: %w", err)
	}
	for _, r := range all {
		if _, err := tx.Exec("UPDATE messages SET ref = ? WHERE id = ?", ring.HashRef(r.sender, r.ref), r.id); err != nil {
			return fmt.Errorf("hash ref: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if len(all) > 0 {
		// secure_delete scrubbed the old values from the pages; the WAL
		// still holds them until a TRUNCATE checkpoint.
		if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return fmt.Errorf("scrub after hashing refs: %w", err)
		}
	}
	return nil
}
