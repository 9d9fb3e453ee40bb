package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"
	"strings"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

const accountBase = "id, org_id, role, login_id, nickname, note, access_until, created_at, password_hash, display_name, presence, intro, accept_nominations, nomination_lapsed_at"

// accountCols are accountBase and the client's group (issue 16), for a
// query FROM accounts.
const accountCols = accountBase + groupOfAccount

// groupOfAccount is a client's group: its ID, name and end of access.
const groupOfAccount = `, COALESCE(accounts.group_id, 0),
	COALESCE((SELECT g.name FROM client_groups g WHERE g.id = accounts.group_id), ''),
	(SELECT g.access_until FROM client_groups g WHERE g.id = accounts.group_id)`

func scanAccount(sc interface{ Scan(...any) error }) (store.AccountRecord, error) {
	var (
		a       store.AccountRecord
		until   sql.NullInt64
		created int64
		lapsed  sql.NullInt64
	)
	var groupUntil sql.NullInt64
	err := sc.Scan(&a.ID, &a.OrgID, &a.Role, &a.LoginID, &a.Nickname, &a.Note, &until, &created, &a.PasswordHash, &a.DisplayName, &a.Presence,
		&a.Intro, &a.AcceptNominations, &lapsed, &a.GroupID, &a.GroupName, &groupUntil)
	a.GroupAccessUntil = fromNullMS(groupUntil)
	a.NominationLapsedAt = fromNullMS(lapsed)
	if a.Role == protocol.RoleClient {
		a.Presence = "" // staff only
	}
	a.AccessUntil = fromNullMS(until)
	a.CreatedAt = fromMS(created)
	return a, err
}

// CreateAccount adds an account; a client gets its conversation with it.
func (db *DB) CreateAccount(ctx context.Context, p store.Principal, a store.NewAccount) (protocol.Account, error) {
	now := db.clock()
	var out protocol.Account
	err := db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		var (
			scope rules.Scope
			group protocol.Group
			err   error
		)
		if a.Role == protocol.RoleClient {
			if a.GroupID == 0 {
				if a.GroupID, err = defaultGroup(tx, a.OrgID, ms(now)); err != nil {
					return nil, err
				}
			}
			if group, err = orgGroup(tx, a.OrgID, a.GroupID); err != nil {
				return nil, err
			}
			if scope.ActorGroups, err = actorGroups(tx, p); err != nil {
				return nil, err
			}
			scope.ClientGroup = group.ID
		}
		if a, err = rules.NewAccount(p, a, scope); err != nil {
			return nil, err
		}
		if a.Role == protocol.RoleRegistrar {
			if err := checkRegistrarGroups(tx, a.OrgID, a.GroupIDs); err != nil {
				return nil, err
			}
		}
		out = protocol.Account{OrgID: a.OrgID, Role: a.Role, LoginID: a.LoginID, Nickname: a.Nickname,
			Note: a.Note, AccessUntil: a.AccessUntil, CreatedAt: now, GroupIDs: a.GroupIDs}
		if a.Role.IsStaff() {
			out.Presence = protocol.PresenceAvailable
		}
		var groupID any
		if a.Role == protocol.RoleClient {
			groupID, out.GroupID, out.GroupName, out.GroupAccessUntil = group.ID, group.ID, group.Name, group.AccessUntil
		}
		err = tx.QueryRow(`INSERT INTO accounts(org_id, role, login_id, nickname, note, access_until, password_hash, created_at, group_id)
			VALUES (?,?,?,?,?,?,?,?,?) RETURNING id`, a.OrgID, a.Role, a.LoginID, a.Nickname, a.Note, nullMS(a.AccessUntil), a.PasswordHash, ms(now), groupID).Scan(&out.ID)
		if isUniqueViolation(err) {
			return nil, protocol.Errorf(protocol.CodeConflict, "login ID is taken")
		}
		if err != nil {
			return nil, fmt.Errorf("insert account: %w", err)
		}
		if err := record(tx, now, p, a.OrgID, protocol.AuditAccountCreated, out.ID, a.Role, string(a.Role)); err != nil {
			return nil, err
		}
		for _, g := range a.GroupIDs {
			if _, err := tx.Exec("INSERT INTO registrar_groups(account_id, group_id) VALUES (?,?)", out.ID, g); err != nil {
				return nil, fmt.Errorf("insert registrar's group: %w", err)
			}
		}
		if a.Role != protocol.RoleClient {
			return nil, nil
		}
		var convID int64
		if err := tx.QueryRow("INSERT INTO conversations(org_id, client_id, updated_at) VALUES (?,?,?) RETURNING id", a.OrgID, out.ID, ms(now)).Scan(&convID); err != nil {
			return nil, fmt.Errorf("insert conversation: %w", err)
		}
		settings, err := loadSettings(tx, a.OrgID)
		if err != nil {
			return nil, err
		}
		if err := usageEvent(tx, a.OrgID, group.ID, rules.WeekKey(settings, now), rules.UsageRegistered, 0); err != nil {
			return nil, err
		}
		if a.Idem != nil {
			// In the creating transaction: a twin request with the same
			// Idempotency-Key rolls this client back.
			if err := recordIdempotency(tx, a.Idem, out.ID, group.ID, a.LoginID, ms(now)); err != nil {
				return nil, err
			}
		}
		conv := protocol.Conversation{ID: convID, ClientID: out.ID, Nickname: a.Nickname, Status: protocol.StatusNew, FirstSeq: 1, UpdatedAt: now}
		if !group.Default {
			conv.GroupName = group.Name // as convCols: the default group goes unlabelled
		}
		return []store.Change{{Kind: store.ChangeConversation, OrgID: a.OrgID, ClientID: out.ID, ConversationID: convID, Conversation: &conv}}, nil
	})
	if err == nil && out.Role == protocol.RoleClient {
		// The client's sealing key, made now rather than at its first
		// message, where its durable write would hold up every send in the
		// batch. If this fails, the first message makes it.
		if kerr := db.ring.EnsureClient(out.ID); kerr != nil {
			db.log.Error("create client key", "err", kerr)
		}
	}
	return out, err
}

