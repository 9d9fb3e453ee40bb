package rules

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/pkg/retention"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// Several counselors, one organisation. A conversation nobody has is in
// the organisation's pool (未対応) from the moment its client writes; a
// staff member takes it (担当する, or, unless the organisation says
// otherwise, by replying), and from then on it is theirs: only they and
// the admins read it. Counselors see of the pool its state and, on
// request, a recorded preview.

// Access is how much of a conversation a principal may read.
type Access int

// Levels of access, each including the one before.
const (
	// AccessNone: nothing, not even that it exists.
	AccessNone Access = iota
	// AccessState: its state (nickname, wait, marks), and a preview of
	// the waiting messages on request (recorded): the pool.
	AccessState
	// AccessFull: every message, and writing in it: its assignee, the
	// organisation's admins, the client itself.
	AccessFull
)

// ReadAccess decides how much of conversation c a principal of c's
// organisation may read (callers bound every query and fan-out by
// organisation first). offered says whether a counselor is offered the
// pool now (see Offered).
func ReadAccess(p store.Principal, c protocol.Conversation, offered bool) Access {
	switch p.Role {
	case protocol.RoleClient:
		if c.ClientID == p.AccountID {
			return AccessFull
		}
	case protocol.RoleAdmin:
		return AccessFull
	case protocol.RoleCounselor:
		switch {
		case c.AssigneeID != nil && *c.AssigneeID == p.AccountID:
			return AccessFull
		case c.InPool() && offered:
			return AccessState
		}
	}
	return AccessNone
}

// MayReadMessages refuses a principal who may not read c's messages: a
// counselor reads only the conversations they have (a colleague's or the
// pool's is forbidden: the pool offers a preview, not the text).
func MayReadMessages(p store.Principal, c protocol.Conversation, offered bool) error {
	if ReadAccess(p, c, offered) < AccessFull {
		return protocol.Errorf(protocol.CodeForbidden, "this conversation is not yours to read: take it from the pool first")
	}
	return nil
}

// Desk is what a staff member has in hand: whether they take
// conversations now (Presence) and how many they have (Open).
type Desk struct {
	Presence protocol.Presence
	Open     int
}

// Offered reports whether the pool is offered to p now: a counselor who
// is 受付中 and has fewer conversations than the organisation's max_open.
// Admins, who read everything, always are.
func Offered(p store.Principal, d Desk, s protocol.Settings) bool {
	if p.Role != protocol.RoleCounselor {
		return true
	}
	return (d.Presence == "" || d.Presence == protocol.PresenceAvailable) && !AtCapacity(p, d, s)
}

// AtCapacity reports whether a counselor has as many conversations as
// the organisation allows (max_open); admins have no limit.
func AtCapacity(p store.Principal, d Desk, s protocol.Settings) bool {
	return p.Role == protocol.RoleCounselor && s.MaxOpen > 0 && d.Open >= s.MaxOpen
}

func atCapacity() error {
	return protocol.Errorf(protocol.CodeAtCapacity, "the counselor already has as many conversations as the organisation allows")
}

// Claim is a staff member taking a conversation from the pool (担当する).
// Exactly one of several at the same moment wins: the store decides in
// its writing transaction, and the others are told it is taken. Taking
// one's own again changes nothing (changed is false); a counselor at the
// organisation's max_open takes nothing more.
func Claim(actor store.Principal, d Desk, c store.ConversationState, s protocol.Settings, now time.Time) (out store.ConversationState, changed bool, err error) {
	if !actor.IsStaff() {
		return c, false, protocol.Errorf(protocol.CodeForbidden, "staff only")
	}
	if c.AssigneeID != nil {
		if *c.AssigneeID == actor.AccountID {
			if c.NominatedAt != nil {
				// 担当する on a nomination: it is taken, and no
				// longer returns to the pool.
				c.NominatedAt, c.UpdatedAt = nil, now
				return c, true, nil
			}
			return c, false, nil
		}
		return c, false, protocol.Errorf(protocol.CodeTaken, "a colleague has taken this conversation")
	}
	if !c.InPool() {
		return c, false, protocol.Errorf(protocol.CodeConflict, "this conversation is not waiting in the pool")
	}
	if AtCapacity(actor, d, s) {
		return c, false, atCapacity()
	}
	return take(actor, c, now), true, nil
}

