package client

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// ErrRevoked means the server ended the session (logout elsewhere, forced
// logout, deleted account, expiry): the app must wipe its local data and
// ask for the password again. Run returns it and does not reconnect.
var ErrRevoked = errors.New("session ended by the server")

// OutsideHoursError means the server refused a counselor client data
// outside the organisation's access hours. The session stays valid; Run
// connects again at Opens.
type OutsideHoursError struct {
	Opens time.Time
}

func (e *OutsideHoursError) Error() string {
	return "outside access hours until " + e.Opens.Format(time.RFC3339)
}

// ErrWithdrawn is the result of a queued message the app took back
// (WithdrawConversation): it was never sent.
var ErrWithdrawn = errors.New("message withdrawn before sending")

// ErrOffline is returned by calls that need a live connection.
var ErrOffline = errors.New("not connected")

// StateEvent reports the connection coming up (after the replay) or going
// down (with the reason, and when the next attempt is due).
type StateEvent struct {
	Connected bool
	Err       error
	RetryIn   time.Duration
}

// Event is what a live connection reports: a frame from the server or a
// change of the connection's state, exactly one of the two.
type Event struct {
	Frame protocol.ServerFrame
	State *StateEvent
}

// Result is the outcome of one queued message.
type Result struct {
	Message protocol.Message
	Err     error
}

// PendingMessage is an outbox entry: written but not yet acknowledged.
// An app persists these and passes them back in LiveOptions.Outbox after a
// restart; the server's idempotency makes a repeated send harmless.
type PendingMessage struct {
	Ref            string
	ConversationID int64
	Body           string
	// Staff only: the progress the reply sets (with a next-contact date)
	// and the template it was made from; see protocol.Send.
	Progress    protocol.Progress `json:",omitempty"`
	NextContact string            `json:",omitempty"`
	TemplateID  int64             `json:",omitempty"`
	Decides     int64             `json:",omitempty"`
	// Kind is protocol.KindNote for a staff-only note ("": a message).
	Kind protocol.MessageKind `json:",omitempty"`
	// Attachment is an uploaded file the message carries (Upload).
	Attachment int64 `json:",omitempty"`
}

// frame is the send frame of an outbox entry.
func (p PendingMessage) frame() protocol.Send {
	return protocol.Send{Type: protocol.TypeSend, Ref: p.Ref, ConversationID: p.ConversationID, Body: p.Body,
		Progress: p.Progress, NextContact: p.NextContact, TemplateID: p.TemplateID, Decides: p.Decides, Kind: p.Kind, Attachment: p.Attachment}
}

// LiveOptions configure a live connection.
type LiveOptions struct {
	// Cursor is the highest message ID the app already holds.
	Cursor int64
	// Outbox restores unacknowledged messages from an earlier run.
	Outbox []PendingMessage
	// OnEvent receives, in order, on the connection's goroutine: the
	// server's frames (all but pongs and frames this version does not
	// know) and the connection's state. It must not block for long.
	OnEvent func(Event)
	// PingEvery is the heartbeat: a ping this often, and a connection that
	// heard nothing for twice as long is dropped and reconnected (a dead
	// link sends no close). Default protocol.PingEvery; negative: none.
	PingEvery time.Duration
	// Backoff bounds between reconnection attempts (defaults 250ms, 30s).
	MinBackoff, MaxBackoff time.Duration
	// ReadLimit bounds one server frame (default 16 MiB: a welcome lists
	// every conversation).
	ReadLimit int64
}

// Live is a self-healing live connection.
type Live struct {
	c    *Client
	opts LiveOptions

	mu     sync.Mutex
	cursor int64
	outbox []*pending // in the order written
	conn   *websocket.Conn
	synced bool
	// heldUntil is when messages refused for now go again. Until then
	// nothing new is written either: the server takes a connection's
	// refused sends back first, and a message written meanwhile waits for
	// them instead of being refused in turn (see retryLater).
	heldUntil time.Time
	holdTimer *time.Timer
}

