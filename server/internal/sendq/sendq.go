// Package sendq is a bounded per-connection send queue that holds no
// memory while empty. A publisher never waits on it: Push reports false
// when the queue is full, and the owner closes the slow connection.
package sendq

import "sync"

// Queue is a bounded FIFO with a readiness signal. The zero value is not
// usable; call New.
type Queue[T any] struct {
	mu    sync.Mutex
	items []T
	limit int
	ready chan struct{} // capacity 1: "not empty"
}

// New returns a queue that holds at most limit items.
func New[T any](limit int) *Queue[T] {
	return &Queue[T]{limit: limit, ready: make(chan struct{}, 1)}
}

// Push appends v, or reports false if the queue is full.
func (q *Queue[T]) Push(v T) bool {
	q.mu.Lock()
	if len(q.items) >= q.limit {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// Ready is signalled after a Push; the receiver then calls Take.
func (q *Queue[T]) Ready() <-chan struct{} { return q.ready }

// Take returns everything queued, oldest first, and empties the queue.
// Pass back the previous result (cleared) as buf so that a steady stream
// reuses two small arrays; a burst's large array is let go.
func (q *Queue[T]) Take(buf []T) []T {
	q.mu.Lock()
	out := q.items
	if cap(buf) <= 64 {
		q.items = buf[:0]
	} else {
		q.items = nil
	}
	q.mu.Unlock()
	return out
}
