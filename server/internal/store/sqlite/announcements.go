package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// Announcements (お知らせ, issue 16).

const announcementCols = "id, body, group_ids, starts_at, ends_at, expires_at, created_at"

func scanAnnouncement(sc interface{ Scan(...any) error }) (protocol.Announcement, error) {
	var (
		a                protocol.Announcement
		groups           string
		starts, ends     sql.NullInt64
		expires, created int64
	)
	if err := sc.Scan(&a.ID, &a.Body, &groups, &starts, &ends, &expires, &created); err != nil {
		return a, err
	}
	a.StartsAt, a.EndsAt, a.ExpiresAt, a.CreatedAt = fromNullMS(starts), fromNullMS(ends), fromMS(expires), fromMS(created)
	return a, json.Unmarshal([]byte(groups), &a.GroupIDs)
}

// CreateAnnouncement stores an announcement and tells its clients.
func (db *DB) CreateAnnouncement(ctx context.Context, p store.Principal, req protocol.AnnouncementRequest) (protocol.Announcement, error) {
	var out protocol.Announcement
	err := db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		orgGroups, err := groupIDs(ctx, tx, p.OrgID)
		if err != nil {
			return nil, err
		}
		settings, err := loadSettings(ctx, tx, p.OrgID)
		if err != nil {
			return nil, err
		}
		now := db.clock()
		a, err := rules.NewAnnouncement(p, req, orgGroups, settings, now)
		if err != nil {
			return nil, err
		}
		groups, _ := json.Marshal(append([]int64{}, a.GroupIDs...))
		if err := tx.QueryRow("INSERT INTO announcements(org_id, body, group_ids, starts_at, ends_at, expires_at, created_at) VALUES (?,?,?,?,?,?,?) RETURNING id",
			p.OrgID, a.Body, string(groups), nullMS(a.StartsAt), nullMS(a.EndsAt), ms(a.ExpiresAt), ms(now)).Scan(&a.ID); err != nil {
			return nil, fmt.Errorf("insert announcement: %w", err)
		}
		if err := record(tx, now, p, p.OrgID, protocol.AuditAnnouncementSent, a.ID, protocol.TargetAnnouncement,
			rules.AnnouncementAudit(a)); err != nil {
			return nil, err
		}
		out = a
		if a.StartsAt != nil && now.Before(*a.StartsAt) {
			return nil, nil // its clients see it when they next open the app
		}
		clients, err := announcementClients(ctx, tx, p.OrgID, a.GroupIDs)
		if err != nil || len(clients) == 0 {
			return nil, err
		}
		return []store.Change{{Kind: store.ChangeNews, OrgID: p.OrgID, ClientIDs: clients}}, nil
	})
	return out, err
}

// groupIDs lists an organisation's groups.
func groupIDs(ctx context.Context, q rowsQuerier, orgID int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, "SELECT id FROM client_groups WHERE org_id = ?", orgID)
	if err != nil {
		return nil, fmt.Errorf("load groups: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("load groups: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// announcementClients lists the clients of the groups (none: all).
func announcementClients(ctx context.Context, q rowsQuerier, orgID int64, groups []int64) ([]int64, error) {
	query, args := "SELECT id FROM accounts WHERE org_id = ? AND role = 'client'", []any{orgID}
	if len(groups) > 0 {
		query += " AND group_id IN (" + strings.TrimSuffix(strings.Repeat("?,", len(groups)), ",") + ")"
		for _, g := range groups {
			args = append(args, g)
		}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("load the announcement's clients: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("load the announcement's clients: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Announcements lists an organisation's announcements (admins) or those
// a client is shown now.
func (db *DB) Announcements(ctx context.Context, p store.Principal) ([]protocol.Announcement, error) {
	var group int64
	switch p.Role {
	case protocol.RoleAdmin:
	case protocol.RoleClient:
		if err := db.read.QueryRowContext(ctx, "SELECT COALESCE(group_id, 0) FROM accounts WHERE id = ? AND org_id = ?", p.AccountID, p.OrgID).Scan(&group); err != nil {
			return nil, fmt.Errorf("load the client's group: %w", err)
		}
	default:
		return nil, protocol.Errorf(protocol.CodeForbidden, "admins and clients only")
	}
	now := db.clock()
	rows, err := db.read.QueryContext(ctx, "SELECT "+announcementCols+" FROM announcements WHERE org_id = ? AND expires_at > ? ORDER BY id DESC", p.OrgID, ms(now))
	if err != nil {
		return nil, fmt.Errorf("list announcements: %w", err)
	}
	defer rows.Close()
	out := []protocol.Announcement{}
	for rows.Next() {
		a, err := scanAnnouncement(rows)
		if err != nil {
			return nil, fmt.Errorf("list announcements: %w", err)
		}
		if p.Role == protocol.RoleClient {
			if !rules.Shown(a, group, now) {
				continue
			}
			a = rules.AnnouncementForClient(a)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteAnnouncement removes an announcement at once.
func (db *DB) DeleteAnnouncement(ctx context.Context, p store.Principal, id int64) error {
	if p.Role != protocol.RoleAdmin {
		return protocol.Errorf(protocol.CodeForbidden, "only admins delete announcements")
	}
	return db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		res, err := tx.Exec("DELETE FROM announcements WHERE id = ? AND org_id = ?", id, p.OrgID)
		if err != nil {
			return nil, fmt.Errorf("delete announcement: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no such announcement")
		}
		return nil, record(tx, db.clock(), p, p.OrgID, protocol.AuditAnnouncementDeleted, id, protocol.TargetAnnouncement, "")
	})
}
