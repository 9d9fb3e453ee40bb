// Package rules decides what Taiwa allows. Each function takes the rows a
// store has loaded, who is acting and the time, and returns the outcome
// (or the error to answer with); none does I/O. A store loads, calls the
// rule and writes the outcome inside one transaction of its single
// writer, so every check-then-act is atomic, and a second database
// implements storage, never the rules again.
//
// Visibility (a client reaches only its own conversation, staff only their
// organisation's) is the exception: it lives in every query, where it
// cannot be forgotten, and the store conformance suite holds each
// implementation to it.
package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/pkg/retention"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// Send is one message about to be stored.
type Send struct {
	Sender store.Principal
	// SenderName is a staff sender's display name (shown to the client).
	SenderName string
	// AccessUntil is a client sender's access period's end, if any.
	AccessUntil *time.Time
	Conv        store.ConversationState
	Settings    protocol.Settings
	Body        string
	// Kind is protocol.KindNote for a staff-only note ("" or KindText: a
	// message to the other side).
	Kind protocol.MessageKind
	// Desk is a staff sender's (a reply that takes a conversation counts
	// against max_open).
	Desk Desk
	Now  time.Time
	// Attachment is the file the message carries (AttachToMessage has
	// allowed it); the body may then be empty.
	Attachment *protocol.Attachment
}

// Sent is what Send decides: the message to store, a closed notice to
// store after it (if one is due), and the conversation afterwards. IDs are
// left for the store to assign.
type Sent struct {
	Message protocol.Message
	Notice  *protocol.Message
	Conv    store.ConversationState
	// Risk: the client's message matched a crisis phrase and raised the
	// conversation now (the store records it in the audit log).
	Risk bool
	// Answered is how long the client had waited, when this is a staff
	// reply to a waiting client (the organisation's typical reply time is
	// the median of these).
	Answered *time.Duration
}

// SendMessage decides whether a message may be stored and what it
// changes. Clients write first unless the organisation lets staff; while
// the organisation is closed or paused a client's message is refused
// (closed_behavior "block") or stored with one notice per closed stretch
// ("accept"); a client whose access period has ended writes nothing; a
// client's message puts a conversation nobody has into the pool; staff
// write only in their own conversations, and a reply takes one from the
// pool unless the organisation wants the claim button first (staffWrite).
func SendMessage(in Send) (Sent, error) {
	validate := protocol.ValidateBody
	if in.Attachment != nil {
		if in.Kind == protocol.KindNote {
			return Sent{}, protocol.Errorf(protocol.CodeInvalid, "a note carries no attachment")
		}
		validate = protocol.ValidateCaption
	}
	if err := validate(in.Body); err != nil {
		return Sent{}, err
	}
	p, c, now := in.Sender, in.Conv, in.Now
	isClient := p.Role == protocol.RoleClient
	if !isClient && !p.IsStaff() {
		return Sent{}, protocol.Errorf(protocol.CodeForbidden, "only clients and staff send messages")
	}
	if in.Kind == protocol.KindNote {
		return note(in)
	}
	if isClient && in.AccessUntil != nil && !now.Before(*in.AccessUntil) {
		return Sent{}, protocol.Errorf(protocol.CodeForbidden, "the access period for this login has ended")
	}
	avail := hours.At(in.Settings.Hours, in.Settings.Pause, now)
	if isClient && avail.State != hours.StateOpen && in.Settings.ClosedBehavior == protocol.ClosedBlock {
		return Sent{}, &protocol.Error{Code: protocol.CodeClosed, Message: "the organisation is not taking messages now", ReopensAt: avail.ReopensAt}
	}
	if p.Role == protocol.RoleCounselor {
		// Decided where it is stored, not only when the connection opened:
		// access hours can begin to bind while it is open.
		if open, opens := in.Settings.CounselorWindow(now); !open {
			return Sent{}, &protocol.Error{Code: protocol.CodeOutsideHours, Message: "outside the organisation's access hours", ReopensAt: &opens}
		}
	}
	if !isClient {
		var err error
		if c, err = staffWrite(p, in.Desk, c, in.Settings, now); err != nil {
			return Sent{}, err
		}
		if in.Kind != protocol.KindNote {
			c.NominatedAt = nil // a reply takes a nomination
		}
	}

	period := time.Duration(in.Settings.RetentionSeconds) * time.Second
	out := Sent{Message: protocol.Message{ConversationID: c.ID, Seq: c.LastSeq + 1, SenderID: p.AccountID, SenderRole: p.Role,
		Kind: protocol.KindText, Body: in.Body, CreatedAt: now, ExpiresAt: retention.ExpiresAt(now, period), Attachment: in.Attachment}}
	if !isClient {
		out.Message.SenderName = in.SenderName
	}
	c.LastSeq = out.Message.Seq
	c.UpdatedAt = now
	if isClient {
		c.Status = protocol.StatusWaiting
		if c.WaitingSince == nil {
			c.WaitingSince = &now
		}
		c.ClientWrote = true
		if c.RiskAt == nil && CrisisMatch(in.Body, in.Settings.CrisisPhrases) {
			c.RiskAt, out.Risk = &now, true
		}
		c = enterPool(c, now) // an ended conversation waits in the pool anew
		c.ClientDeliveredSeq, c.ClientReadSeq = c.LastSeq, c.LastSeq
		if avail.State != hours.StateOpen && (c.NoticeUntil == nil || !now.Before(*c.NoticeUntil)) {
			out.Notice = &protocol.Message{ConversationID: c.ID, Seq: c.LastSeq + 1, SenderRole: protocol.RoleSystem,
				Kind: protocol.KindClosedNotice, ReopensAt: avail.ReopensAt, State: avail.State, CreatedAt: now, ExpiresAt: out.Message.ExpiresAt}
			c.LastSeq = out.Notice.Seq
			// One notice per closed stretch: none again before reopening.
			c.NoticeUntil = &forever
			if avail.ReopensAt != nil {
				c.NoticeUntil = avail.ReopensAt
			}
		}
	} else {
		c.Status = protocol.StatusAnswered
		if c.WaitingSince != nil {
			w := now.Sub(*c.WaitingSince)
			out.Answered = &w
		}
		c.WaitingSince = nil
		c.StaffDeliveredSeq, c.StaffReadSeq = c.LastSeq, c.LastSeq
	}
	out.Conv = c
	return out, nil
}

