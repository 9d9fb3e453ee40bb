package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

const convCols = `c.id, c.org_id, c.client_id, a.nickname, c.assignee_id, c.status, c.last_seq,
	COALESCE((SELECT MIN(m.seq) FROM messages m WHERE m.conversation_id = c.id), c.last_seq + 1),
	c.client_delivered_seq, c.client_read_seq, c.staff_delivered_seq, c.staff_read_seq,
	c.waiting_since, c.updated_at, c.client_wrote, c.notice_until, c.pool_since, c.outcome, c.nominated_at, c.risk_at,
	c.progress, c.progress_by, c.progress_at, c.next_contact,
	(SELECT json_group_array(json_object('seq', d.seq, 'reply_seq', d.reply_seq, 'by', d.by_id, 'at', d.at))
		FROM (SELECT * FROM decisions WHERE conversation_id = c.id ORDER BY seq) d),
	a.note, a.note_by, a.note_at,
	COALESCE((SELECT g.name FROM client_groups g WHERE g.id = a.group_id AND NOT g.is_default), '')`

func scanConv(sc interface{ Scan(...any) error }) (store.ConversationState, error) {
	var (
		c         store.ConversationState
		assignee  sql.NullInt64
		waiting   sql.NullInt64
		notice    sql.NullInt64
		pool      sql.NullInt64
		nominated sql.NullInt64
		risk      sql.NullInt64
		updated   int64
		// progress (issue 14)
		progressBy, progressAt sql.NullInt64
		decisions              string
		noteBy, noteAt         sql.NullInt64
	)
	err := sc.Scan(&c.ID, &c.OrgID, &c.ClientID, &c.Nickname, &assignee, &c.Status, &c.LastSeq, &c.FirstSeq,
		&c.ClientDeliveredSeq, &c.ClientReadSeq, &c.StaffDeliveredSeq, &c.StaffReadSeq,
		&waiting, &updated, &c.ClientWrote, &notice, &pool, &c.Outcome, &nominated, &risk,
		&c.Progress, &progressBy, &progressAt, &c.NextContact, &decisions,
		&c.Note, &noteBy, &noteAt, &c.GroupName)
	c.NominatedAt = fromNullMS(nominated)
	c.RiskAt = fromNullMS(risk)
	c.PoolSince = fromNullMS(pool)
	c.NoteAt = fromNullMS(noteAt)
	if noteBy.Valid {
		v := noteBy.Int64
		c.NoteBy = &v
	}
	if err == nil {
		c.Decisions, err = decodeDecisions(decisions)
	}
	c.NoticeUntil = fromNullMS(notice)
	c.ProgressAt = fromNullMS(progressAt)
	if progressBy.Valid {
		v := progressBy.Int64
		c.ProgressBy = &v
	}
	if assignee.Valid {
		v := assignee.Int64
		c.AssigneeID = &v
	}
	c.WaitingSince = fromNullMS(waiting)
	c.UpdatedAt = fromMS(updated)
	return c, err
}

const convFrom = " FROM conversations c JOIN accounts a ON a.id = c.client_id "

func conversationByClient(tx *wtx, clientID int64) (protocol.Conversation, error) {
	c, err := scanConv(tx.QueryRow("SELECT "+convCols+convFrom+"WHERE c.client_id = ?", clientID))
	if err != nil {
		return protocol.Conversation{}, fmt.Errorf("load conversation: %w", err)
	}
	return c.Conversation, nil
}

// Conversations lists the conversations p may see, most recently active first.
func (db *DB) Conversations(ctx context.Context, p store.Principal) ([]protocol.Conversation, error) {
	return db.listConversations(ctx, db.read, p)
}

