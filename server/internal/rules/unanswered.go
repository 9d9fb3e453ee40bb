package rules

import (
	"slices"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/pkg/retention"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// No client left without an answer. A conversation that waits in the
// pool longer than the organisation's unanswered_timeout_hours (three
// days by default) has found nobody: waiting longer rarely helps, and
// an early, honest apology with somewhere else to turn is kinder than
// silence. It leaves the pool as 対応できず and its client is sent the
// organisation's apology with its alternatives.

// UnansweredTimeout is how long a conversation may wait in the pool.
func UnansweredTimeout(s protocol.Settings) time.Duration {
	h := s.UnansweredTimeoutHours
	if h <= 0 {
		h = protocol.DefaultUnansweredTimeoutHours
	}
	return time.Duration(h) * time.Hour
}

// Unanswered reports whether c has waited in the pool past the timeout.
func Unanswered(c store.ConversationState, s protocol.Settings, now time.Time) bool {
	return c.InPool() && !now.Before(c.PoolSince.Add(UnansweredTimeout(s)))
}

// GiveUp takes an unanswered conversation out of the pool (対応できず) and
// returns the apology for its client (its ID is the store's). If the
// client writes again, the conversation waits in the pool anew.
func GiveUp(c store.ConversationState, s protocol.Settings, now time.Time) (store.ConversationState, protocol.Message) {
	period := time.Duration(s.RetentionSeconds) * time.Second
	m := protocol.Message{ConversationID: c.ID, Seq: c.LastSeq + 1, SenderRole: protocol.RoleSystem,
		Kind: protocol.KindApology, Body: s.ApologyText, CreatedAt: now, ExpiresAt: retention.ExpiresAt(now, period)}
	c.LastSeq = m.Seq
	c.PoolSince, c.Outcome, c.UpdatedAt = nil, protocol.OutcomeUnanswered, now
	return c, m
}

// TypicalReply is the median of recent answer times: a figure for the
// client app (0 when there are fewer than MinReplySamples, too few to
// say anything honest).
func TypicalReply(waits []time.Duration) time.Duration {
	if len(waits) < MinReplySamples {
		return 0
	}
	sorted := slices.Clone(waits)
	slices.Sort(sorted)
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// MinReplySamples is how many answers TypicalReply needs; ReplyWindow how
// far back it looks.
const (
	MinReplySamples = 5
	ReplyWindow     = 30 * 24 * time.Hour
)

// WeekStart is the Monday 00:00 (in loc) of the week holding t.
func WeekStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
}
