package server

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/rules"
	"github.com/taiwa-chat/taiwa/server/internal/sendq"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// outFrame is an encoded frame on its way to one connection. ID is the
// message ID for message frames (the resume cursor), zero otherwise.
type outFrame struct {
	id   int64
	data []byte
}

// subscriber is one live connection as the hub sees it.
type subscriber struct {
	p         store.Principal
	sessionID int64
	// conn numbers the connection (store.SendRequest.Conn), and v2 says
	// it speaks protocol version 2: its own messages reach it in their
	// acks only, and a message carries its conversation's new state.
	conn uint64
	v2   bool
	// held is this connection's own message and the conversation state
	// published with it, waiting for the message's ack to carry both
	// (version 2). Anything queued to the connection before the ack
	// releases it as a frame first, so that no state is ever written
	// after a newer one. holding is set while held is not empty; only
	// the publishing goroutine adds to it.
	heldMu  sync.Mutex
	holding atomic.Bool
	held    []heldAck

	// refused is how many of this connection's sends wait to come back
	// after a busy refusal (set by its read loop), and listed whether it
	// is on the server's call-back list (see callbacks).
	refused atomic.Int32
	listed  atomic.Bool

	// q is the bounded send queue: the hub never waits for a connection,
	// and one that falls behind is closed and resumes from its cursor.
	q *sendq.Queue[outFrame]

	// wake has the connection's writer look at its queue and its end
	// (liveConn.wake), after either was given something.
	wake func()

	// end carries the one reason the connection must close (revoked or too
	// slow); the connection's writer acts on it.
	end  chan endReason
	once sync.Once
	// ended is set the moment the connection must close: the hub delivers
	// nothing more to it, and its writer writes nothing more but the
	// goodbye. A session the server has ended gets no frame after the
	// answer that says so.
	ended atomic.Bool

	// accessEnd closes a client's connection when its access period ends
	// (Account.AccessUntil), to the millisecond rather than at the next
	// sweep.
	accessMu  sync.Mutex
	accessEnd *time.Timer
	// accessHeard is set once the hub has published an access period for
	// this connection's account: it is newer than any the connection
	// looked up itself before.
	accessHeard bool

	// offered is whether the pool is offered to a counselor's connection:
	// offerUnknown until its snapshot or a ChangeOffered says. Unknown
	// counts as offered; the pool conversations sent meanwhile are noted
	// (unknownPool), and withdrawn if the snapshot says no. Touched on the
	// store's publishing goroutine and, once, by the connection.
	offerMu     sync.Mutex
	offered     offerState
	unknownPool []int64
}

type offerState int8

const (
	offerUnknown offerState = iota
	offerYes
	offerNo
)

// heldAck is a connection's own message with the conversation's state
// after it, as the connection may see it.
type heldAck struct {
	msg  protocol.Message
	conv protocol.Conversation
}

// maxHeldAcks bounds the messages held for their acks: a connection's sends
// are stored one at a time, so one is the rule.
const maxHeldAcks = 8

// hold keeps a connection's own message for its ack; false when the
// connection has too many held already (the message then goes as a frame).
func (s *subscriber) hold(a heldAck) bool {
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	if len(s.held) >= maxHeldAcks {
		return false
	}
	s.held = append(s.held, a)
	s.holding.Store(true)
	return true
}

// release queues the held messages as frames, oldest first (s.heldMu held).
func (h *hub) release(s *subscriber) {
	for _, a := range s.held {
		h.push(s, outFrame{id: a.msg.ID, data: protocol.Encode(protocol.MessageFrame{Type: protocol.TypeMessage, Message: a.msg, Conversation: &a.conv})})
	}
	s.dropHeld()
}

// dropHeld empties the held messages (s.heldMu held).
func (s *subscriber) dropHeld() {
	clear(s.held)
	s.held = s.held[:0]
	s.holding.Store(false)
}

