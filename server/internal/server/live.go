package server

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// maxStrikes is how many refused frames a connection may send before it is
// closed: a broken app should hear why, a hostile one should not loop.
const maxStrikes = 50

// deepWorkers run the deep work of a connection coming up (the session
// lookup, the subscription's snapshot) on goroutines kept for it. The
// database's calls (SQLite's translated C among them) grow a goroutine's
// stack to tens of KiB, and a live connection's goroutines then sit idle
// for hours: an idle server rarely collects garbage, so a grown stack is
// seldom shrunk. Done elsewhere, the deep work leaves the connection's
// long-lived goroutines small (with 5,000 idle connections, 14 KiB of
// stack per goroutine before, 8 KiB after). Done on a goroutine started
// for it, every connection paid for growing that goroutine's stack again:
// copying stacks was 13 % of the server's CPU while 10,000 connections
// came up. A worker keeps its grown stack for the next connection and
// ends after a while without work.
type deepWorkers struct {
	work chan func()   // unbuffered: a send succeeds only to an idle worker
	idle time.Duration // how long a worker waits for work before it ends
}

func newDeepWorkers(idle time.Duration) *deepWorkers {
	return &deepWorkers{work: make(chan func()), idle: idle}
}

// do runs f on an idle worker, or a new one if none is idle, and waits
// for it.
func (p *deepWorkers) do(f func()) {
	done := make(chan struct{})
	job := func() {
		defer close(done)
		f()
	}
	select {
	case p.work <- job:
	default:
		go p.worker(job)
	}
	<-done
}

func (p *deepWorkers) worker(job func()) {
	t := time.NewTimer(p.idle)
	defer t.Stop()
	for {
		job()
		t.Reset(p.idle)
		select {
		case job = <-p.work:
		case <-t.C:
			return
		}
	}
}

// liveHandler serves GET /api/v1/live: authenticate, accept, wait for the
// hello, subscribe, replay what the app missed, then stream.
func (s *Server) liveHandler(w http.ResponseWriter, r *http.Request) {
	var (
		a   *session
		err error
	)
	// Before the look-up: whatever could end the session from here on is
	// either seen by it or counted (see liveConn.start).
	endings := s.hub.endings.Load()
	s.deep.do(func() { a, err = s.authenticate(r) })
	if err == nil && !people(a.p.Role) {
		// A registrar has no conversations to follow (issue 16).
		err = protocol.Errorf(protocol.CodeForbidden, "your role has no live connection")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		s.writeError(w, r, protocol.Errorf(protocol.CodeUpgradeRequired, "this address is the live WebSocket connection: open it with a WebSocket handshake"))
		return
	}

	select {
	case <-s.closing:
		s.writeError(w, r, protocol.Errorf(protocol.CodeUnavailable, "server is shutting down"))
		return
	default:
	}
	// Counted before the hijack: http.Server.Shutdown waits for this
	// request until then, so the count is in place before Serve waits on it.
	s.live.Add(1)
	// The HTTP server's read and write timeouts bound a request, not a live
	// connection: net/http clears them when Accept hijacks the connection
	// (TestHTTPTimeoutsSpareLiveConnections holds it to that).
	// Accept refuses cross-origin browser handshakes unless listed.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.cfg.OriginPatterns})
	if err != nil {
		s.live.Done()
		s.log.Debug("websocket accept failed", "err", err)
		return
	}
	// The connection is the WebSocket's now, served on a goroutine of its
	// own, and net/http's goroutine ends with the request it read: its
	// stack, grown by the handshake, stayed 8 KiB for as long as an idle
	// connection lasted. The request's context ends with the handler.
	lc := &liveConn{s: s, c: c, a: a, endings: endings}
	go lc.live(context.WithoutCancel(r.Context()))
}

