package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// The provisioning API's keys and Idempotency-Keys (issue 16).

const apiKeyCols = "id, org_id, name, group_ids, created_at, revoked_at"

func scanAPIKey(sc interface{ Scan(...any) error }) (protocol.APIKey, int64, error) {
	var (
		k       protocol.APIKey
		orgID   int64
		groups  string
		created int64
		revoked sql.NullInt64
	)
	if err := sc.Scan(&k.ID, &orgID, &k.Name, &groups, &created, &revoked); err != nil {
		return k, 0, err
	}
	k.CreatedAt, k.RevokedAt = fromMS(created), fromNullMS(revoked)
	return k, orgID, json.Unmarshal([]byte(groups), &k.GroupIDs)
}

// CreateAPIKey records a key by its hash.
func (db *DB) CreateAPIKey(ctx context.Context, p store.Principal, req protocol.APIKeyRequest, tokenHash []byte) (protocol.APIKey, error) {
	var out protocol.APIKey
	err := db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		all, err := groupIDs(ctx, tx, p.OrgID)
		if err != nil {
			return nil, err
		}
		if req, err = rules.NewAPIKey(p, req, all); err != nil {
			return nil, err
		}
		now := db.clock()
		groups, _ := json.Marshal(req.GroupIDs)
		out = protocol.APIKey{Name: req.Name, GroupIDs: req.GroupIDs, CreatedAt: now}
		if err := tx.QueryRow("INSERT INTO api_keys(org_id, name, group_ids, token_hash, created_at) VALUES (?,?,?,?,?) RETURNING id",
			p.OrgID, req.Name, string(groups), tokenHash, ms(now)).Scan(&out.ID); err != nil {
			return nil, fmt.Errorf("insert API key: %w", err)
		}
		return nil, record(tx, now, p, p.OrgID, protocol.AuditAPIKeyCreated, out.ID, protocol.TargetAPIKey, "")
	})
	return out, err
}

