package store

import (
	"sync"
	"time"
)

// ReplyTimeKept is how long an organisation's typical reply time is kept
// before it is computed again.
const ReplyTimeKept = time.Minute

// ReplyTimes keeps each organisation's typical reply time
// (protocol.Org.TypicalReplySeconds) for ReplyTimeKept. Every connection's
// welcome and every read of the organisation show it, and computing it
// reads up to 10,000 answer times: 4 ms a connection in an organisation
// with a month of answers, so a thousand phones coming back at once cost
// four seconds of a core. The figure is a median over 30 days; a minute
// old, it says the same. The zero value is ready to use.
type ReplyTimes struct {
	mu sync.Mutex
	m  map[int64]*replyTime
}

type replyTime struct {
	mu    sync.Mutex // one computation at a time per organisation
	secs  int64
	at    time.Time
	valid bool
}

// Get returns orgID's typical reply time, from compute when none is kept
// or the kept one is older than ReplyTimeKept. Those who ask while it is
// computed wait for that computation rather than each doing their own,
// so a caller must hold no pooled connection while it calls Get: waiters
// holding them could leave the computation none to run on.
func (r *ReplyTimes) Get(orgID int64, now time.Time, compute func() (int64, error)) (int64, error) {
	r.mu.Lock()
	if r.m == nil {
		r.m = map[int64]*replyTime{}
	}
	e := r.m[orgID]
	if e == nil {
		e = &replyTime{}
		r.m[orgID] = e
	}
	r.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if age := now.Sub(e.at); e.valid && age >= 0 && age < ReplyTimeKept {
		return e.secs, nil
	}
	secs, err := compute()
	if err != nil {
		return 0, err
	}
	e.secs, e.at, e.valid = secs, now, true
	return secs, nil
}

// Answered notes that an answer time of orgID was committed. An
// organisation that had too few answers for a figure gets its first one
// at the next read, not a minute later; one that has a figure keeps it
// until it is due (one answer more hardly moves a median).
func (r *ReplyTimes) Answered(orgID int64) {
	r.mu.Lock()
	e := r.m[orgID]
	r.mu.Unlock()
	if e == nil {
		return
	}
	e.mu.Lock()
	if e.secs == 0 {
		e.valid = false
	}
	e.mu.Unlock()
}