// ack queues the answer to a connection's send, after every frame
// published before it. A version 2 ack carries the message, and the
// conversation's state with it when nothing was queued since.
func (h *hub) ack(s *subscriber, ref string, m protocol.Message) {
	a := protocol.Ack{Type: protocol.TypeAck, Ref: ref, Message: m}
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	own := len(s.held) == 1 && s.held[0].msg.ID == m.ID
	if own {
		conv := s.held[0].conv
		a.Conversation = &conv
	} else if len(s.held) > 0 {
		h.release(s)
	}
	if !s.ended.Load() {
		h.push(s, outFrame{data: protocol.Encode(a)})
	}
	// Only now: deliver reads holding without the lock, and a frame of
	// the writer's next batch that saw it cleared before the ack was
	// queued would overtake it (the app takes an ack below its cursor
	// as already seen, and would never show its own message).
	if own {
		s.dropHeld()
	}
}

// isOffered reports whether pool states go to this connection.
func (s *subscriber) isOffered() bool {
	if s.p.Role != protocol.RoleCounselor {
		return true
	}
	s.offerMu.Lock()
	defer s.offerMu.Unlock()
	return s.offered != offerNo
}

// connSeq numbers connections (subscriber.conn) across the process.
var connSeq atomic.Uint64

func newSubscriber(p store.Principal, sessionID int64, limit int) *subscriber {
	return &subscriber{p: p, sessionID: sessionID, conn: connSeq.Add(1), q: sendq.New[outFrame](limit), end: make(chan endReason, 1), wake: func() {}}
}

// setAccessUntil (re)arms the end of the access period; nil disarms it.
func (s *subscriber) setAccessUntil(until *time.Time, now time.Time) {
	s.accessMu.Lock()
	defer s.accessMu.Unlock()
	s.armAccess(until, now)
}

// heardAccess arms the access period the hub published (ChangeAccess).
func (s *subscriber) heardAccess(until *time.Time, now time.Time) {
	s.accessMu.Lock()
	defer s.accessMu.Unlock()
	s.accessHeard = true
	s.armAccess(until, now)
}

// lookedUpAccess arms an access period the connection looked up itself,
// unless the hub has published one since the connection was listed (the
// hub's is newer: changes are published in commit order).
func (s *subscriber) lookedUpAccess(until *time.Time, now time.Time) {
	s.accessMu.Lock()
	defer s.accessMu.Unlock()
	if !s.accessHeard {
		s.armAccess(until, now)
	}
}

// armAccess (re)arms the access period's end (s.accessMu held).
func (s *subscriber) armAccess(until *time.Time, now time.Time) {
	if s.accessEnd != nil {
		s.accessEnd.Stop()
		s.accessEnd = nil
	}
	if until == nil {
		return
	}
	end := func() { s.stop(endReason{code: protocol.CloseRevoked, reason: "access_ended"}) }
	s.accessEnd = time.AfterFunc(max(0, until.Sub(now)), end)
}

type endReason struct {
	code   int
	reason string // for revoked: logout, forced, deleted, expired…
	frame  []byte // if set, sent before closing (it says why and until when)
}

func (s *subscriber) stop(r endReason) {
	s.once.Do(func() {
		s.ended.Store(true)
		s.end <- r
		s.wake()
	})
}

// close releases what the subscriber holds once its connection is gone.
func (s *subscriber) close() { s.setAccessUntil(nil, time.Time{}) }

// hub routes committed changes to the connections allowed to see them.
// Publish runs on the store's writer goroutine and never blocks on a
// connection.
type hub struct {
	mu    sync.RWMutex
	byOrg map[int64]map[*subscriber]struct{}
	// staffByOrg is byOrg's staff only: a message reaches an
	// organisation's staff and one client, and walking every connection of
	// a large organisation per message was a tenth of the server's CPU.
	staffByOrg map[int64]map[*subscriber]struct{}
	bySession  map[int64]map[*subscriber]struct{}
	byAccount  map[int64]map[*subscriber]struct{}
	metrics    *metrics
	now        func() time.Time
	// onReply, if set, hears of a staff reply to a client who has no live
	// connection (to push a content-free notice). It must not block.
	onReply func(clientID int64)
	// onNews, if set, hears of an announcement for a client who has no
	// live connection here (a content-free push says there is news).
	onNews func(clientID int64)
	// onPresence, if set, hears when a client's first connection here
	// opens and its last one closes (several servers share who is
	// connected). It must not block.
	onPresence func(accountID int64, online bool)

	// routes is who has each conversation, as of the last change published
	// about it: typing hints follow a conversation handed on at once.
	routesMu sync.Mutex
	routes   map[int64]protocol.Conversation

	// desks are staff members' presence and load as last published (or
	// as their app found them when it connected), for the presence frames
	// sent when they come online or go.
	desksMu sync.Mutex
	desks   map[int64]protocol.PresenceFrame

	// endings counts what may end or shorten a session that is past its
	// handshake but not yet listed here: revocations, changes of an access
	// period, and lost changes (resumeAll). Bumped under h.mu before the
	// change is delivered, so a connection that reads the same count after
	// add as before its handshake's session look-up has missed none (see
	// liveConn.start), and only one that sees it move looks again.
	endings atomic.Uint64
}