type pending struct {
	PendingMessage
	done chan Result
	// refusals counts the server's "not now" answers; waiting is set while
	// the message waits for the hold to end, not yet (again) written
	// (both guarded by Live.mu).
	refusals int
	waiting  bool
}

// Live prepares a live connection; Run drives it.
func (c *Client) Live(opts LiveOptions) *Live {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 250 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.ReadLimit <= 0 {
		opts.ReadLimit = 16 << 20
	}
	if opts.PingEvery == 0 {
		opts.PingEvery = protocol.PingEvery
	}
	if opts.OnEvent == nil {
		opts.OnEvent = func(Event) {}
	}
	l := &Live{c: c, opts: opts, cursor: opts.Cursor}
	for _, m := range opts.Outbox {
		l.outbox = append(l.outbox, &pending{PendingMessage: m, done: make(chan Result, 1)})
	}
	return l
}

// Cursor returns the highest message ID received so far.
func (l *Live) Cursor() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cursor
}

// Pending returns the unacknowledged messages, oldest first.
func (l *Live) Pending() []PendingMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]PendingMessage, len(l.outbox))
	for i, p := range l.outbox {
		out[i] = p.PendingMessage
	}
	return out
}

// Connected reports whether the connection is up and replayed.
func (l *Live) Connected() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conn != nil && l.synced
}

// NewRef returns a fresh idempotency id.
func NewRef() string {
	b := make([]byte, 16)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}

// Enqueue adds a message to the outbox and sends it now if connected;
// otherwise it goes out after the next reconnection. The channel yields
// exactly one Result: the stored message, or a refusal from the server.
// Clients pass conversationID 0.
func (l *Live) Enqueue(conversationID int64, body string) (ref string, done <-chan Result) {
	ref = NewRef()
	return ref, l.EnqueueRef(ref, conversationID, body)
}

// EnqueueRef is Enqueue with a ref chosen by the caller, for an app that
// records the message (and its ref) before it can possibly be answered.
func (l *Live) EnqueueRef(ref string, conversationID int64, body string) <-chan Result {
	return l.EnqueueMessage(PendingMessage{Ref: ref, ConversationID: conversationID, Body: body})
}

// EnqueueMessage is EnqueueRef for a whole outbox entry: a staff reply
// that also sets the conversation's progress or names its template, or a
// staff-only note.
func (l *Live) EnqueueMessage(m PendingMessage) <-chan Result {
	p := &pending{PendingMessage: m, done: make(chan Result, 1)}
	l.mu.Lock()
	l.outbox = append(l.outbox, p)
	conn := l.conn
	if !l.synced {
		conn = nil
	}
	if conn != nil && time.Now().Before(l.heldUntil) {
		p.waiting, conn = true, nil
	}
	l.mu.Unlock()
	if conn != nil {
		// A failed write is not an error here: the message stays in the
		// outbox and is resent on reconnection.
		_ = writeFrame(context.Background(), conn, p.frame())
	}
	return p.done
}

// WithdrawConversation takes back every queued message of a
// conversation: the app learned that its number now names another
// client, so they must not be sent. It returns how many were withdrawn.
// Called from OnEvent for a welcome, it runs before the outbox is resent.
func (l *Live) WithdrawConversation(conversationID int64) int {
	l.mu.Lock()
	var out []*pending
	kept := l.outbox[:0]
	for _, p := range l.outbox {
		if p.ConversationID == conversationID {
			out = append(out, p)
		} else {
			kept = append(kept, p)
		}
	}
	l.outbox = kept
	l.mu.Unlock()
	for _, p := range out {
		p.done <- Result{Err: ErrWithdrawn}
	}
	return len(out)
}

// Send enqueues a message and waits for its acknowledgement. If ctx ends
// first the message stays queued and is still delivered later.
func (l *Live) Send(ctx context.Context, conversationID int64, body string) (protocol.Message, error) {
	_, done := l.Enqueue(conversationID, body)
	select {
	case r := <-done:
		return r.Message, r.Err
	case <-ctx.Done():
		return protocol.Message{}, ctx.Err()
	}
}