// live brings an accepted connection up (hello, start) and then writes
// what there is to write until there is nothing (pump). From then on the
// connection has no goroutine of its own but its read loop: whatever has
// something for it (the hub, the read loop, its end) wakes a writer, and
// a timer pings it. An idle connection kept a writer's 8 KiB stack.
func (lc *liveConn) live(base context.Context) {
	s, c := lc.s, lc.c
	defer lc.recoverPanic()
	c.SetReadLimit(protocol.MaxFrameBytes)

	// The read loop's context outlives the rest until the close handshake
	// is done: cancelling a read tears the connection down at once, and
	// the app would see a dropped line instead of the close code (say 4009
	// with its reason) it must act on.
	lc.ctx, lc.cancel = context.WithCancel(base)
	// A write that has not finished within WriteTimeout, or is under way
	// when the connection is found dead, ends the connection (see
	// writeFinal).
	lc.stall = time.AfterFunc(time.Hour, func() { c.CloseNow() })
	lc.stall.Stop()
	lc.unwatch = context.AfterFunc(lc.ctx, func() { c.CloseNow() })

	hello, code, reason := lc.readHello(lc.ctx)
	if hello == nil {
		lc.finish(code, reason)
		return
	}
	var st *started
	s.deep.do(func() { st, code, reason = lc.start(lc.ctx, hello) })
	if st == nil {
		lc.finish(code, reason)
		return
	}
	lc.st = st
	lc.pinger = time.AfterFunc(time.Hour, lc.ping)
	lc.pinger.Reset(s.cfg.PingInterval) // set: ping reads it
	lc.pump()                           // this goroutine has been the writer since the start
}

// recoverPanic ends a connection whose goroutine panicked, as net/http
// did for the handler that served connections before: a bug ends its
// connection, not the server.
func (lc *liveConn) recoverPanic() {
	if v := recover(); v != nil {
		lc.s.log.Error("live connection panicked", "panic", v, "stack", string(debug.Stack()))
		lc.finish(websocket.StatusInternalError, "internal error")
	}
}

// finish ends the connection once: it leaves the hub, closes with code
// (0: the connection is already gone) and lets go of its timers.
func (lc *liveConn) finish(code websocket.StatusCode, reason string) {
	lc.finished.Do(func() {
		lc.state.Store(pumpDone)
		if lc.sub != nil {
			lc.s.callbacks.forget(lc.sub)
			lc.s.hub.remove(lc.sub)
		}
		if code != 0 {
			lc.c.Close(code, reason)
		}
		if lc.pinger != nil {
			lc.pinger.Stop()
		}
		lc.unwatch()
		lc.stall.Stop()
		lc.cancel()
		lc.c.CloseNow()
		lc.s.live.Done()
	})
}

type liveConn struct {
	s   *Server
	c   *websocket.Conn
	a   *session
	sub *subscriber // set once subscribed
	// endings is the hub's count of session-ending changes before the
	// handshake looked the session up.
	endings uint64
	// pending counts sends received and not yet answered: a connection
	// with some is alive, whatever its pong says (see run's ping).
	pending atomic.Int32
	adm     admission // read loop only
	// stall closes the connection when a write takes longer than
	// WriteTimeout: one timer for the connection's life, set for each
	// write. A context with a deadline for each write, which the
	// WebSocket library then watches, was a fifth of the bytes the server
	// allocated per message.
	stall *time.Timer

	// ctx is the connection's; cancel ends it when the connection is
	// found dead, and unwatch stops the watch that closes the connection
	// then.
	ctx     context.Context
	cancel  context.CancelFunc
	unwatch func() bool
	st      *started
	pinger  *time.Timer
	// state says whether a writer runs (see pump); batch is its buffer.
	state    atomic.Int32
	batch    []outFrame
	finished sync.Once
}

// The writer's states (liveConn.state). A connection starts with its
// writer running: the goroutine that brings it up is its first writer.
const (
	pumpRunning int32 = iota // a writer runs
	pumpAgain                // a writer runs, and was woken since it last looked
	pumpIdle                 // no writer runs
	pumpDone                 // the connection has ended
)

// errEnded stops a writer whose connection must close: nothing more is
// written to it but the goodbye (see subscriber.ended).
var errEnded = errors.New("connection ended")

func (lc *liveConn) write(ctx context.Context, b []byte) error {
	if lc.sub != nil && lc.sub.ended.Load() {
		return errEnded
	}
	return lc.writeFinal(ctx, b)
}

// writeFinal writes even after the end: the frame that says why. Writes
// come from one goroutine at a time (the connection's writer, or the
// start before it): they share the stall timer.
func (lc *liveConn) writeFinal(ctx context.Context, b []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	lc.stall.Reset(lc.s.cfg.WriteTimeout)
	defer lc.stall.Stop()
	// Without a deadline or cancellation of its own the write is watched
	// by the stall timer and by the connection's context (liveHandler),
	// both of which close the connection, ending the write.
	return lc.c.Write(context.WithoutCancel(ctx), websocket.MessageText, b)
}

