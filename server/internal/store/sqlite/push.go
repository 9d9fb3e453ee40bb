package sqlite

import (
	"context"
	"fmt"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// SetPushToken records a device token for the principal's session.
func (db *DB) SetPushToken(ctx context.Context, p store.Principal, sessionID int64, token string) error {
	return db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		res, err := tx.Exec(`INSERT INTO push_tokens(token, session_id, account_id, created_at)
			SELECT ?1, id, account_id, ?2 FROM sessions WHERE id = ?3 AND account_id = ?4
			ON CONFLICT(token) DO UPDATE SET session_id = excluded.session_id,
				account_id = excluded.account_id, created_at = excluded.created_at`,
			token, ms(db.clock()), sessionID, p.AccountID)
		if err != nil {
			return nil, fmt.Errorf("store push token: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, fmt.Errorf("store push token: %w", err)
		} else if n == 0 {
			return nil, protocol.Errorf(protocol.CodeUnauthorized, "session has ended")
		}
		return nil, nil
	})
}

// DeletePushToken forgets one of the principal's tokens.
func (db *DB) DeletePushToken(ctx context.Context, p store.Principal, token string) error {
	return db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		if _, err := tx.Exec("DELETE FROM push_tokens WHERE token = ? AND account_id = ?", token, p.AccountID); err != nil {
			return nil, fmt.Errorf("delete push token: %w", err)
		}
		return nil, nil
	})
}

// PushTokens lists an account's tokens.
func (db *DB) PushTokens(ctx context.Context, accountID int64) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT token FROM push_tokens WHERE account_id = ? ORDER BY created_at", accountID)
	if err != nil {
		return nil, fmt.Errorf("list push tokens: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("list push tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DropPushToken forgets a token that no longer reaches a device.
func (db *DB) DropPushToken(ctx context.Context, token string) error {
	return db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		if _, err := tx.Exec("DELETE FROM push_tokens WHERE token = ?", token); err != nil {
			return nil, fmt.Errorf("drop push token: %w", err)
		}
		return nil, nil
	})
}
