package server

import (
	"math"
	"slices"
	"sync"
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

// callbackEvery spaces the rounds of call-backs: the sends called back
// need a moment to arrive and count in the backlog, and a round on every
// commit would call back far more than the room it measured.
const callbackEvery = 100 * time.Millisecond

// callbacks lists the connections holding sends refused as busy, first
// refused first, so that the server can call them back (a resume frame)
// as soon as it has room. Without it every held app waited out its
// retry_after while the server idled: after an overload the acks per
// second ran 2,018, 1,523, 1,000 … 205, 225, 970 before the excess was
// stored.
type callbacks struct {
	n     atomic.Int32 // len(subs): read on every commit, without the lock
	armed atomic.Bool  // a later round is due (Server.armCallBack)
	mu    sync.Mutex
	subs  []*subscriber
	last  time.Time // the last round
}

// add lists a connection whose send was just refused, unless it is listed.
func (c *callbacks) add(s *subscriber) {
	if !s.listed.CompareAndSwap(false, true) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs = append(c.subs, s)
	c.n.Store(int32(len(c.subs)))
}

// forget takes a closed connection off the list.
func (c *callbacks) forget(s *subscriber) {
	if !s.listed.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := slices.Index(c.subs, s); i >= 0 {
		c.subs = slices.Delete(c.subs, i, i+1)
		c.n.Store(int32(len(c.subs)))
	}
	s.listed.Store(false)
}

// take returns the connections to call back now, first listed first,
// until their refused sends fill room (at least one connection), and
// nothing if the last round was less than callbackEvery ago.
func (c *callbacks) take(room int, now time.Time) []*subscriber {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.subs) == 0 || now.Sub(c.last) < callbackEvery {
		return nil
	}
	c.last = now
	n := 0
	for n < len(c.subs) && (n == 0 || room > 0) {
		s := c.subs[n]
		room -= max(int(s.refused.Load()), 1)
		s.listed.Store(false)
		n++
	}
	out := slices.Clone(c.subs[:n])
	c.subs = slices.Delete(c.subs, 0, n)
	c.n.Store(int32(len(c.subs)))
	return out
}

// resumeFrame is the call-back, the same bytes for every connection.
var resumeFrame = protocol.Encode(protocol.ResumeFrame{Type: protocol.TypeResume})

// callBackLater lists a connection whose send was just refused as busy,
// to be called back when the server has room.
func (s *Server) callBackLater(sub *subscriber) {
	s.callbacks.add(sub)
	s.armCallBack()
}

// armCallBack has callBack run once more a round from now while
// connections are listed: commits call back at once, but when they stop
// (the load fell, or the last round was too recent), the connections
// still listed would wait out their retry_after on a server with nothing
// to do.
func (s *Server) armCallBack() {
	if s.callbacks.n.Load() > 0 && s.callbacks.armed.CompareAndSwap(false, true) {
		time.AfterFunc(callbackEvery, func() {
			s.callbacks.armed.Store(false)
			s.callBack(time.Now())
		})
	}
}

// callBack calls held connections back while the expected wait leaves
// room under the bound. It runs after each commit (a backlog that shrinks
// is one that commits), and a round after the last while any are listed.
func (s *Server) callBack(now time.Time) {
	if s.callbacks.n.Load() == 0 {
		return
	}
	defer s.armCallBack()
	wait, bound := s.backlog.wait(), s.cfg.BusyAfter
	if wait > bound/2 {
		return
	}
	per := max(s.backlog.perWrite.Load(), 1)
	for _, sub := range s.callbacks.take(int(int64(bound-wait)/per), now) {
		s.hub.deliver(sub, outFrame{data: resumeFrame})
		s.metrics.calledBack.Inc()
	}
}
