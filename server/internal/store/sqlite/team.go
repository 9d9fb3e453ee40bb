package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// desk reads what a staff member has in hand: their presence and how many
// conversations they have.
func desk(ctx context.Context, q querier, accountID int64) (rules.Desk, error) {
	var d rules.Desk
	err := q.QueryRowContext(ctx, "SELECT presence, (SELECT COUNT(*) FROM conversations WHERE assignee_id = ?1) FROM accounts WHERE id = ?1", accountID).
		Scan(&d.Presence, &d.Open)
	if err != nil {
		return d, fmt.Errorf("load desk: %w", err)
	}
	return d, nil
}

// offered reports whether the pool is offered to p now (rules.Offered).
func (db *DB) offered(ctx context.Context, q querier, p store.Principal) (bool, error) {
	if p.Role != protocol.RoleCounselor {
		return true, nil
	}
	d, err := desk(ctx, q, p.AccountID)
	if err != nil {
		return false, err
	}
	s, err := loadSettings(ctx, q, p.OrgID)
	if err != nil {
		return false, err
	}
	return rules.Offered(p, d, s), nil
}

// deskState is a staff member's desk and whether the pool is offered to them.
type deskState struct {
	role    protocol.Role
	desk    rules.Desk
	offered bool
}

// deskWatch remembers staff members' desks at the start of a write, so
// that the write can announce what it changed: presence and load to
// colleagues (ChangePresence), the pool offered or withdrawn
// (ChangeOffered).
type deskWatch struct {
	db     *DB
	orgID  int64
	before map[int64]deskState
}

// watchDesks reads the desks of the given staff members (none: every
// staff member of the organisation) before a write changes them.
func (db *DB) watchDesks(ctx context.Context, tx *wtx, orgID int64, ids ...int64) (*deskWatch, error) {
	w := &deskWatch{db: db, orgID: orgID}
	var err error
	w.before, err = w.read(ctx, tx, ids)
	return w, err
}

// deskOf reads one staff member's desk: one row, so the writer keeps it
// prepared (a claim reads the claimer's desk before and after; as text,
// with a subquery, parsing it cost more than the rest of the reply).
const deskOf = `SELECT role, presence, (SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = accounts.id)
	FROM accounts WHERE id = ? AND org_id = ? AND role != 'client'`

func (w *deskWatch) read(ctx context.Context, tx *wtx, ids []int64) (map[int64]deskState, error) {
	s, err := loadSettings(ctx, tx, w.orgID)
	if err != nil {
		return nil, err
	}
	out := map[int64]deskState{}
	add := func(id int64, d deskState) {
		d.offered = rules.Offered(store.Principal{AccountID: id, OrgID: w.orgID, Role: d.role}, d.desk, s)
		out[id] = d
	}
	if len(ids) > 0 {
		for _, id := range ids {
			var d deskState
			err := tx.QueryRowContext(ctx, deskOf, id, w.orgID).Scan(&d.role, &d.desk.Presence, &d.desk.Open)
			if errors.Is(err, sql.ErrNoRows) {
				continue // not a staff member of the organisation
			}
			if err != nil {
				return nil, fmt.Errorf("load desk: %w", err)
			}
			add(id, d)
		}
		return out, nil
	}
	rows, err := tx.QueryContext(ctx, "SELECT id, role, presence, (SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = accounts.id) FROM accounts WHERE org_id = ? AND role != 'client'", w.orgID)
	if err != nil {
		return nil, fmt.Errorf("load desks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			d  deskState
		)
		if err := rows.Scan(&id, &d.role, &d.desk.Presence, &d.desk.Open); err != nil {
			return nil, fmt.Errorf("load desks: %w", err)
		}
		add(id, d)
	}
	return out, rows.Err()
}

