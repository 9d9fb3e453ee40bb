package hours

import "time"

// Today is the calendar date at now in the schedule's time zone, as
// midnight UTC of that date (the form protocol.ParseDate returns): a
// next-contact date is a day where the organisation is, not where the
// server or a counselor's computer happens to be. An unknown zone
// counts as UTC.
func Today(s Schedule, now time.Time) time.Time {
	loc, err := s.location()
	if err != nil {
		loc = time.UTC
	}
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