// route remembers who has a conversation (only what routing needs).
func (h *hub) route(c protocol.Conversation) {
	h.routesMu.Lock()
	h.routes[c.ID] = protocol.Conversation{ID: c.ID, ClientID: c.ClientID, AssigneeID: c.AssigneeID, PoolSince: c.PoolSince}
	h.routesMu.Unlock()
}

// routeOf is a conversation as the last change published about it left
// it, or conv when none was published since the server started.
func (h *hub) routeOf(conv protocol.Conversation) protocol.Conversation {
	h.routesMu.Lock()
	defer h.routesMu.Unlock()
	if r, ok := h.routes[conv.ID]; ok {
		return r
	}
	return conv
}

func newHub(m *metrics, now func() time.Time) *hub {
	return &hub{
		now:        now,
		byOrg:      map[int64]map[*subscriber]struct{}{},
		staffByOrg: map[int64]map[*subscriber]struct{}{},
		bySession:  map[int64]map[*subscriber]struct{}{},
		byAccount:  map[int64]map[*subscriber]struct{}{},
		metrics:    m,
		routes:     map[int64]protocol.Conversation{},
		desks:      map[int64]protocol.PresenceFrame{},
	}
}

func addTo(m map[int64]map[*subscriber]struct{}, k int64, s *subscriber) {
	set := m[k]
	if set == nil {
		set = map[*subscriber]struct{}{}
		m[k] = set
	}
	set[s] = struct{}{}
}

