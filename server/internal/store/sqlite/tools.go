package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// viewFor is a conversation as p is told of it: a client never learns
// staff's progress of it.
func viewFor(p store.Principal, c protocol.Conversation) protocol.Conversation {
	if p.IsStaff() {
		return c
	}
	return c.ForClient()
}

// writeProgress stores a conversation's progress as the rules left it.
func writeProgress(tx *wtx, c store.ConversationState) error {
	if _, err := tx.Exec("UPDATE conversations SET progress = ?, progress_by = ?, progress_at = ?, next_contact = ? WHERE id = ?",
		c.Progress, c.ProgressBy, nullMS(c.ProgressAt), c.NextContact, c.ID); err != nil {
		return fmt.Errorf("update progress: %w", err)
	}
	return nil
}

// SetProgress changes a conversation's progress (rules.SetProgress).
func (db *DB) SetProgress(ctx context.Context, p store.Principal, conversationID int64, req protocol.ProgressRequest) (protocol.Conversation, error) {
	if !p.IsStaff() {
		return protocol.Conversation{}, protocol.Errorf(protocol.CodeForbidden, "staff only")
	}
	var out protocol.Conversation
	err := db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		c, err := writableConv(tx, p, conversationID)
		if err != nil {
			return nil, err
		}
		s, err := loadSettings(ctx, tx, p.OrgID)
		if err != nil {
			return nil, err
		}
		c, changed, err := rules.SetProgress(rules.ProgressChange{Actor: p, Conv: c, Settings: s, Req: req, Now: db.clock()})
		if err != nil {
			return nil, err
		}
		if err := writeProgress(tx, c); err != nil {
			return nil, err
		}
		out = c.Conversation
		if !changed {
			return nil, nil // who and when are recorded; nothing to announce
		}
		conv := out
		return []store.Change{{Kind: store.ChangeConversation, OrgID: c.OrgID, ClientID: c.ClientID, ConversationID: c.ID, Conversation: &conv, StaffOnly: true}}, nil
	})
	return out, err
}

// decodeDecisions reads the JSON array convCols builds (times in ms).
func decodeDecisions(s string) ([]protocol.Decision, error) {
	var raw []struct {
		Seq      int64 `json:"seq"`
		ReplySeq int64 `json:"reply_seq"`
		By       int64 `json:"by"`
		At       int64 `json:"at"`
	}
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("read decisions: %w", err)
	}
	if len(raw) == 0 {
		return nil, nil
	}
	out := make([]protocol.Decision, len(raw))
	for i, d := range raw {
		out[i] = protocol.Decision{Seq: d.Seq, ReplySeq: d.ReplySeq, By: d.By, At: fromMS(d.At)}
	}
	return out, nil
}

// loadDecisions reads a conversation's decisions inside a write.
func loadDecisions(tx *wtx, conversationID int64) ([]protocol.Decision, error) {
	var s string
	if err := tx.QueryRow(`SELECT json_group_array(json_object('seq', seq, 'reply_seq', reply_seq, 'by', by_id, 'at', at))
		FROM (SELECT * FROM decisions WHERE conversation_id = ? ORDER BY seq)`, conversationID).Scan(&s); err != nil {
		return nil, fmt.Errorf("load decisions: %w", err)
	}
	return decodeDecisions(s)
}

// decide records a reply's 決定 (rules.Decide) in the reply's
// transaction: before is the conversation as it was before the reply.
func decide(tx *wtx, p store.Principal, before store.ConversationState, reply protocol.Message, seq int64) error {
	var role protocol.Role
	err := tx.QueryRow("SELECT sender_role FROM messages WHERE conversation_id = ? AND seq = ?", before.ID, seq).Scan(&role)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("load the decided message: %w", err)
	}
	var known int
	var again bool
	if err := tx.QueryRow("SELECT COUNT(*), COALESCE(SUM(seq = ?), 0) > 0 FROM decisions WHERE conversation_id = ?", seq, before.ID).Scan(&known, &again); err != nil {
		return fmt.Errorf("count decisions: %w", err)
	}
	if err := rules.Decide(p, before, seq, role, known, again); err != nil {
		return err
	}
	_, err = tx.Exec(`INSERT INTO decisions(conversation_id, seq, reply_seq, by_id, at) VALUES (?,?,?,?,?)
		ON CONFLICT(conversation_id, seq) DO UPDATE SET reply_seq = excluded.reply_seq, by_id = excluded.by_id, at = excluded.at`,
		before.ID, seq, reply.Seq, p.AccountID, ms(reply.CreatedAt))
	if err != nil {
		return fmt.Errorf("record decision: %w", err)
	}
	return nil
}