// Subscribe registers at a point between commits and snapshots what p sees.
func (db *DB) Subscribe(ctx context.Context, p store.Principal, register func()) (store.Snapshot, error) {
	// Register first, then read: every change committed from here on
	// reaches the subscriber, and the snapshot, read afterwards in one
	// read transaction, holds at least everything committed before. What
	// was committed in between is in both; the live handler skips message
	// frames at or below HighWater, and the other changes are states that
	// apply twice alike. The writer is not involved: 10,000 apps coming
	// back at once do not queue behind each other's snapshots, nor hold up
	// sends.
	register()
	var snap store.Snapshot
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return snap, fmt.Errorf("begin snapshot: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	q := readTx{tx, db.reads.readStmts}
	if snap.Conversations, err = db.listConversations(ctx, q, p); err != nil {
		return snap, err
	}
	if snap.Offered, err = db.offered(ctx, q, p); err != nil {
		return snap, err
	}
	s, code, err := loadOrg(ctx, q, p.OrgID)
	if err != nil {
		return snap, err
	}
	snap.Org = db.orgView(p.OrgID, s, code)
	// sqlite_sequence holds the highest ID AUTOINCREMENT ever handed out
	// by a commit this transaction sees.
	err = q.QueryRowContext(ctx, "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0)").Scan(&snap.HighWater)
	if err != nil {
		return snap, fmt.Errorf("read high water: %w", err)
	}
	// The typical reply time after the transaction: it is kept for all
	// (store.ReplyTimes), and a snapshot that waited for another's
	// computation while holding one of the few reading connections could
	// leave that computation none to run on.
	if err := tx.Rollback(); err != nil {
		return snap, fmt.Errorf("end snapshot: %w", err)
	}
	if snap.Org.TypicalReplySeconds, err = db.replyTime(ctx, p.OrgID); err != nil {
		return snap, err
	}
	return snap, nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// conversationsQuery is the listing for p, a superset of what
// rules.ReadAccess lets p see (listConversations applies the rule). A
// client gets a query of its own: the shared form "org_id = ? AND (? OR
// client_id = ?)" with bound values makes SQLite walk the organisation's
// every conversation, once per client, which turned a mass reconnect
// quadratic. A counselor's is theirs and those nobody has.
func conversationsQuery(p store.Principal) (string, []any) {
	switch p.Role {
	case protocol.RoleAdmin:
		return "SELECT " + convCols + convFrom + "WHERE c.org_id = ? ORDER BY c.updated_at DESC", []any{p.OrgID}
	case protocol.RoleCounselor:
		return "SELECT " + convCols + convFrom + "WHERE c.org_id = ? AND (c.assignee_id = ? OR c.assignee_id IS NULL) ORDER BY c.updated_at DESC",
			[]any{p.OrgID, p.AccountID}
	}
	return "SELECT " + convCols + convFrom + "WHERE c.client_id = ? AND c.org_id = ?", []any{p.AccountID, p.OrgID}
}

// listConversations lists what p may see of its organisation's
// conversations (rules.ReadAccess).
func (db *DB) listConversations(ctx context.Context, q interface {
	querier
	queryer
}, p store.Principal) ([]protocol.Conversation, error) {
	offered, err := db.offered(ctx, q, p)
	if err != nil {
		return nil, err
	}
	query, args := conversationsQuery(p)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	defer rows.Close()
	out := []protocol.Conversation{}
	for rows.Next() {
		c, err := scanConv(rows)
		if err != nil {
			return nil, fmt.Errorf("scan conversation: %w", err)
		}
		if rules.ReadAccess(p, c.Conversation, offered) > rules.AccessNone {
			if !p.IsStaff() {
				c.Conversation = c.ForClient()
			}
			out = append(out, c.Conversation)
		}
	}
	return out, rows.Err()
}

// loadConversation loads a conversation of p's organisation (a client:
// only its own; another tenant's or client's is not found) and says how
// much of it p may read.
func (db *DB) loadConversation(ctx context.Context, q querier, p store.Principal, id int64) (store.ConversationState, rules.Access, error) {
	var (
		c   store.ConversationState
		err error
	)
	if p.IsStaff() {
		c, err = scanConv(q.QueryRowContext(ctx, "SELECT "+convCols+convFrom+"WHERE c.id = ? AND c.org_id = ?", id, p.OrgID))
	} else {
		c, err = scanConv(q.QueryRowContext(ctx, "SELECT "+convCols+convFrom+"WHERE c.id = ? AND c.org_id = ? AND c.client_id = ?", id, p.OrgID, p.AccountID))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return c, rules.AccessNone, protocol.Errorf(protocol.CodeNotFound, "no such conversation")
	}
	if err != nil {
		return c, rules.AccessNone, fmt.Errorf("load conversation: %w", err)
	}
	offered, err := db.offered(ctx, q, p)
	if err != nil {
		return c, rules.AccessNone, err
	}
	return c, rules.ReadAccess(p, c.Conversation, offered), nil
}

// Conversation returns one conversation p may see (its state: the pool's
// included). A colleague's is forbidden to a counselor.
func (db *DB) Conversation(ctx context.Context, p store.Principal, id int64) (protocol.Conversation, error) {
	c, access, err := db.loadConversation(ctx, db.read, p, id)
	if err != nil {
		return protocol.Conversation{}, err
	}
	if access == rules.AccessNone {
		return protocol.Conversation{}, protocol.Errorf(protocol.CodeForbidden, "this conversation is a colleague's")
	}
	if !p.IsStaff() {
		return c.ForClient(), nil
	}
	return viewFor(p, c.Conversation), nil
}

// msgCols reads a staff sender's display name as it is now: a name
// changed later shows on earlier replies too, and a deleted account's
// replies show none.
const msgCols = "m.id, m.conversation_id, m.seq, m.sender_id, m.sender_role, m.kind, m.body, m.reopens_at, m.created_at, m.expires_at, " +
	"m.sealed, m.slice, (SELECT client_id FROM conversations WHERE id = m.conversation_id), m.notice_state, " +
	"COALESCE((SELECT display_name FROM accounts WHERE id = m.sender_id AND role != 'client'), ''), m.att_id, m.att_type, m.att_size"

// scanMessage reads a row of msgCols and unseals its body.
func (db *DB) scanMessage(sc interface{ Scan(...any) error }) (protocol.Message, error) {
	var (
		m                protocol.Message
		sender, reopens  sql.NullInt64
		created, expires int64
		sealed           []byte
		slice, clientID  sql.NullInt64
		attID, attSize   sql.NullInt64
		attType          sql.NullString
	)
	if err := sc.Scan(&m.ID, &m.ConversationID, &m.Seq, &sender, &m.SenderRole, &m.Kind, &m.Body, &reopens, &created, &expires,
		&sealed, &slice, &clientID, &m.State, &m.SenderName, &attID, &attType, &attSize); err != nil {
		return m, err
	}
	if attID.Valid {
		m.Attachment = &protocol.Attachment{ID: attID.Int64, Type: attType.String, Size: attSize.Int64}
	}
	m.SenderID = sender.Int64
	m.ReopensAt = fromNullMS(reopens)
	m.CreatedAt, m.ExpiresAt = fromMS(created), fromMS(expires)
	if sealed != nil {
		body, err := db.ring.Open(clientID.Int64, slice.Int64, sealed, bodyAAD(m.ConversationID, m.Seq))
		if err != nil {
			return m, fmt.Errorf("message %d: %w", m.ID, err)
		}
		m.Body = string(body)
	}
	return m, nil
}

// bodyAAD binds a sealed body to its place: moved to another row, it
// does not open.
func bodyAAD(conversationID, seq int64) []byte {
	return []byte("taiwa message " + strconv.FormatInt(conversationID, 10) + " " + strconv.FormatInt(seq, 10))
}

func (db *DB) collectMessages(rows *sql.Rows, err error) ([]protocol.Message, error) {
	if err != nil {
		return nil, fmt.Errorf("query messages: %w", err)
	}
	defer rows.Close()
	out := []protocol.Message{}
	for rows.Next() {
		m, err := db.scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("scan message: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// History pages backwards through one conversation.
func (db *DB) History(ctx context.Context, p store.Principal, conversationID, before int64, limit int) (protocol.MessagePage, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	c, access, err := db.loadConversation(ctx, db.read, p, conversationID)
	if err != nil {
		return protocol.MessagePage{}, err
	}
	if access < rules.AccessFull {
		return protocol.MessagePage{}, rules.MayReadMessages(p, c.Conversation, false)
	}
	if before <= 0 {
		before = math.MaxInt64
	}
	// Staff-only notes never reach the client.
	notes := " AND m.kind != 'note'"
	if p.IsStaff() {
		notes = ""
	}
	msgs, err := db.collectMessages(db.read.QueryContext(ctx, "SELECT "+msgCols+
		" FROM messages m WHERE m.conversation_id = ? AND m.seq < ?"+notes+" ORDER BY m.seq DESC LIMIT ?", c.ID, before, limit+1))
	if err != nil {
		return protocol.MessagePage{}, err
	}
	page := protocol.MessagePage{Messages: msgs}
	if len(msgs) > limit {
		page.Messages = msgs[:limit]
		page.NextBefore = page.Messages[limit-1].Seq
	}
	slices.Reverse(page.Messages)
	return page, nil
}

// MessagesAfter returns the messages p may see with ID above cursor.
func (db *DB) MessagesAfter(ctx context.Context, p store.Principal, cursor int64, limit int) ([]protocol.Message, error) {
	if limit <= 0 {
		limit = 500
	}
	switch p.Role {
	case protocol.RoleAdmin:
		return db.collectMessages(db.reads.QueryContext(ctx, "SELECT "+msgCols+
			" FROM messages m WHERE m.org_id = ? AND m.id > ? ORDER BY m.id LIMIT ?", p.OrgID, cursor, limit))
	case protocol.RoleCounselor:
		// rules.ReadAccess: a counselor reads the conversations they have.
		return db.collectMessages(db.reads.QueryContext(ctx, "SELECT "+msgCols+
			" FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.assignee_id = ? AND c.org_id = ? AND m.id > ? ORDER BY m.id LIMIT ?",
			p.AccountID, p.OrgID, cursor, limit))
	}
	return db.collectMessages(db.reads.QueryContext(ctx, "SELECT "+msgCols+
		" FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.client_id = ? AND c.org_id = ? AND m.id > ? AND m.kind != 'note' ORDER BY m.id LIMIT ?",
		p.AccountID, p.OrgID, cursor, limit))
}

// writableConv loads, inside a write, the conversation p acts on: staff
// name it and must share its organisation; a client always acts on their
// own, whatever they name.
func writableConv(tx *wtx, p store.Principal, conversationID int64) (store.ConversationState, error) {
	var (
		c   store.ConversationState
		err error
	)
	if p.IsStaff() {
		c, err = scanConv(tx.QueryRow("SELECT "+convCols+convFrom+"WHERE c.id = ? AND c.org_id = ?", conversationID, p.OrgID))
	} else {
		c, err = scanConv(tx.QueryRow("SELECT "+convCols+convFrom+"WHERE c.client_id = ? AND c.org_id = ?", p.AccountID, p.OrgID))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return c, protocol.Errorf(protocol.CodeNotFound, "no such conversation")
	}
	if err != nil {
		return c, fmt.Errorf("load conversation: %w", err)
	}
	// A client may name its own conversation or none; naming another is an
	// error, never a silent redirect into its own.
	if !p.IsStaff() && conversationID != 0 && conversationID != c.ID {
		return c, protocol.Errorf(protocol.CodeNotFound, "no such conversation")
	}
	return c, nil
}

// Send stores a message once: a repeated ref returns the original.
func (db *DB) Send(ctx context.Context, p store.Principal, r store.SendRequest) (protocol.Message, bool, error) {
	if err := protocol.ValidateRef(r.Ref); err != nil {
		return protocol.Message{}, false, err
	}
	validate := protocol.ValidateBody
	if r.Attachment != 0 {
		validate = protocol.ValidateCaption
	}
	if err := validate(r.Body); err != nil {
		return protocol.Message{}, false, err
	}
	var (
		out      protocol.Message
		created  bool
		answered bool
	)
	err := db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		answered = false
		// Idempotency: the same sender and ref is the same message.
		prev, err := db.scanMessage(tx.QueryRow("SELECT "+msgCols+" FROM messages m WHERE m.sender_id = ? AND m.ref = ?", p.AccountID, db.ring.HashRef(p.AccountID, r.Ref)))
		if err == nil {
			out = prev
			return nil, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("look up ref: %w", err)
		}
		in := rules.Send{Sender: p, Body: r.Body, Kind: r.Kind, Now: db.clock()}
		if in.Conv, err = writableConv(tx, p, r.ConversationID); err != nil {
			return nil, err
		}
		if in.Settings, err = loadSettings(ctx, tx, p.OrgID); err != nil {
			return nil, err
		}
		var (
			until, groupUntil sql.NullInt64
			senderGroup       int64
			wroteWeek         string
		)
		if err := tx.QueryRow(`SELECT access_until, display_name, (SELECT g.access_until FROM client_groups g WHERE g.id = accounts.group_id),
			COALESCE(group_id, 0), wrote_week FROM accounts WHERE id = ?`, p.AccountID).Scan(&until, &in.SenderName, &groupUntil, &senderGroup, &wroteWeek); err != nil {
			return nil, fmt.Errorf("load sender: %w", err)
		}
		// The earlier of the client's end of access and its group's.
		in.AccessUntil = protocol.Account{AccessUntil: fromNullMS(until), GroupAccessUntil: fromNullMS(groupUntil)}.AccessEnds()
		if r.Attachment != 0 {
			if in.Attachment, err = attachToMessage(tx, p, in.Conv, r.Kind, r.Attachment); err != nil {
				return nil, err
			}
		}
		var watch *deskWatch
		if p.IsStaff() && r.Kind != protocol.KindNote && in.Conv.AssigneeID == nil {
			// A reply may take the conversation: it counts against
			// max_open, and the replier's desk changes.
			if in.Desk, err = desk(ctx, txq{tx}, p.AccountID); err != nil {
				return nil, err
			}
			if watch, err = db.watchDesks(ctx, tx, p.OrgID, p.AccountID); err != nil {
				return nil, err
			}
		}
		sent, err := rules.SendMessage(in)
		if err != nil {
			return nil, err
		}
		// The progress is decided and written with the message: a reply
		// promising a date is never stored without the date, nor the
		// date without the reply.
		if sent.Conv, err = rules.ProgressAfterSend(p, sent.Conv, in.Settings, r.Progress, in.Now); err != nil {
			return nil, err
		}
		c := sent.Conv
		if r.Decides != 0 {
			if err := decide(tx, p, in.Conv, sent.Message, r.Decides); err != nil {
				return nil, err
			}
			if c.Decisions, err = loadDecisions(tx, c.ID); err != nil {
				return nil, err
			}
		}
		if p.IsStaff() && r.TemplateID > 0 {
			if err := countTemplateUse(tx, p, r.TemplateID, in.Now); err != nil {
				return nil, err
			}
		}
		msgs := []protocol.Message{sent.Message}
		if sent.Notice != nil {
			msgs = append(msgs, *sent.Notice)
		}
		refs := []string{r.Ref, ""}
		for i := range msgs {
			if err := db.insertMessage(tx, c.OrgID, c.ClientID, &msgs[i], refs[i]); err != nil {
				return nil, err
			}
		}
		out, created = msgs[0], true
		if err := updateAfterSend(tx, in.Conv, c); err != nil {
			return nil, err
		}
		if sent.Risk {
			// Who and when, never the words that matched.
			if err := record(tx, c.UpdatedAt, p, c.OrgID, protocol.AuditRiskRaised, c.ClientID, protocol.RoleClient, ""); err != nil {
				return nil, err
			}
		}
		if err := usageAfterSend(tx, p, in, c, senderGroup, wroteWeek, sent.Answered); err != nil {
			return nil, err
		}
		if sent.Answered != nil {
			if _, err := tx.Exec("INSERT INTO answer_waits(org_id, at, wait_ms) VALUES (?,?,?)", c.OrgID, ms(c.UpdatedAt), sent.Answered.Milliseconds()); err != nil {
				return nil, fmt.Errorf("note the answer time: %w", err)
			}
			answered = true
		}
		conv, before := c.Conversation, in.Conv.Conversation
		changes := make([]store.Change, 0, len(msgs)+1)
		for i := range msgs {
			changes = append(changes, store.Change{Kind: store.ChangeMessage, OrgID: c.OrgID, ClientID: c.ClientID, ConversationID: c.ID, Message: &msgs[i], Conversation: &conv})
		}
		changes[0].Conn = r.Conn // the sender's own; a notice after it reaches the sender too
		changes = append(changes, store.Change{Kind: store.ChangeConversation, OrgID: c.OrgID, ClientID: c.ClientID, ConversationID: c.ID, Conversation: &conv, Before: &before})
		if watch != nil {
			desks, err := watch.changes(ctx, tx)
			if err != nil {
				return nil, err
			}
			changes = append(changes, desks...)
		}
		return changes, nil
	})
	if err == nil && answered {
		db.replies.Answered(p.OrgID) // committed: the next read may show it
	}
	return out, created, err
}

// updateAfterSend writes what a send changed in its conversation. The
// columns that indexes cover (assignee, pool, nomination) and those that
// refer to accounts are written only when they changed: SQLite rewrites a
// row's entry in every index on a column its SET names, changed or not,
// and checks every foreign key it names. Naming them all, a send wrote
// 10.5 pages to the log; 8.5 now.
func updateAfterSend(tx *wtx, before, c store.ConversationState) error {
	if _, err := tx.Exec(`UPDATE conversations SET last_seq = ?, status = ?, waiting_since = ?, client_wrote = ?,
		client_delivered_seq = ?, client_read_seq = ?, staff_delivered_seq = ?, staff_read_seq = ?,
		notice_until = ?, updated_at = ?, outcome = ?, risk_at = ? WHERE id = ?`,
		c.LastSeq, c.Status, nullMS(c.WaitingSince), c.ClientWrote,
		c.ClientDeliveredSeq, c.ClientReadSeq, c.StaffDeliveredSeq, c.StaffReadSeq,
		nullMS(c.NoticeUntil), ms(c.UpdatedAt), c.Outcome, nullMS(c.RiskAt), c.ID); err != nil {
		return fmt.Errorf("update conversation: %w", err)
	}
	if !sameID(before.AssigneeID, c.AssigneeID) || !sameMS(before.PoolSince, c.PoolSince) || !sameMS(before.NominatedAt, c.NominatedAt) {
		if _, err := tx.Exec("UPDATE conversations SET assignee_id = ?, pool_since = ?, nominated_at = ? WHERE id = ?",
			c.AssigneeID, nullMS(c.PoolSince), nullMS(c.NominatedAt), c.ID); err != nil {
			return fmt.Errorf("update assignment: %w", err)
		}
	}
	if before.Progress != c.Progress || !sameID(before.ProgressBy, c.ProgressBy) || !sameMS(before.ProgressAt, c.ProgressAt) || before.NextContact != c.NextContact {
		if err := writeProgress(tx, c); err != nil {
			return err
		}
	}
	return nil
}

// sameID reports whether two optional IDs are equal.
func sameID(a, b *int64) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// sameMS reports whether two optional times are stored alike (to the
// millisecond).
func sameMS(a, b *time.Time) bool {
	return nullMS(a) == nullMS(b)
}

// insertMessage stores a message with its body sealed under its client's
// and its expiry slice's keys: the database never holds the words. The
// sender's ref is kept only as a keyed hash (sealkeys.HashRef).
func (db *DB) insertMessage(tx *wtx, orgID, clientID int64, m *protocol.Message, ref string) error {
	var sender, refArg, slice any
	if m.SenderID != 0 {
		sender = m.SenderID
	}
	if ref != "" {
		refArg = db.ring.HashRef(m.SenderID, ref)
	}
	var sealed []byte
	if m.Body != "" {
		s, blob, err := db.ring.Seal(clientID, m.ExpiresAt, []byte(m.Body), bodyAAD(m.ConversationID, m.Seq))
		if err != nil {
			return fmt.Errorf("seal message: %w", err)
		}
		slice, sealed = s, blob
	}
	var attID, attType, attSize any
	if a := m.Attachment; a != nil {
		attID, attType, attSize = a.ID, a.Type, a.Size
	}
	res, err := tx.Exec(`INSERT INTO messages(org_id, conversation_id, seq, sender_id, sender_role, kind, ref, body, reopens_at, created_at, expires_at, slice, sealed, notice_state, att_id, att_type, att_size)
		VALUES (?,?,?,?,?,?,?,'',?,?,?,?,?,?,?,?,?)`, orgID, m.ConversationID, m.Seq, sender, m.SenderRole, m.Kind, refArg,
		nullMS(m.ReopensAt), ms(m.CreatedAt), ms(m.ExpiresAt), slice, sealed, m.State, attID, attType, attSize)
	if err != nil {
		return fmt.Errorf("insert message: %w", err)
	}
	if m.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	if m.Attachment != nil {
		if _, err := tx.Exec("UPDATE attachments SET message_id = ? WHERE id = ?", m.ID, m.Attachment.ID); err != nil {
			return fmt.Errorf("attach file to message: %w", err)
		}
	}
	return nil
}

// Receipt raises the principal's side's delivered and read marks; marks
// never go down and never pass the last message.
func (db *DB) Receipt(ctx context.Context, p store.Principal, conversationID, delivered, read int64) error {
	return db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		c, err := writableConv(tx, p, conversationID)
		if err != nil {
			return nil, err
		}
		offered, err := db.offered(ctx, txq{tx}, p)
		if err != nil {
			return nil, err
		}
		if err := rules.MayReadMessages(p, c.Conversation, offered); err != nil {
			return nil, err
		}
		before := c.Conversation
		c, changed := rules.Receipt(p, c, delivered, read)
		if !changed {
			return nil, nil // nothing new: no write, no broadcast
		}
		if _, err := tx.Exec(`UPDATE conversations SET client_delivered_seq = ?, client_read_seq = ?, staff_delivered_seq = ?, staff_read_seq = ?
			WHERE id = ?`, c.ClientDeliveredSeq, c.ClientReadSeq, c.StaffDeliveredSeq, c.StaffReadSeq, c.ID); err != nil {
			return nil, fmt.Errorf("update receipt: %w", err)
		}
		conv := c.Conversation
		return []store.Change{{Kind: store.ChangeConversation, OrgID: c.OrgID, ClientID: c.ClientID, ConversationID: c.ID, Conversation: &conv, Before: &before}}, nil
	})
}

// Assign sets or clears a conversation's assignee (rules.Assign decides).
func (db *DB) Assign(ctx context.Context, p store.Principal, conversationID int64, assignee *int64) (protocol.Conversation, error) {
	if !p.IsStaff() {
		return protocol.Conversation{}, protocol.Errorf(protocol.CodeForbidden, "staff only")
	}
	var out protocol.Conversation
	err := db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		c, err := writableConv(tx, p, conversationID) // staff only, checked above
		if err != nil {
			return nil, err
		}
		var role protocol.Role
		if assignee != nil {
			err := tx.QueryRow("SELECT role FROM accounts WHERE id = ? AND org_id = ?", *assignee, p.OrgID).Scan(&role)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("load assignee: %w", err)
			}
		}
		before := c.Conversation
		d, err := desk(ctx, txq{tx}, p.AccountID)
		if err != nil {
			return nil, err
		}
		s, err := loadSettings(ctx, tx, p.OrgID)
		if err != nil {
			return nil, err
		}
		if c, err = rules.Assign(p, d, c, assignee, role, s, db.clock()); err != nil {
			return nil, err
		}
		out = c.Conversation
		return db.writeAssignment(ctx, tx, c, before)
	})
	return out, err
}