func removeFrom(m map[int64]map[*subscriber]struct{}, k int64, s *subscriber) {
	if set := m[k]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

func (h *hub) add(s *subscriber) {
	h.mu.Lock()
	addTo(h.byOrg, s.p.OrgID, s)
	if s.p.IsStaff() {
		addTo(h.staffByOrg, s.p.OrgID, s)
	}
	addTo(h.bySession, s.sessionID, s)
	addTo(h.byAccount, s.p.AccountID, s)
	first := len(h.byAccount[s.p.AccountID]) == 1
	h.mu.Unlock()
	h.metrics.connections.WithLabelValues(string(s.p.Role)).Inc()
	if first && h.onPresence != nil && s.p.Role == protocol.RoleClient {
		h.onPresence(s.p.AccountID, true)
	}
}

func (h *hub) remove(s *subscriber) {
	h.mu.Lock()
	_, was := h.byAccount[s.p.AccountID][s]
	removeFrom(h.byOrg, s.p.OrgID, s)
	removeFrom(h.staffByOrg, s.p.OrgID, s)
	removeFrom(h.bySession, s.sessionID, s)
	removeFrom(h.byAccount, s.p.AccountID, s)
	last := was && len(h.byAccount[s.p.AccountID]) == 0
	h.mu.Unlock()
	if last && h.onPresence != nil && s.p.Role == protocol.RoleClient {
		h.onPresence(s.p.AccountID, false)
	}
	s.close()
	h.metrics.connections.WithLabelValues(string(s.p.Role)).Dec()
	if last && s.p.IsStaff() {
		h.announce(s.p, nil) // offline: colleagues see it
	}
}

// online settles a staff connection once its snapshot is read: whether
// the pool is offered to it (pool states sent meanwhile on a guess are
// withdrawn if not), and its presence and load, which colleagues hear.
func (h *hub) online(s *subscriber, offered bool, d protocol.PresenceFrame) {
	if s.p.Role == protocol.RoleCounselor {
		for _, id := range s.settleOffer(offered) {
			h.deliver(s, outFrame{data: protocol.Encode(protocol.ConversationWithdrawnFrame{Type: protocol.TypeConversationWithdrawn,
				ConversationID: id, Reason: protocol.WithdrawnUnoffered})})
		}
	}
	if s.p.IsStaff() {
		h.announce(s.p, &d)
	}
}

// announce tells an organisation's staff of one of them: their desk as
// given (nil: as last known), and whether they are online.
func (h *hub) announce(p store.Principal, d *protocol.PresenceFrame) {
	h.desksMu.Lock()
	if d != nil {
		if _, known := h.desks[p.AccountID]; !known {
			h.desks[p.AccountID] = *d
		}
	}
	f, known := h.desks[p.AccountID]
	h.desksMu.Unlock()
	if !known {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	h.toStaff(p.OrgID, f)
}

// toStaff sends a presence frame to an organisation's staff, with whether
// that staff member has an app connected now (h.mu held).
func (h *hub) toStaff(orgID int64, f protocol.PresenceFrame) {
	f.Type, f.Online = protocol.TypePresence, len(h.byAccount[f.AccountID]) > 0
	out := outFrame{data: protocol.Encode(f)}
	for s := range h.staffByOrg[orgID] {
		h.deliver(s, out)
	}
}

// wakeAll has every connection's writer look again (the server is
// closing: it says goodbye).
func (h *hub) wakeAll() {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, set := range h.byOrg {
		for s := range set {
			s.wake()
		}
	}
}

// resumeAll closes every connection with "reconnect and resume": changes
// this server missed (its feed lost some) then reach the apps through
// their resume, and a session ended meanwhile is refused at the handshake.
func (h *hub) resumeAll() {
	h.mu.RLock()
	defer h.mu.RUnlock()
	h.endings.Add(1) // what was lost may have ended a session
	for _, set := range h.byOrg {
		for s := range set {
			s.stop(endReason{code: protocol.CloseTooSlow, reason: "server fell behind: reconnect and resume"})
		}
	}
}

// stopRole ends the connections of one role in an organisation.
func (h *hub) stopRole(orgID int64, role protocol.Role, r endReason) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.byOrg[orgID] {
		if s.p.Role == role {
			s.stop(r)
		}
	}
}

// connected reports whether an account has a live connection.
func (h *hub) connected(accountID int64) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.byAccount[accountID]) > 0
}

// orgs lists the organisations with live connections.
func (h *hub) orgs() []int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]int64, 0, len(h.byOrg))
	for id := range h.byOrg {
		out = append(out, id)
	}
	return out
}

