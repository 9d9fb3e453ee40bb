// Package retention decides when a message expires and when the next wipe is
// due. The server's sweeper and the desktop cache both use it, which is what
// "deleted on the same schedule" means in practice: one rule, one clock.
package retention

import (
	"fmt"
	"time"
)

// Bounds on an organisation's retention period. The minimum keeps a
// conversation usable; the maximum keeps the promise of deletion meaningful.
const (
	DefaultPeriod = 7 * 24 * time.Hour
	MinPeriod     = time.Hour
	MaxPeriod     = 365 * 24 * time.Hour
)

// Validate reports whether p is an allowed retention period.
func Validate(p time.Duration) error {
	if p < MinPeriod || p > MaxPeriod {
		return fmt.Errorf("retention period %s: must be between %s and %s", p, MinPeriod, MaxPeriod)
	}
	return nil
}

// ExpiresAt is when a message created at created must be gone. Times are kept
// to the millisecond, the precision stored and sent on the wire.
func ExpiresAt(created time.Time, period time.Duration) time.Time {
	return created.Add(period).UTC().Truncate(time.Millisecond)
}

// Expired reports whether something that expires at exp must be gone at now.
func Expired(exp, now time.Time) bool { return !now.Before(exp) }

// NextWipe returns how long to wait from now until the earliest of the given
// expiry times, or ok=false if there is none. A past expiry gives zero.
// Callers set one timer for that instant rather than polling.
func NextWipe(now time.Time, expiries ...time.Time) (wait time.Duration, ok bool) {
	var first time.Time
	for _, e := range expiries {
		if e.IsZero() {
			continue
		}
		if !ok || e.Before(first) {
			first, ok = e, true
		}
	}
	if !ok {
		return 0, false
	}
	if d := first.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

// Shorten returns the expiry of an existing message after the period changed:
// a shorter period applies to messages already stored (the promise tightens),
// a longer one does not extend them (they were promised to go sooner).
func Shorten(created, exp time.Time, newPeriod time.Duration) time.Time {
	if n := ExpiresAt(created, newPeriod); n.Before(exp) {
		return n
	}
	return exp
}