// forever is a notice_until for a closed stretch with no known end (a
// pause without an end): no second notice until someone changes it.
var forever = time.UnixMilli(1 << 62).UTC()

// Receipt raises one side's delivered and read marks: marks never go down
// and never pass the last message, and what is read is delivered. It
// reports whether anything changed (nothing to write or announce if not).
func Receipt(p store.Principal, c store.ConversationState, delivered, read int64) (store.ConversationState, bool) {
	delivered, read = min(delivered, c.LastSeq), min(read, c.LastSeq)
	delivered = max(delivered, read)
	dp, rp := &c.StaffDeliveredSeq, &c.StaffReadSeq
	if p.Role == protocol.RoleClient {
		dp, rp = &c.ClientDeliveredSeq, &c.ClientReadSeq
	}
	if delivered <= *dp && read <= *rp {
		return c, false
	}
	*dp, *rp = max(*dp, delivered), max(*rp, read)
	return c, true
}

// MayAdminister reports whether p may manage the accounts of orgID: its
// admins, or the operator at the command line (the zero Principal).
func MayAdminister(p store.Principal, orgID int64) bool {
	return p == (store.Principal{}) || (p.Role == protocol.RoleAdmin && p.OrgID == orgID)
}

// NewAccount checks an account about to be created and returns it tidied
// (the nickname trimmed).
//
// A registrar creates clients of their own groups only; the store resolves
// the group (0: the organisation's default) and passes both in s.
func NewAccount(actor store.Principal, a store.NewAccount, s Scope) (store.NewAccount, error) {
	if a.Role == protocol.RoleClient {
		if !ManagesClient(actor, a.OrgID, s) {
			return a, protocol.Errorf(protocol.CodeForbidden, "only admins and the group's registrars create clients")
		}
	} else if !MayAdminister(actor, a.OrgID) {
		return a, protocol.Errorf(protocol.CodeForbidden, "only admins create accounts")
	}
	switch a.Role {
	case protocol.RoleAdmin, protocol.RoleCounselor, protocol.RoleClient, protocol.RoleRegistrar:
	default:
		return a, protocol.Errorf(protocol.CodeInvalid, "role must be admin, counselor, registrar or client")
	}
	if (a.Role == protocol.RoleRegistrar) != (len(a.GroupIDs) > 0) {
		return a, protocol.Errorf(protocol.CodeInvalid, "a registrar, and only a registrar, names the groups they register clients of")
	}
	a.Nickname = strings.TrimSpace(a.Nickname)
	if err := protocol.ValidateNickname(a.Nickname); err != nil {
		return a, err
	}
	if err := validNote(a.Note); err != nil {
		return a, err
	}
	if a.Role != protocol.RoleClient && (a.Note != "" || a.AccessUntil != nil) {
		return a, protocol.Errorf(protocol.CodeInvalid, "notes and access dates are for clients only")
	}
	if a.AccessUntil != nil {
		t := a.AccessUntil.UTC().Truncate(time.Millisecond) // as stored, and as every time is written
		a.AccessUntil = &t
	}
	return a, nil
}