// noteChanged records who changed a client's note and when, and returns
// the staff-only change that announces it.
func noteChanged(tx *wtx, p store.Principal, clientID int64, now time.Time) (store.Change, error) {
	if _, err := tx.Exec("UPDATE accounts SET note_by = ?, note_at = ? WHERE id = ?", p.AccountID, ms(now), clientID); err != nil {
		return store.Change{}, fmt.Errorf("record note change: %w", err)
	}
	conv, err := conversationByClient(tx, clientID)
	if err != nil {
		return store.Change{}, err
	}
	return store.Change{Kind: store.ChangeConversation, OrgID: p.OrgID, ClientID: clientID, ConversationID: conv.ID, Conversation: &conv, StaffOnly: true}, nil
}

// SetClientNote replaces staff's note about a client (rules.ClientNote).
func (db *DB) SetClientNote(ctx context.Context, p store.Principal, clientID int64, req protocol.NoteRequest) (protocol.Conversation, error) {
	note := req.Note
	var out protocol.Conversation
	err := db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		var a protocol.Account
		err := tx.QueryRow("SELECT id, org_id, role, note FROM accounts WHERE id = ? AND org_id = ?", clientID, p.OrgID).Scan(&a.ID, &a.OrgID, &a.Role, &a.Note)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no such client")
		}
		if err != nil {
			return nil, fmt.Errorf("load client: %w", err)
		}
		// Compared in the writing transaction: two colleagues saving from
		// the same note at once, one wins and the other hears of it.
		var conv *protocol.Conversation
		if c, err := conversationByClient(tx, clientID); err == nil {
			conv = &c
		} else if !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		if err := rules.ClientNote(p, a, conv, note, req.Expect); err != nil {
			return nil, err
		}
		if _, err := tx.Exec("UPDATE accounts SET note = ? WHERE id = ?", note, clientID); err != nil {
			return nil, fmt.Errorf("update note: %w", err)
		}
		ch, err := noteChanged(tx, p, clientID, db.clock())
		if err != nil {
			return nil, err
		}
		out = *ch.Conversation
		return []store.Change{ch}, nil
	})
	return out, err
}

// countTemplateUse counts a reply made from a template, if p may see it
// (a template deleted meanwhile, or never theirs, is ignored: the reply
// matters, the count does not).
func countTemplateUse(tx *wtx, p store.Principal, templateID int64, now time.Time) error {
	_, err := tx.Exec(`INSERT INTO template_uses(template_id, account_id, uses, last_used)
		SELECT id, ?, 1, ? FROM templates WHERE id = ? AND org_id = ? AND (owner_id IS NULL OR owner_id = ?)
		ON CONFLICT(template_id, account_id) DO UPDATE SET uses = uses + 1, last_used = excluded.last_used`,
		p.AccountID, ms(now), templateID, p.OrgID, p.AccountID)
	if err != nil {
		return fmt.Errorf("count template use: %w", err)
	}
	return nil
}

const templateCols = `t.id, t.org_id, COALESCE(t.owner_id, 0), t.title, t.body, t.progress, t.updated_at,
	COALESCE(u.uses, 0), u.last_used`

// templateFrom joins the principal's use counts (argument: the account).
const templateFrom = " FROM templates t LEFT JOIN template_uses u ON u.template_id = t.id AND u.account_id = ? "

func scanTemplate(sc interface{ Scan(...any) error }) (protocol.Template, rules.TemplateOwner, error) {
	var (
		t        protocol.Template
		o        rules.TemplateOwner
		updated  int64
		lastUsed sql.NullInt64
	)
	err := sc.Scan(&t.ID, &o.OrgID, &o.OwnerID, &t.Title, &t.Body, &t.Progress, &updated, &t.Uses, &lastUsed)
	t.Scope = o.Scope()
	t.UpdatedAt = fromMS(updated)
	t.LastUsed = fromNullMS(lastUsed)
	return t, o, err
}