// writeAssignment stores who has a conversation and announces it: to
// whoever may see it, and the desks of whoever had and has it.
func (db *DB) writeAssignment(ctx context.Context, tx *wtx, c store.ConversationState, before protocol.Conversation) ([]store.Change, error) {
	var watch *deskWatch
	if ids := assignees(before, c.Conversation); len(ids) > 0 {
		var err error
		if watch, err = db.watchDesks(ctx, tx, c.OrgID, ids...); err != nil {
			return nil, err
		}
	}
	if _, err := tx.Exec("UPDATE conversations SET assignee_id = ?, pool_since = ?, outcome = ?, nominated_at = ?, risk_at = ?, last_seq = ?, updated_at = ? WHERE id = ?",
		c.AssigneeID, nullMS(c.PoolSince), c.Outcome, nullMS(c.NominatedAt), nullMS(c.RiskAt), c.LastSeq, ms(c.UpdatedAt), c.ID); err != nil {
		return nil, fmt.Errorf("assign: %w", err)
	}
	conv := c.Conversation
	changes := []store.Change{{Kind: store.ChangeConversation, OrgID: c.OrgID, ClientID: c.ClientID, ConversationID: c.ID, Conversation: &conv, Before: &before}}
	if watch == nil {
		return changes, nil
	}
	desks, err := watch.changes(ctx, tx)
	return append(changes, desks...), err
}

