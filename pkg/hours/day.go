package hours

import (
	"sync"
	"time"
)

// zones keeps the time zones Today has loaded: the desktop asks for the
// organisation's date on every change it draws, and loading a zone reads
// the system's zone files each time.
var zones sync.Map // name → *time.Location

// Today is the calendar date at now in the schedule's time zone, as
// midnight UTC of that date (the form protocol.ParseDate returns): a
// next-contact date is a day where the organisation is, not where the
// server or a counselor's computer happens to be. An unknown zone
// counts as UTC.
func Today(s Schedule, now time.Time) time.Time {
	loc := time.UTC
	if v, ok := zones.Load(s.TimeZone); ok {
		loc = v.(*time.Location)
	} else if l, err := s.location(); err == nil {
		zones.Store(s.TimeZone, l)
		loc = l
	}
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
