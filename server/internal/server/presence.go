package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// presenceWorker keeps the store's record of who is connected (several
// replicas on one database) in step with this server's connections, and
// decides pushes there: a reply is pushed only when no server holds a
// connection of the client. One goroutine, so that a client's "online"
// and "offline" reach the store in the order they happened.
type presenceWorker struct {
	p      store.Presence
	log    *slog.Logger
	q      chan presenceEvent
	notify func(clientID int64) // pushes a notice; nil without push
}

type presenceEvent struct {
	accountID int64
	online    bool
	reply     bool // a reply to push unless the client is connected somewhere
}

func newPresenceWorker(p store.Presence, log *slog.Logger) *presenceWorker {
	return &presenceWorker{p: p, log: log, q: make(chan presenceEvent, 8192)}
}

// note records a client's first connection here opening or last closing;
// it never blocks (the hub calls it).
func (w *presenceWorker) note(accountID int64, online bool) {
	w.put(presenceEvent{accountID: accountID, online: online})
}

// reply asks for a push to a client with no connection here.
func (w *presenceWorker) reply(clientID int64) {
	w.put(presenceEvent{accountID: clientID, reply: true})
}

func (w *presenceWorker) put(e presenceEvent) {
	select {
	case w.q <- e:
	default:
		w.log.Warn("presence queue full: an event is dropped", "account", e.accountID)
	}
}

func (w *presenceWorker) run(ctx context.Context) {
	for {
		select {
		case e := <-w.q:
			w.handle(ctx, e)
		case <-ctx.Done():
			return
		}
	}
}

func (w *presenceWorker) handle(ctx context.Context, e presenceEvent) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if !e.reply {
		if err := w.p.SetOnline(ctx, e.accountID, e.online); err != nil {
			w.log.Warn("record presence", "err", err)
		}
		return
	}
	// Unknown (the database briefly away) counts as not connected: a
	// content-free notice too many is better than a reply unannounced.
	if on, err := w.p.Online(ctx, e.accountID); err == nil && on {
		return
	}
	if w.notify != nil {
		w.notify(e.accountID)
	}
}