// AccountByLogin finds an account by login ID.
func (db *DB) AccountByLogin(ctx context.Context, loginID string) (store.AccountRecord, error) {
	a, err := scanAccount(db.read(ctx).QueryRow("SELECT "+accountCols+" FROM accounts WHERE login_id = ?", loginID))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, protocol.Errorf(protocol.CodeNotFound, "no such account")
	}
	if err != nil {
		return a, fmt.Errorf("find account: %w", err)
	}
	return a, nil
}

// Account returns one account of the staff member's organisation.
//
// A registrar finds only themselves and the clients of their groups.
func (db *DB) Account(ctx context.Context, p store.Principal, id int64) (protocol.Account, error) {
	if !p.IsStaff() && p.Role != protocol.RoleRegistrar && p.AccountID != id {
		return protocol.Account{}, protocol.Errorf(protocol.CodeNotFound, "no such account")
	}
	a, err := scanAccount(db.read(ctx).QueryRow("SELECT "+accountCols+" FROM accounts WHERE id = ? AND org_id = ?", id, p.OrgID))
	if errors.Is(err, pgx.ErrNoRows) {
		return protocol.Account{}, protocol.Errorf(protocol.CodeNotFound, "no such account")
	}
	if err != nil {
		return protocol.Account{}, fmt.Errorf("load account: %w", err)
	}
	if p.Role == protocol.RoleRegistrar && a.ID != p.AccountID {
		groups, err := registrarGroups(db.read(ctx), p.AccountID)
		if err != nil {
			return protocol.Account{}, err
		}
		if a.Role != protocol.RoleClient || !rules.ManagesClient(p, p.OrgID, rules.Scope{ActorGroups: groups, ClientGroup: a.GroupID}) {
			return protocol.Account{}, protocol.Errorf(protocol.CodeNotFound, "no such account")
		}
	}
	if a.Role == protocol.RoleRegistrar {
		if a.GroupIDs, err = registrarGroups(db.read(ctx), a.ID); err != nil {
			return protocol.Account{}, err
		}
	}
	return rules.AccountFor(p, a.Account), nil
}

