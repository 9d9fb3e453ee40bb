package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// Nominees lists whom the clients of p's organisation may nominate now.
func (db *DB) Nominees(ctx context.Context, p store.Principal) ([]protocol.Nominee, error) {
	s, err := loadSettings(ctx, db.read, p.OrgID)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, "SELECT "+accountCols+", COALESCE(seen_at, created_at) FROM accounts WHERE org_id = ? AND role != 'client' AND accept_nominations = 1 ORDER BY display_name, id", p.OrgID)
	if err != nil {
		return nil, fmt.Errorf("list nominees: %w", err)
	}
	defer rows.Close()
	now := db.clock()
	out := []protocol.Nominee{}
	for rows.Next() {
		var seen int64
		a, err := scanAccount(rowWith{rows, &seen})
		if err != nil {
			return nil, fmt.Errorf("list nominees: %w", err)
		}
		if rules.Nominable(a.Account, fromMS(seen), s, now) {
			out = append(out, protocol.Nominee{ID: a.ID, DisplayName: a.DisplayName, Intro: a.Intro})
		}
	}
	return out, rows.Err()
}

// Nominate gives the client's conversation to the staff member it asks
// for (rules.Nominate), checked and written in one transaction.
func (db *DB) Nominate(ctx context.Context, p store.Principal, counselorID int64) (protocol.Conversation, error) {
	if p.Role != protocol.RoleClient {
		return protocol.Conversation{}, protocol.Errorf(protocol.CodeForbidden, "clients nominate")
	}
	var out protocol.Conversation
	err := db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		c, err := writableConv(tx, p, 0)
		if err != nil {
			return nil, err
		}
		var seen int64
		a, err := scanAccount(rowWith{tx.QueryRow("SELECT "+accountCols+", COALESCE(seen_at, created_at) FROM accounts WHERE id = ? AND org_id = ?", counselorID, p.OrgID), &seen})
		if errors.Is(err, sql.ErrNoRows) {
			return nil, protocol.Errorf(protocol.CodeNotFound, "this staff member does not take nominations now")
		}
		if err != nil {
			return nil, fmt.Errorf("load the nominee: %w", err)
		}
		s, err := loadSettings(ctx, tx, p.OrgID)
		if err != nil {
			return nil, err
		}
		before := c.Conversation
		if c, err = rules.Nominate(p, c, a.Account, fromMS(seen), s, db.clock()); err != nil {
			return nil, err
		}
		out = c.ForClient()
		return db.writeAssignment(ctx, tx, c, before)
	})
	return out, err
}

// sweepNominations turns off the switches of staff who have not used
// Taiwa for their organisation's nomination_lapse_days, and returns to
// the pool the nominated conversations not taken in time, telling each
// client. One transaction: each decision is made on the rows it writes.
func (db *DB) sweepNominations(ctx context.Context) (lapsed, returned int, err error) {
	err = db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		lapsed, returned = 0, 0
		now := db.clock()
		settings := map[int64]protocol.Settings{}
		settingsOf := func(orgID int64) (protocol.Settings, error) {
			if s, ok := settings[orgID]; ok {
				return s, nil
			}
			s, err := loadSettings(ctx, tx, orgID)
			settings[orgID] = s
			return s, err
		}

		rows, err := tx.QueryContext(ctx, "SELECT id, org_id, COALESCE(seen_at, created_at) FROM accounts WHERE accept_nominations = 1")
		if err != nil {
			return nil, fmt.Errorf("find nomination switches: %w", err)
		}
		type seenRow struct{ id, org, seen int64 }
		var switches []seenRow
		for rows.Next() {
			var r seenRow
			if err := rows.Scan(&r.id, &r.org, &r.seen); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find nomination switches: %w", err)
			}
			switches = append(switches, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("find nomination switches: %w", err)
		}
		for _, r := range switches {
			s, err := settingsOf(r.org)
			if err != nil {
				return nil, err
			}
			if !rules.NominationLapsed(fromMS(r.seen), s, now) {
				continue
			}
			if _, err := tx.Exec("UPDATE accounts SET accept_nominations = 0, nomination_lapsed_at = ? WHERE id = ?", ms(now), r.id); err != nil {
				return nil, fmt.Errorf("turn a nomination switch off: %w", err)
			}
			lapsed++
		}

		crow, err := tx.QueryContext(ctx, "SELECT "+convCols+convFrom+"WHERE c.nominated_at IS NOT NULL")
		if err != nil {
			return nil, fmt.Errorf("find nominations: %w", err)
		}
		var nominated []store.ConversationState
		for crow.Next() {
			c, err := scanConv(crow)
			if err != nil {
				crow.Close()
				return nil, fmt.Errorf("find nominations: %w", err)
			}
			nominated = append(nominated, c)
		}
		crow.Close()
		if err := crow.Err(); err != nil {
			return nil, fmt.Errorf("find nominations: %w", err)
		}
		var changes []store.Change
		for _, c := range nominated {
			s, err := settingsOf(c.OrgID)
			if err != nil {
				return nil, err
			}
			if !rules.NominationOverdue(c, s, now) {
				continue
			}
			before := c.Conversation
			c, m := rules.ReturnNomination(c, s, now)
			if err := db.insertMessage(tx, c.OrgID, c.ClientID, &m, ""); err != nil {
				return nil, err
			}
			conv := c.Conversation
			changes = append(changes, store.Change{Kind: store.ChangeMessage, OrgID: c.OrgID, ClientID: c.ClientID, ConversationID: c.ID, Message: &m, Conversation: &conv})
			more, err := db.writeAssignment(ctx, tx, c, before)
			if err != nil {
				return nil, err
			}
			changes = append(changes, more...)
			returned++
		}
		return changes, nil
	})
	return lapsed, returned, err
}