// Receipt tells the server what the app has received and shown.
func (l *Live) Receipt(ctx context.Context, conversationID, delivered, read int64) error {
	l.mu.Lock()
	conn := l.conn
	l.mu.Unlock()
	if conn == nil {
		return ErrOffline
	}
	return writeFrame(ctx, conn, protocol.Receipt{Type: protocol.TypeReceipt, ConversationID: conversationID, DeliveredSeq: delivered, ReadSeq: read})
}

// Typing tells the conversation's other side that this app's person is
// writing (staff name the conversation; clients pass 0). Call it at most
// every few seconds while they type: the server relays one per
// protocol.TypingEvery and stores nothing.
func (l *Live) Typing(ctx context.Context, conversationID int64) error {
	l.mu.Lock()
	conn := l.conn
	l.mu.Unlock()
	if conn == nil {
		return ErrOffline
	}
	return writeFrame(ctx, conn, protocol.Typing{Type: protocol.TypeTyping, ConversationID: conversationID})
}

// Wiped sends a deletion receipt: this device has applied every deletion
// up to at (a deleted frame's at, or a welcome's server time once the
// snapshot is applied).
func (l *Live) Wiped(ctx context.Context, at time.Time) error {
	l.mu.Lock()
	conn := l.conn
	l.mu.Unlock()
	if conn == nil {
		return ErrOffline
	}
	return writeFrame(ctx, conn, protocol.Wiped{Type: protocol.TypeWiped, At: at})
}

func writeFrame(ctx context.Context, c *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, b)
}

