package rules

import (
	"time"

	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// MaxNextContactAhead bounds how far ahead a next-contact date may be:
// a promise further out than a year is a typo.
const MaxNextContactAhead = 366 * 24 * time.Hour

// ProgressChange is one change of a conversation's progress, by hand
// (PUT …/progress) or with a reply.
type ProgressChange struct {
	Actor    store.Principal
	Conv     store.ConversationState
	Settings protocol.Settings
	Req      protocol.ProgressRequest
	Now      time.Time
}

// SetProgress decides a change of progress: staff only; a next-contact
// date must be a real date from today (in the organisation's time zone)
// to a year ahead. Who and when are recorded with it. changed is false
// when nothing differs but who and when (nothing to announce).
func SetProgress(in ProgressChange) (c store.ConversationState, changed bool, err error) {
	c = in.Conv
	if !in.Actor.IsStaff() {
		return c, false, protocol.Errorf(protocol.CodeForbidden, "only staff set a conversation's progress")
	}
	// A counselor sets it on their own conversations only (the pool's and
	// a colleague's are not theirs to judge); admins on any.
	if in.Actor.Role == protocol.RoleCounselor && ReadAccess(in.Actor, c.Conversation, false) != AccessFull {
		return c, false, protocol.Errorf(protocol.CodeForbidden, "this conversation is not yours")
	}
	if err := in.Req.Validate(); err != nil {
		return c, false, err
	}
	if in.Req.Progress == protocol.ProgressNextContact {
		d, _ := protocol.ParseDate(in.Req.NextContact) // Validate parsed it
		today := hours.Today(in.Settings.Hours, in.Now)
		if d.Before(today) {
			return c, false, protocol.Errorf(protocol.CodeInvalid, "the next-contact date %s has passed (today is %s)", in.Req.NextContact, today.Format(protocol.DateLayout))
		}
		if d.Sub(today) > MaxNextContactAhead {
			return c, false, protocol.Errorf(protocol.CodeInvalid, "the next-contact date %s is more than a year ahead", in.Req.NextContact)
		}
	}
	changed = c.Progress != in.Req.Progress || c.NextContact != in.Req.NextContact
	by, at := in.Actor.AccountID, in.Now
	c.Progress, c.NextContact, c.ProgressBy, c.ProgressAt = in.Req.Progress, in.Req.NextContact, &by, &at
	return c, changed, nil
}

// ProgressAfterSend is the progress once a message is stored (c is the
// conversation as SendMessage left it). A staff reply that names a
// progress sets it (decided as SetProgress does: a refusal refuses the
// reply, so that a promised date is never sent without being kept); a
// staff reply that names none starts the work on a new conversation
// (新規 → 対応中); a client who answers a 返答待ち puts the ball back in
// staff's court (→ 対応中, set by nobody). Anything else stays.
func ProgressAfterSend(sender store.Principal, c store.ConversationState, s protocol.Settings, req protocol.ProgressRequest, now time.Time) (store.ConversationState, error) {
	if sender.Role == protocol.RoleClient {
		if req.Progress != "" || req.NextContact != "" {
			return c, protocol.Errorf(protocol.CodeForbidden, "only staff set a conversation's progress")
		}
		if c.Progress == protocol.ProgressAwaiting {
			c.Progress, c.NextContact, c.ProgressBy, c.ProgressAt = protocol.ProgressInProgress, "", nil, &now
		}
		return c, nil
	}
	if req.Progress != "" || req.NextContact != "" {
		out, _, err := SetProgress(ProgressChange{Actor: sender, Conv: c, Settings: s, Req: req, Now: now})
		return out, err
	}
	if c.Progress == protocol.ProgressNew || c.Progress == "" {
		by := sender.AccountID
		c.Progress, c.NextContact, c.ProgressBy, c.ProgressAt = protocol.ProgressInProgress, "", &by, &now
	}
	return c, nil
}

// Decide decides a reply's 決定: staff only; the decided message must be
// one of the client's, still kept, before the reply (c is the
// conversation before it); a conversation keeps at most
// protocol.MaxDecisions. decidedRole is the sender role of the message
// with that seq ("" when there is none, or it was deleted); known is how
// many decisions the conversation has, and again whether this seq is
// among them (deciding it again records the new reply, not a second
// entry).
func Decide(sender store.Principal, c store.ConversationState, seq int64, decidedRole protocol.Role, known int, again bool) error {
	if !sender.IsStaff() {
		return protocol.Errorf(protocol.CodeForbidden, "only staff record decisions")
	}
	if seq < max(c.FirstSeq, 1) || seq > c.LastSeq || decidedRole != protocol.RoleClient {
		return protocol.Errorf(protocol.CodeInvalid, "message #%d is not a kept message of the client's to decide on", seq)
	}
	if !again && known >= protocol.MaxDecisions {
		return protocol.Errorf(protocol.CodeConflict, "this conversation already keeps %d decisions", protocol.MaxDecisions)
	}
	return nil
}