// publish delivers changes in order. Each frame is encoded once.
func (h *hub) publish(changes []store.Change) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for i := 0; i < len(changes); i++ {
		c := changes[i]
		switch c.Kind {
		case store.ChangeMessage:
			// The conversation's state after the message, published right
			// after it, travels in the same frame where it can.
			var state *store.Change
			if n := i + 1; n < len(changes) && changes[n].Kind == store.ChangeConversation && changes[n].ConversationID == c.ConversationID {
				state = &changes[n]
				i++
				h.route(*state.Conversation)
			}
			h.message(c, state)
			// Only the server that committed the reply considers a push.
			if h.onReply != nil && !c.Remote && c.Message.SenderRole.IsStaff() && c.Message.Kind == protocol.KindText && len(h.byAccount[c.ClientID]) == 0 {
				h.onReply(c.ClientID)
			}
		case store.ChangeConversation:
			h.route(*c.Conversation)
			h.conversation(c)
		case store.ChangePresence:
			f := protocol.PresenceFrame{AccountID: c.AccountID, Presence: c.Presence, OpenConversations: c.Open}
			h.desksMu.Lock()
			h.desks[c.AccountID] = f
			h.desksMu.Unlock()
			h.toStaff(c.OrgID, f)
		case store.ChangeOffered:
			h.offer(c)
		case store.ChangeConversationDeleted:
			h.routesMu.Lock()
			delete(h.routes, c.ConversationID)
			h.routesMu.Unlock()
			h.toConversation(c, outFrame{data: protocol.Encode(protocol.ConversationDeletedFrame{Type: protocol.TypeConversationDeleted,
				ConversationID: c.ConversationID, At: c.At})})
		case store.ChangeDeleted:
			h.toConversation(c, outFrame{data: protocol.Encode(protocol.DeletedFrame{Type: protocol.TypeDeleted,
				ConversationID: c.ConversationID, ThroughSeq: c.ThroughSeq, Count: c.Count, At: c.At})})
		case store.ChangeSettings:
			h.toOrgByRole(c.OrgID, *c.Org)
		case store.ChangeNews:
			// An announcement (issue 16): its clients' apps ask for it;
			// the frame says nothing else.
			news := outFrame{data: protocol.Encode(protocol.NewsFrame{Type: protocol.TypeNews})}
			for _, id := range c.ClientIDs {
				if len(h.byAccount[id]) == 0 {
					if h.onNews != nil && !c.Remote {
						h.onNews(id)
					}
					continue
				}
				for s := range h.byAccount[id] {
					h.deliver(s, news)
				}
			}
		case store.ChangeAccess:
			h.endings.Add(1)
			for s := range h.byAccount[c.AccountID] {
				s.heardAccess(c.AccessUntil, h.now())
			}
		case store.ChangeRevoked:
			h.endings.Add(1)
			r := endReason{code: protocol.CloseRevoked, reason: c.Reason}
			for _, id := range c.SessionIDs {
				for s := range h.bySession[id] {
					s.stop(r)
				}
			}
			if c.AccountID != 0 {
				for s := range h.byAccount[c.AccountID] {
					s.stop(r)
				}
			}
		}
	}
}

// access is how much of conv a connection may read (rules.ReadAccess).
func (s *subscriber) access(conv protocol.Conversation) rules.Access {
	return rules.ReadAccess(s.p, conv, s.isOffered())
}

// notePool remembers a pool conversation sent while it was not yet known
// whether the pool is offered to this connection.
func (s *subscriber) notePool(conv protocol.Conversation) {
	if s.p.Role != protocol.RoleCounselor || !conv.InPool() {
		return
	}
	s.offerMu.Lock()
	if s.offered == offerUnknown && len(s.unknownPool) < 4096 {
		s.unknownPool = append(s.unknownPool, conv.ID)
	}
	s.offerMu.Unlock()
}

// settleOffer takes the snapshot's word on whether the pool is offered,
// unless a ChangeOffered has spoken since (it is newer). It returns the
// pool conversations to withdraw when the pool turned out not offered.
func (s *subscriber) settleOffer(offered bool) []int64 {
	s.offerMu.Lock()
	defer s.offerMu.Unlock()
	if s.offered != offerUnknown {
		return nil
	}
	gone := s.unknownPool
	s.unknownPool = nil
	if offered {
		s.offered = offerYes
		return nil
	}
	s.offered = offerNo
	return gone
}

// setOffer records a ChangeOffered; it reports whether it changed.
func (s *subscriber) setOffer(offered bool) bool {
	s.offerMu.Lock()
	defer s.offerMu.Unlock()
	was := s.offered
	s.unknownPool = nil
	s.offered = offerNo
	if offered {
		s.offered = offerYes
	}
	return was != s.offered
}

