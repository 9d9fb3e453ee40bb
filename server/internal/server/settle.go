package server

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// settleBurst is how many connections must have come up since memory was
// last given back for a quiet second to give it back again.
const settleBurst = 1000

// settler gives memory back to the system once a burst of connections
// (a restart, a network coming back) has settled. Bringing a connection up
// leaves garbage (the session lookup, the snapshot, the welcome), and an
// idle server allocates too little to collect it soon: 10,000 idle
// connections measured 45.9 KiB each two seconds after coming up, 35.7
// KiB with the garbage collected and its memory returned (taiwa-load
// idle). A burst is settled when no connection has come up for a tick.
type settler struct {
	opened atomic.Int64 // connections that have come up
	// seen is opened at the last tick, settled at the last give-back.
	seen, settled int64
	free          func() // gives memory back; debug.FreeOSMemory unless a test says
}

func (st *settler) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			st.tick()
		case <-ctx.Done():
			return
		}
	}
}

// tick gives memory back if a burst has come up and settled since the
// last time, and reports whether it did.
func (st *settler) tick() bool {
	n := st.opened.Load()
	quiet := n == st.seen
	st.seen = n
	if !quiet || n-st.settled < settleBurst {
		return false
	}
	st.settled = n
	if st.free != nil {
		st.free()
	} else {
		debug.FreeOSMemory()
	}
	return true
}