// Run connects and keeps reconnecting with jittered exponential back-off
// until ctx ends or the session is revoked (ErrRevoked). Pending messages
// are failed with ErrRevoked in that case.
func (l *Live) Run(ctx context.Context) error {
	backoff := l.opts.MinBackoff
	for {
		welcomed, err := l.session(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrRevoked) {
			l.failAll(ErrRevoked)
			l.state(StateEvent{Connected: false, Err: err})
			return err
		}
		if welcomed {
			backoff = l.opts.MinBackoff
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		var outside *OutsideHoursError
		if errors.As(err, &outside) {
			// Come back when the window opens (a little after, spread out),
			// and check at least hourly in case the rules change.
			wait = min(max(time.Until(outside.Opens), 0), time.Hour) + rand.N(5*time.Second)
			backoff = l.opts.MinBackoff
		}
		l.state(StateEvent{Connected: false, Err: err, RetryIn: wait})
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(backoff*2, l.opts.MaxBackoff)
	}
}

func (l *Live) failAll(err error) {
	l.mu.Lock()
	out := l.outbox
	l.outbox = nil
	l.mu.Unlock()
	for _, p := range out {
		p.done <- Result{Err: err}
	}
}

func liveURL(base string) string {
	switch {
	case strings.HasPrefix(base, "https://"):
		return "wss://" + strings.TrimPrefix(base, "https://") + "/api/v1/live"
	case strings.HasPrefix(base, "http://"):
		return "ws://" + strings.TrimPrefix(base, "http://") + "/api/v1/live"
	}
	return base + "/api/v1/live"
}

// session runs one connection until it ends.
func (l *Live) session(ctx context.Context) (welcomed bool, err error) {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+l.c.Token)
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	conn, resp, err := websocket.Dial(dctx, liveURL(l.c.BaseURL), &websocket.DialOptions{HTTPHeader: h, HTTPClient: l.c.HTTP})
	cancel()
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return false, ErrRevoked
		}
		return false, fmt.Errorf("connect: %w", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(l.opts.ReadLimit)
	defer func() {
		l.mu.Lock()
		l.conn, l.synced = nil, false
		l.mu.Unlock()
	}()

	if err := writeFrame(ctx, conn, protocol.Hello{Type: protocol.TypeHello, V: protocol.Version, Cursor: l.Cursor()}); err != nil {
		return false, fmt.Errorf("hello: %w", err)
	}
	var lastRead atomic.Int64
	lastRead.Store(time.Now().UnixNano())
	if l.opts.PingEvery > 0 {
		hctx, stop := context.WithCancel(ctx)
		defer stop()
		go heartbeat(hctx, conn, l.opts.PingEvery, &lastRead)
	}
	var outside *OutsideHoursError
	for {
		_, data, err := conn.Read(ctx)
		lastRead.Store(time.Now().UnixNano())
		if err != nil {
			switch websocket.CloseStatus(err) {
			case protocol.CloseRevoked:
				return welcomed, ErrRevoked
			case protocol.CloseOutsideHours:
				if outside == nil {
					outside = &OutsideHoursError{Opens: time.Now().Add(time.Minute)}
				}
				return welcomed, outside
			}
			return welcomed, fmt.Errorf("read: %w", err)
		}
		ev, err := protocol.DecodeServerFrame(data)
		if err != nil {
			return welcomed, err
		}
		switch f := ev.(type) {
		case *protocol.Welcome:
			welcomed = true
			l.mu.Lock()
			l.conn = conn
			l.mu.Unlock()
		case *protocol.MessageFrame:
			l.mu.Lock()
			l.cursor = max(l.cursor, f.Message.ID)
			l.mu.Unlock()
			if conv := f.Conversation; conv != nil {
				// Protocol version 2 carries the conversation's new state
				// in the message's frame; the app hears of the two in the
				// order version 1 sent them.
				m := *f
				m.Conversation = nil
				l.opts.OnEvent(Event{Frame: &m})
				l.opts.OnEvent(Event{Frame: &protocol.ConversationFrame{Type: protocol.TypeConversation, Conversation: *conv}})
				continue
			}
		case *protocol.Synced:
			l.mu.Lock()
			l.cursor = max(l.cursor, f.Cursor)
			l.synced = true
			resend := append([]*pending(nil), l.outbox...)
			l.heldUntil = time.Time{} // everything goes again now, in order
			for _, p := range resend {
				p.waiting = false
			}
			l.mu.Unlock()
			l.opts.OnEvent(Event{Frame: f})
			l.state(StateEvent{Connected: true})
			for _, p := range resend {
				if err := writeFrame(ctx, conn, p.frame()); err != nil {
					return welcomed, fmt.Errorf("resend: %w", err)
				}
			}
			continue
		case *protocol.Ack:
			// From version 2 on the ack is the only frame that brings the
			// connection's own message, and every frame published before
			// it has arrived: a message above the cursor is new here, and
			// the app hears of it as a message first, as version 1 sent
			// it. One at or below the cursor (a resend of a message stored
			// before) has reached the app already.
			l.mu.Lock()
			fresh := f.Message.ID > l.cursor
			l.cursor = max(l.cursor, f.Message.ID)
			l.mu.Unlock()
			if fresh {
				l.opts.OnEvent(Event{Frame: &protocol.MessageFrame{Type: protocol.TypeMessage, Message: f.Message}})
			}
			if conv := f.Conversation; conv != nil {
				l.opts.OnEvent(Event{Frame: &protocol.ConversationFrame{Type: protocol.TypeConversation, Conversation: *conv}})
			}
			l.resolve(f.Ref, Result{Message: f.Message})
		case *protocol.ErrorFrame:
			if f.Error.Code == protocol.CodeOutsideHours && f.Error.ReopensAt != nil {
				outside = &OutsideHoursError{Opens: *f.Error.ReopensAt}
			}
			if f.Ref != "" && !f.Error.Code.Retryable() {
				e := f.Error
				l.resolve(f.Ref, Result{Err: &e})
			} else if f.Ref != "" {
				l.retryLater(ctx, conn, f.Ref, f.Error.RetryAfter)
			}
		case *protocol.RevokedFrame:
			l.opts.OnEvent(Event{Frame: f})
			return welcomed, ErrRevoked
		case *protocol.ResumeFrame:
			l.endHold(ctx, conn, true)
			continue // for the connection, not the app
		case *protocol.Pong, *protocol.UnknownFrame:
			continue // the heartbeat's answer, or a newer server's: nothing for the app
		}
		l.opts.OnEvent(Event{Frame: ev})
	}
}

