package server

import (
	"context"
	"net/netip"
	"slices"
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
//     one address. An attempt that finds no slot it may take waits up to
//     maxWait for one, at most addrWaiters per address and maxWaiters in
//     all; past that it is answered at once, "busy" with retry_after. A
//     freed slot goes to the waiting address served least recently (first
//     come first served among equals): a few flooding addresses, each
//     holding its share with a queue behind it, cannot keep everyone else
//     out, and a seminar behind one address queues rather than being told
//     to come back.
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
	shared store.LoginFailures // nil for a server alone
	mu     sync.Mutex
	now    func() time.Time
	cfg    Config
	byPair map[pairKey]*failures
	byID   map[string]*failures
	// addrs holds the addresses with a hash in flight or waiting (and
	// only those: a spray of refused attempts leaves nothing).
	addrs   map[string]*addrState
	hashing int // hashes in flight in all, sign-ins and others
	// waiting are attempts waiting for a hash slot, in the order they came.
	waiting []*waiter
	// served numbers the grants, so that a freed slot can go to the
	// address served least recently.
	served uint64
}

// addrState is one address's share of the hashing.
type addrState struct {
	running, queued int
	lastServed      uint64
}

// waiter is a sign-in waiting for a hash slot; granted is closed when the
// slot is its own (counted in hashing and running already).
type waiter struct {
	addr    string
	granted chan struct{}
}

// Bounds of the wait for a hash slot.
const (
	addrWaiters = 8
	maxWaiters  = 256
	maxWait     = 2 * time.Second
)

type pairKey struct{ addr, id string }

// failures counts failed and pending (reserved, not yet decided) attempts.
type failures struct {
	count       int
	pending     int
	first       time.Time
	lockedUntil time.Time
}

func newLoginGuard(cfg Config) *loginGuard {
	return &loginGuard{now: cfg.Now, cfg: cfg, byPair: map[pairKey]*failures{}, byID: map[string]*failures{}, addrs: map[string]*addrState{}}
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
	shared, err := g.sharedFailures(key)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	if err := g.checkLocked(key, shared); err != nil {
		g.mu.Unlock()
		return nil, err
	}
	// No waiter may take a free slot (the grants after every release see
	// to that), so one that this address may take is its own.
	if g.hashing < g.cfg.Hashers && g.mayRun(key.addr) {
		g.grant(key.addr)
	} else {
		if a := g.addrs[key.addr]; a != nil && a.queued >= addrWaiters {
			g.mu.Unlock()
			return nil, &protocol.Error{Code: protocol.CodeRateLimited, Message: "too many sign-ins at once from this address; try again in a moment", RetryAfter: 1}
		}
		if len(g.waiting) >= maxWaiters {
			g.mu.Unlock()
			return nil, &protocol.Error{Code: protocol.CodeUnavailable, Message: "sign-in is busy; try again in a moment", RetryAfter: 1}
		}
		w := &waiter{addr: key.addr, granted: make(chan struct{})}
		g.waiting = append(g.waiting, w)
		g.addr(key.addr).queued++
		g.mu.Unlock()
		timer := time.NewTimer(maxWait)
		select {
		case <-w.granted:
			timer.Stop()
		case <-timer.C:
		}
		g.mu.Lock()
		if i := slices.Index(g.waiting, w); i >= 0 {
			g.waiting = slices.Delete(g.waiting, i, i+1)
			g.addrs[key.addr].queued--
			g.forget(key.addr)
			g.mu.Unlock()
			return nil, &protocol.Error{Code: protocol.CodeUnavailable, Message: "sign-in is busy; try again in a moment", RetryAfter: 1}
		}
		// Granted (the slot is counted): the lockout may have come meanwhile.
		if err := g.checkLocked(key, shared); err != nil {
			g.freeSlot(key.addr)
			g.mu.Unlock()
			return nil, err
		}
	}
	defer g.mu.Unlock()
	// Entries are made only for an attempt that will be made: a spray of
	// refused attempts must not grow the maps.
	now := g.now()
	pair := windowOf(g.byPair, key, now, g.cfg.Lockout)
	all := windowOf(g.byID, id, now, g.cfg.Lockout)
	pair.count, all.count = max(pair.count, len(shared.pair)), max(all.count, len(shared.all))
	if pair.count+pair.pending >= g.cfg.MaxFailures || all.count+all.pending >= g.cfg.IDFailures {
		g.freeSlot(key.addr)
		// Enough guesses are already being decided to reach the limit;
		// if they fail, the lockout follows.
		return nil, g.locked(now.Add(2*time.Second), now)
	}
	pair.pending++
	all.pending++
	return &attempt{g: g, pair: key}, nil
}