// message delivers a message to those who read the conversation in
// full: its client, its assignee and the admins (rules.MaySeeMessage);
// the pool sees its state, never its text, and a staff-only note never
// reaches the client. state, if not nil, is the conversation change
// published with it: a version 2 connection that may see both gets one
// frame, the others the message and then the state (conversationTo).
func (h *hub) message(c store.Change, state *store.Change) {
	if c.Conversation == nil {
		return // every message change names its conversation (store.Change)
	}
	var plain, folded, foldedClient outFrame
	frame := func(out *outFrame, conv *protocol.Conversation) outFrame {
		if out.data == nil {
			*out = outFrame{id: c.Message.ID, data: protocol.Encode(protocol.MessageFrame{Type: protocol.TypeMessage, Message: *c.Message, Conversation: conv})}
		}
		return *out
	}
	var sc stateFrames
	// Its readers are among the organisation's staff and the client's own
	// connections: not every connection of the organisation.
	h.eachOfConversation(c.OrgID, c.ClientID, func(s *subscriber) {
		reads := rules.MaySeeMessage(s.p, *c.Conversation, *c.Message, true)
		kind := stateNone
		if state != nil {
			kind = stateFor(s, *state)
		}
		if view := sc.view(kind, state); s.v2 && reads && view != nil {
			if kind == stateStaff {
				s.notePool(*state.Conversation)
			}
			// Its own message: the ack carries it with the state, unless
			// something else reaches the connection first.
			if c.Conn != 0 && c.Conn == s.conn && s.hold(heldAck{msg: *c.Message, conv: *view}) {
				return
			}
			if kind == stateClient {
				h.deliver(s, frame(&foldedClient, view))
			} else {
				h.deliver(s, frame(&folded, view))
			}
			return
		}
		if reads {
			h.deliver(s, frame(&plain, nil))
		}
		if state != nil {
			h.conversationAs(s, *state, kind, &sc)
		}
	})
}

// eachOfConversation calls fn for each connection that could see a
// conversation of clientID: the organisation's staff and the client's
// own (h.mu held).
func (h *hub) eachOfConversation(orgID, clientID int64, fn func(s *subscriber)) {
	for s := range h.staffByOrg[orgID] {
		fn(s)
	}
	for s := range h.byAccount[clientID] {
		if s.p.OrgID == orgID && !s.p.IsStaff() {
			fn(s)
		}
	}
}

// offer gives a counselor's connections the pool when it is offered to
// them, and takes it back when it no longer is.
func (h *hub) offer(c store.Change) {
	for s := range h.byAccount[c.AccountID] {
		if s.p.OrgID != c.OrgID || !s.setOffer(c.Offered) {
			continue
		}
		for _, conv := range c.Pool {
			if c.Offered {
				h.deliver(s, outFrame{data: protocol.Encode(protocol.ConversationFrame{Type: protocol.TypeConversation, Conversation: conv})})
			} else if s.access(conv) == rules.AccessNone {
				h.deliver(s, outFrame{data: protocol.Encode(protocol.ConversationWithdrawnFrame{Type: protocol.TypeConversationWithdrawn,
					ConversationID: conv.ID, Reason: protocol.WithdrawnUnoffered})})
			}
		}
	}
}

// conversation delivers a conversation's new state to those who may see
// it, and tells those who could see it before and no longer can to
// forget it (a colleague took it from the pool, it was handed on).
func (h *hub) conversation(c store.Change) {
	var sc stateFrames
	h.eachOfConversation(c.OrgID, c.ClientID, func(s *subscriber) { h.conversationTo(s, c, &sc) })
}

// stateTo is what a connection is told of a conversation change.
type stateTo int8

const (
	stateNone   stateTo = iota
	stateClient         // the client's own view (Conversation.ForClient)
	stateStaff          // the whole state
	stateGone           // withdrawn: no longer the connection's to see
)

// stateFrames encodes a conversation change's frames once each, for the
// connections that get them, and keeps the client's view of it.
type stateFrames struct {
	staff, client, gone outFrame
	clientView          *protocol.Conversation
}

// stateFor says what connection s is told of change c.
func stateFor(s *subscriber, c store.Change) stateTo {
	switch {
	case s.access(*c.Conversation) > rules.AccessNone && !s.p.IsStaff():
		// A change only staff see (progress set by hand) is not even
		// announced to the client.
		if c.StaffOnly {
			return stateNone
		}
		return stateClient
	case s.access(*c.Conversation) > rules.AccessNone:
		return stateStaff
	case c.Before != nil && s.access(*c.Before) > rules.AccessNone:
		return stateGone
	}
	return stateNone
}

// view is the conversation of change c as a connection told kind sees
// it: the client's own without what only staff see (progress, notes,
// decisions, the risk marker), staff the whole state; nil otherwise.
func (sc *stateFrames) view(kind stateTo, c *store.Change) *protocol.Conversation {
	switch kind {
	case stateClient:
		if sc.clientView == nil {
			v := c.Conversation.ForClient()
			sc.clientView = &v
		}
		return sc.clientView
	case stateStaff:
		return c.Conversation
	}
	return nil
}