func validNote(note string) error {
	if utf8.RuneCountInString(note) > protocol.MaxNoteRunes {
		return protocol.Errorf(protocol.CodeInvalid, "note must be at most %d characters", protocol.MaxNoteRunes)
	}
	return nil
}

// ClientUpdate is what UpdateClient decides.
type ClientUpdate struct {
	Account protocol.Account
	// Fields names what changed, for the audit log (never the values).
	Fields []string
	// AccessEnded: the access period is over as of now; every session of
	// the client ends at once.
	AccessEnded bool
}

// UpdateClient applies an admin's change to a client; to is the group the
// client moves to (u.GroupID, loaded by the store), nil if none.
//
// An API key (issue 16) sets or clears the end of access of a client of
// its groups (s), nothing else.
func UpdateClient(actor store.Principal, a protocol.Account, u protocol.UpdateClientRequest, to *protocol.Group, s Scope, now time.Time) (ClientUpdate, error) {
	switch {
	case actor.KeyID != 0:
		if a.Role != protocol.RoleClient || !ManagesClient(actor, a.OrgID, s) {
			return ClientUpdate{}, protocol.Errorf(protocol.CodeNotFound, "no such client")
		}
		if u.Nickname != nil || u.Note != nil || u.GroupID != 0 {
			return ClientUpdate{}, protocol.Errorf(protocol.CodeForbidden, "an API key sets only the end of access")
		}
	case actor.Role != protocol.RoleAdmin || a.OrgID != actor.OrgID:
		return ClientUpdate{}, protocol.Errorf(protocol.CodeForbidden, "only admins change clients")
	}
	if a.Role != protocol.RoleClient {
		return ClientUpdate{}, protocol.Errorf(protocol.CodeNotFound, "no such client")
	}
	var out ClientUpdate
	if u.Nickname != nil {
		nick := strings.TrimSpace(*u.Nickname)
		if err := protocol.ValidateNickname(nick); err != nil {
			return ClientUpdate{}, err
		}
		a.Nickname = nick
		out.Fields = append(out.Fields, "nickname")
	}
	if u.Note != nil {
		if err := validNote(*u.Note); err != nil {
			return ClientUpdate{}, err
		}
		a.Note = *u.Note
		out.Fields = append(out.Fields, "note")
	}
	if u.AccessUntil != nil {
		t := u.AccessUntil.UTC().Truncate(time.Millisecond)
		a.AccessUntil = &t
	}
	if u.ClearAccessUntil {
		a.AccessUntil = nil
	}
	if to != nil {
		if to.OrgID != a.OrgID {
			return ClientUpdate{}, protocol.Errorf(protocol.CodeInvalid, "no such group")
		}
		a.GroupID, a.GroupName, a.GroupAccessUntil = to.ID, to.Name, to.AccessUntil
		out.Fields = append(out.Fields, "group")
	}
	if u.AccessUntil != nil || u.ClearAccessUntil {
		out.Fields = append(out.Fields, "access_until")
	}
	if u.AccessUntil != nil || u.ClearAccessUntil || to != nil {
		// The earlier of the client's own date and its group's.
		end := a.AccessEnds()
		out.AccessEnded = end != nil && !now.Before(*end)
	}
	out.Account = a
	return out, nil
}

