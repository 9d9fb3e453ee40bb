package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// Client groups and registrars (issue 16).

const groupCols = `g.id, g.org_id, g.name, g.access_until, g.is_default, g.created_at,
	(SELECT COUNT(*) FROM accounts a WHERE a.group_id = g.id)`

func scanGroup(sc interface{ Scan(...any) error }) (protocol.Group, error) {
	var (
		g       protocol.Group
		until   sql.NullInt64
		created int64
	)
	err := sc.Scan(&g.ID, &g.OrgID, &g.Name, &until, &g.Default, &created, &g.Clients)
	g.AccessUntil, g.CreatedAt = fromNullMS(until), fromMS(created)
	return g, err
}

// registrarGroups lists the groups a registrar registers clients of.
func registrarGroups(q querier, accountID int64) ([]int64, error) {
	rows, err := q.Query("SELECT group_id FROM registrar_groups WHERE account_id = ? ORDER BY group_id", accountID)
	if err != nil {
		return nil, fmt.Errorf("load registrar's groups: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("load registrar's groups: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// actorGroups is the scope's actor half: a registrar's groups, nil for
// anyone else.
func actorGroups(q querier, p store.Principal) ([]int64, error) {
	if p.KeyID != 0 {
		return keyGroups(q, p.KeyID)
	}
	if p.Role != protocol.RoleRegistrar {
		return nil, nil
	}
	return registrarGroups(q, p.AccountID)
}

// defaultGroup returns the organisation's default group, making it on
// first need (organisations made before groups got theirs in the
// migration; new ones when they register their first client).
func defaultGroup(tx *wtx, orgID int64, now int64) (int64, error) {
	var id int64
	err := tx.QueryRow("SELECT id FROM client_groups WHERE org_id = ? AND is_default", orgID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		// The default name may have been taken by a group an admin made.
		for i := 1; ; i++ {
			name := store.DefaultGroupName
			if i > 1 {
				name += " " + strconv.Itoa(i)
			}
			err = tx.QueryRow("INSERT INTO client_groups(org_id, name, is_default, created_at) VALUES (?,?,TRUE,?) RETURNING id",
				orgID, name, now).Scan(&id)
			if !isUniqueViolation(err) || i > 20 {
				break
			}
		}
	}
	if err != nil {
		return 0, fmt.Errorf("default group: %w", err)
	}
	return id, nil
}

// orgGroup checks that group id is the organisation's.
func orgGroup(q querier, orgID, id int64) (protocol.Group, error) {
	g, err := scanGroup(q.QueryRow("SELECT "+groupCols+" FROM client_groups g WHERE g.id = ? AND g.org_id = ?", id, orgID))
	if errors.Is(err, pgx.ErrNoRows) {
		return g, protocol.Errorf(protocol.CodeInvalid, "no such group")
	}
	if err != nil {
		return g, fmt.Errorf("load group: %w", err)
	}
	return g, nil
}

// Groups lists the groups p may see.
func (db *DB) Groups(ctx context.Context, p store.Principal) ([]protocol.Group, error) {
	q, args := "SELECT "+groupCols+" FROM client_groups g WHERE g.org_id = ?", []any{p.OrgID}
	switch {
	case p.IsStaff():
	case p.Role == protocol.RoleRegistrar:
		q += " AND g.id IN (SELECT group_id FROM registrar_groups WHERE account_id = ?)"
		args = append(args, p.AccountID)
	default:
		return nil, protocol.Errorf(protocol.CodeForbidden, "staff and registrars only")
	}
	rows, err := db.read(ctx).Query(q+" ORDER BY g.is_default DESC, g.name", args...)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	defer rows.Close()
	out := []protocol.Group{}
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// CreateGroup adds a group.
func (db *DB) CreateGroup(ctx context.Context, p store.Principal, req protocol.GroupRequest) (protocol.Group, error) {
	now := db.clock()
	g, err := rules.NewGroup(p, p.OrgID, req, now)
	if err != nil {
		return g, err
	}
	err = db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		// The default group first, so that it is the organisation's oldest.
		if _, err := defaultGroup(tx, p.OrgID, ms(now)); err != nil {
			return nil, err
		}
		err := tx.QueryRow("INSERT INTO client_groups(org_id, name, access_until, created_at) VALUES (?,?,?,?) RETURNING id",
			p.OrgID, g.Name, nullMS(g.AccessUntil), ms(now)).Scan(&g.ID)
		if isUniqueViolation(err) {
			return nil, protocol.Errorf(protocol.CodeConflict, "a group of that name exists")
		}
		if err != nil {
			return nil, fmt.Errorf("insert group: %w", err)
		}
		return nil, record(tx, now, p, p.OrgID, protocol.AuditGroupCreated, g.ID, protocol.TargetGroup, "")
	})
	return g, err
}

// UpdateGroup renames a group or sets its end of access; a passed end
// signs every client of the group out at once.
func (db *DB) UpdateGroup(ctx context.Context, p store.Principal, id int64, req protocol.GroupRequest) (protocol.Group, error) {
	var out protocol.Group
	err := db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		g, err := orgGroup(tx, p.OrgID, id)
		if err != nil {
			if protocol.AsError(err).Code == protocol.CodeInvalid {
				return nil, protocol.Errorf(protocol.CodeNotFound, "no such group")
			}
			return nil, err
		}
		now := db.clock()
		up, err := rules.UpdateGroup(p, g, req, now)
		if err != nil {
			return nil, err
		}
		_, err = tx.Exec("UPDATE client_groups SET name = ?, access_until = ? WHERE id = ?", up.Group.Name, nullMS(up.Group.AccessUntil), id)
		if isUniqueViolation(err) {
			return nil, protocol.Errorf(protocol.CodeConflict, "a group of that name exists")
		}
		if err != nil {
			return nil, fmt.Errorf("update group: %w", err)
		}
		if err := record(tx, now, p, p.OrgID, protocol.AuditGroupUpdated, id, protocol.TargetGroup, strings.Join(up.Fields, ",")); err != nil {
			return nil, err
		}
		out = up.Group
		if !req.ClearAccessUntil && req.AccessUntil == nil {
			return nil, nil
		}
		return groupAccessChanged(tx, p.OrgID, id, up.AccessEnded, now)
	})
	return out, err
}