// Claim takes a pool conversation for p (rules.Claim), inside the
// writer's transaction: of several claims at once, the first committed
// wins and the others find it taken.
func (db *DB) Claim(ctx context.Context, p store.Principal, conversationID int64) (protocol.Conversation, error) {
	if !p.IsStaff() {
		return protocol.Conversation{}, protocol.Errorf(protocol.CodeForbidden, "staff only")
	}
	var out protocol.Conversation
	err := db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		c, access, err := db.loadConversation(ctx, txq{tx}, p, conversationID)
		if err != nil {
			return nil, err
		}
		before := c.Conversation
		d, err := desk(ctx, txq{tx}, p.AccountID)
		if err != nil {
			return nil, err
		}
		s, err := loadSettings(ctx, tx, p.OrgID)
		if err != nil {
			return nil, err
		}
		if access == rules.AccessNone && c.AssigneeID == nil && !rules.AtCapacity(p, d, s) {
			return nil, protocol.Errorf(protocol.CodeForbidden, "this conversation is not offered to you")
		}
		c, changed, err := rules.Claim(p, d, c, s, db.clock())
		if err != nil {
			return nil, err
		}
		out = c.Conversation
		if !changed {
			return nil, nil
		}
		return db.writeAssignment(ctx, tx, c, before)
	})
	return out, err
}