// APIKeys lists the organisation's keys.
func (db *DB) APIKeys(ctx context.Context, p store.Principal) ([]protocol.APIKey, error) {
	if p.Role != protocol.RoleAdmin {
		return nil, protocol.Errorf(protocol.CodeForbidden, "only admins see API keys")
	}
	rows, err := db.read.QueryContext(ctx, "SELECT "+apiKeyCols+" FROM api_keys WHERE org_id = ? ORDER BY id", p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	defer rows.Close()
	out := []protocol.APIKey{}
	for rows.Next() {
		k, _, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list API keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey ends a key.
func (db *DB) RevokeAPIKey(ctx context.Context, p store.Principal, id int64) error {
	if p.Role != protocol.RoleAdmin {
		return protocol.Errorf(protocol.CodeForbidden, "only admins revoke API keys")
	}
	return db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		now := db.clock()
		res, err := tx.Exec("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND org_id = ? AND revoked_at IS NULL", ms(now), id, p.OrgID)
		if err != nil {
			return nil, fmt.Errorf("revoke API key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no such API key")
		}
		return nil, record(tx, now, p, p.OrgID, protocol.AuditAPIKeyRevoked, id, protocol.TargetAPIKey, "")
	})
}

// APIKeyByToken finds a live key.
func (db *DB) APIKeyByToken(ctx context.Context, tokenHash []byte) (store.Principal, protocol.APIKey, error) {
	k, orgID, err := scanAPIKey(db.read.QueryRowContext(ctx, "SELECT "+apiKeyCols+" FROM api_keys WHERE token_hash = ? AND revoked_at IS NULL", tokenHash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Principal{}, k, protocol.Errorf(protocol.CodeUnauthorized, "unknown or revoked API key")
	}
	if err != nil {
		return store.Principal{}, k, fmt.Errorf("load API key: %w", err)
	}
	return store.Principal{OrgID: orgID, Role: protocol.RoleRegistrar, KeyID: k.ID}, k, nil
}

// Idempotent returns a key's record of an Idempotency-Key.
func (db *DB) Idempotent(ctx context.Context, keyID int64, key string) (*store.Idempotency, error) {
	var (
		r       = store.Idempotency{KeyID: keyID, Key: key}
		created int64
	)
	err := db.read.QueryRowContext(ctx, "SELECT request_hash, account_id, group_id, sealed, created_at FROM idempotency WHERE key_id = ? AND idem_key = ?",
		keyID, key).Scan(&r.RequestHash, &r.AccountID, &r.GroupID, &r.Sealed, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load idempotency key: %w", err)
	}
	r.CreatedAt = fromMS(created)
	return &r, nil
}

// keyGroups is an API key's groups.
func keyGroups(ctx context.Context, q rowsQuerier, keyID int64) ([]int64, error) {
	var raw string
	if err := q.QueryRowContext(ctx, "SELECT group_ids FROM api_keys WHERE id = ? AND revoked_at IS NULL", keyID).Scan(&raw); err != nil {
		return nil, fmt.Errorf("load the API key's groups: %w", err)
	}
	var out []int64
	return out, json.Unmarshal([]byte(raw), &out)
}

// recordIdempotency files an Idempotency-Key with the client it made, in
// the creating transaction; a key already filed (a retry, or a twin that
// committed first) creates nothing.
func recordIdempotency(tx *wtx, in *store.NewIdempotency, accountID, groupID int64, loginID string, now int64) error {
	_, err := tx.Exec("INSERT INTO idempotency(key_id, idem_key, request_hash, account_id, group_id, sealed, created_at) VALUES (?,?,?,?,?,?,?)",
		in.KeyID, in.Key, in.RequestHash, accountID, groupID, in.Seal(loginID), now)
	if isUniqueViolation(err) {
		return store.ErrIdempotencyKeyUsed
	}
	if err != nil {
		return fmt.Errorf("record idempotency key: %w", err)
	}
	return nil
}

// sweepAutoDelete deletes the clients whose access ended longer ago than
// their organisation's delete_after_access_days, each as a manual
// deletion is (erasure, receipts), recorded as the system's.
func (db *DB) sweepAutoDelete(ctx context.Context) (int, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT id, settings FROM orgs")
	if err != nil {
		return 0, fmt.Errorf("load organisations: %w", err)
	}
	days := map[int64]int{}
	for rows.Next() {
		var (
			id  int64
			raw []byte
			s   protocol.Settings
		)
		if err := rows.Scan(&id, &raw); err != nil {
			rows.Close()
			return 0, fmt.Errorf("load organisations: %w", err)
		}
		if json.Unmarshal(raw, &s) == nil && s.DeleteAfterAccessDays > 0 {
			days[id] = s.DeleteAfterAccessDays
		}
	}
	rows.Close()
	now := db.clock()
	deleted := 0
	for orgID, d := range days {
		crows, err := db.read.QueryContext(ctx, "SELECT "+accountCols+` FROM accounts WHERE org_id = ? AND role = 'client'
			AND (access_until IS NOT NULL OR group_id IN (SELECT id FROM client_groups WHERE access_until IS NOT NULL))`, orgID)
		if err != nil {
			return deleted, fmt.Errorf("load clients whose access ended: %w", err)
		}
		var due []int64
		for crows.Next() {
			a, err := scanAccount(crows)
			if err != nil {
				crows.Close()
				return deleted, fmt.Errorf("load clients whose access ended: %w", err)
			}
			if rules.AutoDeleteDue(a.Account, d, now) {
				due = append(due, a.ID)
			}
		}
		crows.Close()
		for _, id := range due {
			err := db.DeleteAccount(ctx, store.Principal{OrgID: orgID, Role: protocol.RoleSystem}, id)
			if protocol.AsError(err).Code == protocol.CodeNotFound {
				continue // deleted meanwhile
			}
			if err != nil {
				return deleted, err
			}
			deleted++
		}
	}
	return deleted, nil
}