// Accounts lists the organisation's accounts with a role (staff only).
//
// A registrar lists the clients of their groups only.
func (db *DB) Accounts(ctx context.Context, p store.Principal, role protocol.Role) ([]protocol.Account, error) {
	q, args := "SELECT "+accountCols+", (SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = accounts.id)"+
		" FROM accounts WHERE org_id = ? AND role = ?", []any{p.OrgID, role}
	switch {
	case p.IsStaff():
	case p.Role == protocol.RoleRegistrar && role == protocol.RoleClient:
		q += " AND group_id IN (SELECT group_id FROM registrar_groups WHERE account_id = ?)"
		args = append(args, p.AccountID)
	default:
		return nil, protocol.Errorf(protocol.CodeForbidden, "staff only")
	}
	rows, err := db.read(ctx).Query(q+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	out := []protocol.Account{}
	for rows.Next() {
		var open int
		a, err := scanAccount(rowWith{rows, &open})
		if err != nil {
			return nil, fmt.Errorf("scan account: %w", err)
		}
		if a.Role.IsStaff() {
			a.OpenConversations = open
		}
		out = append(out, rules.AccountFor(p, a.Account))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if role == protocol.RoleRegistrar {
		for i := range out {
			if out[i].GroupIDs, err = registrarGroups(db.read(ctx), out[i].ID); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// checkRegistrarGroups checks a registrar's groups are the organisation's.
func checkRegistrarGroups(tx *wtx, orgID int64, groups []int64) error {
	rows, err := tx.Query("SELECT id FROM client_groups WHERE org_id = ?", orgID)
	if err != nil {
		return fmt.Errorf("load groups: %w", err)
	}
	defer rows.Close()
	var all []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("load groups: %w", err)
		}
		all = append(all, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rules.NewRegistrar(groups, all)
}

// rowWith scans a row of accountCols followed by more columns.
type rowWith struct {
	sc   interface{ Scan(...any) error }
	more any
}

func (r rowWith) Scan(dest ...any) error { return r.sc.Scan(append(dest, r.more)...) }

// UpdateClient changes a client's nickname, note or access date.
func (db *DB) UpdateClient(ctx context.Context, p store.Principal, id int64, u protocol.UpdateClientRequest) (protocol.Account, error) {
	if p.Role != protocol.RoleAdmin && p.KeyID == 0 {
		return protocol.Account{}, protocol.Errorf(protocol.CodeForbidden, "only admins change clients")
	}
	var out protocol.Account
	err := db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		a, err := scanAccount(tx.QueryRow("SELECT "+accountCols+" FROM accounts WHERE id = ? AND org_id = ? AND role = 'client'", id, p.OrgID))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no such client")
		}
		if err != nil {
			return nil, fmt.Errorf("load client: %w", err)
		}
		now := db.clock()
		var to *protocol.Group
		if u.GroupID != 0 {
			g, err := orgGroup(tx, p.OrgID, u.GroupID)
			if err != nil {
				return nil, err
			}
			to = &g
		}
		groups, err := actorGroups(tx, p)
		if err != nil {
			return nil, err
		}
		up, err := rules.UpdateClient(p, a.Account, u, to, rules.Scope{ActorGroups: groups, ClientGroup: a.GroupID}, now)
		if err != nil {
			return nil, err
		}
		a.Account = up.Account
		if err := record(tx, now, p, p.OrgID, protocol.AuditClientUpdated, id, protocol.RoleClient, strings.Join(up.Fields, ",")); err != nil {
			return nil, err
		}
		if _, err := tx.Exec("UPDATE accounts SET nickname = ?, note = ?, access_until = ?, group_id = ? WHERE id = ?",
			a.Nickname, a.Note, nullMS(a.AccessUntil), a.GroupID, id); err != nil {
			return nil, fmt.Errorf("update client: %w", err)
		}
		out = a.Account
		var changes []store.Change
		switch {
		case up.AccessEnded:
			// Ended now: every device is signed out at once, as a forced
			// logout would, not at the next sweep.
			ended, err := revokeAll(tx, now, p.OrgID, a.ID, "access_ended")
			if err != nil {
				return nil, err
			}
			changes = append(changes, ended...)
		case u.AccessUntil != nil || u.ClearAccessUntil || to != nil:
			changes = append(changes, store.Change{Kind: store.ChangeAccess, OrgID: p.OrgID, AccountID: a.ID, AccessUntil: a.AccessEnds()})
		}
		if u.Note != nil {
			ch, err := noteChanged(tx, p, a.ID, now)
			if err != nil {
				return nil, err
			}
			changes = append(changes, ch)
		}
		if u.Nickname == nil && to == nil {
			return changes, nil
		}
		conv, err := conversationByClient(tx, a.ID)
		if err != nil {
			return nil, err
		}
		return append(changes, store.Change{Kind: store.ChangeConversation, OrgID: p.OrgID, ClientID: a.ID, ConversationID: conv.ID, Conversation: &conv}), nil
	})
	return out, err
}

// SetPassword replaces a password hash and ends the account's sessions: a
// reset is what an admin does when a slip of paper is lost.
func (db *DB) SetPassword(ctx context.Context, p store.Principal, id int64, hash string) error {
	return db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		var (
			orgID, group int64
			role         protocol.Role
		)
		if err := tx.QueryRow("SELECT org_id, role, COALESCE(group_id, 0) FROM accounts WHERE id = ?", id).Scan(&orgID, &role, &group); err != nil {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no such account")
		}
		groups, err := actorGroups(tx, p)
		if err != nil {
			return nil, err
		}
		if !rules.MayAdminister(p, orgID) && (role != protocol.RoleClient || !rules.ManagesClient(p, orgID, rules.Scope{ActorGroups: groups, ClientGroup: group})) {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no such account")
		}
		if _, err := tx.Exec("UPDATE accounts SET password_hash = ? WHERE id = ?", hash, id); err != nil {
			return nil, fmt.Errorf("set password: %w", err)
		}
		if err := record(tx, db.clock(), p, orgID, protocol.AuditPasswordReset, id, role, ""); err != nil {
			return nil, err
		}
		return revokeAll(tx, db.clock(), orgID, id, "password_reset")
	})
}