// Templates lists the organisation's templates and p's own, most used
// by p first.
func (db *DB) Templates(ctx context.Context, p store.Principal) ([]protocol.Template, error) {
	if !p.IsStaff() {
		return nil, protocol.Errorf(protocol.CodeForbidden, "staff only")
	}
	rows, err := db.read.QueryContext(ctx, "SELECT "+templateCols+templateFrom+
		"WHERE t.org_id = ? AND (t.owner_id IS NULL OR t.owner_id = ?) ORDER BY COALESCE(u.uses, 0) DESC, u.last_used DESC, t.title, t.id",
		p.AccountID, p.OrgID, p.AccountID)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	defer rows.Close()
	out := []protocol.Template{}
	for rows.Next() {
		t, _, err := scanTemplate(rows)
		if err != nil {
			return nil, fmt.Errorf("scan template: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// loadTemplate reads a template inside a write; one p may not see is
// not found.
func loadTemplate(tx *wtx, p store.Principal, id int64) (protocol.Template, rules.TemplateOwner, error) {
	t, o, err := scanTemplate(tx.QueryRow("SELECT "+templateCols+templateFrom+"WHERE t.id = ?", p.AccountID, id))
	if errors.Is(err, sql.ErrNoRows) || err == nil && !rules.MaySeeTemplate(p, o) {
		return t, o, protocol.Errorf(protocol.CodeNotFound, "no such template")
	}
	if err != nil {
		return t, o, fmt.Errorf("load template: %w", err)
	}
	return t, o, nil
}

// CreateTemplate adds a template; the limit of its list is counted in
// the same transaction, so concurrent creations never pass it.
func (db *DB) CreateTemplate(ctx context.Context, p store.Principal, req protocol.TemplateRequest) (protocol.Template, error) {
	var out protocol.Template
	err := db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		var n int
		owner := sql.NullInt64{Int64: p.AccountID, Valid: req.Scope == protocol.ScopePersonal}
		if err := tx.QueryRow("SELECT COUNT(*) FROM templates WHERE org_id = ? AND owner_id IS ?", p.OrgID, owner).Scan(&n); err != nil {
			return nil, fmt.Errorf("count templates: %w", err)
		}
		req, o, err := rules.NewTemplate(p, req, n)
		if err != nil {
			return nil, err
		}
		var ownerArg any
		if o.OwnerID != 0 {
			ownerArg = o.OwnerID
		}
		now := ms(db.clock())
		res, err := tx.Exec("INSERT INTO templates(org_id, owner_id, title, body, progress, created_at, updated_at) VALUES (?,?,?,?,?,?,?)",
			o.OrgID, ownerArg, req.Title, req.Body, req.Progress, now, now)
		if err != nil {
			return nil, fmt.Errorf("insert template: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return nil, fmt.Errorf("insert template: %w", err)
		}
		out = protocol.Template{ID: id, Scope: o.Scope(), Title: req.Title, Body: req.Body, Progress: req.Progress, UpdatedAt: fromMS(now)}
		return nil, nil
	})
	return out, err
}

// UpdateTemplate replaces a template's title, body and progress.
func (db *DB) UpdateTemplate(ctx context.Context, p store.Principal, id int64, req protocol.TemplateRequest) (protocol.Template, error) {
	var out protocol.Template
	err := db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		t, o, err := loadTemplate(tx, p, id)
		if err != nil {
			return nil, err
		}
		if req, err = rules.UpdateTemplate(p, o, req); err != nil {
			return nil, err
		}
		now := db.clock()
		if _, err := tx.Exec("UPDATE templates SET title = ?, body = ?, progress = ?, updated_at = ? WHERE id = ?",
			req.Title, req.Body, req.Progress, ms(now), id); err != nil {
			return nil, fmt.Errorf("update template: %w", err)
		}
		t.Title, t.Body, t.Progress, t.UpdatedAt = req.Title, req.Body, req.Progress, fromMS(ms(now))
		out = t
		return nil, nil
	})
	return out, err
}

// DeleteTemplate removes a template and its use counts.
func (db *DB) DeleteTemplate(ctx context.Context, p store.Principal, id int64) error {
	return db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		_, o, err := loadTemplate(tx, p, id)
		if err != nil {
			return nil, err
		}
		if err := rules.EditTemplate(p, o); err != nil {
			return nil, err
		}
		if _, err := tx.Exec("DELETE FROM templates WHERE id = ?", id); err != nil {
			return nil, fmt.Errorf("delete template: %w", err)
		}
		return nil, nil
	})
}
