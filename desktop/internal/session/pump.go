package session

import (
	"context"
	"sync"

	"github.com/taiwa-chat/taiwa/pkg/client"
)

// pump carries the live connection's events to the cache and the screen
// in batches. The connection's goroutine only appends (it never waits for
// the disk or the screen); one worker takes whatever has arrived, writes
// it to the cache in one transaction and applies it on the UI goroutine
// in one trip. A replay of thousands of messages after sign-in is a
// handful of batches, not thousands of redraws; one live message is a
// batch of one.
type pump struct {
	mu    sync.Mutex
	queue []client.Event
	wake  chan struct{}
}

func newPump() *pump { return &pump{wake: make(chan struct{}, 1)} }

// push queues an event; it never blocks.
func (p *pump) push(ev client.Event) {
	p.mu.Lock()
	p.queue = append(p.queue, ev)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// maxBatch bounds a batch, so that the screen shows progress during a
// long replay and a transaction stays small.
const maxBatch = 2000

// next waits for events and returns them in arrival order, or nil when ctx
// ends.
func (p *pump) next(ctx context.Context) []client.Event {
	for {
		p.mu.Lock()
		n := min(len(p.queue), maxBatch)
		if n > 0 {
			batch := append([]client.Event(nil), p.queue[:n]...)
			p.queue = append(p.queue[:0], p.queue[n:]...)
			more := len(p.queue) > 0
			p.mu.Unlock()
			if more {
				select {
				case p.wake <- struct{}{}:
				default:
				}
			}
			return batch
		}
		p.mu.Unlock()
		select {
		case <-p.wake:
		case <-ctx.Done():
			return nil
		}
	}
}