// conversationTo delivers conversation change c to connection s.
func (h *hub) conversationTo(s *subscriber, c store.Change, sc *stateFrames) {
	h.conversationAs(s, c, stateFor(s, c), sc)
}

// conversationAs delivers conversation change c to connection s as kind
// says.
func (h *hub) conversationAs(s *subscriber, c store.Change, kind stateTo, sc *stateFrames) {
	switch kind {
	case stateClient:
		if sc.client.data == nil {
			sc.client.data = protocol.Encode(protocol.ConversationFrame{Type: protocol.TypeConversation, Conversation: *sc.view(kind, &c)})
		}
		h.deliver(s, sc.client)
	case stateStaff:
		s.notePool(*c.Conversation)
		if sc.staff.data == nil {
			sc.staff.data = protocol.Encode(protocol.ConversationFrame{Type: protocol.TypeConversation, Conversation: *c.Conversation})
		}
		h.deliver(s, sc.staff)
	case stateGone:
		if sc.gone.data == nil {
			reason := protocol.WithdrawnReassigned
			if c.Before.InPool() && c.Conversation.AssigneeID != nil {
				reason = protocol.WithdrawnTaken
			}
			sc.gone.data = protocol.Encode(protocol.ConversationWithdrawnFrame{Type: protocol.TypeConversationWithdrawn,
				ConversationID: c.ConversationID, Reason: reason})
		}
		h.deliver(s, sc.gone)
	}
}

// toConversation reaches the organisation's staff and the conversation's
// client: deletions, which carry nothing but numbers.
func (h *hub) toConversation(c store.Change, f outFrame) {
	for s := range h.staffByOrg[c.OrgID] {
		h.deliver(s, f)
	}
	for s := range h.byAccount[c.ClientID] {
		if s.p.OrgID == c.OrgID && !s.p.IsStaff() {
			h.deliver(s, f)
		}
	}
}

// toOrgByRole sends the organisation's settings to each of its
// connections, as that connection's role is told of them (orgFor).
func (h *hub) toOrgByRole(orgID int64, org protocol.Org) {
	staff := outFrame{data: protocol.Encode(protocol.SettingsFrame{Type: protocol.TypeSettings, Org: org})}
	client := outFrame{data: protocol.Encode(protocol.SettingsFrame{Type: protocol.TypeSettings, Org: org.ForClient()})}
	for s := range h.byOrg[orgID] {
		if s.p.IsStaff() {
			h.deliver(s, staff)
		} else {
			h.deliver(s, client)
		}
	}
}

// publishSettings sends the organisation's settings to every connection of
// it (the availability changing on the clock, with no commit behind it).
func (h *hub) publishSettings(orgID int64, org protocol.Org) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	h.toOrgByRole(orgID, org)
}

// typing relays that someone is writing to the others who read the
// conversation in full: a client's to its assignee and the admins,
// staff's to the client and to the other staff who read it. Nothing is
// stored; a full queue just misses the hint.
func (h *hub) typing(orgID int64, conv protocol.Conversation, f protocol.TypingFrame) {
	data := outFrame{data: protocol.Encode(f)}
	conv = h.routeOf(conv)
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.byOrg[orgID] {
		if s.p.AccountID != f.SenderID && s.access(conv) == rules.AccessFull {
			if s.q.Push(data) {
				s.wake()
			}
		}
	}
}

func (h *hub) deliver(s *subscriber, f outFrame) {
	if s.ended.Load() {
		return
	}
	if s.holding.Load() {
		// A message held for its ack goes first, as a frame of its own.
		s.heldMu.Lock()
		h.release(s)
		s.heldMu.Unlock()
	}
	h.push(s, f)
}

// push queues a frame, or closes a connection that has fallen too far
// behind.
func (h *hub) push(s *subscriber, f outFrame) {
	if s.q.Push(f) {
		h.metrics.framesOut.Inc()
		s.wake()
		return
	}
	h.metrics.slowClosed.Inc()
	s.stop(endReason{code: protocol.CloseTooSlow, reason: "too slow: reconnect and resume"})
}