func take(actor store.Principal, c store.ConversationState, now time.Time) store.ConversationState {
	id := actor.AccountID
	c.AssigneeID = &id
	c.PoolSince = nil
	c.Outcome = ""
	c.NominatedAt = nil
	c.UpdatedAt = now
	return c
}

// enterPool puts a conversation nobody has into the pool, from now,
// once its client has written (it stays there from the first time).
func enterPool(c store.ConversationState, now time.Time) store.ConversationState {
	if c.AssigneeID == nil && c.ClientWrote && c.PoolSince == nil {
		c.PoolSince = &now
		c.Outcome = ""
	}
	return c
}

// End is a conversation's counselor, or an admin, ending it (対応終了):
// nobody has it, it is not in the pool, and if its client writes again
// it waits in the pool anew. Its counselor no longer reads it.
func End(actor store.Principal, c store.ConversationState, now time.Time) (store.ConversationState, error) {
	switch {
	case !actor.IsStaff():
		return c, protocol.Errorf(protocol.CodeForbidden, "staff only")
	case actor.Role != protocol.RoleAdmin && (c.AssigneeID == nil || *c.AssigneeID != actor.AccountID):
		return c, protocol.Errorf(protocol.CodeForbidden, "only the conversation's counselor (or an admin) ends it")
	case c.AssigneeID == nil && !c.InPool():
		return c, protocol.Errorf(protocol.CodeConflict, "nobody has this conversation")
	}
	c.AssigneeID, c.PoolSince, c.Outcome, c.NominatedAt, c.RiskAt, c.UpdatedAt = nil, nil, protocol.OutcomeEnded, nil, nil, now
	return c, nil
}

// staffWrite decides whether a staff member may write in c, and takes c
// for them when writing takes it: their own conversation, yes; a
// colleague's, no; one nobody has, when the client has written and it
// waits in the pool, unless the organisation wants it taken with the
// button first (ClaimByButton); a client who has not written, only where
// staff may write first (and the writer then has it).
func staffWrite(actor store.Principal, d Desk, c store.ConversationState, s protocol.Settings, now time.Time) (store.ConversationState, error) {
	switch {
	case c.AssigneeID != nil && *c.AssigneeID == actor.AccountID:
		return c, nil
	case c.AssigneeID != nil:
		return c, protocol.Errorf(protocol.CodeForbidden, "this conversation is a colleague's")
	case !c.ClientWrote:
		if !s.StaffMayWriteFirst {
			return c, protocol.Errorf(protocol.CodeClientFirst, "the client has not written yet; staff answer, they do not write first")
		}
	case !c.InPool():
		return c, protocol.Errorf(protocol.CodeClaimFirst, "this conversation is not in the pool: an admin assigns it")
	case s.ClaimByButton:
		return c, protocol.Errorf(protocol.CodeClaimFirst, "take this conversation (claim) before answering")
	case !Offered(actor, d, s) && !AtCapacity(actor, d, s):
		return c, protocol.Errorf(protocol.CodeForbidden, "the pool is not offered to you while you are away")
	}
	if AtCapacity(actor, d, s) {
		return c, atCapacity()
	}
	return take(actor, c, now), nil
}

// Assign decides an assignment through the assign route and returns the
// conversation after it (nil releases it, back into the pool once its
// client has written). assigneeRole is the assignee's role in the actor's
// organisation ("" if it is no account there). Counselors take from the
// pool (as Claim) and release their own; a colleague's, an admin's
// included, is not theirs to take. Admins assign any staff member.
func Assign(actor store.Principal, d Desk, c store.ConversationState, assignee *int64, assigneeRole protocol.Role, s protocol.Settings, now time.Time) (store.ConversationState, error) {
	if !actor.IsStaff() {
		return c, protocol.Errorf(protocol.CodeForbidden, "staff only")
	}
	if assignee != nil && !assigneeRole.IsStaff() {
		return c, protocol.Errorf(protocol.CodeInvalid, "assignee must be a staff member of the organisation")
	}
	if actor.Role != protocol.RoleAdmin {
		mine := c.AssigneeID != nil && *c.AssigneeID == actor.AccountID
		switch {
		case assignee != nil && *assignee == actor.AccountID:
			out, _, err := Claim(actor, d, c, s, now)
			if protocol.AsError(err).Code == protocol.CodeTaken {
				err = protocol.Errorf(protocol.CodeForbidden, "counselors take conversations for themselves only, and not a colleague's")
			}
			return out, err
		case assignee == nil && (mine || c.AssigneeID == nil):
		default:
			return c, protocol.Errorf(protocol.CodeForbidden, "counselors take conversations for themselves only")
		}
	}
	c.AssigneeID = assignee
	c.NominatedAt = nil
	c.UpdatedAt = now
	if assignee != nil {
		c.PoolSince, c.Outcome = nil, ""
		return c, nil
	}
	return enterPool(c, now), nil
}