// UpdateMe changes what staff choose about themselves (rules.UpdateMe):
// the name clients see, their presence, introduction and nomination
// switch. A new presence is announced to colleagues and may offer or
// withdraw the pool.
func (db *DB) UpdateMe(ctx context.Context, p store.Principal, patch protocol.MePatch) (protocol.Account, error) {
	if !p.IsStaff() {
		return protocol.Account{}, protocol.Errorf(protocol.CodeForbidden, "staff only")
	}
	var out protocol.Account
	err := db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		a, err := scanAccount(tx.QueryRow("SELECT "+accountCols+" FROM accounts WHERE id = ? AND org_id = ?", p.AccountID, p.OrgID))
		if err != nil {
			return nil, fmt.Errorf("load account: %w", err)
		}
		watch, err := db.watchDesks(ctx, tx, p.OrgID, p.AccountID)
		if err != nil {
			return nil, err
		}
		acct, _, err := rules.UpdateMe(p, a.Account, patch)
		if err != nil {
			return nil, err
		}
		if _, err := tx.Exec("UPDATE accounts SET display_name = ?, presence = ?, intro = ?, accept_nominations = ?, nomination_lapsed_at = ? WHERE id = ?",
			acct.DisplayName, acct.Presence, acct.Intro, acct.AcceptNominations, nullMS(acct.NominationLapsedAt), p.AccountID); err != nil {
			return nil, fmt.Errorf("update account: %w", err)
		}
		out = acct
		return watch.changes(ctx, tx)
	})
	return out, err
}

// ChangeOwnPassword sets the principal's new password; the session that
// asked stays, every other one ends (a password is changed when it may
// have leaked).
func (db *DB) ChangeOwnPassword(ctx context.Context, p store.Principal, sessionID int64, hash string) error {
	return db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		now := db.clock()
		if _, err := tx.Exec("UPDATE accounts SET password_hash = ? WHERE id = ?", hash, p.AccountID); err != nil {
			return nil, fmt.Errorf("set password: %w", err)
		}
		if err := record(tx, now, p, p.OrgID, protocol.AuditPasswordChanged, p.AccountID, p.Role, ""); err != nil {
			return nil, err
		}
		ids, err := endSessions(tx, now, "password_changed", "s.account_id = ? AND s.id != ?", p.AccountID, sessionID)
		if err != nil {
			return nil, err
		}
		return []store.Change{{Kind: store.ChangeRevoked, OrgID: p.OrgID, SessionIDs: ids, Reason: "password_changed"}}, nil
	})
}

