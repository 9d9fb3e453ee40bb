// Package hours decides whether an organisation is open: its weekly business
// hours, in its own time zone, and its manual pause switch.
//
// The server enforces these rules and the apps display them; both call this
// package so that what a client is shown is exactly what the server does.
package hours

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// State is the availability of an organisation at one instant.
type State string

// The availability states.
const (
	StateOpen   State = "open"
	StateClosed State = "closed" // outside business hours
	StatePaused State = "paused" // switched off by an admin
)

// Clock is a time of day in minutes after midnight, 0 to 1440 inclusive, so
// that a span can end at "24:00".
type Clock int

// ParseClock reads "HH:MM" (24-hour clock, "24:00" allowed as an end).
func ParseClock(s string) (Clock, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("time of day %q: want HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("time of day %q: out of range", s)
	}
	return Clock(hh*60 + mm), nil
}

// String formats the clock as "HH:MM".
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// MarshalText implements encoding.TextMarshaler.
func (c Clock) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Clock) UnmarshalText(b []byte) error {
	v, err := ParseClock(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Span is one opening period on one weekday. Spans do not cross midnight:
// a night shift is written as two spans.
type Span struct {
	Day   time.Weekday `json:"day"` // 0 = Sunday
	Start Clock        `json:"start"`
	End   Clock        `json:"end"`
}

// Schedule is an organisation's weekly business hours. An empty Spans list
// means open around the clock.
type Schedule struct {
	TimeZone string `json:"time_zone"` // IANA name, e.g. "Asia/Tokyo"
	Spans    []Span `json:"spans"`
}

// Validate reports the first problem with the schedule.
func (s Schedule) Validate() error {
	if _, err := s.location(); err != nil {
		return err
	}
	if len(s.Spans) > 7*8 {
		return errors.New("too many opening spans (at most 56)")
	}
	for i, sp := range s.Spans {
		if sp.Day < time.Sunday || sp.Day > time.Saturday {
			return fmt.Errorf("span %d: day %d is not 0 (Sunday) to 6 (Saturday)", i, sp.Day)
		}
		if sp.Start < 0 || sp.End > 1440 || sp.Start >= sp.End {
			return fmt.Errorf("span %d: start %s must be before end %s", i, sp.Start, sp.End)
		}
	}
	return nil
}

func (s Schedule) location() (*time.Location, error) {
	if s.TimeZone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", s.TimeZone, err)
	}
	return loc, nil
}

// Pause is the manual switch. Until, if set, ends the pause by itself.
type Pause struct {
	On    bool       `json:"on"`
	Until *time.Time `json:"until,omitempty"`
}

// Availability is what the apps show and the server enforces.
type Availability struct {
	State State `json:"state"`
	// ReopensAt is when the organisation next opens; nil while open, or when
	// the reopening is not known (paused without an end).
	ReopensAt *time.Time `json:"reopens_at,omitempty"`
}

// At evaluates the schedule and pause switch at now.
func At(s Schedule, p Pause, now time.Time) Availability {
	if p.On && (p.Until == nil || now.Before(*p.Until)) {
		a := Availability{State: StatePaused}
		if p.Until != nil {
			next := NextOpen(s, *p.Until)
			a.ReopensAt = &next
		}
		return a
	}
	if IsOpen(s, now) {
		return Availability{State: StateOpen}
	}
	next := NextOpen(s, now)
	return Availability{State: StateClosed, ReopensAt: &next}
}

// IsOpen reports whether now falls inside the business hours (ignoring pause).
func IsOpen(s Schedule, now time.Time) bool {
	if len(s.Spans) == 0 {
		return true
	}
	loc, err := s.location()
	if err != nil {
		// A schedule is validated before it is stored; an unknown zone here
		// means the host lost its zone database. Closed is the safe answer
		// for access windows; it is also what a client would rather be told
		// than a wrong promise.
		return false
	}
	t := now.In(loc)
	m := Clock(t.Hour()*60 + t.Minute())
	for _, sp := range s.Spans {
		if sp.Day == t.Weekday() && m >= sp.Start && m < sp.End {
			return true
		}
	}
	return false
}

// NextOpen returns the first instant at or after from when the schedule is
// open. For an empty schedule that is from itself. It looks at most eight
// days ahead; a schedule with spans always opens within a week.
func NextOpen(s Schedule, from time.Time) time.Time {
	if IsOpen(s, from) {
		return from
	}
	loc, err := s.location()
	if err != nil {
		return from
	}
	starts := sortedSpans(s.Spans)
	t := from.In(loc)
	for d := 0; d <= 8; d++ {
		day := time.Date(t.Year(), t.Month(), t.Day()+d, 0, 0, 0, 0, loc)
		for _, sp := range starts {
			if sp.Day != day.Weekday() {
				continue
			}
			start := time.Date(day.Year(), day.Month(), day.Day(), int(sp.Start)/60, int(sp.Start)%60, 0, 0, loc)
			if !start.Before(from) {
				return start
			}
		}
	}
	return from
}

// Window reports whether now falls within the business hours widened by
// margin on both sides (used for counselors' access hours). An empty
// schedule is always within the window.
func Window(s Schedule, margin time.Duration, now time.Time) bool {
	if len(s.Spans) == 0 || IsOpen(s, now) {
		return true
	}
	// Open within margin from now, or was open within margin before now.
	if next := NextOpen(s, now); next.Sub(now) <= margin {
		return true
	}
	for back := time.Minute; back <= margin; back += time.Minute {
		if IsOpen(s, now.Add(-back)) {
			return true
		}
	}
	return false
}

func sortedSpans(spans []Span) []Span {
	out := append([]Span(nil), spans...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Day != out[j].Day {
			return out[i].Day < out[j].Day
		}
		return out[i].Start < out[j].Start
	})
	return out
}
