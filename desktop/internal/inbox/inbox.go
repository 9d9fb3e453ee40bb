// Package inbox is the counselor app's model, without widgets: the
// conversations and their messages, the waiting queue, which conversation
// has the focus, per-conversation drafts, and the guard against answering
// the wrong person. The screens draw it; tests drive it directly.
package inbox

import (
	"slices"
	"sort"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// ConfirmWindow is how soon after a focus change a send asks for
// confirmation: the conversation may have changed under the counselor's
// fingers.
const ConfirmWindow = 2 * time.Second

// Conv is one conversation as the app holds it.
type Conv struct {
	protocol.Conversation
	Messages []protocol.Message // ordered by seq
	Draft    string
	// Pending are replies written but not yet acknowledged (offline, or
	// on their way), oldest first.
	Pending []client.PendingMessage
}

// Unread counts client messages the staff have not read.
func (c *Conv) Unread() int {
	n := 0
	for _, m := range c.Messages {
		if m.SenderRole == protocol.RoleClient && m.Seq > c.StaffReadSeq {
			n++
		}
	}
	return n
}

// Unanswered reports whether the client spoke last.
func (c *Conv) Unanswered() bool { return c.Status == protocol.StatusWaiting }

// Effect tells the screen what a change asks of it.
type Effect struct {
	FocusChanged bool  // another conversation came to the front
	Chime        bool  // a client wrote in a conversation that is not in front
	Notify       int64 // a client wrote: conversation to notify about (0: none)
	Changed      bool  // anything visible changed
	// Refused is the server's final refusal of a reply (it left the outbox).
	Refused *protocol.Error
}

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
}

// New returns an empty inbox. now is the clock (nil: time.Now).
func New(now func() time.Time) *Inbox {
	if now == nil {
		now = time.Now
	}
	return &Inbox{convs: map[int64]*Conv{}, now: now}
}

// Me is the signed-in account.
func (in *Inbox) Me() protocol.Account { return in.me }

// Org is the organisation with its availability.
func (in *Inbox) Org() protocol.Org { return in.org }

// Conv returns a conversation, or nil.
func (in *Inbox) Conv(id int64) *Conv { return in.convs[id] }

// Focused returns the conversation in front, or nil.
func (in *Inbox) Focused() *Conv { return in.convs[in.focused] }

