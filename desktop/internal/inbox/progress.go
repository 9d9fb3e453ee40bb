package inbox

import (
	"time"

	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// progressFilters maps the list's progress filters to their progress.
var progressFilters = map[Filter]protocol.Progress{
	FilterNew:         protocol.ProgressNew,
	FilterInProgress:  protocol.ProgressInProgress,
	FilterAwaiting:    protocol.ProgressAwaiting,
	FilterNextContact: protocol.ProgressNextContact,
	FilterDone:        protocol.ProgressDone,
	FilterUnable:      protocol.ProgressUnable,
}

// Progress is the conversation's progress; conversations cached before
// progress existed count as new.
func (c *Conv) Progress() protocol.Progress {
	if c.Conversation.Progress == "" {
		return protocol.ProgressNew
	}
	return c.Conversation.Progress
}

// Unhandled reports a client message with no staff reply after it (未返信).
func (c *Conv) Unhandled() bool { return c.Waiting() }

// UnhandledCount counts the conversations with a client message and no
// reply after it.
func (in *Inbox) UnhandledCount() int {
	n := 0
	for _, c := range in.convs {
		if c.Unhandled() {
			n++
		}
	}
	return n
}

// Today is the organisation's calendar date now (hours.Today): next-contact
// dates are days where the organisation is.
func (in *Inbox) Today() time.Time { return hours.Today(in.org.Settings.Hours, in.now()) }

// Due says whether the conversation's next-contact date has passed or is
// today.
func (in *Inbox) Due(c *Conv) (overdue, today bool) { return c.ContactDue(in.Today()) }

// DueCounts counts the conversations whose next contact is overdue and
// due today: the reminder on the day.
func (in *Inbox) DueCounts() (overdue, today int) {
	t := in.Today()
	for _, c := range in.convs {
		o, d := c.ContactDue(t)
		if o {
			overdue++
		}
		if d {
			today++
		}
	}
	return overdue, today
}

func (in *Inbox) passes(f Filter, c *Conv) bool {
	if p, ok := progressFilters[f]; ok {
		return c.Progress() == p
	}
	switch f {
	case FilterUnread:
		return c.Unread() > 0
	case FilterDue:
		o, d := c.ContactDue(in.listToday)
		return o || d
	}
	return true
}

// dueOrder puts overdue next contacts first (earliest date first), then
// those due today; 0 when neither conversation is due.
func (in *Inbox) dueOrder(a, b *Conv) int {
	today := in.listToday
	rank := func(c *Conv) int {
		switch o, d := c.ContactDue(today); {
		case o:
			return 0
		case d:
			return 1
		}
		return 2
	}
	ra, rb := rank(a), rank(b)
	switch {
	case ra != rb:
		return ra - rb
	case ra == 2:
		return 0
	case a.NextContact != b.NextContact:
		if a.NextContact < b.NextContact { // DateLayout sorts as text
			return -1
		}
		return 1
	}
	return 0
}
