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

// Nomination (指名). A staff member with a display name may switch on
// 指名を受け付ける; clients then see their name and introduction and may
// ask for them. The nominated conversation is theirs at once (the client
// chose them), marked as nominated until they take it with 担当する or a
// reply. Two clocks keep a nomination from becoming a dead end: the
// switch turns itself off after nomination_lapse_days without the staff
// member using Taiwa, and a nomination not taken within
// nomination_timeout_hours returns the conversation to the pool with a
// neutral word to the client.

// NominationLapse is how long a staff member may go without using Taiwa
// before their 指名を受け付ける switch turns itself off.
func NominationLapse(s protocol.Settings) time.Duration {
	d := s.NominationLapseDays
	if d <= 0 {
		d = protocol.DefaultNominationLapseDays
	}
	return time.Duration(d) * 24 * time.Hour
}

// NominationTimeout is how long a nominated conversation waits for its
// counselor to take it.
func NominationTimeout(s protocol.Settings) time.Duration {
	h := s.NominationTimeoutHours
	if h <= 0 {
		h = protocol.DefaultNominationTimeoutHours
	}
	return time.Duration(h) * time.Hour
}

// NominationLapsed reports whether a staff member last seen at seenAt has
// been away long enough for their switch to turn itself off.
func NominationLapsed(seenAt time.Time, s protocol.Settings, now time.Time) bool {
	return !now.Before(seenAt.Add(NominationLapse(s)))
}

// Nominable reports whether clients may nominate a: staff with a display
// name, the switch on, and not lapsed (the sweep turns lapsed switches off;
// this holds between sweeps too).
func Nominable(a protocol.Account, seenAt time.Time, s protocol.Settings, now time.Time) bool {
	return a.Role.IsStaff() && a.AcceptNominations && a.DisplayName != "" && !NominationLapsed(seenAt, s, now)
}

// Nominate decides a client's nomination of a staff member: the
// conversation becomes the nominee's, marked nominated. A client who
// already has a staff member keeps them (conflict); one who nominated
// someone may not nominate again until that one is resolved.
func Nominate(p store.Principal, c store.ConversationState, nominee protocol.Account, seenAt time.Time, s protocol.Settings, now time.Time) (store.ConversationState, error) {
	switch {
	case p.Role != protocol.RoleClient || c.ClientID != p.AccountID:
		return c, protocol.Errorf(protocol.CodeForbidden, "clients nominate for their own conversation")
	case nominee.OrgID != p.OrgID || !Nominable(nominee, seenAt, s, now):
		return c, protocol.Errorf(protocol.CodeNotFound, "this staff member does not take nominations now")
	case c.AssigneeID != nil:
		return c, protocol.Errorf(protocol.CodeConflict, "a staff member already answers this conversation")
	}
	id := nominee.ID
	c.AssigneeID, c.PoolSince, c.Outcome = &id, nil, ""
	c.NominatedAt, c.UpdatedAt = &now, now
	return c, nil
}

// NominationOverdue reports whether a nominated conversation has waited
// for its counselor longer than the organisation allows.
func NominationOverdue(c store.ConversationState, s protocol.Settings, now time.Time) bool {
	return c.NominatedAt != nil && c.AssigneeID != nil && !now.Before(c.NominatedAt.Add(NominationTimeout(s)))
}

// ReturnNomination puts an overdue nominated conversation back: nobody
// has it, it waits in the pool if its client has written, and the client
// is told in neutral words (the returned message; its ID is the store's).
func ReturnNomination(c store.ConversationState, s protocol.Settings, now time.Time) (store.ConversationState, protocol.Message) {
	period := time.Duration(s.RetentionSeconds) * time.Second
	m := protocol.Message{ConversationID: c.ID, Seq: c.LastSeq + 1, SenderRole: protocol.RoleSystem,
		Kind: protocol.KindNominationReturned, CreatedAt: now, ExpiresAt: retention.ExpiresAt(now, period)}
	c.LastSeq = m.Seq
	c.AssigneeID, c.NominatedAt, c.PoolSince, c.Outcome, c.UpdatedAt = nil, nil, nil, "", now
	return enterPool(c, now), m
}

// validIntro checks a staff member's introduction: short, and lines of
// text only.
func validIntro(s string) error {
	if utf8.RuneCountInString(s) > protocol.MaxIntroRunes || strings.ContainsFunc(s, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) {
		return protocol.Errorf(protocol.CodeInvalid, "introduction must be at most %d characters of text", protocol.MaxIntroRunes)
	}
	return nil
}
