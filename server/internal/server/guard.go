package server

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// loginGuard limits password and code guessing. Every check of a secret
// (sign-in, the current password when changing it or the second factor, a
// TOTP code) first reserves an attempt under the lock and only then spends
// the ~0.5 s hash; a burst therefore evaluates no more attempts than the
// limits allow, however many arrive at once.
//
// Limits, all counted within Lockout:
//   - per (address, login ID): MaxFailures failures lock that pair;
//   - per login ID from every address: IDFailures failures lock the ID
//     (guessing spread over many addresses);
//   - hashes running at once: at most Hashers in all and half of them for
//     one address; past that an attempt is answered at once ("busy",
//     retry_after) instead of queueing.
//
// Failures of other accounts never refuse a correct password: a seminar
// room behind one NAT, or every user behind a reverse proxy without
// --trusted-proxies, shares an address.
//
// Several replicas on one database share their failures through the store
// (store.LoginFailures): each replica counts what every replica recorded,
// so the failure limits hold whichever replica a guess reaches. The hash
// slots stay per replica: they guard its own CPU.
type loginGuard struct {
	shared  store.LoginFailures // nil for a server alone
	mu      sync.Mutex
	now     func() time.Time
	cfg     Config
	byPair  map[pairKey]*failures
	byID    map[string]*failures
	running map[string]int // hashes in flight per address
	hashing int            // hashes in flight in all, sign-ins and others
}

type pairKey struct{ addr, id string }

// failures counts failed and pending (reserved, not yet decided) attempts.
type failures struct {
	count       int
	pending     int
	first       time.Time
	lockedUntil time.Time
}

func newLoginGuard(cfg Config) *loginGuard {
	return &loginGuard{now: cfg.Now, cfg: cfg, byPair: map[pairKey]*failures{}, byID: map[string]*failures{}, running: map[string]int{}}
}

// attempt is a reserved guess. Its hash slot is given back with hashed,
// the attempt itself with done.
type attempt struct {
	g        *loginGuard
	pair     pairKey
	slotFree bool
	closed   bool
}

