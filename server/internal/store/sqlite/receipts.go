package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// endedKept is how long an ended session's record waits for its device's
// deletion receipt.
const endedKept = 30 * 24 * time.Hour

// recordEnded keeps a record of the sessions matching where (with args)
// before they are deleted: their devices may still confirm the wipe their
// end asked for.
func recordEnded(tx *wtx, now time.Time, reason, where string, args ...any) error {
	_, err := tx.Exec(`INSERT OR REPLACE INTO ended_sessions(token_hash, session_id, org_id, account_id, device, created_at, ended_at, reason, wiped_at)
		SELECT s.token_hash, s.id, a.org_id, s.account_id, s.device, s.created_at, ?, ?, NULL
		FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE `+shiftParams(where, 2), append([]any{ms(now), reason}, args...)...)
	if err != nil {
		return fmt.Errorf("record ended sessions: %w", err)
	}
	return nil
}

// numbered finds "?N" parameters.
var numbered = regexp.MustCompile(`\?(\d+)`)

// shiftParams renumbers a fragment's "?N" parameters by n, for a query
// that puts n parameters of its own before the fragment's (a plain "?"
// needs none: SQLite numbers it after the largest so far). Without it
// endIdle's ?1 meant the record's "now": every staff session was
// recorded as ended (idle) at each sweep while it lived.
func shiftParams(fragment string, n int) string {
	return numbered.ReplaceAllStringFunc(fragment, func(m string) string {
		v, _ := strconv.Atoi(m[1:])
		return "?" + strconv.Itoa(v+n)
	})
}

// RecordWiped notes a live session's deletion receipt: its device has
// applied every deletion up to at.
func (db *DB) RecordWiped(ctx context.Context, sessionID int64, at time.Time) error {
	if now := db.clock(); at.After(now) {
		at = now // a device cannot confirm the future
	}
	return db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		if _, err := tx.Exec("UPDATE sessions SET wiped_at = MAX(COALESCE(wiped_at, 0), ?) WHERE id = ?", ms(at), sessionID); err != nil {
			return nil, fmt.Errorf("record deletion receipt: %w", err)
		}
		return nil, nil
	})
}

// RecordWipedEnded notes that the device of an ended session (found by
// its token's hash) has wiped what the session's end asked it to.
func (db *DB) RecordWipedEnded(ctx context.Context, tokenHash []byte) error {
	return db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		res, err := tx.Exec("UPDATE ended_sessions SET wiped_at = ? WHERE token_hash = ?", ms(db.clock()), tokenHash)
		if err != nil {
			return nil, fmt.Errorf("record wipe: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, fmt.Errorf("record wipe: %w", err)
		} else if n == 0 {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no ended session for this token")
		}
		return nil, nil
	})
}

// Devices lists an account's signed-in and recently signed-out devices
// with their deletion receipts (admins, own organisation).
func (db *DB) Devices(ctx context.Context, p store.Principal, accountID int64) ([]protocol.Device, error) {
	if p.Role != protocol.RoleAdmin {
		return nil, protocol.Errorf(protocol.CodeForbidden, "only admins see devices")
	}
	var n int
	err := db.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM accounts WHERE id = ? AND org_id = ?", accountID, p.OrgID).Scan(&n)
	if err != nil {
		return nil, fmt.Errorf("find account: %w", err)
	}
	var ended int
	if err := db.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM ended_sessions WHERE account_id = ? AND org_id = ?", accountID, p.OrgID).Scan(&ended); err != nil {
		return nil, fmt.Errorf("find devices: %w", err)
	}
	if n == 0 && ended == 0 {
		return nil, protocol.Errorf(protocol.CodeNotFound, "no such account")
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT s.id, s.device, s.created_at, 1, NULL, '', s.wiped_at FROM sessions s JOIN accounts a ON a.id = s.account_id
			WHERE s.account_id = ?1 AND a.org_id = ?2
		UNION ALL
		SELECT session_id, device, created_at, 0, ended_at, reason, wiped_at FROM ended_sessions WHERE account_id = ?1 AND org_id = ?2
		ORDER BY 3 DESC`, accountID, p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	out := []protocol.Device{}
	for rows.Next() {
		var (
			d              protocol.Device
			created        int64
			endedAt, wiped sql.NullInt64
		)
		if err := rows.Scan(&d.SessionID, &d.Device, &created, &d.Active, &endedAt, &d.EndReason, &wiped); err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		d.SignedInAt = fromMS(created)
		d.EndedAt = fromNullMS(endedAt)
		if wiped.Valid && wiped.Int64 > 0 {
			d.WipedAt = fromNullMS(wiped)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return out, nil
}

// TouchSession records that a person used the session now (a request, a
// message, a read mark): idle staff sessions end after Options.StaffIdle,
// idle shared-device ones after Options.SharedIdle.
func (db *DB) TouchSession(ctx context.Context, sessionID int64) error {
	return db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		now := ms(db.clock())
		if _, err := tx.Exec("UPDATE sessions SET active_at = ? WHERE id = ?", now, sessionID); err != nil {
			return nil, fmt.Errorf("touch session: %w", err)
		}
		if _, err := tx.Exec("UPDATE accounts SET seen_at = ? WHERE id = (SELECT account_id FROM sessions WHERE id = ?)", now, sessionID); err != nil {
			return nil, fmt.Errorf("touch session: %w", err)
		}
		return nil, nil
	})
}

// endIdle ends the sessions unused for longer than their idle limit
// (rules.Idle.Limit, in SQL; a zero limit ends none).
func endIdle(tx *wtx, now time.Time, idle rules.Idle) ([]int64, error) {
	never := int64(math.MinInt64)
	staffBefore, sharedBefore := never, never
	if idle.Staff > 0 {
		staffBefore = ms(now.Add(-idle.Staff))
	}
	if idle.Shared > 0 {
		sharedBefore = ms(now.Add(-idle.Shared))
	}
	return endSessions(tx, now, "idle", `COALESCE(s.active_at, s.created_at) <= CASE
		WHEN s.shared THEN ?2
		WHEN s.account_id IN (SELECT id FROM accounts WHERE role != 'client') THEN ?1
		ELSE ?3 END`, staffBefore, sharedBefore, never)
}

// endSessions ends the sessions matching where (on sessions AS s, with
// args), keeping a record of each for its device's wipe receipt, and
// returns their IDs for the revocation to publish.
func endSessions(tx *wtx, now time.Time, reason, where string, args ...any) ([]int64, error) {
	if err := recordEnded(tx, now, reason, where, args...); err != nil {
		return nil, err
	}
	rows, err := tx.Query("DELETE FROM sessions AS s WHERE "+where+" RETURNING id", args...)
	if err != nil {
		return nil, fmt.Errorf("end sessions (%s): %w", reason, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("end sessions (%s): %w", reason, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("end sessions (%s): %w", reason, err)
	}
	return ids, nil
}