func errorFrame(ref string, err error) []byte {
	return protocol.Encode(protocol.ErrorFrame{Type: protocol.TypeError, Ref: ref, Error: *protocol.AsError(err)})
}

// started is a connection past its welcome, replay and synced.
type started struct {
	sub       *subscriber
	highWater int64       // the snapshot's: frames at or below it were replayed
	replies   chan []byte // the read loop's answers
	readDone  chan error  // the read loop's end
}

// start checks access, subscribes, and sends the welcome, the replay from
// hello's cursor and synced (the database's part of a connection). It
// sets lc.sub once subscribed (the caller removes it from the hub, even
// when the start then fails) and returns the started connection, or nil
// with a close code and reason (code 0: the connection is gone).
func (lc *liveConn) start(ctx context.Context, hello *protocol.Hello) (*started, websocket.StatusCode, string) {
	s := lc.s
	if err := s.checkAccess(ctx, lc.a.p); err != nil {
		pe := protocol.AsError(err)
		if pe.Code != protocol.CodeOutsideHours {
			s.log.Error("access-hours check failed", "err", err)
			return nil, websocket.StatusInternalError, "internal error"
		}
		_ = lc.write(ctx, protocol.Encode(protocol.ErrorFrame{Type: protocol.TypeError, Error: *pe}))
		return nil, protocol.CloseOutsideHours, "outside access hours"
	}

	limit := s.cfg.SendQueue
	if lc.a.p.IsStaff() {
		limit *= staffQueueFactor
	}
	sub := newSubscriber(lc.a.p, lc.a.ID, limit)
	sub.v2 = hello.V >= 2
	sub.wake = lc.wake
	// Armed before the hub lists the connection: a change of the access
	// period published once it is listed is newer, and must not be
	// overwritten by the handshake's.
	sub.setAccessUntil(lc.a.account.AccessEnds(), s.cfg.Now())
	lc.sub = sub
	snap, err := s.store.Subscribe(ctx, lc.a.p, func() { s.hub.add(sub) })
	if err != nil {
		s.log.Error("subscribe failed", "err", err)
		return nil, websocket.StatusInternalError, "internal error"
	}
	// Whether the pool is offered, and who this is, for colleagues.
	desk := protocol.PresenceFrame{AccountID: lc.a.p.AccountID, Presence: lc.a.account.Presence}
	for _, c := range snap.Conversations {
		if c.AssigneeID != nil && *c.AssigneeID == lc.a.p.AccountID {
			desk.OpenConversations++
		}
	}
	s.hub.online(sub, snap.Offered, desk)
	// A revocation or a change of the access period committed after the
	// handshake's session look-up and published before the hub listed the
	// connection reached nobody; any later one reaches the subscriber. The
	// hub counts them: only when one was published meanwhile (rarely),
	// look the session up again. Looking up every time was a tenth of the
	// server's CPU while 10,000 apps reconnected.
	if s.hub.endings.Load() != lc.endings {
		_, acct, err := s.store.SessionByToken(ctx, lc.a.tokenHash)
		if err != nil {
			if err := lc.write(ctx, protocol.Encode(protocol.RevokedFrame{Type: protocol.TypeRevoked, Reason: "expired"})); err != nil {
				return lc.failedStart(ctx, err) // the hub has said why
			}
			return nil, protocol.CloseRevoked, "session ended"
		}
		sub.lookedUpAccess(acct.AccessEnds(), s.cfg.Now())
	}

	// A few answers wait here for the writer; more wait in their senders
	// (the read loop, the send goroutine), which the writer soon frees. Its
	// buffer is kept by every connection for its life: 64 answers' worth
	// was 1.4 KiB of each idle connection's memory.
	replies := make(chan []byte, 4)
	readDone := make(chan error, 1)
	go func() {
		readDone <- lc.readLoop(ctx, replies)
		lc.wake()
	}()

	welcome := protocol.Welcome{Type: protocol.TypeWelcome, V: hello.V, Account: publicAccount(lc.a.account.Account),
		Org: orgFor(lc.a.p.Role, snap.Org), Conversations: snap.Conversations, ServerTime: s.timeNow()}
	if err := lc.write(ctx, protocol.Encode(welcome)); err != nil {
		return lc.failedStart(ctx, err)
	}
	// Replay what the app has not seen, up to the snapshot's high water;
	// everything above it arrives through the subscription.
	cursor := hello.Cursor
	for cursor < snap.HighWater {
		msgs, err := s.store.MessagesAfter(ctx, lc.a.p, cursor, 500)
		if err != nil {
			s.log.Error("replay failed", "err", err)
			return nil, websocket.StatusInternalError, "internal error"
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			if m.ID > snap.HighWater {
				break
			}
			if err := lc.write(ctx, protocol.Encode(protocol.MessageFrame{Type: protocol.TypeMessage, Message: m})); err != nil {
				return lc.failedStart(ctx, err)
			}
		}
		cursor = msgs[len(msgs)-1].ID
	}
	if err := lc.write(ctx, protocol.Encode(protocol.Synced{Type: protocol.TypeSynced, Cursor: max(hello.Cursor, snap.HighWater)})); err != nil {
		return lc.failedStart(ctx, err)
	}
	s.settler.opened.Add(1)
	return &started{sub: sub, highWater: snap.HighWater, replies: replies, readDone: readDone}, 0, ""
}