// PreviewOf cuts a pool conversation's waiting messages down to what a
// preview shows: the first PreviewMessages, each at most PreviewRunes
// characters.
func PreviewOf(msgs []protocol.Message) []protocol.Message {
	if len(msgs) > protocol.PreviewMessages {
		msgs = msgs[:protocol.PreviewMessages]
	}
	out := make([]protocol.Message, len(msgs))
	for i, m := range msgs {
		if utf8.RuneCountInString(m.Body) > protocol.PreviewRunes {
			m.Body = string([]rune(m.Body)[:protocol.PreviewRunes]) + "…"
		}
		out[i] = m
	}
	return out
}

// MayPreview refuses a preview to whoever may not see the conversation's
// state, and where there is nothing to preview: a conversation that is
// not in the pool is read in full by those who may.
func MayPreview(p store.Principal, c protocol.Conversation, offered bool) error {
	if !p.IsStaff() || ReadAccess(p, c, offered) < AccessState {
		return protocol.Errorf(protocol.CodeForbidden, "this conversation is not offered to you")
	}
	return nil
}

// MaySeeMessage reports whether a principal is sent message m of
// conversation c: whoever reads c in full, but staff-only notes never
// reach the client.
func MaySeeMessage(p store.Principal, c protocol.Conversation, m protocol.Message, offered bool) bool {
	if m.Kind.StaffOnly() && !p.IsStaff() {
		return false
	}
	return ReadAccess(p, c, offered) == AccessFull
}

// note decides a staff-only note in a conversation: those who read it in
// full write one (its assignee, an admin), never the client; it is kept
// and deleted like a message, and changes nothing the client sees
// (status, waiting, marks) nor who has the conversation.
func note(in Send) (Sent, error) {
	p, c, now := in.Sender, in.Conv, in.Now
	if !p.IsStaff() {
		return Sent{}, protocol.Errorf(protocol.CodeForbidden, "notes are for staff")
	}
	if err := MayReadMessages(p, c.Conversation, false); err != nil {
		return Sent{}, protocol.Errorf(protocol.CodeForbidden, "notes are written in conversations one has")
	}
	if p.Role == protocol.RoleCounselor {
		if open, opens := in.Settings.CounselorWindow(now); !open {
			return Sent{}, &protocol.Error{Code: protocol.CodeOutsideHours, Message: "outside the organisation's access hours", ReopensAt: &opens}
		}
	}
	period := time.Duration(in.Settings.RetentionSeconds) * time.Second
	m := protocol.Message{ConversationID: c.ID, Seq: c.LastSeq + 1, SenderID: p.AccountID, SenderRole: p.Role, SenderName: in.SenderName,
		Kind: protocol.KindNote, Body: in.Body, CreatedAt: now, ExpiresAt: retention.ExpiresAt(now, period)}
	c.LastSeq = m.Seq
	c.UpdatedAt = now
	return Sent{Message: m, Conv: c}, nil
}

// Handover is what Transfer decides: the conversation afterwards, the
// staff-only note that goes with it, and the client's notice where the
// organisation announces hand-overs (IDs left to the store).
type Handover struct {
	Conv   store.ConversationState
	Note   *protocol.Message
	Notice *protocol.Message
}

