// Package inbox is the counselor app's model, without widgets: the
// conversations and the messages held of each, the order the list shows
// them in, which conversation is in front, per-conversation drafts, and
// the guards against answering the wrong person. The screens draw it;
// tests drive it directly.
//
// Every change reports an Effect naming what changed, so that the screen
// updates one row, not everything: with 200 conversations and a
// 2,000-message history in front, one new message costs one row.
package inbox

import (
	"slices"
	"strings"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// ConfirmWindow is how soon after the conversation in front changed a
// send asks for confirmation: it may have changed under the counselor's
// fingers.
const ConfirmWindow = 2 * time.Second

// TypingQuiet is how long after the last keystroke the reply box still
// counts as in use: a conversation never comes to the front meanwhile.
const TypingQuiet = 8 * time.Second

// Conv is one conversation as the app holds it.
type Conv struct {
	protocol.Conversation
	// Messages are the newest messages held, ordered by seq, without gaps;
	// older ones are paged in on demand (HasOlder).
	Messages []protocol.Message
	Draft    string
	// Pending are replies written but not yet acknowledged (offline, or
	// on their way), oldest first.
	Pending []client.PendingMessage
	// Preview is what the pool shows of the conversation before it is
	// taken (read on request, recorded by the server; never cached).
	Preview []protocol.Message
	// typing is who is writing on the other side (or a colleague), until
	// when: shown for protocol.TypingShowFor after each typing frame.
	typing      *protocol.TypingFrame
	typingUntil time.Time
}

// Typing says who is writing in the conversation at now: the client, or a
// colleague (staff, with their name). ok is false when nobody is.
func (c *Conv) Typing(now time.Time) (who *protocol.TypingFrame, ok bool) {
	if c.typing == nil || !now.Before(c.typingUntil) {
		return nil, false
	}
	return c.typing, true
}

// Unread counts client messages the staff have not read.
func (c *Conv) Unread() int {
	n := 0
	for i := len(c.Messages) - 1; i >= 0 && c.Messages[i].Seq > c.StaffReadSeq; i-- {
		if c.Messages[i].SenderRole == protocol.RoleClient {
			n++
		}
	}
	return n
}

// Waiting reports whether the client spoke last and waits for an answer.
func (c *Conv) Waiting() bool { return c.Status == protocol.StatusWaiting }

// Oldest is the seq of the oldest message held (LastSeq+1 when none is).
func (c *Conv) Oldest() int64 {
	if len(c.Messages) == 0 {
		return max(c.LastSeq+1, c.FirstSeq)
	}
	return c.Messages[0].Seq
}

// HasOlder reports whether the server still keeps messages older than the
// ones held.
func (c *Conv) HasOlder() bool { return c.Oldest() > max(c.FirstSeq, 1) }

// LastActivity is when the conversation last changed.
func (c *Conv) LastActivity() time.Time {
	t := c.UpdatedAt
	if n := len(c.Messages); n > 0 && c.Messages[n-1].CreatedAt.After(t) {
		t = c.Messages[n-1].CreatedAt
	}
	return t
}

// Withdrawal is a conversation that left this app: a colleague took it
// from the pool, or it was handed on.
type Withdrawal struct {
	ID       int64
	Nickname string
	Reason   string // protocol.Withdrawn…
	Mine     bool   // it was the signed-in staff member's
}

// Effect tells the screen what a change asks of it.
type Effect struct {
	// Convs are the conversations whose row or history changed.
	Convs []int64
	// All: too much changed to name (a welcome, settings): redraw all.
	All bool
	// FocusChanged: another conversation came to the front.
	FocusChanged bool
	// Arrived is a conversation where a client wrote while the counselor
	// was writing in the one in front: it waits, and the screen signals it.
	Arrived int64
	// Notify: a client wrote, live (not replayed history), in one of the
	// signed-in staff member's own conversations.
	Notify bool
	// PoolArrived is a conversation that has just come into the pool
	// (live): it is announced, never brought to the front.
	PoolArrived int64
	// Risk is a conversation just raised by a crisis phrase (risk first).
	Risk int64
	// Received is a conversation that has just become the signed-in
	// staff member's (taken, or handed to them).
	Received int64
	// Withdrawn are conversations that left this app.
	Withdrawn []Withdrawal
	// Staff: a colleague's (or one's own) presence, load or connection
	// changed.
	Staff bool
	// Refused are the server's final refusals of replies (they left the
	// outbox).
	Refused []protocol.Error
}

// Changed reports whether anything visible changed.
func (e Effect) Changed() bool { return e.All || e.FocusChanged || len(e.Convs) > 0 }

// Merge adds o to e, for a batch of frames applied at once.
func (e *Effect) Merge(o Effect) {
	for _, id := range o.Convs {
		e.touch(id)
	}
	e.All = e.All || o.All
	e.FocusChanged = e.FocusChanged || o.FocusChanged
	if o.Arrived != 0 {
		e.Arrived = o.Arrived
	}
	e.Notify = e.Notify || o.Notify
	if o.Risk != 0 {
		e.Risk = o.Risk
	}
	if o.PoolArrived != 0 {
		e.PoolArrived = o.PoolArrived
	}
	if o.Received != 0 {
		e.Received = o.Received
	}
	e.Withdrawn = append(e.Withdrawn, o.Withdrawn...)
	e.Staff = e.Staff || o.Staff
	e.Refused = append(e.Refused, o.Refused...)
}

// maxNamed bounds Effect.Convs: past it, redrawing everything is cheaper
// than naming rows.
const maxNamed = 32

func (e *Effect) touch(id int64) {
	if e.All || slices.Contains(e.Convs, id) {
		return
	}
	if len(e.Convs) == maxNamed {
		e.All, e.Convs = true, nil
		return
	}
	e.Convs = append(e.Convs, id)
}

func changed(id int64) Effect { return Effect{Convs: []int64{id}} }

// View chooses whose conversations the list shows.
type View int

// Views.
const (
	ViewMine View = iota // 自分の担当: the signed-in staff member's own
	ViewPool             // 未対応: waiting in the pool for someone to take them
	ViewAll              // 全体: every conversation the app holds (admins hold all)
)

// Filter chooses which conversations the list shows.
type Filter int

// Filters.
const (
	FilterAll      Filter = iota // every conversation
	FilterWaiting                // the client spoke last
	FilterAnswered               // answered, or not begun
	// Issue 14: by staff's progress, and the markers.
	FilterUnread      // a client message no staff member has read
	FilterDue         // a next-contact date that is today or has passed
	FilterNew         // 新規
	FilterInProgress  // 対応中
	FilterAwaiting    // 返答待ち
	FilterNextContact // 次回連絡予定
	FilterDone        // 完了
	FilterUnable      // 対応できず
)

// Inbox holds everything the main window shows.
type Inbox struct {
	me        protocol.Account
	org       protocol.Org
	convs     map[int64]*Conv
	focused   int64
	focusedAt time.Time
	now       func() time.Time
	// synced is false during a connection's replay: replayed history is
	// old news and must not pull conversations to the front.
	synced bool
	// composing: the reply box has the keyboard focus; typedAt: the last
	// keystroke in it. Either holds the conversation in front.
	composing bool
	typedAt   time.Time
	// listToday is the organisation's date while List filters and sorts.
	listToday time.Time
	// staff are colleagues' presence, load and connection as last heard.
	staff map[int64]protocol.PresenceFrame
}

// New returns an empty inbox. now is the clock (nil: time.Now).
func New(now func() time.Time) *Inbox {
	if now == nil {
		now = time.Now
	}
	return &Inbox{convs: map[int64]*Conv{}, now: now, staff: map[int64]protocol.PresenceFrame{}}
}

// Desk is a staff member's presence, load and connection as last heard
// (ok false: nothing heard).
func (in *Inbox) Desk(accountID int64) (protocol.PresenceFrame, bool) {
	d, ok := in.staff[accountID]
	return d, ok
}

// SetDesk records a staff member's desk as read from the staff list.
func (in *Inbox) SetDesk(d protocol.PresenceFrame) { in.staff[d.AccountID] = d }

// Presence is the signed-in staff member's presence.
func (in *Inbox) Presence() protocol.Presence {
	if in.me.Presence == "" {
		return protocol.PresenceAvailable
	}
	return in.me.Presence
}

// Offered reports whether the pool is offered to the signed-in staff
// member (as the server decides it: 受付中 and under max_open), and if
// not, why: away (or stopped), or at the limit.
func (in *Inbox) Offered() (offered bool, atLimit bool) {
	if in.me.Role != protocol.RoleCounselor {
		return true, false
	}
	mine, _ := in.Count(ViewMine)
	if max := in.org.Settings.MaxOpen; max > 0 && mine >= max {
		return false, true
	}
	return in.Presence() == protocol.PresenceAvailable, false
}

// Me is the signed-in account.
func (in *Inbox) Me() protocol.Account { return in.me }

// Org is the organisation with its availability.
func (in *Inbox) Org() protocol.Org { return in.org }

// Now is the inbox's clock.
func (in *Inbox) Now() time.Time { return in.now() }

// Conv returns a conversation, or nil.
func (in *Inbox) Conv(id int64) *Conv { return in.convs[id] }

// Focused returns the conversation in front, or nil.
func (in *Inbox) Focused() *Conv { return in.convs[in.focused] }

// FocusedID is the ID of the conversation in front, 0 for none: the one
// source of truth for it, which the list's selection follows.
func (in *Inbox) FocusedID() int64 { return in.focused }

// Len is the number of conversations.
func (in *Inbox) Len() int { return len(in.convs) }

// Mine reports whether c is the signed-in staff member's own.
func (in *Inbox) Mine(c *Conv) bool {
	return c != nil && c.AssigneeID != nil && in.me.ID != 0 && *c.AssigneeID == in.me.ID
}

// Readable reports whether the app holds c's messages: the signed-in
// staff member's own, or any an admin reads. The pool and a colleague's
// (for a counselor) are not read here: the pool offers a preview.
func (in *Inbox) Readable(c *Conv) bool {
	return in.Mine(c) || (in.me.Role == protocol.RoleAdmin && c != nil)
}

// InView reports whether c belongs in view v.
func (in *Inbox) InView(c *Conv, v View) bool {
	switch v {
	case ViewMine:
		return in.Mine(c)
	case ViewPool:
		return c.InPool()
	}
	return true
}

// Count is how many conversations a view holds, and how many of them
// wait for an answer.
func (in *Inbox) Count(v View) (total, waiting int) {
	for _, c := range in.convs {
		if in.InView(c, v) {
			total++
			if c.Waiting() {
				waiting++
			}
		}
	}
	return total, waiting
}

// less orders the list: waiting conversations first, longest wait first;
// then the rest, most recent activity first.
func (in *Inbox) less(a, b *Conv) int {
	// Risk first: a client whose words matched a crisis phrase comes
	// before everyone else, the earliest raised first.
	if (a.RiskAt != nil) != (b.RiskAt != nil) {
		if a.RiskAt != nil {
			return -1
		}
		return 1
	}
	if a.RiskAt != nil && !a.RiskAt.Equal(*b.RiskAt) {
		return a.RiskAt.Compare(*b.RiskAt)
	}
	// Then a promised contact that is overdue, then one due today: a
	// client was told to expect it.
	if c := in.dueOrder(a, b); c != 0 {
		return c
	}
	if a.Waiting() != b.Waiting() {
		if a.Waiting() {
			return -1
		}
		return 1
	}
	if a.Waiting() {
		as, bs := a.WaitingSince, b.WaitingSince
		switch {
		case as != nil && bs == nil:
			return -1
		case as == nil && bs != nil:
			return 1
		case as != nil && !as.Equal(*bs):
			return as.Compare(*bs)
		}
	} else if at, bt := a.LastActivity(), b.LastActivity(); !at.Equal(bt) {
		return bt.Compare(at)
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

// List returns the conversations of view v the list shows, in its order,
// filtered and matched against a nickname search (case-insensitive
// substring).
func (in *Inbox) List(v View, f Filter, query string) []*Conv {
	query = strings.ToLower(strings.TrimSpace(query))
	// The organisation's date, once per listing: finding it loads a time
	// zone, too slow to do per comparison of a sort.
	in.listToday = in.Today()
	out := make([]*Conv, 0, len(in.convs))
	for _, c := range in.convs {
		switch {
		case !in.InView(c, v):
			continue
		case f == FilterWaiting && !c.Waiting(), f == FilterAnswered && c.Waiting():
			continue
		case !in.passes(f, c):
			continue
		case query != "" && !strings.Contains(strings.ToLower(c.Nickname), query):
			continue
		}
		out = append(out, c)
	}
	slices.SortFunc(out, in.less)
	return out
}

// Queue lists the signed-in staff member's conversations waiting for an
// answer, longest wait first.
func (in *Inbox) Queue() []*Conv { return in.List(ViewMine, FilterWaiting, "") }

// Wait is how long a conversation's client has waited for an answer.
func (in *Inbox) Wait(c *Conv) time.Duration {
	if c.WaitingSince == nil || !c.Waiting() {
		return 0
	}
	return max(in.now().Sub(*c.WaitingSince), 0)
}

// Focus brings a conversation to the front at the counselor's request.
func (in *Inbox) Focus(id int64) bool {
	if _, ok := in.convs[id]; !ok || id == in.focused {
		return false
	}
	in.focused, in.focusedAt = id, in.now()
	return true
}

// Step moves the focus through view v's waiting conversations (+1 next,
// -1 previous), or through all of them when none is waiting.
func (in *Inbox) Step(v View, dir int) bool {
	list := in.List(v, FilterWaiting, "")
	if len(list) == 0 {
		list = in.List(v, FilterAll, "")
	}
	if len(list) == 0 {
		return false
	}
	i := slices.IndexFunc(list, func(c *Conv) bool { return c.ID == in.focused })
	switch {
	case i < 0 && dir < 0:
		i = len(list) - 1
	case i < 0:
		i = 0
	default:
		i = (i + dir + len(list)) % len(list)
	}
	return in.Focus(list[i].ID)
}

// SetDraft keeps the text being written in the conversation in front; it
// counts as typing.
func (in *Inbox) SetDraft(text string) {
	if c := in.Focused(); c != nil {
		c.Draft = text
		in.typedAt = in.now()
	}
}

// SetComposing records whether the reply box has the keyboard focus.
func (in *Inbox) SetComposing(on bool) { in.composing = on }

// Holding reports whether the conversation in front must stay there: the
// counselor is in its reply box, typed moments ago, or has a draft in it.
func (in *Inbox) Holding() bool {
	f := in.Focused()
	if f == nil {
		return false
	}
	return in.composing || in.now().Sub(in.typedAt) < TypingQuiet || f.Draft != ""
}

// NeedsConfirm reports whether sending now should be confirmed first:
// the conversation in front changed moments ago.
func (in *Inbox) NeedsConfirm() bool {
	return in.focused != 0 && in.now().Sub(in.focusedAt) < ConfirmWindow
}

// Apply takes one frame from the server and says what the screen should do.
func (in *Inbox) Apply(frame protocol.ServerFrame) Effect {
	switch f := frame.(type) {
	case *protocol.Synced:
		in.synced = true
		if in.focused == 0 {
			if q := in.Queue(); len(q) > 0 {
				in.Focus(q[0].ID)
				return Effect{All: true, FocusChanged: true}
			}
		}
		return Effect{All: true}
	case *protocol.Welcome:
		in.applyWelcome(f)
		return Effect{All: true}
	case *protocol.SettingsFrame:
		in.org = f.Org
		return Effect{All: true}
	case *protocol.ConversationFrame:
		c := in.convs[f.Conversation.ID]
		if c == nil {
			c = &Conv{}
			in.convs[f.Conversation.ID] = c
		}
		wasPool, wasMine, wasRisk := c.InPool(), in.Mine(c), c.RiskAt != nil
		c.Conversation = f.Conversation
		c.dropBelow(f.Conversation.FirstSeq)
		if !c.InPool() {
			c.Preview = nil // taken: read in full, or not at all
		}
		eff := changed(c.ID)
		if !in.synced {
			return eff // replayed state is old news
		}
		if c.InPool() && !wasPool {
			eff.PoolArrived = c.ID
		}
		if in.Mine(c) && !wasMine {
			eff.Received = c.ID
		}
		if c.RiskAt != nil && !wasRisk {
			eff.Risk = c.ID
		}
		return eff
	case *protocol.ConversationWithdrawnFrame:
		c := in.convs[f.ConversationID]
		if c == nil {
			return Effect{}
		}
		w := Withdrawal{ID: c.ID, Nickname: c.Nickname, Reason: f.Reason, Mine: in.Mine(c)}
		eff := in.remove(c.ID)
		eff.Withdrawn = []Withdrawal{w}
		return eff
	case *protocol.MessageFrame:
		return in.addMessage(f.Message, true)
	case *protocol.Ack:
		eff := in.addMessage(f.Message, false)
		if id, ok := in.dropPending(f.Ref); ok {
			// The message frame comes before the ack: the copy shown as
			// "waiting to send" goes now, or it would linger.
			eff.touch(id)
		}
		return eff
	case *protocol.ErrorFrame:
		if f.Ref == "" {
			return Effect{}
		}
		id, ok := in.dropPending(f.Ref)
		if !ok {
			return Effect{}
		}
		eff := changed(id)
		eff.Refused = []protocol.Error{f.Error}
		return eff
	case *protocol.DeletedFrame:
		if c := in.convs[f.ConversationID]; c != nil {
			c.dropBelow(f.ThroughSeq + 1)
			return changed(c.ID)
		}
		return Effect{}
	case *protocol.ConversationDeletedFrame:
		return in.remove(f.ConversationID)
	case *protocol.PresenceFrame:
		in.staff[f.AccountID] = *f
		if f.AccountID == in.me.ID {
			in.me.Presence = f.Presence
		}
		return Effect{Staff: true}
	case *protocol.TypingFrame:
		c := in.convs[f.ConversationID]
		if c == nil || (f.SenderID != 0 && f.SenderID == in.me.ID) {
			return Effect{}
		}
		t := *f
		c.typing, c.typingUntil = &t, in.now().Add(protocol.TypingShowFor)
		return changed(c.ID)
	}
	return Effect{}
}

// TypingEnded drops typing marks that ran out by now and names the
// conversations whose mark went (the screen calls it each second).
func (in *Inbox) TypingEnded() Effect {
	var eff Effect
	now := in.now()
	for id, c := range in.convs {
		if c.typing != nil && !now.Before(c.typingUntil) {
			c.typing = nil
			eff.touch(id)
		}
	}
	return eff
}

// SetMe updates the signed-in account (after changing its display name
// or presence).
func (in *Inbox) SetMe(a protocol.Account) {
	in.me = a
	if d, ok := in.staff[a.ID]; ok && a.Presence != "" {
		d.Presence = a.Presence
		in.staff[a.ID] = d
	}
}

func (in *Inbox) applyWelcome(f *protocol.Welcome) {
	in.me, in.org, in.synced = f.Account, f.Org, false
	keep := make(map[int64]bool, len(f.Conversations))
	for _, conv := range f.Conversations {
		keep[conv.ID] = true
		c := in.convs[conv.ID]
		if c == nil {
			c = &Conv{}
			in.convs[conv.ID] = c
		} else if c.ClientID != 0 && conv.ClientID != c.ClientID {
			// The same number now names another client's conversation:
			// nothing held under it may be shown.
			*c = Conv{}
		}
		c.Conversation = conv
		c.dropBelow(conv.FirstSeq)
	}
	for id := range in.convs {
		if !keep[id] {
			delete(in.convs, id)
		}
	}
	if in.convs[in.focused] == nil {
		in.focused = 0
	}
}

func (in *Inbox) remove(id int64) Effect {
	if in.convs[id] == nil {
		return Effect{}
	}
	delete(in.convs, id)
	if in.focused != id {
		return Effect{All: true}
	}
	in.focused = 0
	if q := in.Queue(); len(q) > 0 && !in.Holding() {
		in.Focus(q[0].ID)
	}
	return Effect{All: true, FocusChanged: true}
}

// dropBelow forgets messages with a seq below first (deleted on the server).
func (c *Conv) dropBelow(first int64) {
	i := 0
	for i < len(c.Messages) && c.Messages[i].Seq < first {
		i++
	}
	if i > 0 {
		c.Messages = slices.Delete(c.Messages, 0, i)
	}
}

// SetPreview keeps what the server showed of a pool conversation.
func (in *Inbox) SetPreview(id int64, msgs []protocol.Message) Effect {
	c := in.convs[id]
	if c == nil || !c.InPool() {
		return Effect{}
	}
	c.Preview = msgs
	return changed(id)
}

// AddPending shows a reply that is queued for sending.
func (in *Inbox) AddPending(p client.PendingMessage) Effect {
	c := in.convs[p.ConversationID]
	if c == nil {
		return Effect{}
	}
	c.Pending = append(c.Pending, p)
	return changed(c.ID)
}

// PendingCount is the number of replies not yet acknowledged.
func (in *Inbox) PendingCount() int {
	n := 0
	for _, c := range in.convs {
		n += len(c.Pending)
	}
	return n
}

// Drafts returns the non-empty drafts by conversation.
func (in *Inbox) Drafts() map[int64]string {
	out := map[int64]string{}
	for id, c := range in.convs {
		if c.Draft != "" {
			out[id] = c.Draft
		}
	}
	return out
}

// SetDrafts restores drafts kept from an earlier run.
func (in *Inbox) SetDrafts(drafts map[int64]string) {
	for id, d := range drafts {
		if c := in.convs[id]; c != nil {
			c.Draft = d
		}
	}
}

// dropPending removes a queued reply by ref, reporting its conversation.
func (in *Inbox) dropPending(ref string) (int64, bool) {
	for _, c := range in.convs {
		for i, p := range c.Pending {
			if p.Ref == ref {
				c.Pending = slices.Delete(c.Pending, i, i+1)
				return c.ID, true
			}
		}
	}
	return 0, false
}

// Expire drops messages the cache's timer deleted.
func (in *Inbox) Expire(conversationID, messageID int64) Effect {
	c := in.convs[conversationID]
	if c == nil {
		return Effect{}
	}
	n := len(c.Messages)
	c.Messages = slices.DeleteFunc(c.Messages, func(m protocol.Message) bool { return m.ID == messageID })
	if len(c.Messages) == n {
		return Effect{}
	}
	return changed(c.ID)
}

// Load puts messages of one conversation held elsewhere (the cache, a
// history page from the server) in place: the newest held at start, or an
// older page as the counselor scrolls up. Messages already held are kept.
func (in *Inbox) Load(conversationID int64, msgs []protocol.Message) Effect {
	c := in.convs[conversationID]
	if c == nil || len(msgs) == 0 {
		return Effect{}
	}
	oldest := c.Oldest()
	var older []protocol.Message
	for _, m := range msgs {
		if m.ConversationID != conversationID || m.Seq < c.FirstSeq {
			continue
		}
		if m.Seq < oldest || len(c.Messages) == 0 {
			older = append(older, m)
		} else {
			in.addMessage(m, false)
		}
	}
	if len(older) == 0 {
		return changed(c.ID)
	}
	slices.SortFunc(older, func(a, b protocol.Message) int { return int(a.Seq - b.Seq) })
	older = slices.CompactFunc(older, func(a, b protocol.Message) bool { return a.Seq == b.Seq })
	if len(c.Messages) > 0 {
		// Only the run adjacent to what is held: a gap would show as if
		// nothing had been said in between.
		if older[len(older)-1].Seq != c.Messages[0].Seq-1 {
			return Effect{}
		}
		i := len(older) - 1
		for i > 0 && older[i-1].Seq == older[i].Seq-1 {
			i--
		}
		older = older[i:]
	}
	c.Messages = append(older, c.Messages...)
	return changed(c.ID)
}

// addMessage inserts m in seq order (ignoring one already held). A new
// client message applies the focus rule: its conversation comes to the
// front unless the counselor is writing in the one in front, in which
// case it waits in the list and the screen signals it.
func (in *Inbox) addMessage(m protocol.Message, live bool) Effect {
	c := in.convs[m.ConversationID]
	if c == nil {
		c = &Conv{Conversation: protocol.Conversation{ID: m.ConversationID, FirstSeq: 1}}
		in.convs[m.ConversationID] = c
	}
	n := len(c.Messages)
	switch {
	case n == 0 || m.Seq > c.Messages[n-1].Seq:
		c.Messages = append(c.Messages, m) // the usual case: newest last
	default:
		i, found := slices.BinarySearchFunc(c.Messages, m.Seq, func(x protocol.Message, seq int64) int {
			switch {
			case x.Seq < seq:
				return -1
			case x.Seq > seq:
				return 1
			}
			return 0
		})
		if found {
			return Effect{}
		}
		if i == 0 && m.Seq < c.Messages[0].Seq-1 {
			return Effect{} // older than held and not adjacent: paged in later
		}
		c.Messages = slices.Insert(c.Messages, i, m)
	}
	c.LastSeq = max(c.LastSeq, m.Seq)
	if c.typing != nil && (c.typing.SenderRole == protocol.RoleClient) == (m.SenderRole == protocol.RoleClient) {
		c.typing = nil // that side has written what it was typing
	}
	eff := changed(c.ID)
	// The focus rule holds for one's own conversations only: an admin
	// reading a colleague's is not pulled to it.
	if !live || !in.synced || m.SenderRole != protocol.RoleClient || !in.Mine(c) {
		return eff
	}
	eff.Notify = true
	switch {
	case c.ID == in.focused:
	case in.Holding():
		eff.Arrived = c.ID // don't tear the reply box away
	default:
		in.Focus(c.ID)
		eff.FocusChanged = true
	}
	return eff
}