// ended finishes a connection after a failed write: if the subscriber was
// stopped, it says why and closes with its code; otherwise the connection
// is gone.
func (lc *liveConn) ended(ctx context.Context, sub *subscriber, err error) (websocket.StatusCode, string) {
	if !errors.Is(err, errEnded) {
		return 0, ""
	}
	return lc.goodbye(ctx, <-sub.end)
}

// failedStart is ended for start: a connection the hub ended while it
// started (a revocation published just after it was listed) is told why.
func (lc *liveConn) failedStart(ctx context.Context, err error) (*started, websocket.StatusCode, string) {
	code, reason := lc.ended(ctx, lc.sub, err)
	return nil, code, reason
}

// goodbye sends the frame that says why the connection ends and returns
// the close code.
func (lc *liveConn) goodbye(ctx context.Context, e endReason) (websocket.StatusCode, string) {
	if e.code == protocol.CloseRevoked {
		_ = lc.writeFinal(ctx, protocol.Encode(protocol.RevokedFrame{Type: protocol.TypeRevoked, Reason: e.reason}))
		return websocket.StatusCode(e.code), "session ended"
	}
	if e.frame != nil {
		_ = lc.writeFinal(ctx, e.frame)
	}
	return websocket.StatusCode(e.code), e.reason
}

// maxPendingSends bounds the sends of one connection received and not yet
// answered.
const maxPendingSends = 64

// storeSend stores one send and answers it (an ack, or an error naming
// its ref).
func (lc *liveConn) storeSend(ctx context.Context, v *protocol.Send, reply func([]byte) error) {
	s := lc.s
	if lc.sub.ended.Load() {
		return // received before the end, stored never: the app resends after signing in again
	}
	s.touch(ctx, lc.a)
	m, created, err := s.store.Send(ctx, lc.a.p, store.SendRequest{Ref: v.Ref, ConversationID: v.ConversationID, Body: v.Body, Kind: v.Kind,
		Progress: protocol.ProgressRequest{Progress: v.Progress, NextContact: v.NextContact}, TemplateID: v.TemplateID, Decides: v.Decides,
		Attachment: v.Attachment, Conn: lc.sub.conn})
	if err != nil {
		if pe := protocol.AsError(err); pe.Code == protocol.CodeInternal && ctx.Err() == nil {
			s.log.Error("send failed", "account", lc.a.p.AccountID, "err", err)
		}
		_ = reply(errorFrame(v.Ref, err)) // fails only when the connection is gone
		return
	}
	if created {
		s.metrics.messages.WithLabelValues(string(lc.a.p.Role)).Inc()
	}
	if lc.sub.v2 {
		s.hub.ack(lc.sub, v.Ref, m)
		return
	}
	_ = reply(protocol.Encode(protocol.Ack{Type: protocol.TypeAck, Ref: v.Ref, Message: m}))
}

// closeErr asks run to close the connection with a code.
type closeErr struct {
	code   websocket.StatusCode
	reason string
}

func (e closeErr) Error() string { return e.reason }