// Conversations lists all conversations, most recently active first.
func (in *Inbox) Conversations() []*Conv {
	out := make([]*Conv, 0, len(in.convs))
	for _, c := range in.convs {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].UpdatedAt.Equal(out[j].UpdatedAt) {
			return out[i].UpdatedAt.After(out[j].UpdatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Queue lists the conversations waiting for an answer, longest wait first.
func (in *Inbox) Queue() []*Conv {
	var out []*Conv
	for _, c := range in.convs {
		if c.Unanswered() {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].WaitingSince, out[j].WaitingSince
		switch {
		case a == nil || b == nil:
			return a != nil || (b == nil && out[i].ID < out[j].ID)
		case !a.Equal(*b):
			return a.Before(*b)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Wait is how long a conversation's client has waited for an answer.
func (in *Inbox) Wait(c *Conv) time.Duration {
	if c.WaitingSince == nil {
		return 0
	}
	return in.now().Sub(*c.WaitingSince)
}

// Focus brings a conversation to the front at the counselor's request.
func (in *Inbox) Focus(id int64) bool {
	if _, ok := in.convs[id]; !ok || id == in.focused {
		return false
	}
	in.focused, in.focusedAt = id, in.now()
	return true
}

// Step moves the focus through the queue (+1 next, -1 previous), or
// through all conversations when none is waiting.
func (in *Inbox) Step(dir int) bool {
	list := in.Queue()
	if len(list) == 0 {
		list = in.Conversations()
	}
	if len(list) == 0 {
		return false
	}
	i := slices.IndexFunc(list, func(c *Conv) bool { return c.ID == in.focused })
	switch {
	case i < 0:
		i = 0
	default:
		i = (i + dir + len(list)) % len(list)
	}
	return in.Focus(list[i].ID)
}

// SetDraft keeps the text being written in the focused conversation.
func (in *Inbox) SetDraft(text string) {
	if c := in.Focused(); c != nil {
		c.Draft = text
	}
}

// NeedsConfirm reports whether sending now should be confirmed first:
// the focus changed moments ago.
func (in *Inbox) NeedsConfirm() bool {
	return in.focused != 0 && in.now().Sub(in.focusedAt) < ConfirmWindow
}

// Apply takes one frame from the server and says what the screen should do.
func (in *Inbox) Apply(frame any) Effect {
	switch f := frame.(type) {
	case *protocol.Synced:
		in.synced = true
		if in.focused == 0 {
			if q := in.Queue(); len(q) > 0 {
				in.Focus(q[0].ID)
				return Effect{Changed: true, FocusChanged: true}
			}
		}
		return Effect{Changed: true}
	case *protocol.Welcome:
		in.me, in.org, in.synced = f.Account, f.Org, false
		keep := map[int64]bool{}
		for _, conv := range f.Conversations {
			keep[conv.ID] = true
			c := in.convs[conv.ID]
			if c == nil {
				c = &Conv{}
				in.convs[conv.ID] = c
			}
			c.Conversation = conv
			c.Messages = slices.DeleteFunc(c.Messages, func(m protocol.Message) bool { return m.Seq < conv.FirstSeq })
		}
		for id := range in.convs {
			if !keep[id] {
				delete(in.convs, id)
			}
		}
		if in.convs[in.focused] == nil {
			in.focused = 0
		}
		return Effect{Changed: true}
	case *protocol.SettingsFrame:
		in.org = f.Org
		return Effect{Changed: true}
	case *protocol.ConversationFrame:
		c := in.convs[f.Conversation.ID]
		if c == nil {
			c = &Conv{}
			in.convs[f.Conversation.ID] = c
		}
		c.Conversation = f.Conversation
		return Effect{Changed: true}
	case *protocol.MessageFrame:
		return in.addMessage(f.Message, true)
	case *protocol.Ack:
		in.dropPending(f.Ref)
		return in.addMessage(f.Message, false)
	case *protocol.ErrorFrame:
		if f.Ref == "" || !in.dropPending(f.Ref) {
			return Effect{}
		}
		e := f.Error
		return Effect{Changed: true, Refused: &e}
	case *protocol.DeletedFrame:
		if c := in.convs[f.ConversationID]; c != nil {
			c.Messages = slices.DeleteFunc(c.Messages, func(m protocol.Message) bool { return m.Seq <= f.ThroughSeq })
		}
		return Effect{Changed: true}
	case *protocol.ConversationDeletedFrame:
		delete(in.convs, f.ConversationID)
		if in.focused == f.ConversationID {
			in.focused = 0
			if q := in.Queue(); len(q) > 0 {
				in.Focus(q[0].ID)
			}
			return Effect{Changed: true, FocusChanged: true}
		}
		return Effect{Changed: true}
	}
	return Effect{}
}

// FocusedID is the ID of the conversation in front, 0 for none.
func (in *Inbox) FocusedID() int64 { return in.focused }

// AddPending shows a reply that is queued for sending.
func (in *Inbox) AddPending(p client.PendingMessage) {
	if c := in.convs[p.ConversationID]; c != nil {
		c.Pending = append(c.Pending, p)
	}
}

// dropPending removes a queued reply by ref, reporting whether it was held.
func (in *Inbox) dropPending(ref string) bool {
	for _, c := range in.convs {
		for i, p := range c.Pending {
			if p.Ref == ref {
				c.Pending = slices.Delete(c.Pending, i, i+1)
				return true
			}
		}
	}
	return false
}

// Expire drops messages the cache's timer deleted.
func (in *Inbox) Expire(conversationID, messageID int64) {
	if c := in.convs[conversationID]; c != nil {
		c.Messages = slices.DeleteFunc(c.Messages, func(m protocol.Message) bool { return m.ID == messageID })
	}
}

// Load fills a conversation's history from the cache, oldest first.
func (in *Inbox) Load(conversationID int64, msgs []protocol.Message) {
	for _, m := range msgs {
		if m.ConversationID == conversationID {
			in.addMessage(m, false)
		}
	}
}

// addMessage inserts m in seq order (ignoring one already held). A new
// client message applies the focus rule: its conversation comes to the
// front unless the counselor is writing in the one in front, in which case
// it stays in the queue and the app chimes.
func (in *Inbox) addMessage(m protocol.Message, live bool) Effect {
	c := in.convs[m.ConversationID]
	if c == nil {
		c = &Conv{Conversation: protocol.Conversation{ID: m.ConversationID, FirstSeq: 1}}
		in.convs[m.ConversationID] = c
	}
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
	c.Messages = slices.Insert(c.Messages, i, m)
	eff := Effect{Changed: true}
	if !live || !in.synced || m.SenderRole != protocol.RoleClient {
		return eff
	}
	eff.Notify = c.ID
	if c.ID == in.focused {
		return eff
	}
	if f := in.Focused(); f != nil && f.Draft != "" {
		eff.Chime = true // don't tear a half-written reply away
		return eff
	}
	in.Focus(c.ID)
	eff.FocusChanged = true
	return eff
}