// Preview records a staff member's reading of a pool conversation's
// waiting messages and returns them (rules.PreviewOf).
func (db *DB) Preview(ctx context.Context, p store.Principal, conversationID int64) (protocol.Preview, error) {
	if !p.IsStaff() {
		return protocol.Preview{}, protocol.Errorf(protocol.CodeForbidden, "staff only")
	}
	var out protocol.Preview
	err := db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		c, _, err := db.loadConversation(ctx, txq{tx}, p, conversationID)
		if err != nil {
			return nil, err
		}
		offered, err := db.offered(ctx, txq{tx}, p)
		if err != nil {
			return nil, err
		}
		if err := rules.MayPreview(p, c.Conversation, offered); err != nil {
			return nil, err
		}
		// What waits: the client's messages since the last staff reply, or
		// the client's last one.
		rows, err := tx.Query("SELECT "+msgCols+` FROM messages m WHERE m.conversation_id = ?1 AND m.sender_role = 'client' AND m.kind = 'text'
			AND m.seq > COALESCE((SELECT MAX(seq) FROM messages WHERE conversation_id = ?1 AND sender_role IN ('admin', 'counselor')), 0)
			ORDER BY m.seq LIMIT ?2`, c.ID, protocol.PreviewMessages)
		msgs, err := db.collectMessages(rows, err)
		if err != nil {
			return nil, err
		}
		if len(msgs) == 0 {
			rows, err := tx.Query("SELECT "+msgCols+" FROM messages m WHERE m.conversation_id = ? AND m.sender_role = 'client' AND m.kind = 'text' ORDER BY m.seq DESC LIMIT 1", c.ID)
			if msgs, err = db.collectMessages(rows, err); err != nil {
				return nil, err
			}
		}
		out = protocol.Preview{Conversation: c.Conversation, Messages: rules.PreviewOf(msgs)}
		return nil, record(tx, db.clock(), p, p.OrgID, protocol.AuditPoolPreview, c.ClientID, protocol.RoleClient, "")
	})
	return out, err
}