// groupAccessChanged tells the group's clients' connections of their new
// end of access, or ends their sessions when it has passed.
func groupAccessChanged(tx *wtx, orgID, groupID int64, ended bool, now time.Time) ([]store.Change, error) {
	rows, err := tx.Query("SELECT "+accountCols+" FROM accounts WHERE group_id = ?", groupID)
	if err != nil {
		return nil, fmt.Errorf("load the group's clients: %w", err)
	}
	var clients []protocol.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("load the group's clients: %w", err)
		}
		clients = append(clients, a.Account)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var changes []store.Change
	for _, a := range clients {
		end := a.AccessEnds()
		if ended || (end != nil && !now.Before(*end)) {
			ch, err := revokeAll(tx, now, orgID, a.ID, "access_ended")
			if err != nil {
				return nil, err
			}
			changes = append(changes, ch...)
			continue
		}
		changes = append(changes, store.Change{Kind: store.ChangeAccess, OrgID: orgID, AccountID: a.ID, AccessUntil: end})
	}
	return changes, nil
}

// Usage returns each group's weekly figures.
func (db *DB) Usage(ctx context.Context, p store.Principal, weeks int) ([]protocol.GroupUsage, error) {
	if p.Role != protocol.RoleAdmin {
		return nil, protocol.Errorf(protocol.CodeForbidden, "admins only")
	}
	if weeks < 1 || weeks > 53 {
		return nil, protocol.Errorf(protocol.CodeInvalid, "weeks must be 1 to 53")
	}
	s, err := loadSettings(db.read(ctx), p.OrgID)
	if err != nil {
		return nil, err
	}
	first := rules.WeekKey(s, db.clock().AddDate(0, 0, -7*(weeks-1)))
	groups, err := db.Groups(ctx, p)
	if err != nil {
		return nil, err
	}
	rows, err := db.read(ctx).Query("SELECT group_id, week, kind, wait_ms FROM usage_events WHERE org_id = ? AND week >= ?", p.OrgID, first)
	if err != nil {
		return nil, fmt.Errorf("load usage: %w", err)
	}
	defer rows.Close()
	var events []rules.UsageEvent
	for rows.Next() {
		var e rules.UsageEvent
		if err := rows.Scan(&e.GroupID, &e.Week, &e.Kind, &e.WaitMS); err != nil {
			return nil, fmt.Errorf("load usage: %w", err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load usage: %w", err)
	}
	return rules.UsageFigures(events, groups, first), nil
}