func (lc *liveConn) readHello(ctx context.Context) (*protocol.Hello, websocket.StatusCode, string) {
	// A cancelled Read would drop the connection without a word; a timer
	// closes it properly, with a code the app can act on.
	timer := time.AfterFunc(lc.s.cfg.HelloTimeout, func() {
		lc.c.Close(protocol.CloseBadHello, "no hello received")
	})
	defer timer.Stop()
	typ, data, err := lc.c.Read(ctx)
	if err != nil {
		return nil, 0, "" // closed: by the app, the size limit or the timer
	}
	if typ != websocket.MessageText {
		return nil, websocket.StatusUnsupportedData, "text frames only"
	}
	f, err := protocol.DecodeClientFrame(data)
	if err == nil {
		if h, ok := f.(*protocol.Hello); ok {
			return h, 0, ""
		}
		err = protocol.Errorf(protocol.CodeBadFrame, "the first frame must be a hello")
	}
	lc.s.metrics.badFrames.Inc()
	_ = lc.write(ctx, errorFrame("", err))
	return nil, protocol.CloseBadHello, string(protocol.AsError(err).Code)
}

// readLoop handles the app's frames until the connection ends. Each send
// is answered after its commit; replies go through the writer.
func (lc *liveConn) readLoop(ctx context.Context, replies chan<- []byte) error {
	s := lc.s
	strikes := 0
	// heartbeat: once the app pings, a silence of HeartbeatTimeout means
	// the link is dead (a phone that lost its network sends no close), and
	// the connection is dropped so that the subscriber goes at once.
	heartbeat := false
	var lastTyping time.Time
	typing := typingTargets{}
	reply := func(b []byte) error {
		select {
		case replies <- b:
			lc.wake()
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// Sends are stored one after another, in the order they came, by a
	// goroutine of their own: this loop goes on reading meanwhile, so that
	// pings (the app's and the WebSocket's) are answered however long the
	// commits take. When the database falls behind, acks come slower; past
	// maxPendingSends the app's frames wait in the network (back-pressure),
	// and the connection is never dropped for it.
	//
	// The goroutine starts with the connection's first send: most
	// connections sit idle (a client reads, and writes now and then), and
	// an idle connection's memory is what 10,000 of them cost.
	var (
		sends chan *protocol.Send
		sent  chan struct{}
	)
	startSends := func() {
		sends, sent = make(chan *protocol.Send, maxPendingSends), make(chan struct{})
		go func() {
			defer close(sent)
			for v := range sends {
				lc.storeSend(ctx, v, reply)
				lc.pending.Add(-1)
				s.backlog.inFlight.Add(-1)
			}
		}()
	}
	defer func() {
		if sends != nil {
			close(sends)
			<-sent
		}
	}()
	for {
		rctx, rcancel := ctx, context.CancelFunc(func() {})
		if heartbeat {
			rctx, rcancel = context.WithTimeout(ctx, s.cfg.HeartbeatTimeout)
		}
		typ, data, err := lc.c.Read(rctx)
		rcancel()
		if err != nil {
			if heartbeat && ctx.Err() == nil && errors.Is(rctx.Err(), context.DeadlineExceeded) {
				s.metrics.heartbeatLost.Inc()
			}
			return err
		}
		if typ != websocket.MessageText {
			return closeErr{websocket.StatusUnsupportedData, "text frames only"}
		}
		f, err := protocol.DecodeClientFrame(data)
		if err == nil {
			if _, again := f.(*protocol.Hello); again {
				err = protocol.Errorf(protocol.CodeBadFrame, "hello was already received")
			}
		}
		if err != nil {
			s.metrics.badFrames.Inc()
			if strikes++; strikes > maxStrikes {
				return closeErr{websocket.StatusPolicyViolation, "too many invalid frames"}
			}
			if err := reply(errorFrame(protocol.SendRef(data), err)); err != nil {
				return err
			}
			continue
		}
		switch v := f.(type) {
		case *protocol.Send:
			if lc.sub.ended.Load() {
				// The session has ended (or must close): nothing more is
				// taken from it, however much it had queued in the network;
				// the writer says goodbye.
				continue
			}
			retryAfter, ok := lc.adm.admit(v.Ref, time.Now(), s.backlog.wait(), s.cfg.BusyAfter)
			lc.sub.refused.Store(int32(len(lc.adm.held)))
			if !ok {
				s.metrics.busy.Inc()
				s.callBackLater(lc.sub)
				if err := reply(errorFrame(v.Ref, busyError(retryAfter))); err != nil {
					return err
				}
				continue
			}
			if sends == nil {
				startSends()
			}
			lc.pending.Add(1)
			s.backlog.inFlight.Add(1)
			select {
			case sends <- v:
			case <-ctx.Done():
				s.backlog.inFlight.Add(-1)
				return ctx.Err()
			}
		case *protocol.Receipt:
			s.touch(ctx, lc.a)
			if err := s.store.Receipt(ctx, lc.a.p, v.ConversationID, v.DeliveredSeq, v.ReadSeq); err != nil {
				if err := reply(errorFrame("", err)); err != nil {
					return err
				}
			}
		case *protocol.Ping:
			heartbeat = true
			if err := reply(protocol.Encode(protocol.Pong{Type: protocol.TypePong})); err != nil {
				return err
			}
		case *protocol.Typing:
			// A hint, not a record: too frequent ones are dropped unanswered.
			if now := time.Now(); now.Sub(lastTyping) >= s.cfg.TypingEvery {
				lastTyping = now
				s.touch(ctx, lc.a)
				if err := lc.relayTyping(ctx, typing, v.ConversationID); err != nil {
					if err := reply(errorFrame("", err)); err != nil {
						return err
					}
				}
			}
		case *protocol.Wiped:
			// A receipt of the app's, not a person's doing: no touch.
			if err := s.store.RecordWiped(ctx, lc.a.ID, v.At); err != nil {
				if err := reply(errorFrame("", err)); err != nil {
					return err
				}
			}
		}
	}
}

// staffQueueFactor is how many times a client's queue a staff
// connection holds. A counselor's app receives every message of the
// organisation: at 2,000 messages/s a 1,024-frame queue held half a
// second, and every counselor of a load test was closed as too slow
// during a few seconds' lag of its reader. Frames are shared between
// connections, so a full queue costs its slots (32 bytes each).
const staffQueueFactor = 8

// typingTargets remembers, per connection, the conversations it has named
// in typing frames (0 for a client's own): relayed without a read each
// time, and read again after typingFresh (who has it may have changed).
type typingTargets map[int64]typingTarget

type typingTarget struct {
	conv protocol.Conversation
	at   time.Time
}

// typingFresh is how long a typing target's conversation is trusted.
const typingFresh = 5 * time.Second

// relayTyping tells the other side of a conversation the principal may
// write in that its person is writing.
func (lc *liveConn) relayTyping(ctx context.Context, known typingTargets, conversationID int64) error {
	p := lc.a.p
	if p.Role == protocol.RoleClient && conversationID != 0 {
		// A client has one conversation: naming another is not found, as
		// a send naming it is (the store checks that one).
		if c, err := lc.typingConversation(ctx, 0); err != nil || c.ID != conversationID {
			return protocol.Errorf(protocol.CodeNotFound, "no such conversation")
		}
		conversationID = 0
	}
	t, ok := known[conversationID]
	if now := time.Now(); !ok || now.Sub(t.at) > typingFresh {
		c, err := lc.typingConversation(ctx, conversationID)
		if err != nil {
			return err
		}
		if len(known) >= 64 {
			clear(known) // a counselor's whole day: bounded all the same
		}
		t = typingTarget{conv: c, at: now}
		known[conversationID] = t
	}
	f := protocol.TypingFrame{Type: protocol.TypeTyping, ConversationID: t.conv.ID, SenderID: p.AccountID, SenderRole: p.Role}
	if p.IsStaff() {
		f.SenderName = lc.a.account.DisplayName
	}
	lc.s.hub.typing(p.OrgID, t.conv, f)
	if r := lc.s.typingRelay; r != nil {
		relayed := store.Typing{OrgID: p.OrgID, ClientID: t.conv.ClientID, ConversationID: t.conv.ID, From: p.Role, Frame: f}
		if err := r.RelayTyping(ctx, relayed); err != nil {
			lc.s.log.Warn("relay typing to other replicas", "err", err) // a hint: the next one follows
		}
	}
	return nil
}

// typingConversation finds the conversation a typing frame is about: the
// one named (staff) or the client's own.
func (lc *liveConn) typingConversation(ctx context.Context, id int64) (protocol.Conversation, error) {
	if lc.a.p.IsStaff() {
		return lc.s.store.Conversation(ctx, lc.a.p, id)
	}
	cs, err := lc.s.store.Conversations(ctx, lc.a.p)
	if err != nil {
		return protocol.Conversation{}, err
	}
	if len(cs) == 0 {
		return protocol.Conversation{}, protocol.Errorf(protocol.CodeNotFound, "no such conversation")
	}
	return cs[0], nil
}