// Transfer hands a conversation on (rules.Transfer): the note and the
// client's notice are stored with it, in one transaction.
func (db *DB) Transfer(ctx context.Context, p store.Principal, conversationID int64, to *int64, note string) (protocol.Conversation, error) {
	if !p.IsStaff() {
		return protocol.Conversation{}, protocol.Errorf(protocol.CodeForbidden, "staff only")
	}
	var out protocol.Conversation
	err := db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		c, err := writableConv(tx, p, conversationID)
		if err != nil {
			return nil, err
		}
		var role protocol.Role
		if to != nil {
			err := tx.QueryRow("SELECT role FROM accounts WHERE id = ? AND org_id = ?", *to, p.OrgID).Scan(&role)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("load the colleague: %w", err)
			}
		}
		s, err := loadSettings(ctx, tx, p.OrgID)
		if err != nil {
			return nil, err
		}
		var name string
		if err := tx.QueryRow("SELECT display_name FROM accounts WHERE id = ?", p.AccountID).Scan(&name); err != nil {
			return nil, fmt.Errorf("load the staff member: %w", err)
		}
		before := c.Conversation
		var toDesk rules.Desk
		if to != nil && role.IsStaff() {
			if toDesk, err = desk(ctx, txq{tx}, *to); err != nil {
				return nil, err
			}
		}
		h, err := rules.Transfer(p, name, c, to, role, toDesk, note, s, db.clock())
		if err != nil {
			return nil, err
		}
		watch, err := db.watchDesks(ctx, tx, c.OrgID, assignees(before, h.Conv.Conversation)...)
		if err != nil {
			return nil, err
		}
		c = h.Conv
		var changes []store.Change
		conv := c.Conversation
		for _, m := range []*protocol.Message{h.Note, h.Notice} {
			if m == nil {
				continue
			}
			if err := db.insertMessage(tx, c.OrgID, c.ClientID, m, ""); err != nil {
				return nil, err
			}
			changes = append(changes, store.Change{Kind: store.ChangeMessage, OrgID: c.OrgID, ClientID: c.ClientID, ConversationID: c.ID, Message: m, Conversation: &conv})
		}
		if _, err := tx.Exec("UPDATE conversations SET assignee_id = ?, pool_since = ?, outcome = ?, nominated_at = ?, last_seq = ?, updated_at = ? WHERE id = ?",
			c.AssigneeID, nullMS(c.PoolSince), c.Outcome, nullMS(c.NominatedAt), c.LastSeq, ms(c.UpdatedAt), c.ID); err != nil {
			return nil, fmt.Errorf("hand over: %w", err)
		}
		out = conv
		changes = append(changes, store.Change{Kind: store.ChangeConversation, OrgID: c.OrgID, ClientID: c.ClientID, ConversationID: c.ID, Conversation: &conv, Before: &before})
		desks, err := watch.changes(ctx, tx)
		return append(changes, desks...), err
	})
	return out, err
}