// checkLocked refuses a locked pair or login ID (g.mu held).
func (g *loginGuard) checkLocked(key pairKey, shared sharedFailed) error {
	now := g.now()
	for _, f := range []*failures{g.byID[key.id], g.byPair[key]} {
		if f != nil && now.Before(f.lockedUntil) {
			return g.locked(f.lockedUntil, now)
		}
	}
	// What every replica recorded: the limit-th newest failure locks until
	// it is Lockout old.
	for _, c := range []struct {
		times []time.Time
		limit int
	}{{shared.pair, g.cfg.MaxFailures}, {shared.all, g.cfg.IDFailures}} {
		if n := len(c.times); n >= c.limit {
			if until := c.times[n-c.limit].Add(g.cfg.Lockout); now.Before(until) {
				return g.locked(until, now)
			}
		}
	}
	return nil
}

// sharedFailed is what every replica recorded of a pair's and a login
// ID's failures within the window (several replicas; empty otherwise).
type sharedFailed struct{ pair, all []time.Time }

// sharedTimeout bounds a look at, or a note of, the shared failures.
const sharedTimeout = 2 * time.Second

// sharedFailures reads the failures every replica recorded (before g.mu:
// it asks the database).
func (g *loginGuard) sharedFailures(key pairKey) (sharedFailed, error) {
	var s sharedFailed
	if g.shared == nil {
		return s, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	var err error
	if s.pair, s.all, err = g.shared.LoginFailures(ctx, key.id, key.addr, g.now().Add(-g.cfg.Lockout)); err != nil {
		return s, &protocol.Error{Code: protocol.CodeUnavailable, Message: "sign-in is busy; try again in a moment", RetryAfter: 1}
	}
	return s, nil
}

// addr returns addr's state, making it (g.mu held).
func (g *loginGuard) addr(addr string) *addrState {
	a := g.addrs[addr]
	if a == nil {
		a = &addrState{}
		g.addrs[addr] = a
	}
	return a
}

// forget drops addr's state once it has nothing in flight or waiting
// (g.mu held).
func (g *loginGuard) forget(addr string) {
	if a := g.addrs[addr]; a != nil && a.running == 0 && a.queued == 0 {
		delete(g.addrs, addr)
	}
}

// mayRun reports whether addr is below its share of the hash slots
// (g.mu held).
func (g *loginGuard) mayRun(addr string) bool {
	a := g.addrs[addr]
	return a == nil || a.running < max(1, g.cfg.Hashers/2)
}

// grant counts a hash slot as addr's (g.mu held).
func (g *loginGuard) grant(addr string) {
	a := g.addr(addr)
	a.running++
	g.served++
	a.lastServed = g.served
	g.hashing++
}

// freeSlot gives a hash slot back (g.mu held; addr is the address that
// held it, "" for a hash that was not a guess) and hands the free slots
// on: each to the waiter, among those whose address is below its share,
// of the address served least recently, the earliest of it first.
func (g *loginGuard) freeSlot(addr string) {
	g.hashing--
	if addr != "" {
		g.addrs[addr].running--
		g.forget(addr)
	}
	for g.hashing < g.cfg.Hashers {
		best := -1
		for i, w := range g.waiting {
			if !g.mayRun(w.addr) {
				continue
			}
			if best < 0 || g.addrs[w.addr].lastServed < g.addrs[g.waiting[best].addr].lastServed {
				best = i
			}
		}
		if best < 0 {
			return
		}
		w := g.waiting[best]
		g.waiting = slices.Delete(g.waiting, best, best+1)
		g.addrs[w.addr].queued--
		g.grant(w.addr)
		close(w.granted)
	}
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
	a.g.freeSlot(a.pair.addr)
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
	defer g.mu.Unlock()
	if delta < 0 {
		g.freeSlot("")
		return
	}
	g.hashing += delta
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