// DeleteAccount removes an account and everything that hangs on it.
func (db *DB) DeleteAccount(ctx context.Context, p store.Principal, id int64) error {
	if !p.Role.ManagesClients() && p.Role != protocol.RoleSystem {
		return protocol.Errorf(protocol.CodeForbidden, "only admins delete accounts")
	}
	var (
		role  protocol.Role
		files []string
	)
	err := db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		files = nil
		var scope rules.Scope
		err := tx.QueryRow("SELECT role, COALESCE(group_id, 0) FROM accounts WHERE id = ? AND org_id = ?", id, p.OrgID).Scan(&role, &scope.ClientGroup)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no such account")
		}
		if err != nil {
			return nil, fmt.Errorf("load account: %w", err)
		}
		var admins int
		if err := tx.QueryRow("SELECT COUNT(*) FROM accounts WHERE org_id = ? AND role = 'admin'", p.OrgID).Scan(&admins); err != nil {
			return nil, fmt.Errorf("count admins: %w", err)
		}
		if scope.ActorGroups, err = actorGroups(tx, p); err != nil {
			return nil, err
		}
		if err := rules.DeleteAccount(p, id, role, admins, scope); err != nil {
			if p.Role == protocol.RoleRegistrar {
				// Outside a registrar's groups nothing is there to them.
				return nil, protocol.Errorf(protocol.CodeNotFound, "no such account")
			}
			return nil, err
		}
		changes, err := revokeAll(tx, db.clock(), p.OrgID, id, "deleted")
		if err != nil {
			return nil, err
		}
		action := protocol.AuditAccountDeleted
		if p.Role == protocol.RoleSystem {
			action = protocol.AuditAutoDeleted
		}
		if err := record(tx, db.clock(), p, p.OrgID, action, id, role, string(role)); err != nil {
			return nil, err
		}
		if role == protocol.RoleClient {
			var convID int64
			if err := tx.QueryRow("SELECT id FROM conversations WHERE client_id = ?", id).Scan(&convID); err != nil {
				return nil, fmt.Errorf("find conversation: %w", err)
			}
			if files, err = deleteAttachmentRows(tx, convID); err != nil {
				return nil, err
			}
			if _, err := tx.Exec("DELETE FROM messages WHERE conversation_id = ?", convID); err != nil {
				return nil, fmt.Errorf("delete messages: %w", err)
			}
			// The client's key goes in the same transaction: PostgreSQL
			// keeps the deleted rows for a while (dead tuples, WAL), and
			// the key's rotation-bound wrapping is what makes them useless
			// (keys.go). Every replica forgets it as the deletion reaches
			// its feed.
			if _, err := tx.Exec("DELETE FROM sealing_keys WHERE kind = 'client' AND id = ?", id); err != nil {
				return nil, fmt.Errorf("destroy the client's key: %w", err)
			}
			changes = append(changes, store.Change{Kind: store.ChangeConversationDeleted, OrgID: p.OrgID, ClientID: id, ConversationID: convID, At: db.clock()})
		} else {
			// A staff member's conversations go back into the pool: no
			// client is left with nobody.
			back, err := db.releaseAll(ctx, tx, p.OrgID, id)
			if err != nil {
				return nil, err
			}
			changes = append(changes, back...)
		}
		if _, err := tx.Exec("DELETE FROM accounts WHERE id = ? AND org_id = ?", id, p.OrgID); err != nil {
			return nil, fmt.Errorf("delete account: %w", err)
		}
		return changes, nil
	})
	if err != nil {
		return err
	}
	// The files' rows are gone: the files follow (the sweep's prune
	// finishes this if the process stops in between).
	if err := db.files.Remove(files...); err != nil {
		return fmt.Errorf("remove the client's files: %w", err)
	}
	return nil
}

// revokeAll deletes every session of an account and reports it.
func revokeAll(tx *wtx, now time.Time, orgID, accountID int64, reason string) ([]store.Change, error) {
	ids, err := endSessions(tx, now, reason, "s.account_id = ?", accountID)
	if err != nil {
		return nil, err
	}
	// Connections are closed by account as well as by session: a connection
	// may have authenticated just before the delete.
	return []store.Change{{Kind: store.ChangeRevoked, OrgID: orgID, AccountID: accountID, SessionIDs: ids, Reason: reason}}, nil
}

// CreateSession records a signed-in device.
func (db *DB) CreateSession(ctx context.Context, n store.NewSession) (store.Session, error) {
	s := store.Session{AccountID: n.AccountID, Device: n.Device, CreatedAt: db.clock(), ExpiresAt: n.ExpiresAt.UTC().Truncate(time.Millisecond), Shared: n.Shared}
	s.ActiveAt = s.CreatedAt
	err := db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		err := tx.QueryRow("INSERT INTO sessions(account_id, token_hash, device, created_at, expires_at, shared) VALUES (?,?,?,?,?,?) RETURNING id",
			n.AccountID, n.TokenHash, n.Device, ms(s.CreatedAt), ms(s.ExpiresAt), n.Shared).Scan(&s.ID)
		if err != nil {
			return nil, fmt.Errorf("insert session: %w", err)
		}
		// Signing in counts as using Taiwa (a nomination switch lapses
		// without it).
		if _, err := tx.Exec("UPDATE accounts SET seen_at = ? WHERE id = ?", ms(s.CreatedAt), n.AccountID); err != nil {
			return nil, fmt.Errorf("note the sign-in: %w", err)
		}
		return nil, nil
	})
	return s, err
}