// DeleteAccount decides whether actor may delete an account of role
// targetRole; admins is how many admins the organisation has now. Admins
// delete accounts of their organisation, never their own, and never the
// last admin (decided in the deleting transaction: two admins deleting
// each other at once must not leave none). A registrar deletes clients of
// their groups (s), nothing else.
func DeleteAccount(actor store.Principal, targetID int64, targetRole protocol.Role, admins int, s Scope) error {
	if actor.Role == protocol.RoleSystem {
		// The sweep's automatic deletion (AutoDeleteDue): clients only.
		if targetRole != protocol.RoleClient {
			return protocol.Errorf(protocol.CodeForbidden, "only clients are deleted automatically")
		}
		return nil
	}
	if actor.Role == protocol.RoleRegistrar {
		if targetRole != protocol.RoleClient || !ManagesClient(actor, actor.OrgID, s) {
			return protocol.Errorf(protocol.CodeForbidden, "registrars delete clients of their groups only")
		}
		return nil
	}
	if actor.Role != protocol.RoleAdmin {
		return protocol.Errorf(protocol.CodeForbidden, "only admins delete accounts")
	}
	if targetID == actor.AccountID {
		return protocol.Errorf(protocol.CodeConflict, "admins cannot delete their own account")
	}
	if targetRole == protocol.RoleAdmin && admins <= 1 {
		return protocol.Errorf(protocol.CodeConflict, "the last admin cannot be deleted")
	}
	return nil
}

// EndSessions decides whether actor may end every session of an account
// (a forced logout, or one's own everywhere).
func EndSessions(actor store.Principal, accountID int64) error {
	if actor.AccountID != accountID && actor.Role != protocol.RoleAdmin {
		return protocol.Errorf(protocol.CodeForbidden, "only admins end other people's sessions")
	}
	return nil
}

// SignIn decides whether an account whose password (and second factor)
// was right may sign in now: not once a client's access period has ended.
func SignIn(a store.AccountRecord, now time.Time) error {
	if end := a.AccessEnds(); end != nil && !now.Before(*end) {
		return protocol.Errorf(protocol.CodeForbidden, "the access period for this login has ended")
	}
	return nil
}

// BulkNicknames expands a bulk registration into the nicknames to create,
// all checked before any is created: a typo in line 40 must not leave 39
// half-distributed accounts behind.
func BulkNicknames(req protocol.BulkCreateClientsRequest) ([]string, error) {
	names := req.Nicknames
	switch {
	case len(names) > 0 && req.Count > 0:
		return nil, protocol.Errorf(protocol.CodeInvalid, "give nicknames or prefix and count, not both")
	case len(names) == 0:
		prefix := strings.TrimSpace(req.Prefix)
		if req.Count <= 0 || prefix == "" {
			return nil, protocol.Errorf(protocol.CodeInvalid, "give nicknames, or a prefix and a count")
		}
		if req.Count > protocol.MaxBulkClients {
			return nil, protocol.Errorf(protocol.CodeInvalid, "at most %d clients at once", protocol.MaxBulkClients)
		}
		width := len(strconv.Itoa(req.Count))
		for i := 1; i <= req.Count; i++ {
			names = append(names, fmt.Sprintf("%s-%0*d", prefix, width, i))
		}
	}
	if len(names) > protocol.MaxBulkClients {
		return nil, protocol.Errorf(protocol.CodeInvalid, "at most %d clients at once", protocol.MaxBulkClients)
	}
	for i, n := range names {
		if err := protocol.ValidateNickname(n); err != nil {
			return nil, protocol.Errorf(protocol.CodeInvalid, "nickname %d: %s", i+1, protocol.AsError(err).Message)
		}
	}
	return names, nil
}

// Idle is how long sessions may go unused before they end.
type Idle struct {
	Staff  time.Duration // desktop (staff) sessions; 0: never
	Shared time.Duration // a client's sign-in on a shared device; 0: never
}

// Limit is the idle limit for a session (0: none): staff sessions and
// shared-device ones end after a while; a client's own phone stays
// signed in.
func (i Idle) Limit(role protocol.Role, shared bool) time.Duration {
	switch {
	case shared:
		return i.Shared
	case role.IsStaff(), role == protocol.RoleRegistrar:
		return i.Staff
	}
	return 0
}

// Session decides whether a session is still valid now: not past its
// expiry, its client's access period not over, not idle too long.
func Session(s store.Session, a store.AccountRecord, idle Idle, now time.Time) error {
	if !now.Before(s.ExpiresAt) {
		return protocol.Errorf(protocol.CodeUnauthorized, "session expired; sign in again")
	}
	if end := a.AccessEnds(); end != nil && !now.Before(*end) {
		return protocol.Errorf(protocol.CodeUnauthorized, "access period has ended")
	}
	if limit := idle.Limit(a.Role, s.Shared); limit > 0 && !now.Before(s.ActiveAt.Add(limit)) {
		return protocol.Errorf(protocol.CodeUnauthorized, "signed out after %s without use; sign in again", limit)
	}
	return nil
}