// txq lets a transaction serve as a querier (QueryRowContext).
type txq struct{ tx *wtx }

func (q txq) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return q.tx.QueryRowContext(ctx, query, args...)
}

func (q txq) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.tx.QueryContext(ctx, query, args...)
}

// sweepBatchTarget is how long one sweep batch should hold the writer, and
// minSweepBatch the fewest rows a batch deletes however slow the disk.
const (
	sweepBatchTarget = 25 * time.Millisecond
	minSweepBatch    = 50
)

// sweepBatch deletes up to size expired messages, oldest first,
// and announces each conversation's deletion. Ordered by expiry, then
// conversation and seq: as expiry rises with seq in every conversation
// (retention.Shorten keeps that true), each batch takes the lowest seqs of
// each conversation it touches, so "deleted through seq N" is exact.
func (db *DB) sweepBatch(ctx context.Context, now int64, size int) (messages, conversations int, err error) {
	err = db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		messages, conversations = 0, 0
		rows, err := tx.Query(`DELETE FROM messages WHERE id IN (SELECT id FROM messages
			WHERE expires_at <= ? ORDER BY expires_at, conversation_id, seq LIMIT ?)
			RETURNING org_id, conversation_id, seq`, now, size)
		if err != nil {
			return nil, fmt.Errorf("delete expired: %w", err)
		}
		byConv := map[int64]*store.Change{}
		var order []int64
		for rows.Next() {
			var org, conv, seq int64
			if err := rows.Scan(&org, &conv, &seq); err != nil {
				rows.Close()
				return nil, fmt.Errorf("delete expired: %w", err)
			}
			ch := byConv[conv]
			if ch == nil {
				ch = &store.Change{Kind: store.ChangeDeleted, OrgID: org, ConversationID: conv, At: fromMS(now)}
				byConv[conv] = ch
				order = append(order, conv)
			}
			ch.ThroughSeq = max(ch.ThroughSeq, seq)
			ch.Count++
			messages++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("delete expired: %w", err)
		}
		changes := make([]store.Change, 0, len(order))
		for _, conv := range order {
			ch := byConv[conv]
			// The client, for routing: the conversation outlives its messages.
			if err := tx.QueryRow("SELECT client_id FROM conversations WHERE id = ?", conv).Scan(&ch.ClientID); err != nil {
				return nil, fmt.Errorf("find the conversation's client: %w", err)
			}
			changes = append(changes, *ch)
		}
		conversations = len(changes)
		return changes, nil
	})
	return messages, conversations, err
}