// reserve takes one attempt at id's secret from addr, and a hash slot.
// It refuses at once when either counter is at its limit (locked) or when
// no hash slot is free (busy).
func (g *loginGuard) reserve(id, addr string) (*attempt, error) {
	key := pairKey{addrKey(addr), id}
	var sharedPair, sharedAll []time.Time
	if g.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		var err error
		sharedPair, sharedAll, err = g.shared.LoginFailures(ctx, id, key.addr, g.now().Add(-g.cfg.Lockout))
		cancel()
		if err != nil {
			return nil, &protocol.Error{Code: protocol.CodeUnavailable, Message: "sign-in is busy; try again in a moment", RetryAfter: 1}
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	// Look first, create entries only for an attempt that will be made: a
	// spray of refused attempts must not grow the maps.
	for _, f := range []*failures{g.byID[id], g.byPair[key]} {
		if f != nil && now.Before(f.lockedUntil) {
			return nil, g.locked(f.lockedUntil, now)
		}
	}
	// What every replica recorded (this one's included) within the window:
	// the limit-th newest failure locks until it is Lockout old.
	for _, c := range []struct {
		times []time.Time
		limit int
	}{{sharedPair, g.cfg.MaxFailures}, {sharedAll, g.cfg.IDFailures}} {
		if n := len(c.times); n >= c.limit {
			if until := c.times[n-c.limit].Add(g.cfg.Lockout); now.Before(until) {
				return nil, g.locked(until, now)
			}
		}
	}
	if g.running[key.addr] >= max(1, g.cfg.Hashers/2) {
		return nil, &protocol.Error{Code: protocol.CodeRateLimited, Message: "too many sign-ins at once from this address; try again in a moment", RetryAfter: 1}
	}
	if g.hashing >= g.cfg.Hashers {
		return nil, &protocol.Error{Code: protocol.CodeUnavailable, Message: "sign-in is busy; try again in a moment", RetryAfter: 1}
	}
	pair := windowOf(g.byPair, key, now, g.cfg.Lockout)
	all := windowOf(g.byID, id, now, g.cfg.Lockout)
	pair.count, all.count = max(pair.count, len(sharedPair)), max(all.count, len(sharedAll))
	if pair.count+pair.pending >= g.cfg.MaxFailures || all.count+all.pending >= g.cfg.IDFailures {
		// Enough guesses are already being decided to reach the limit;
		// if they fail, the lockout follows.
		return nil, g.locked(now.Add(2*time.Second), now)
	}
	pair.pending++
	all.pending++
	g.running[key.addr]++
	g.hashing++
	return &attempt{g: g, pair: key}, nil
}

func (g *loginGuard) locked(until, now time.Time) error {
	return &protocol.Error{Code: protocol.CodeLocked, Message: "too many failed attempts; try again later",
		RetryAfter: int(until.Sub(now).Seconds()) + 1}
}

// windowOf returns k's counter, restarting it when its window ended.
func windowOf[K comparable](m map[K]*failures, k K, now time.Time, lockout time.Duration) *failures {
	f := m[k]
	if f == nil {
		f = &failures{first: now}
		m[k] = f
	} else if f.stale(now, lockout) {
		*f = failures{first: now}
	}
	return f
}

// stale reports whether f no longer limits anything.
func (f *failures) stale(now time.Time, lockout time.Duration) bool {
	return f.pending == 0 && !now.Before(f.lockedUntil) && now.Sub(f.first) > lockout
}

// hashed gives the hash slot back: the expensive part is over.
func (a *attempt) hashed() {
	a.g.mu.Lock()
	defer a.g.mu.Unlock()
	a.releaseSlot()
}

func (a *attempt) releaseSlot() {
	if a.slotFree {
		return
	}
	a.slotFree = true
	g := a.g
	g.hashing--
	if g.running[a.pair.addr]--; g.running[a.pair.addr] <= 0 {
		delete(g.running, a.pair.addr)
	}
}

// done decides the attempt: a failure counts toward both limits. A
// success clears nothing: failures age out with their window, so that the
// right password guessed in the middle of a burst does not reopen the
// burst (a person who mistyped a few times keeps the rest of the limit).
func (a *attempt) done(ok bool) {
	if a.decide(ok) && !ok && a.g.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		if err := a.g.shared.RecordLoginFailure(ctx, a.pair.id, a.pair.addr, a.g.now()); err != nil {
			a.g.cfg.Logger.Error("record failed sign-in", "err", err)
		}
	}
}

// sharedTimeout bounds a look at, or a note of, the shared failures.
const sharedTimeout = 2 * time.Second

// decide counts the attempt once and reports whether this call did.
func (a *attempt) decide(ok bool) bool {
	g := a.g
	g.mu.Lock()
	defer g.mu.Unlock()
	a.releaseSlot()
	if a.closed {
		return false
	}
	a.closed = true
	now := g.now()
	for f, limit := range map[*failures]int{g.byPair[a.pair]: g.cfg.MaxFailures, g.byID[a.pair.id]: g.cfg.IDFailures} {
		if f == nil {
			continue
		}
		f.pending--
		if ok {
			continue
		}
		if f.count++; f.count >= limit {
			f.lockedUntil = now.Add(g.cfg.Lockout)
		}
	}
	return true
}

// otherHash counts a hash that is not a guess (a new account's password)
// toward the hashes running at once, so that sign-ins see the load.
func (g *loginGuard) otherHash(delta int) {
	g.mu.Lock()
	g.hashing += delta
	g.mu.Unlock()
}

// prune forgets entries that no longer limit anything.
func (g *loginGuard) prune() {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	for k, f := range g.byPair {
		if f.stale(now, g.cfg.Lockout) {
			delete(g.byPair, k)
		}
	}
	for k, f := range g.byID {
		if f.stale(now, g.cfg.Lockout) {
			delete(g.byID, k)
		}
	}
}

// addrKey is the unit an address is limited by: one IPv4 address, or one
// IPv6 /64 (what one subscriber is usually given).
func addrKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
