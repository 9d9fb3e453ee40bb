package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"github.com/jackc/pgx/v5"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// record appends one entry to an organisation's audit log inside the
// transaction of the action it records: the action and its record commit
// together or not at all. A zero principal is the operator.
func record(tx *wtx, now time.Time, p store.Principal, orgID int64, action protocol.AuditAction, targetID int64, targetRole protocol.Role, detail string) error {
	var actorID, target any
	role := protocol.ActorOperator
	switch {
	case p.KeyID != 0:
		// An API key (issue 16): named by its name, which admins chose.
		if targetID != 0 {
			target = targetID
		}
		_, err := tx.Exec(`INSERT INTO audit_log(org_id, at, actor_id, actor_role, actor_name, action, target_id, target_role, detail)
			VALUES (?1, ?2, NULL, ?3, COALESCE((SELECT name FROM api_keys WHERE id = ?4), ''), ?5, ?6, ?7, ?8)`,
			orgID, ms(now), protocol.ActorAPIKey, p.KeyID, action, target, targetRole, detail)
		if err != nil {
			return fmt.Errorf("record %s in the audit log: %w", action, err)
		}
		return nil
	case p.Role == protocol.RoleSystem:
		role = string(protocol.RoleSystem) // the sweep's automatic deletion
	case p.Role == protocol.RoleClient:
		// A client's own act (risk first: their words raised the
		// conversation) names no client: the target says whose.
		role = string(protocol.RoleClient)
	case p != (store.Principal{}):
		actorID, role = p.AccountID, string(p.Role)
	}
	if targetID != 0 {
		target = targetID
	}
	_, err := tx.Exec(`INSERT INTO audit_log(org_id, at, actor_id, actor_role, actor_name, action, target_id, target_role, detail)
		VALUES (?1, ?2, ?3, ?4, COALESCE((SELECT nickname FROM accounts WHERE id = ?3), ''), ?5, ?6, ?7, ?8)`,
		orgID, ms(now), actorID, role, action, target, targetRole, detail)
	if err != nil {
		return fmt.Errorf("record %s in the audit log: %w", action, err)
	}
	return nil
}

// AuditLog pages backwards through the admin's organisation's log.
func (db *DB) AuditLog(ctx context.Context, p store.Principal, before int64, limit int) (protocol.AuditPage, error) {
	if p.Role != protocol.RoleAdmin {
		return protocol.AuditPage{}, protocol.Errorf(protocol.CodeForbidden, "only admins read the audit log")
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := db.read(ctx).Query(`SELECT id, at, actor_id, actor_role, actor_name, action, target_id, target_role, detail
		FROM audit_log WHERE org_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, p.OrgID, before, limit+1)
	if err != nil {
		return protocol.AuditPage{}, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	page := protocol.AuditPage{Entries: []protocol.AuditEntry{}}
	for rows.Next() {
		var (
			e             protocol.AuditEntry
			at            int64
			actor, target sql.NullInt64
		)
		if err := rows.Scan(&e.ID, &at, &actor, &e.ActorRole, &e.ActorName, &e.Action, &target, &e.TargetRole, &e.Detail); err != nil {
			return protocol.AuditPage{}, fmt.Errorf("read audit log: %w", err)
		}
		e.At = fromMS(at)
		if actor.Valid {
			e.ActorID = &actor.Int64
		}
		if target.Valid {
			e.TargetID = &target.Int64
		}
		page.Entries = append(page.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return protocol.AuditPage{}, fmt.Errorf("read audit log: %w", err)
	}
	if len(page.Entries) > limit {
		page.Entries, page.More = page.Entries[:limit], true
	}
	return page, nil
}

// Supervise is an admin's read-only look into a conversation: it records
// the look, then returns the page of history asked for.
func (db *DB) Supervise(ctx context.Context, p store.Principal, conversationID, before int64, limit int) (protocol.MessagePage, error) {
	if p.Role != protocol.RoleAdmin {
		return protocol.MessagePage{}, protocol.Errorf(protocol.CodeForbidden, "only admins supervise conversations")
	}
	err := db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		var clientID int64
		err := tx.QueryRow("SELECT client_id FROM conversations WHERE id = ? AND org_id = ?", conversationID, p.OrgID).Scan(&clientID)
		if err == pgx.ErrNoRows {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no such conversation")
		}
		if err != nil {
			return nil, fmt.Errorf("find conversation: %w", err)
		}
		return nil, record(tx, db.clock(), p, p.OrgID, protocol.AuditSupervisorView, clientID, protocol.RoleClient, "")
	})
	if err != nil {
		return protocol.MessagePage{}, err
	}
	return db.History(ctx, p, conversationID, before, limit)
}