func (l *Live) state(s StateEvent) { l.opts.OnEvent(Event{State: &s}) }

// retryLater sends a message again after the server could not store it
// for now (internal, unavailable): after retry_after if given, else after
// a delay that doubles with each refusal (1 s … 30 s), on the same
// connection if it is still up; a new connection resends it anyway.
//
// Until then the connection is held: messages written meanwhile wait, and
// when the hold ends every waiting message goes in the order written, the
// refused ones with them. A busy server refuses a connection's later
// sends until its refused ones come back first (so that words are stored
// in the order written); sending only the waiting ones, in order, meets
// that at once, while the ones it took before the refusal are answered
// where they are.
func (l *Live) retryLater(ctx context.Context, conn *websocket.Conn, ref string, retryAfter int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var p *pending
	for _, q := range l.outbox {
		if q.Ref == ref {
			p = q
		}
	}
	if p == nil {
		return
	}
	delay := time.Second << min(p.refusals, 5)
	p.refusals++
	p.waiting = true
	if retryAfter > 0 {
		delay = time.Duration(retryAfter) * time.Second
	}
	// A little jitter: a busy server refuses many apps at once with the
	// same retry_after, and they should not all come back in the same
	// millisecond.
	delay = min(delay, 30*time.Second)
	until := time.Now().Add(delay + rand.N(min(delay/4, time.Second)+1))
	if until.Before(l.heldUntil) {
		return // the hold already ends later, and sends this one then
	}
	l.heldUntil = until
	if l.holdTimer != nil {
		l.holdTimer.Stop()
	}
	l.holdTimer = time.AfterFunc(time.Until(until), func() { l.endHold(ctx, conn, false) })
}

// endHold sends what the hold kept back, in the order written: when the
// hold's time is up, or early, when the server calls the connection back
// (a resume frame: it has room again).
func (l *Live) endHold(ctx context.Context, conn *websocket.Conn, early bool) {
	l.mu.Lock()
	if l.conn != conn || !l.synced || ctx.Err() != nil || l.heldUntil.IsZero() || (!early && time.Now().Before(l.heldUntil)) {
		l.mu.Unlock()
		return // no hold; another connection resends everything; a later hold has its own timer
	}
	if l.holdTimer != nil {
		l.holdTimer.Stop()
	}
	var again []*pending
	for _, q := range l.outbox {
		if q.waiting {
			q.waiting = false
			again = append(again, q)
		}
	}
	l.heldUntil = time.Time{}
	l.mu.Unlock()
	for _, q := range again {
		// A failed write is not an error here: the next connection resends.
		if writeFrame(ctx, conn, q.frame()) != nil {
			return
		}
	}
}

// heartbeat pings every interval and drops the connection when nothing
// arrived for two intervals: the read then fails and Run reconnects.
func heartbeat(ctx context.Context, conn *websocket.Conn, every time.Duration, lastRead *atomic.Int64) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, lastRead.Load())) > 2*every {
			conn.CloseNow()
			return
		}
		if err := writeFrame(ctx, conn, protocol.Ping{Type: protocol.TypePing}); err != nil {
			return
		}
	}
}

func (l *Live) resolve(ref string, r Result) {
	l.mu.Lock()
	var hit *pending
	for i, p := range l.outbox {
		if p.Ref == ref {
			hit = p
			l.outbox = append(l.outbox[:i], l.outbox[i+1:]...)
			break
		}
	}
	l.mu.Unlock()
	if hit != nil {
		hit.done <- r
	}
}
