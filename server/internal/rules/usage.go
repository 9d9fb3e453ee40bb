package rules

import (
	"slices"
	"strings"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// Usage events a store records for the figures per group (issue 16):
// no identity, only the group, the week and, for answers, the wait.
const (
	UsageRegistered   = "registered"
	UsageWrote        = "wrote" // a client's first message of a week
	UsageConversation = "conversation"
	UsageAnswered     = "answered"
)

// UsageKept is how long usage events are kept (a year of weeks).
const UsageKept = 53 * 7 * 24 * time.Hour

// WeekKey is the Monday of now's week in the organisation's time zone,
// as 2026-11-30: what usage events are filed under.
func WeekKey(s protocol.Settings, now time.Time) string {
	return WeekStart(hours.Today(s.Hours, now), time.UTC).Format("2006-01-02")
}

// UsageEvent is one recorded event.
type UsageEvent struct {
	GroupID int64
	Week    string
	Kind    string
	WaitMS  int64
}

// UsageFigures sums events into each group's weekly figures for the weeks
// from first (a WeekKey) on, newest week first, groups by name;
// small numbers are suppressed (protocol.NewFigure) and a median is given
// only of SmallNumber answers or more. Weeks with nothing at all for a
// group are left out.
func UsageFigures(events []UsageEvent, groups []protocol.Group, first string) []protocol.GroupUsage {
	type key struct {
		week  string
		group int64
	}
	type sums struct {
		registered, wrote, conversations int
		waits                            []int64
	}
	all := map[key]*sums{}
	for _, e := range events {
		if e.Week < first {
			continue
		}
		k := key{e.Week, e.GroupID}
		s := all[k]
		if s == nil {
			s = &sums{}
			all[k] = s
		}
		switch e.Kind {
		case UsageRegistered:
			s.registered++
		case UsageWrote:
			s.wrote++
		case UsageConversation:
			s.conversations++
		case UsageAnswered:
			s.waits = append(s.waits, e.WaitMS)
		}
	}
	names := map[int64]string{}
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	out := make([]protocol.GroupUsage, 0, len(all))
	for k, s := range all {
		name, ok := names[k.group]
		if !ok {
			continue // the principal does not see this group
		}
		u := protocol.GroupUsage{Week: k.week, GroupID: k.group, GroupName: name, Registered: protocol.NewFigure(s.registered),
			Wrote: protocol.NewFigure(s.wrote), Conversations: protocol.NewFigure(s.conversations)}
		if len(s.waits) >= protocol.SmallNumber {
			slices.Sort(s.waits)
			m := s.waits[len(s.waits)/2]
			if len(s.waits)%2 == 0 {
				m = (s.waits[len(s.waits)/2-1] + m) / 2
			}
			sec := m / 1000
			u.MedianAnswerSeconds = &sec
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b protocol.GroupUsage) int {
		if c := strings.Compare(b.Week, a.Week); c != 0 {
			return c
		}
		return strings.Compare(a.GroupName, b.GroupName)
	})
	return out
}