// changes reads the desks again and returns what changed.
func (w *deskWatch) changes(ctx context.Context, tx *wtx) ([]store.Change, error) {
	ids := make([]int64, 0, len(w.before))
	for id := range w.before {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	slices.Sort(ids)
	after, err := w.read(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	var (
		out  []store.Change
		pool []protocol.Conversation
	)
	for _, id := range ids {
		b, a := w.before[id], after[id]
		if a.desk != b.desk {
			out = append(out, store.Change{Kind: store.ChangePresence, OrgID: w.orgID, AccountID: id, Presence: a.desk.Presence, Open: a.desk.Open})
		}
		if a.offered != b.offered && a.role == protocol.RoleCounselor {
			if pool == nil {
				if pool, err = poolOf(ctx, tx, w.orgID); err != nil {
					return nil, err
				}
			}
			out = append(out, store.Change{Kind: store.ChangeOffered, OrgID: w.orgID, AccountID: id, Offered: a.offered, Pool: pool})
		}
	}
	return out, nil
}

// poolOf lists what waits in an organisation's pool.
func poolOf(ctx context.Context, tx *wtx, orgID int64) ([]protocol.Conversation, error) {
	rows, err := tx.QueryContext(ctx, "SELECT "+convCols+convFrom+"WHERE c.org_id = ? AND c.assignee_id IS NULL AND c.pool_since IS NOT NULL", orgID)
	if err != nil {
		return nil, fmt.Errorf("list the pool: %w", err)
	}
	defer rows.Close()
	out := []protocol.Conversation{}
	for rows.Next() {
		c, err := scanConv(rows)
		if err != nil {
			return nil, fmt.Errorf("list the pool: %w", err)
		}
		out = append(out, c.Conversation)
	}
	return out, rows.Err()
}

func placeholders(n int) string {
	b := make([]byte, 0, 2*n)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '?')
	}
	return string(b)
}

// assignees are the staff members who had or have a conversation.
func assignees(cs ...protocol.Conversation) []int64 {
	var ids []int64
	for _, c := range cs {
		if c.AssigneeID != nil && !slices.Contains(ids, *c.AssigneeID) {
			ids = append(ids, *c.AssigneeID)
		}
	}
	return ids
}

// End ends a conversation (rules.End).
func (db *DB) End(ctx context.Context, p store.Principal, conversationID int64) (protocol.Conversation, error) {
	if !p.IsStaff() {
		return protocol.Conversation{}, protocol.Errorf(protocol.CodeForbidden, "staff only")
	}
	var out protocol.Conversation
	err := db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		c, err := writableConv(tx, p, conversationID)
		if err != nil {
			return nil, err
		}
		before := c.Conversation
		if c, err = rules.End(p, c, db.clock()); err != nil {
			return nil, err
		}
		out = c.Conversation
		return db.writeAssignment(ctx, tx, c, before)
	})
	return out, err
}

// releaseAll puts every conversation a staff member has back into the
// pool (the account is going) and announces each.
func (db *DB) releaseAll(ctx context.Context, tx *wtx, orgID, accountID int64) ([]store.Change, error) {
	rows, err := tx.QueryContext(ctx, "SELECT "+convCols+convFrom+"WHERE c.org_id = ? AND c.assignee_id = ?", orgID, accountID)
	if err != nil {
		return nil, fmt.Errorf("find the conversations: %w", err)
	}
	var held []store.ConversationState
	for rows.Next() {
		c, err := scanConv(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("find the conversations: %w", err)
		}
		held = append(held, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find the conversations: %w", err)
	}
	var changes []store.Change
	for _, c := range held {
		before := c.Conversation
		admin := store.Principal{Role: protocol.RoleAdmin, OrgID: orgID}
		if c, err = rules.Assign(admin, rules.Desk{}, c, nil, "", protocol.Settings{}, db.clock()); err != nil {
			return nil, err
		}
		if _, err := tx.Exec("UPDATE conversations SET assignee_id = NULL, nominated_at = NULL, pool_since = ?, updated_at = ? WHERE id = ?", nullMS(c.PoolSince), ms(c.UpdatedAt), c.ID); err != nil {
			return nil, fmt.Errorf("release: %w", err)
		}
		conv := c.Conversation
		changes = append(changes, store.Change{Kind: store.ChangeConversation, OrgID: orgID, ClientID: c.ClientID, ConversationID: c.ID, Conversation: &conv, Before: &before})
	}
	return changes, nil
}