// SessionByToken finds a live session. A client past its access date has
// no live session.
func (db *DB) SessionByToken(ctx context.Context, tokenHash []byte) (store.Session, store.AccountRecord, error) {
	var (
		s                store.Session
		created, expires int64
	)
	row := db.read(ctx).QueryRow(`SELECT s.id, s.account_id, s.device, s.created_at, s.expires_at, COALESCE(s.active_at, s.created_at), s.shared, `+prefixed("a.", accountBase)+`,
		COALESCE(g.id, 0), COALESCE(g.name, ''), g.access_until
		FROM sessions s JOIN accounts a ON a.id = s.account_id LEFT JOIN client_groups g ON g.id = a.group_id WHERE s.token_hash = ?`, tokenHash)
	var (
		a       store.AccountRecord
		until   sql.NullInt64
		aCreate int64
		active  int64
		lapsed  sql.NullInt64
		gUntil  sql.NullInt64
	)
	err := row.Scan(&s.ID, &s.AccountID, &s.Device, &created, &expires, &active, &s.Shared,
		&a.ID, &a.OrgID, &a.Role, &a.LoginID, &a.Nickname, &a.Note, &until, &aCreate, &a.PasswordHash, &a.DisplayName, &a.Presence,
		&a.Intro, &a.AcceptNominations, &lapsed, &a.GroupID, &a.GroupName, &gUntil)
	a.GroupAccessUntil = fromNullMS(gUntil)
	a.NominationLapsedAt = fromNullMS(lapsed)
	if a.Role == protocol.RoleClient {
		a.Presence = ""
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return s, a, protocol.Errorf(protocol.CodeUnauthorized, "session is not valid; sign in again")
	}
	if err != nil {
		return s, a, fmt.Errorf("load session: %w", err)
	}
	s.CreatedAt, s.ExpiresAt, s.ActiveAt = fromMS(created), fromMS(expires), fromMS(active)
	a.AccessUntil, a.CreatedAt = fromNullMS(until), fromMS(aCreate)
	return s, a, rules.Session(s, a, db.idle, db.now())
}

func prefixed(prefix, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = prefix + parts[i]
	}
	return strings.Join(parts, ", ")
}

// RevokeSession ends one session.
func (db *DB) RevokeSession(ctx context.Context, sessionID int64, reason string) error {
	return db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		var orgID int64
		err := tx.QueryRow("SELECT a.org_id FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.id = ?", sessionID).Scan(&orgID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil // already gone
		}
		if err != nil {
			return nil, fmt.Errorf("find session: %w", err)
		}
		if _, err := endSessions(tx, db.clock(), reason, "s.id = ?", sessionID); err != nil {
			return nil, err
		}
		return []store.Change{{Kind: store.ChangeRevoked, OrgID: orgID, SessionIDs: []int64{sessionID}, Reason: reason}}, nil
	})
}

// RevokeAccountSessions ends every session of an account (forced logout).
func (db *DB) RevokeAccountSessions(ctx context.Context, p store.Principal, accountID int64, reason string) error {
	if err := rules.EndSessions(p, accountID); err != nil {
		return err
	}
	return db.do(ctx, func(tx *wtx) ([]store.Change, error) {
		var role protocol.Role
		err := tx.QueryRow("SELECT role FROM accounts WHERE id = ? AND org_id = ?", accountID, p.OrgID).Scan(&role)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, protocol.Errorf(protocol.CodeNotFound, "no such account")
		}
		if err != nil {
			return nil, fmt.Errorf("find account: %w", err)
		}
		if accountID != p.AccountID {
			if err := record(tx, db.clock(), p, p.OrgID, protocol.AuditForcedLogout, accountID, role, ""); err != nil {
				return nil, err
			}
		}
		return revokeAll(tx, db.clock(), p.OrgID, accountID, reason)
	})
}
