package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/pkg/retention"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/sealkeys"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// Sweep deletes expired messages and sessions, ends idle sessions,
// destroys the keys of ended slices and rotates the key-encryption key.
// Every replica calls it on its own timer; one at a time does the work,
// the one that holds the sweep lock (a session-level advisory lock: a
// replica that dies mid-sweep loses it with its connection, and the next
// sweep, on any replica, carries on where it stopped, as every step is a
// transaction that can be repeated). The others only forget the keys the
// sweeping replica destroys.
func (db *DB) Sweep(ctx context.Context) (store.SweepResult, error) {
	now := db.clock()
	db.ring.ForgetSlicesEndedBy(now)
	db.vault.kek.Refresh()
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return store.SweepResult{}, fmt.Errorf("sweep: %w", err)
	}
	var mine bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", lockNamespace, lockSweep).Scan(&mine); err != nil {
		conn.Release()
		return store.SweepResult{}, fmt.Errorf("sweep: take the lock: %w", err)
	}
	if !mine {
		conn.Release()
		return store.SweepResult{}, nil // another replica sweeps
	}
	defer func() {
		if _, err := conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1, $2)", lockNamespace, lockSweep); err != nil {
			// A pooled connection must not keep the lock: closed, it lets go.
			conn.Conn().Close(context.Background())
		}
		conn.Release()
	}()
	return db.sweep(ctx, now)
}

