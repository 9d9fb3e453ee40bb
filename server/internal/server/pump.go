package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// wake has a writer look at the connection: it starts one unless one
// runs, which then looks again before it stops. The hub, the read loop
// and the connection's end call it after giving it something to do.
func (lc *liveConn) wake() {
	for {
		switch st := lc.state.Load(); st {
		case pumpIdle:
			if lc.state.CompareAndSwap(pumpIdle, pumpRunning) {
				go lc.pump()
				return
			}
		case pumpRunning:
			if lc.state.CompareAndSwap(pumpRunning, pumpAgain) {
				return
			}
		default: // pumpAgain: it will look; pumpDone: nothing to do
			return
		}
	}
}

// pumpLinger is how long a writer waits for more before it stops: long
// enough that a busy connection (a counselor's hears every message of
// the organisation) keeps its writer, where one started for each frame
// cost 12 % more CPU per message at 500 messages/s; short enough that an
// idle one gives its stack back within a second.
const pumpLinger = 500 * time.Millisecond

// ticks is a beat shared by every writer: each asks for the next one
// rather than keeping a timer of its own to reset with every frame (a
// timer per writer, reset per frame, cost a millisecond of ack p50 at
// 500 messages/s). No beat runs while no one asks.
type ticks struct {
	every time.Duration
	mu    sync.Mutex
	ch    chan struct{}
}

// next returns a channel closed within every from now.
func (t *ticks) next() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ch == nil {
		ch := make(chan struct{})
		t.ch = ch
		time.AfterFunc(t.every, func() {
			t.mu.Lock()
			t.ch = nil
			t.mu.Unlock()
			close(ch)
		})
	}
	return t.ch
}

// pump is the connection's writer: it writes what the hub queued and the
// read loop's answers, and ends the connection when it must, until it has
// had nothing to do for pumpLinger. One runs at a time (see wake).
func (lc *liveConn) pump() {
	defer lc.recoverPanic()
	lc.s.metrics.writers.Inc()
	defer lc.s.metrics.writers.Dec()
	for {
		if code, reason, end := lc.serve(); end {
			lc.finish(code, reason)
			return
		}
		if lc.state.CompareAndSwap(pumpRunning, pumpIdle) {
			return
		}
		// Woken while it stopped: go on (unless the connection ended).
		if !lc.state.CompareAndSwap(pumpAgain, pumpRunning) {
			return
		}
	}
}

// serve does what there is to do as it comes, and reports whether the
// connection ends, with its close code and reason, or (end false) that
// nothing came for a whole beat (pumpLinger to twice that).
func (lc *liveConn) serve() (websocket.StatusCode, string, bool) {
	ctx, sub, st := lc.ctx, lc.st.sub, lc.st
	// Only what the hub sends keeps a writer: an app pings every few
	// seconds, and a writer kept for each pong would keep a fifth of
	// 10,000 idle connections' writers running.
	beat, active := lc.s.pumpTicks.next(), false
	for {
		select {
		case e := <-sub.end:
			code, reason := lc.goodbye(ctx, e)
			return code, reason, true
		case err := <-st.readDone:
			code, reason := lc.readEnded(err)
			return code, reason, true
		case <-lc.s.closing:
			return websocket.StatusGoingAway, "server restarting: reconnect", true
		case <-sub.q.Ready():
			if err := lc.flush(); err != nil {
				code, reason := lc.ended(ctx, sub, err)
				return code, reason, true
			}
			active = true
		case b := <-st.replies:
			// An answer goes after every frame published before it: an ack
			// names a message whose commit published what came before it,
			// so an app may take the ack's ID as its resume cursor.
			if err := lc.flush(); err != nil {
				code, reason := lc.ended(ctx, sub, err)
				return code, reason, true
			}
			if err := lc.write(ctx, b); err != nil {
				code, reason := lc.ended(ctx, sub, err)
				return code, reason, true
			}
		case <-beat:
			if !active {
				return 0, "", false
			}
			active, beat = false, lc.s.pumpTicks.next()
		}
	}
}

// flush writes what the hub has queued for this connection.
func (lc *liveConn) flush() error {
	lc.batch = lc.st.sub.q.Take(lc.batch)
	defer func() {
		clear(lc.batch) // drop references to sent frames
		lc.batch = lc.batch[:0]
	}()
	for _, f := range lc.batch {
		if f.id != 0 && f.id <= lc.st.highWater {
			continue // already sent in the replay
		}
		if err := lc.write(lc.ctx, f.data); err != nil {
			return err
		}
	}
	return nil
}

// readEnded is the close code for a read loop's end: a connection closed
// for refused frames first says why each was refused (the read loop has
// queued its last answers).
func (lc *liveConn) readEnded(err error) (websocket.StatusCode, string) {
	var ce closeErr
	if !errors.As(err, &ce) {
		return 0, "" // the app went away or closed normally
	}
	for {
		select {
		case b := <-lc.st.replies:
			if lc.write(lc.ctx, b) != nil {
				return ce.code, ce.reason
			}
			continue
		default:
		}
		return ce.code, ce.reason
	}
}

// ping checks, every PingInterval, that the app is still there; a
// connection whose ping goes unanswered is dropped. A connection whose
// sends are waiting on the database has just spoken: it is not pinged
// (its pong could queue behind them).
func (lc *liveConn) ping() {
	defer lc.recoverPanic()
	ctx, every := lc.ctx, lc.s.cfg.PingInterval
	if ctx.Err() != nil {
		return
	}
	if lc.pending.Load() == 0 {
		pctx, cancel := context.WithTimeout(ctx, every)
		err := lc.c.Ping(pctx)
		cancel()
		if err != nil {
			lc.cancel() // the read loop ends, and with it the connection
			return
		}
	}
	lc.pinger.Reset(every)
}
