package session

import (
	"log/slog"
	"sync"
	"time"

	"github.com/taiwa-chat/taiwa/desktop/internal/cache"
)

// draftDelay is how long typing rests before a draft is written: the
// cache is not written on every keystroke, and a crash loses at most
// this much.
const draftDelay = 700 * time.Millisecond

// drafts keeps the reply boxes' texts in the encrypted cache, written a
// moment after typing rests, off the UI goroutine.
type drafts struct {
	cache *cache.Cache
	log   *slog.Logger

	mu    sync.Mutex
	dirty map[int64]string
	timer *time.Timer
	done  bool
}

func newDrafts(cc *cache.Cache, log *slog.Logger) *drafts {
	return &drafts{cache: cc, log: log, dirty: map[int64]string{}}
}

// Set records a conversation's draft; it is written soon.
func (d *drafts) Set(conversationID int64, text string) {
	if d == nil || d.cache == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done {
		return
	}
	d.dirty[conversationID] = text
	if d.timer == nil {
		d.timer = time.AfterFunc(draftDelay, d.Flush)
	} else {
		d.timer.Reset(draftDelay)
	}
}

// Forget drops a conversation's pending draft (the conversation left
// this app; the cache forgot what it held).
func (d *drafts) Forget(conversationID int64) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.dirty, conversationID)
}

// Flush writes what is pending now.
func (d *drafts) Flush() {
	if d == nil || d.cache == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done {
		return
	}
	for id, text := range d.dirty {
		if err := d.cache.SetDraft(id, text); err != nil {
			d.log.Error("draft not kept", "err", err)
			continue
		}
		delete(d.dirty, id)
	}
}

// Stop writes what is pending (keep) or drops it (a wipe), and writes
// nothing after.
func (d *drafts) Stop(keep bool) {
	if d == nil {
		return
	}
	if keep {
		d.Flush()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.done = true
	if d.timer != nil {
		d.timer.Stop()
	}
}
