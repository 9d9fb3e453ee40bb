package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

func totpLabel(accountID int64) string { return fmt.Sprintf("totp %d", accountID) }

// TOTP returns an account's active second-factor secret ("" when off)
// and the last time step used with it.
func (db *DB) TOTP(ctx context.Context, accountID int64) (string, int64, error) {
	var (
		wrapped []byte
		step    sql.NullInt64
	)
	err := db.read(ctx).QueryRow("SELECT totp, totp_step FROM accounts WHERE id = ?", accountID).Scan(&wrapped, &step)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", 0, protocol.Errorf(protocol.CodeNotFound, "no such account")
	}
	if err != nil {
		return "", 0, fmt.Errorf("read totp: %w", err)
	}
	if wrapped == nil {
		return "", 0, nil
	}
	secret, err := db.ring.UnwrapSecret(totpLabel(accountID), wrapped)
	if err != nil {
		return "", 0, err
	}
	return string(secret), step.Int64, nil
}

// SetPendingTOTP stores a secret the staff member is enrolling; it takes
// effect with ActivateTOTP.
func (db *DB) SetPendingTOTP(ctx context.Context, p store.Principal, secret string) error {
	if !p.IsStaff() {
		return protocol.Errorf(protocol.CodeForbidden, "a second factor is for staff")
	}
	return db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		if _, err := tx.Exec("UPDATE accounts SET totp_pending = ? WHERE id = ?", db.ring.WrapSecret(totpLabel(p.AccountID), []byte(secret)), p.AccountID); err != nil {
			return nil, fmt.Errorf("store pending totp: %w", err)
		}
		return nil, nil
	})
}

// PendingTOTP returns the secret being enrolled ("" if none).
func (db *DB) PendingTOTP(ctx context.Context, accountID int64) (string, error) {
	var wrapped []byte
	if err := db.read(ctx).QueryRow("SELECT totp_pending FROM accounts WHERE id = ?", accountID).Scan(&wrapped); err != nil {
		return "", fmt.Errorf("read pending totp: %w", err)
	}
	if wrapped == nil {
		return "", nil
	}
	b, err := db.ring.UnwrapSecret(totpLabel(accountID), wrapped)
	return string(b), err
}

// ActivateTOTP makes the pending secret the account's second factor,
// with step as the last step used (the confirming code).
func (db *DB) ActivateTOTP(ctx context.Context, p store.Principal, step int64) error {
	return db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		res, err := tx.Exec("UPDATE accounts SET totp = totp_pending, totp_pending = NULL, totp_step = ? WHERE id = ? AND totp_pending IS NOT NULL", step, p.AccountID)
		if err != nil {
			return nil, fmt.Errorf("activate totp: %w", err)
		}
		if res.RowsAffected() == 0 {
			return nil, protocol.Errorf(protocol.CodeConflict, "no second factor is being set up")
		}
		return nil, record(tx, db.clock(), p, p.OrgID, protocol.AuditTOTPChanged, p.AccountID, p.Role, "on")
	})
}

// DisableTOTP removes an account's second factor: the staff member's own
// (detail "off") or, by an admin, someone's who lost their phone ("reset").
func (db *DB) DisableTOTP(ctx context.Context, p store.Principal, accountID int64) error {
	if accountID != p.AccountID && p.Role != protocol.RoleAdmin {
		return protocol.Errorf(protocol.CodeForbidden, "only admins reset someone else's second factor")
	}
	return db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		var role protocol.Role
		err := tx.QueryRow("SELECT role FROM accounts WHERE id = ? AND org_id = ?", accountID, p.OrgID).Scan(&role)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && !role.IsStaff() {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no such staff member")
		}
		if err != nil {
			return nil, fmt.Errorf("find account: %w", err)
		}
		if _, err := tx.Exec("UPDATE accounts SET totp = NULL, totp_pending = NULL, totp_step = NULL WHERE id = ?", accountID); err != nil {
			return nil, fmt.Errorf("disable totp: %w", err)
		}
		detail := "off"
		if accountID != p.AccountID {
			detail = "reset"
		}
		return nil, record(tx, db.clock(), p, p.OrgID, protocol.AuditTOTPChanged, accountID, role, detail)
	})
}

// UseTOTPStep records a used time step; a step at or below the last one
// is a replayed code and refused.
func (db *DB) UseTOTPStep(ctx context.Context, accountID, step int64) error {
	return db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		res, err := tx.Exec("UPDATE accounts SET totp_step = ? WHERE id = ? AND COALESCE(totp_step, 0) < ?", step, accountID, step)
		if err != nil {
			return nil, fmt.Errorf("use totp step: %w", err)
		}
		if res.RowsAffected() == 0 {
			return nil, protocol.Errorf(protocol.CodeBadCredentials, "this code was already used; wait for the next one")
		}
		return nil, nil
	})
}