func (db *DB) sweep(ctx context.Context, at time.Time) (store.SweepResult, error) {
	var res store.SweepResult
	now := ms(at)
	// Files first: each expires no later than its message.
	var err error
	if res.Attachments, err = db.sweepAttachments(ctx, at); err != nil {
		return res, err
	}
	for {
		start := time.Now()
		n, convs, err := db.sweepBatch(ctx, now)
		if err != nil {
			return res, err
		}
		res.Messages += n
		res.Conversations += convs
		if n < db.sweepBatchSize {
			break
		}
		// Leave the writers to others for as long again.
		select {
		case <-time.After(time.Since(start)):
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	// Several counselors (issue 13): lapsed nomination switches, overdue
	// nominations, conversations nobody took in time.
	if res.NominationsLapsed, res.NominationsReturned, err = db.sweepNominations(ctx); err != nil {
		return res, err
	}
	if res.Unanswered, err = db.sweepUnanswered(ctx); err != nil {
		return res, err
	}
	if res.AutoDeleted, err = db.sweepAutoDelete(ctx); err != nil {
		return res, err
	}
	err = db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		var changes []store.Change
		if _, err := tx.Exec("DELETE FROM ended_sessions WHERE ended_at <= ?", now-endedKept.Milliseconds()); err != nil {
			return nil, fmt.Errorf("forget old ended sessions: %w", err)
		}
		ended, err := endSessions(tx, fromMS(now), "expired", `(s.expires_at <= ?
			OR s.account_id IN (SELECT id FROM accounts WHERE access_until IS NOT NULL AND access_until <= ?)
			OR s.account_id IN (SELECT a.id FROM accounts a JOIN client_groups g ON g.id = a.group_id
				WHERE g.access_until IS NOT NULL AND g.access_until <= ?))`, now, now, now)
		if err != nil {
			return nil, err
		}
		res.Sessions = len(ended)
		tag, err := tx.Exec(`DELETE FROM audit_log WHERE at <= ?1 - 86400000 * (SELECT
			COALESCE(NULLIF((settings->>'audit_retention_days')::bigint, 0), ?2) FROM orgs WHERE orgs.id = audit_log.org_id)`,
			now, protocol.DefaultAuditRetentionDays)
		if err != nil {
			return nil, fmt.Errorf("delete old audit entries: %w", err)
		}
		res.AuditEntries = int(tag.RowsAffected())
		// Announcements past their expiry (issue 16).
		antag, err := tx.Exec("DELETE FROM announcements WHERE expires_at <= ?", now)
		if err != nil {
			return nil, fmt.Errorf("delete expired announcements: %w", err)
		}
		res.Announcements = int(antag.RowsAffected())
		if _, err := tx.Exec("DELETE FROM idempotency WHERE created_at <= ?", now-store.IdempotencyKept.Milliseconds()); err != nil {
			return nil, fmt.Errorf("forget old idempotency keys: %w", err)
		}
		if _, err := tx.Exec("DELETE FROM usage_events WHERE week < ?", fromMS(now).Add(-rules.UsageKept).UTC().Format("2006-01-02")); err != nil {
			return nil, fmt.Errorf("forget old usage events: %w", err)
		}
		if len(ended) > 0 {
			changes = append(changes, store.Change{Kind: store.ChangeRevoked, SessionIDs: ended, Reason: "expired"})
		}
		if db.idle.Staff > 0 || db.idle.Shared > 0 {
			idle, err := endIdle(tx, fromMS(now), db.idle)
			if err != nil {
				return nil, err
			}
			res.Sessions += len(idle)
			if len(idle) > 0 {
				changes = append(changes, store.Change{Kind: store.ChangeRevoked, SessionIDs: idle, Reason: "idle"})
			}
		}
		return changes, nil
	})
	if err != nil {
		return res, err
	}
	// Every message of a slice that has ended is deleted by now: its key
	// goes, and with it what any copy of the database still holds (once
	// the epoch it was wrapped under is destroyed, below).
	if err := db.ring.DestroySlicesEndedBy(at); err != nil {
		return res, fmt.Errorf("destroy ended slice keys: %w", err)
	}
	if n, err := db.vault.rotate(ctx, at, db.rotation); err != nil {
		return res, fmt.Errorf("rotate key-encryption keys: %w", err)
	} else if n > 0 {
		db.log.Info("key-encryption keys destroyed", "count", n)
	}
	if err := db.prepareSlices(ctx); err != nil {
		return res, err
	}
	if _, err := db.pool.Exec(ctx, "DELETE FROM changes WHERE at < $1", now-db.feedKept.Milliseconds()); err != nil {
		return res, fmt.Errorf("prune the change feed: %w", err)
	}
	if _, err := db.pool.Exec(ctx, "DELETE FROM login_failures WHERE at < $1", now-loginFailuresKept.Milliseconds()); err != nil {
		return res, fmt.Errorf("forget old failed sign-ins: %w", err)
	}
	return res, nil
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
		slice, sealed := sql.NullInt64{}, []byte(nil)
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
			slice, sealed = sql.NullInt64{Int64: s, Valid: true}, blob
		}
		if _, err := tx.Exec("UPDATE messages SET expires_at = ?, slice = ?, sealed = ? WHERE id = ?", ms(exp), slice, sealed, r.id); err != nil {
			return fmt.Errorf("shorten message %d: %w", r.id, err)
		}
	}
	// Files are deleted on the shorter schedule too (sealed under their
	// first slice's key: see the SQLite store).
	if _, err := tx.Exec("UPDATE attachments SET expires_at = LEAST(expires_at, created_at + ?) WHERE org_id = ?", period.Milliseconds(), orgID); err != nil {
		return fmt.Errorf("shorten attachments: %w", err)
	}
	return nil
}

// prepareSlices makes the keys of the slices that messages sent in the
// next minutes will expire in, for each retention period in use, so that
// no send waits for a key's own commit.
func (db *DB) prepareSlices(ctx context.Context) error {
	rows, err := db.pool.Query(ctx, "SELECT DISTINCT (settings->>'retention_seconds')::bigint FROM orgs")
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
		for _, ahead := range []time.Duration{0, sealkeys.SliceLength} {
			if err := db.ring.EnsureSlice(now.Add(time.Duration(p)*time.Second + ahead)); err != nil {
				return fmt.Errorf("prepare slice key: %w", err)
			}
		}
	}
	return nil
}
