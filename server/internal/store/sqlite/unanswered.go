package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// unansweredKept is how long the weekly count of 対応できず looks back.
const unansweredKept = 53 * 7 * 24 * time.Hour

// typicalReply is the organisation's median answer time over
// rules.ReplyWindow, in seconds (0: too few answers).
func typicalReply(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, orgID int64, now time.Time) (int64, error) {
	rows, err := q.QueryContext(ctx, "SELECT wait_ms FROM answer_waits WHERE org_id = ? AND at > ? ORDER BY at DESC LIMIT 10000", orgID, ms(now.Add(-rules.ReplyWindow)))
	if err != nil {
		return 0, fmt.Errorf("load answer times: %w", err)
	}
	defer rows.Close()
	var waits []time.Duration
	for rows.Next() {
		var w int64
		if err := rows.Scan(&w); err != nil {
			return 0, fmt.Errorf("load answer times: %w", err)
		}
		waits = append(waits, time.Duration(w)*time.Millisecond)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("load answer times: %w", err)
	}
	// Rounded up: a median of a few milliseconds is still an answer time.
	return int64((rules.TypicalReply(waits) + time.Second - 1) / time.Second), nil
}

// replyTime is the organisation's typical reply time, computed at most
// once a minute (store.ReplyTimes). It reads through the pool: a caller
// must not hold a reading connection (a transaction) while it waits.
func (db *DB) replyTime(ctx context.Context, orgID int64) (int64, error) {
	now := db.clock()
	return db.replies.Get(orgID, now, func() (int64, error) { return typicalReply(ctx, db.read, orgID, now) })
}

// sweepUnanswered ends as 対応できず the conversations that waited in the
// pool past their organisation's timeout, each client sent the apology,
// in one transaction that decides on the rows it writes.
func (db *DB) sweepUnanswered(ctx context.Context) (int, error) {
	var n int
	err := db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		n = 0
		now := db.clock()
		if _, err := tx.Exec("DELETE FROM answer_waits WHERE at <= ?", ms(now.Add(-rules.ReplyWindow))); err != nil {
			return nil, fmt.Errorf("forget old answer times: %w", err)
		}
		if _, err := tx.Exec("DELETE FROM unanswered_log WHERE at <= ?", ms(now.Add(-unansweredKept))); err != nil {
			return nil, fmt.Errorf("forget old unanswered counts: %w", err)
		}
		// The shortest timeout allowed bounds what can be due.
		rows, err := tx.QueryContext(ctx, "SELECT "+convCols+convFrom+"WHERE c.assignee_id IS NULL AND c.pool_since IS NOT NULL AND c.pool_since <= ?",
			ms(now.Add(-time.Hour)))
		if err != nil {
			return nil, fmt.Errorf("find waiting conversations: %w", err)
		}
		var waiting []store.ConversationState
		for rows.Next() {
			c, err := scanConv(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("find waiting conversations: %w", err)
			}
			waiting = append(waiting, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("find waiting conversations: %w", err)
		}
		settings := map[int64]protocol.Settings{}
		var changes []store.Change
		for _, c := range waiting {
			s, ok := settings[c.OrgID]
			if !ok {
				if s, err = loadSettings(ctx, tx, c.OrgID); err != nil {
					return nil, err
				}
				settings[c.OrgID] = s
			}
			if !rules.Unanswered(c, s, now) {
				continue
			}
			before := c.Conversation
			c, m := rules.GiveUp(c, s, now)
			if err := db.insertMessage(tx, c.OrgID, c.ClientID, &m, ""); err != nil {
				return nil, err
			}
			if _, err := tx.Exec("INSERT INTO unanswered_log(org_id, at) VALUES (?,?)", c.OrgID, ms(now)); err != nil {
				return nil, fmt.Errorf("count the unanswered: %w", err)
			}
			conv := c.Conversation
			changes = append(changes, store.Change{Kind: store.ChangeMessage, OrgID: c.OrgID, ClientID: c.ClientID, ConversationID: c.ID, Message: &m, Conversation: &conv})
			more, err := db.writeAssignment(ctx, tx, c, before)
			if err != nil {
				return nil, err
			}
			changes = append(changes, more...)
			n++
		}
		return changes, nil
	})
	return n, err
}

// UnansweredWeeks counts 対応できず per week, Monday to Sunday in the
// organisation's time zone, newest first (admins).
func (db *DB) UnansweredWeeks(ctx context.Context, p store.Principal, weeks int) ([]protocol.UnansweredWeek, error) {
	if p.Role != protocol.RoleAdmin {
		return nil, protocol.Errorf(protocol.CodeForbidden, "admins only")
	}
	if weeks < 1 || weeks > 53 {
		return nil, protocol.Errorf(protocol.CodeInvalid, "weeks must be 1 to 53")
	}
	s, err := loadSettings(ctx, db.read, p.OrgID)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(s.Hours.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	now := db.clock()
	first := rules.WeekStart(now, loc).AddDate(0, 0, -7*(weeks-1))
	out := make([]protocol.UnansweredWeek, weeks)
	index := map[string]int{}
	for i := range out {
		w := first.AddDate(0, 0, 7*(weeks-1-i)).Format("2006-01-02")
		out[i].Week, index[w] = w, i
	}
	rows, err := db.read.QueryContext(ctx, "SELECT at FROM unanswered_log WHERE org_id = ? AND at >= ?", p.OrgID, ms(first))
	if err != nil {
		return nil, fmt.Errorf("count the unanswered: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return nil, fmt.Errorf("count the unanswered: %w", err)
		}
		if i, ok := index[rules.WeekStart(fromMS(at), loc).Format("2006-01-02")]; ok {
			out[i].Count++
		}
	}
	return out, rows.Err()
}