// Transfer decides a hand-over: a conversation's assignee, or an admin,
// hands it to a colleague (to), or back into the pool (to nil), with an
// optional note only staff read. toRole is the colleague's role in the
// actor's organisation ("" if no account there). The client sees nothing
// but continuity, unless the organisation announces hand-overs.
//
// toDesk is the colleague's: a counselor does not hand a conversation to a
// colleague already at the organisation's max_open (an admin may).
func Transfer(actor store.Principal, actorName string, c store.ConversationState, to *int64, toRole protocol.Role, toDesk Desk, noteText string, s protocol.Settings, now time.Time) (Handover, error) {
	switch {
	case !actor.IsStaff():
		return Handover{}, protocol.Errorf(protocol.CodeForbidden, "staff only")
	case actor.Role != protocol.RoleAdmin && (c.AssigneeID == nil || *c.AssigneeID != actor.AccountID):
		return Handover{}, protocol.Errorf(protocol.CodeForbidden, "only the conversation's counselor (or an admin) hands it over")
	case to != nil && !toRole.IsStaff():
		return Handover{}, protocol.Errorf(protocol.CodeInvalid, "hand it to a staff member of the organisation")
	case to == nil && c.AssigneeID == nil:
		return Handover{}, protocol.Errorf(protocol.CodeConflict, "the conversation is not anyone's")
	case to != nil && c.AssigneeID != nil && *to == *c.AssigneeID:
		return Handover{}, protocol.Errorf(protocol.CodeConflict, "the conversation is already theirs")
	}
	if actor.Role == protocol.RoleCounselor {
		if open, opens := s.CounselorWindow(now); !open {
			return Handover{}, &protocol.Error{Code: protocol.CodeOutsideHours, Message: "outside the organisation's access hours", ReopensAt: &opens}
		}
		if to != nil && AtCapacity(store.Principal{AccountID: *to, Role: toRole}, toDesk, s) {
			return Handover{}, atCapacity()
		}
	}
	noteText = strings.TrimSpace(noteText)
	var out Handover
	period := time.Duration(s.RetentionSeconds) * time.Second
	if noteText != "" {
		if err := protocol.ValidateBody(noteText); err != nil {
			return Handover{}, err
		}
		out.Note = &protocol.Message{ConversationID: c.ID, Seq: c.LastSeq + 1, SenderID: actor.AccountID, SenderRole: actor.Role, SenderName: actorName,
			Kind: protocol.KindNote, Body: noteText, CreatedAt: now, ExpiresAt: retention.ExpiresAt(now, period)}
		c.LastSeq = out.Note.Seq
	}
	if s.AnnounceHandover && c.AssigneeID != nil && c.ClientWrote {
		out.Notice = &protocol.Message{ConversationID: c.ID, Seq: c.LastSeq + 1, SenderRole: protocol.RoleSystem,
			Kind: protocol.KindHandover, CreatedAt: now, ExpiresAt: retention.ExpiresAt(now, period)}
		c.LastSeq = out.Notice.Seq
	}
	c.AssigneeID = to
	c.UpdatedAt = now
	c.PoolSince, c.Outcome, c.NominatedAt = nil, "", nil
	c = enterPool(c, now)
	out.Conv = c
	return out, nil
}

// UpdateMe applies a staff member's change to what they choose about
// themselves: the name clients see, and their presence. It returns the
// account afterwards and whether the presence changed (colleagues hear
// of it, and the pool may be offered or withdrawn).
func UpdateMe(p store.Principal, a protocol.Account, patch protocol.MePatch) (protocol.Account, bool, error) {
	if !p.IsStaff() || a.ID != p.AccountID {
		return a, false, protocol.Errorf(protocol.CodeForbidden, "staff change their own")
	}
	if patch.DisplayName != nil {
		name := strings.TrimSpace(*patch.DisplayName)
		if utf8.RuneCountInString(name) > protocol.MaxDisplayNameRunes || strings.ContainsFunc(name, unicode.IsControl) {
			return a, false, protocol.Errorf(protocol.CodeInvalid, "display name must be at most %d characters on one line", protocol.MaxDisplayNameRunes)
		}
		a.DisplayName = name
	}
	presenceChanged := false
	if patch.Presence != nil {
		switch *patch.Presence {
		case protocol.PresenceAvailable, protocol.PresenceAway, protocol.PresenceStopped:
		default:
			return a, false, protocol.Errorf(protocol.CodeInvalid, "presence must be %q, %q or %q", protocol.PresenceAvailable, protocol.PresenceAway, protocol.PresenceStopped)
		}
		presenceChanged = *patch.Presence != a.Presence
		a.Presence = *patch.Presence
	}
	if patch.Intro != nil {
		intro := strings.TrimSpace(*patch.Intro)
		if err := validIntro(intro); err != nil {
			return a, false, err
		}
		a.Intro = intro
	}
	if patch.AcceptNominations != nil {
		// Either answer to a lapsed switch settles it: the app stops
		// telling why it went off.
		a.AcceptNominations, a.NominationLapsedAt = *patch.AcceptNominations, nil
	}
	if a.AcceptNominations && a.DisplayName == "" {
		return a, false, protocol.Errorf(protocol.CodeInvalid, "choose a display name before taking nominations: clients nominate by it")
	}
	return a, presenceChanged, nil
}
