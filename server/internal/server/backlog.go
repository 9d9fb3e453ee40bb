package server

import (
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// DefaultBusyAfter is how long a send may expect to wait for its commit
// before the server refuses it as busy (Config.BusyAfter).
const DefaultBusyAfter = 2 * time.Second

// backlog estimates how long a send taken now would wait for its commit:
// the sends taken and not yet answered, times what one write has cost in
// the recent commits. Without a bound, a server offered more than it can
// commit queued every send (64 per connection) and answered them minutes
// later, and kept doing so long after the load fell; with it, the excess
// is refused at once with a time to come back, and the apps keep the
// words and send them again then.
type backlog struct {
	inFlight atomic.Int64
	perWrite atomic.Int64 // nanoseconds, a moving average
}

// observe takes one commit of n writes that took d. It is called by the
// store's writer, one commit after another.
func (b *backlog) observe(n int, d time.Duration) {
	if n < 1 {
		return
	}
	per := int64(d) / int64(n)
	old := b.perWrite.Load()
	if old == 0 {
		b.perWrite.Store(per)
		return
	}
	b.perWrite.Store(old + (per-old)/8)
}

// wait is the expected wait of a send taken now.
func (b *backlog) wait() time.Duration {
	return time.Duration(b.inFlight.Load() * b.perWrite.Load())
}

// heldFor is how long a connection's refused sends keep their turn: an app
// that has not sent them again by then has given up on this connection.
const heldFor = time.Minute

// maxHeld bounds the refused refs a connection remembers.
const maxHeld = 256

// admission keeps one connection's sends in the order they came when some
// are refused as busy: once a send is refused, every later send of the
// connection is refused too until the refused ones come back, first
// first. Otherwise a message written after a refused one could be stored
// before it, and the person's words would read out of order.
type admission struct {
	held   []string
	heldAt time.Time
}

// admit decides a send of ref at now, given the server's expected wait
// and its bound. A refusal returns the seconds after which to send again.
func (a *admission) admit(ref string, now time.Time, wait, bound time.Duration) (retryAfter int, ok bool) {
	if len(a.held) > 0 && now.Sub(a.heldAt) > heldFor {
		a.held = nil
	}
	busy := wait > bound
	switch {
	case !busy && len(a.held) == 0:
		return 0, true
	case len(a.held) > 0 && a.held[0] == ref && wait <= 2*bound:
		// A refused send that comes back has had its wait: it goes ahead
		// of new ones, which are refused meanwhile, as long as the wait
		// is under twice the bound. Taken only when the server happened
		// to be below the bound, a message offered more than one core
		// can commit was refused again and again by chance, and some
		// waited 25 s at 1.2× capacity while others went at once.
		a.held = a.held[1:]
		return 0, true
	}
	if !slices.Contains(a.held, ref) && len(a.held) < maxHeld {
		a.held = append(a.held, ref)
	}
	a.heldAt = now
	// Come back when the backlog should be under the bound again: a send
	// that comes back goes first, so the apps need not wait for the whole
	// backlog to clear (they did, and after an overload the server stored
	// the excess at a third of its capacity while they waited). A send
	// refused only to keep its place comes back a moment after the ones
	// before it.
	secs := 1
	if busy {
		secs = int(math.Ceil((wait - bound).Seconds()))
	}
	return min(max(secs, 1), 30), false
}

// busyError is the answer to a refused send: unavailable, with when to
// send it again (the apps do so by themselves and keep the words).
func busyError(retryAfter int) *protocol.Error {
	e := protocol.Errorf(protocol.CodeUnavailable, "the server is busy: send again in %d s", retryAfter)
	e.RetryAfter = retryAfter
	return e
}