// Sweep deletes expired messages and sessions and scrubs the files.
func (db *DB) Sweep(ctx context.Context) (store.SweepResult, error) {
	var res store.SweepResult
	now := ms(db.clock())
	// Files first: each expires no later than its message.
	var err error
	if res.Attachments, err = db.sweepAttachments(ctx, fromMS(now)); err != nil {
		return res, err
	}
	// Expired messages go in bounded batches, each its own write: other
	// writes (sends, acks) take turns with the sweep instead of waiting
	// behind a million deletions.
	//
	// A batch's size follows how long batches take: on a slow or busy disk
	// (secure_delete writes every deleted row's page) a thousand rows took
	// up to half a second, and every send waited behind it.
	size := db.sweepBatchSize
	for {
		start := time.Now()
		n, convs, err := db.sweepBatch(ctx, now, size)
		if err != nil {
			return res, err
		}
		res.Messages += n
		res.Conversations += convs
		if n < size {
			break
		}
		switch took := time.Since(start); {
		case took > 2*sweepBatchTarget:
			size = max(size/2, min(minSweepBatch, db.sweepBatchSize))
		case took < sweepBatchTarget/2:
			size = min(size*2, db.sweepBatchSize)
		}
		// Leave the writer to others for as long again: a sweep of a
		// million messages then costs the sends beside it at most one
		// batch's wait, and only half of the time. Meanwhile the
		// write-ahead log the batch grew goes into the database from
		// beside the writer.
		wait := time.After(time.Since(start))
		db.checkpointAside(ctx)
		select {
		case <-wait:
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	if res.NominationsLapsed, res.NominationsReturned, err = db.sweepNominations(ctx); err != nil {
		return res, err
	}
	if res.Unanswered, err = db.sweepUnanswered(ctx); err != nil {
		return res, err
	}
	if res.AutoDeleted, err = db.sweepAutoDelete(ctx); err != nil {
		return res, err
	}
	err = db.do(ctx, false, func(tx *wtx) ([]store.Change, error) {
		var changes []store.Change
		// Sessions past their expiry, and those of clients whose access
		// period has ended, end now; connected apps are told.
		if _, err := tx.Exec("DELETE FROM ended_sessions WHERE ended_at <= ?", now-endedKept.Milliseconds()); err != nil {
			return nil, fmt.Errorf("forget old ended sessions: %w", err)
		}
		ended, err := endSessions(tx, fromMS(now), "expired", `(s.expires_at <= ?
			OR s.account_id IN (SELECT id FROM accounts WHERE access_until IS NOT NULL AND access_until <= ?)
			OR s.account_id IN (SELECT a.id FROM accounts a JOIN client_groups g ON g.id = a.group_id
				WHERE g.access_until IS NOT NULL AND g.access_until <= ?))`, now, now, now)
		if err != nil {
			return nil, err
		}
		res.Sessions = len(ended)
		// Audit entries older than their organisation's audit retention.
		ares, err := tx.Exec(`DELETE FROM audit_log WHERE at <= ?1 - 86400000 * (SELECT
			COALESCE(NULLIF(json_extract(settings, '$.audit_retention_days'), 0), ?2) FROM orgs WHERE orgs.id = audit_log.org_id)`,
			now, protocol.DefaultAuditRetentionDays)
		if err != nil {
			return nil, fmt.Errorf("delete old audit entries: %w", err)
		}
		n, err := ares.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("delete old audit entries: %w", err)
		}
		res.AuditEntries = int(n)
		// Announcements past their expiry (issue 16), on the same schedule
		// as messages.
		anres, err := tx.Exec("DELETE FROM announcements WHERE expires_at <= ?", now)
		if err != nil {
			return nil, fmt.Errorf("delete expired announcements: %w", err)
		}
		if n, err = anres.RowsAffected(); err != nil {
			return nil, fmt.Errorf("delete expired announcements: %w", err)
		}
		res.Announcements = int(n)
		if _, err := tx.Exec("DELETE FROM idempotency WHERE created_at <= ?", now-store.IdempotencyKept.Milliseconds()); err != nil {
			return nil, fmt.Errorf("forget old idempotency keys: %w", err)
		}
		// Usage events older than a year of weeks (by their week: a week
		// key compares as text).
		if _, err := tx.Exec("DELETE FROM usage_events WHERE week < ?", fromMS(now).Add(-rules.UsageKept).UTC().Format("2006-01-02")); err != nil {
			return nil, fmt.Errorf("forget old usage events: %w", err)
		}
		if len(ended) > 0 {
			changes = append(changes, store.Change{Kind: store.ChangeRevoked, SessionIDs: ended, Reason: "expired"})
		}
		if db.idle.Staff > 0 || db.idle.Shared > 0 {
			idle, err := endIdle(tx, fromMS(now), db.idle)
			if err != nil {
				return nil, err
			}
			res.Sessions += len(idle)
			if len(idle) > 0 {
				changes = append(changes, store.Change{Kind: store.ChangeRevoked, SessionIDs: idle, Reason: "idle"})
			}
		}
		return changes, nil
	})
	if err != nil {
		return res, err
	}
	if res.Messages > 0 || res.Sessions > 0 || res.AuditEntries > 0 || db.scrubPending.Load() {
		// An empty write whose only job is the TRUNCATE checkpoint. The
		// log is copied beside the writer first, so that the TRUNCATE,
		// which holds the writer, has little left to copy (it held acks
		// for 150 ms after a million deletions).
		db.checkpointAside(ctx)
		if err := db.do(ctx, true, func(*wtx) ([]store.Change, error) { return nil, nil }); err != nil {
			return res, err
		}
	}
	// Every message of a slice that has ended is deleted by now: its key
	// goes, and with it what any copy of the database still holds.
	if err := db.ring.DestroySlicesEndedBy(db.clock()); err != nil {
		return res, fmt.Errorf("destroy ended slice keys: %w", err)
	}
	if err := db.prepareSlices(ctx); err != nil {
		return res, err
	}
	return res, nil
}

// usageAfterSend files what a message counts for the usage figures
// (issue 16): a client's first message of the week, a conversation that
// began (the client wrote while nobody had it), an answer's wait.
func usageAfterSend(tx *wtx, p store.Principal, in rules.Send, after store.ConversationState, senderGroup int64, wroteWeek string, answered *time.Duration) error {
	if p.Role != protocol.RoleClient && answered == nil {
		return nil
	}
	week := rules.WeekKey(in.Settings, in.Now)
	if p.Role == protocol.RoleClient {
		if wroteWeek != week {
			if _, err := tx.Exec("UPDATE accounts SET wrote_week = ? WHERE id = ?", week, p.AccountID); err != nil {
				return fmt.Errorf("note the week: %w", err)
			}
			if err := usageEvent(tx, in.Conv.OrgID, senderGroup, week, rules.UsageWrote, 0); err != nil {
				return err
			}
		}
		if in.Conv.PoolSince == nil && in.Conv.AssigneeID == nil && after.PoolSince != nil {
			if err := usageEvent(tx, in.Conv.OrgID, senderGroup, week, rules.UsageConversation, 0); err != nil {
				return err
			}
		}
		return nil
	}
	var group int64
	if err := tx.QueryRow("SELECT COALESCE(group_id, 0) FROM accounts WHERE id = ?", after.ClientID).Scan(&group); err != nil {
		return fmt.Errorf("load the client's group: %w", err)
	}
	return usageEvent(tx, after.OrgID, group, week, rules.UsageAnswered, answered.Milliseconds())
}

// usageEvent files one usage event.
func usageEvent(tx *wtx, orgID, groupID int64, week, kind string, waitMS int64) error {
	if _, err := tx.Exec("INSERT INTO usage_events(org_id, group_id, week, kind, wait_ms) VALUES (?,?,?,?,?)", orgID, groupID, week, kind, waitMS); err != nil {
		return fmt.Errorf("file a usage event: %w", err)
	}
	return nil
}
