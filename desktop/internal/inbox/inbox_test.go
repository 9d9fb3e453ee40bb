package inbox

import (
	"slices"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)

func setup(t *testing.T, convs ...protocol.Conversation) (*Inbox, *clock) {
	t.Helper()
	c := &clock{t: t0}
	in := New(c.now)
	in.Apply(&protocol.Welcome{Account: protocol.Account{ID: me, Role: protocol.RoleCounselor}, Conversations: convs})
	in.Apply(&protocol.Synced{})
	return in, c
}

// me is the signed-in counselor of setup.
const me = 100

// conv is a conversation the signed-in counselor has.
func conv(id int64, nick string) protocol.Conversation {
	return protocol.Conversation{ID: id, ClientID: id * 10, Nickname: nick, Status: protocol.StatusNew, FirstSeq: 1, AssigneeID: ptr(int64(me))}
}

func ptr[T any](v T) *T { return &v }

var nextID int64

func clientMsg(conv, seq int64, body string) *protocol.MessageFrame {
	nextID++
	return &protocol.MessageFrame{Message: protocol.Message{ID: nextID, ConversationID: conv, Seq: seq,
		SenderID: conv * 10, SenderRole: protocol.RoleClient, Kind: protocol.KindText, Body: body}}
}

// waiting marks a conversation as waiting since t, as the server would.
func waiting(in *Inbox, id int64, since time.Time) {
	c := in.Conv(id).Conversation
	c.Status, c.WaitingSince = protocol.StatusWaiting, &since
	in.Apply(&protocol.ConversationFrame{Conversation: c})
}

func TestFocusRule(t *testing.T) {
	tests := []struct {
		name      string
		hold      func(in *Inbox, clk *clock)
		wantFocus int64
	}{
		{"away from the reply box: the newcomer comes to the front", func(*Inbox, *clock) {}, 2},
		{"a draft: the reply stays, the newcomer waits", func(in *Inbox, _ *clock) { in.SetDraft("書きかけの返事") }, 1},
		{"cursor in the empty reply box: the newcomer waits", func(in *Inbox, _ *clock) { in.SetComposing(true) }, 1},
		{"typed moments ago, box now empty: the newcomer waits", func(in *Inbox, clk *clock) {
			in.SetDraft("x")
			in.SetDraft("")
			clk.t = clk.t.Add(TypingQuiet - time.Second)
		}, 1},
		{"typed long ago, box empty and left: the newcomer comes", func(in *Inbox, clk *clock) {
			in.SetDraft("x")
			in.SetDraft("")
			clk.t = clk.t.Add(TypingQuiet)
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, clk := setup(t, conv(1, "さくら"), conv(2, "ひなた"))
			in.Apply(clientMsg(1, 1, "こんにちは"))
			if f := in.Focused(); f == nil || f.ID != 1 {
				t.Fatalf("first message did not focus its conversation")
			}
			tt.hold(in, clk)
			draft := in.Conv(1).Draft
			eff := in.Apply(clientMsg(2, 1, "聞いてください"))
			if got := in.Focused().ID; got != tt.wantFocus {
				t.Fatalf("focused %d, want %d", got, tt.wantFocus)
			}
			held := tt.wantFocus == 1
			if (eff.Arrived == 2) != held || eff.FocusChanged == held || !eff.Notify {
				t.Fatalf("effect %+v", eff)
			}
			if in.Conv(1).Draft != draft {
				t.Fatalf("draft of conversation 1 = %q", in.Conv(1).Draft)
			}
		})
	}
}

func TestDraftsPerConversation(t *testing.T) {
	in, _ := setup(t, conv(1, "a"), conv(2, "b"))
	in.Focus(1)
	in.SetDraft("for a")
	in.Focus(2)
	if in.Focused().Draft != "" {
		t.Fatal("draft leaked into another conversation")
	}
	in.SetDraft("for b")
	in.Focus(1)
	if in.Focused().Draft != "for a" || in.Conv(2).Draft != "for b" {
		t.Fatalf("drafts: %q %q", in.Conv(1).Draft, in.Conv(2).Draft)
	}
}

func TestQueueOrderAndMarkers(t *testing.T) {
	in, clk := setup(t, conv(1, "a"), conv(2, "b"), conv(3, "c"))
	waiting(in, 2, t0.Add(-10*time.Minute))
	waiting(in, 3, t0.Add(-30*time.Minute))
	waiting(in, 1, t0.Add(-1*time.Minute))
	in.Apply(clientMsg(3, 1, "x"))
	in.Apply(clientMsg(3, 2, "y"))
	q := in.Queue()
	if len(q) != 3 || q[0].ID != 3 || q[1].ID != 2 || q[2].ID != 1 {
		t.Fatalf("queue order %d %d %d, want 3 2 1 (longest wait first)", q[0].ID, q[1].ID, q[2].ID)
	}
	if q[0].Unread() != 2 || !q[0].Waiting() {
		t.Fatalf("markers: unread %d, waiting %v", q[0].Unread(), q[0].Waiting())
	}
	clk.t = t0.Add(5 * time.Minute)
	if w := in.Wait(q[0]); w != 35*time.Minute {
		t.Fatalf("wait = %v", w)
	}
	// Staff read up to seq 1: one unread left. An answer leaves the queue.
	c := in.Conv(3).Conversation
	c.StaffReadSeq = 1
	in.Apply(&protocol.ConversationFrame{Conversation: c})
	if in.Conv(3).Unread() != 1 {
		t.Fatalf("unread after receipt = %d", in.Conv(3).Unread())
	}
	c.Status, c.WaitingSince = protocol.StatusAnswered, nil
	in.Apply(&protocol.ConversationFrame{Conversation: c})
	if q := in.Queue(); len(q) != 2 || q[0].ID != 2 {
		t.Fatalf("queue after answer: %d entries", len(q))
	}
}

func TestStepThroughQueue(t *testing.T) {
	in, _ := setup(t, conv(1, "a"), conv(2, "b"), conv(3, "c"))
	waiting(in, 1, t0.Add(-3*time.Minute))
	waiting(in, 2, t0.Add(-2*time.Minute))
	waiting(in, 3, t0.Add(-1*time.Minute))
	in.Step(ViewMine, 1)
	if in.Focused().ID != 1 {
		t.Fatalf("first step focused %d", in.Focused().ID)
	}
	in.Step(ViewMine, 1)
	in.Step(ViewMine, 1)
	if in.Focused().ID != 3 {
		t.Fatalf("third step focused %d", in.Focused().ID)
	}
	in.Step(ViewMine, 1)
	if in.Focused().ID != 1 {
		t.Fatal("step does not wrap around")
	}
	in.Step(ViewMine, -1)
	if in.Focused().ID != 3 {
		t.Fatal("step back does not wrap around")
	}
}

func TestConfirmAfterFocusChange(t *testing.T) {
	in, clk := setup(t, conv(1, "a"), conv(2, "b"))
	in.Apply(clientMsg(1, 1, "x"))
	if !in.NeedsConfirm() {
		t.Fatal("send right after the conversation came to the front was not guarded")
	}
	clk.t = clk.t.Add(ConfirmWindow)
	if in.NeedsConfirm() {
		t.Fatal("still guarded after the window")
	}
	in.Focus(2)
	if !in.NeedsConfirm() {
		t.Fatal("manual focus change not guarded")
	}
}

func TestDeletions(t *testing.T) {
	in, _ := setup(t, conv(1, "a"), conv(2, "b"))
	in.Apply(clientMsg(1, 1, "x"))
	in.Apply(clientMsg(1, 2, "y"))
	in.Apply(clientMsg(1, 2, "y")) // duplicate delivery is ignored
	if n := len(in.Conv(1).Messages); n != 2 {
		t.Fatalf("%d messages", n)
	}
	in.Apply(&protocol.DeletedFrame{ConversationID: 1, ThroughSeq: 1})
	if m := in.Conv(1).Messages; len(m) != 1 || m[0].Seq != 2 {
		t.Fatalf("after retention: %+v", m)
	}
	waiting(in, 2, t0)
	eff := in.Apply(&protocol.ConversationDeletedFrame{ConversationID: 1})
	if in.Conv(1) != nil || !eff.FocusChanged || in.Focused() == nil || in.Focused().ID != 2 {
		t.Fatalf("after client deletion: focus %v, effect %+v", in.Focused(), eff)
	}
	// A welcome without a conversation removes it; first_seq prunes history.
	in.Apply(clientMsg(2, 1, "a"))
	in.Apply(clientMsg(2, 2, "b"))
	c := conv(2, "b")
	c.FirstSeq = 2
	in.Apply(&protocol.Welcome{Conversations: []protocol.Conversation{c}})
	if m := in.Conv(2).Messages; len(m) != 1 || m[0].Seq != 2 {
		t.Fatalf("after welcome: %+v", m)
	}
}

func TestOwnMessagesDoNotMoveFocus(t *testing.T) {
	in, _ := setup(t, conv(1, "a"), conv(2, "b"))
	in.Focus(1)
	nextID++
	eff := in.Apply(&protocol.MessageFrame{Message: protocol.Message{ID: nextID, ConversationID: 2, Seq: 1, SenderRole: protocol.RoleCounselor}})
	if eff.FocusChanged || eff.Notify || in.Focused().ID != 1 {
		t.Fatalf("a colleague's reply moved the focus: %+v", eff)
	}
}

// Replayed history is old news: it must not move the focus. Once synced,
// the longest wait comes to the front if nothing is there.
func TestReplayDoesNotMoveFocus(t *testing.T) {
	c := &clock{t: t0}
	in := New(c.now)
	in.Apply(&protocol.Welcome{Account: protocol.Account{ID: me, Role: protocol.RoleCounselor}, Conversations: []protocol.Conversation{conv(1, "a"), conv(2, "b")}})
	waiting(in, 1, t0.Add(-time.Hour))
	waiting(in, 2, t0.Add(-time.Minute))
	for _, f := range []*protocol.MessageFrame{clientMsg(1, 1, "x"), clientMsg(2, 1, "y")} {
		if eff := in.Apply(f); eff.FocusChanged || eff.Notify {
			t.Fatalf("replayed message moved focus or notified: %+v", eff)
		}
	}
	if in.Focused() != nil {
		t.Fatal("focus set during replay")
	}
	if eff := in.Apply(&protocol.Synced{}); !eff.FocusChanged || in.Focused().ID != 1 {
		t.Fatalf("after sync focused %v, want the longest wait (1)", in.Focused())
	}
}

// The server sends the message frame before the ack: the reply held as
// "waiting to send" must go when the ack comes, and the screen must hear.
func TestAckAfterMessageClearsPending(t *testing.T) {
	in, _ := setup(t, conv(1, "a"))
	in.Apply(clientMsg(1, 1, "x"))
	in.AddPending(client.PendingMessage{Ref: "r1", ConversationID: 1, Body: "はい"})
	nextID++
	m := protocol.Message{ID: nextID, ConversationID: 1, Seq: 2, SenderRole: protocol.RoleCounselor, Body: "はい"}
	in.Apply(&protocol.MessageFrame{Message: m})
	eff := in.Apply(&protocol.Ack{Ref: "r1", Message: m})
	if n := len(in.Conv(1).Pending); n != 0 {
		t.Fatalf("%d replies still shown as waiting to send", n)
	}
	if !slices.Contains(eff.Convs, 1) {
		t.Fatalf("the ack did not ask for a redraw: %+v", eff)
	}
	if n := len(in.Conv(1).Messages); n != 2 {
		t.Fatalf("%d messages", n)
	}
}

func TestListOrderFilterAndSearch(t *testing.T) {
	in, _ := setup(t, conv(1, "さくら"), conv(2, "ひなた"), conv(3, "Sora"), conv(4, "ゆう"))
	waiting(in, 2, t0.Add(-time.Hour))
	waiting(in, 4, t0.Add(-time.Minute))
	for id, at := range map[int64]time.Time{1: t0.Add(-2 * time.Hour), 3: t0.Add(-3 * time.Minute)} {
		c := in.Conv(id).Conversation
		c.Status, c.UpdatedAt = protocol.StatusAnswered, at
		in.Apply(&protocol.ConversationFrame{Conversation: c})
	}
	tests := []struct {
		name   string
		filter Filter
		query  string
		want   []int64
	}{
		{"all: waiting first by wait, then answered by activity", FilterAll, "", []int64{2, 4, 3, 1}},
		{"waiting only", FilterWaiting, "", []int64{2, 4}},
		{"answered only", FilterAnswered, "", []int64{3, 1}},
		{"search by nickname", FilterAll, "ひな", []int64{2}},
		{"search ignores case", FilterAll, "sora", []int64{3}},
		{"search and filter", FilterWaiting, "さくら", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(in.List(ViewAll, tt.filter, tt.query)); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// Older history is paged in in front of what is held, only when adjacent.
func TestLoadOlderPages(t *testing.T) {
	c := conv(1, "a")
	c.LastSeq = 10
	in, _ := setup(t, c)
	page := func(from, to int64) []protocol.Message {
		var out []protocol.Message
		for s := from; s <= to; s++ {
			out = append(out, protocol.Message{ID: 100 + s, ConversationID: 1, Seq: s, SenderRole: protocol.RoleClient})
		}
		return out
	}
	if !in.Conv(1).HasOlder() {
		t.Fatal("nothing held of 10 messages, yet no older ones")
	}
	in.Load(1, page(7, 10))
	in.Load(1, page(1, 3)) // not adjacent: ignored
	if got := in.Conv(1).Oldest(); got != 7 {
		t.Fatalf("oldest %d after a non-adjacent page", got)
	}
	in.Load(1, page(2, 6))
	if got := in.Conv(1).Oldest(); got != 2 || len(in.Conv(1).Messages) != 9 || !in.Conv(1).HasOlder() {
		t.Fatalf("oldest %d, %d held", got, len(in.Conv(1).Messages))
	}
	in.Load(1, page(1, 1))
	if in.Conv(1).HasOlder() {
		t.Fatal("still older after seq 1")
	}
	for i, m := range in.Conv(1).Messages {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d", i, m.Seq)
		}
	}
}

// A conversation number that now names another client (an ID reused
// while this app was offline) keeps nothing of the old one.
func TestWelcomeWipesAConversationWhoseClientChanged(t *testing.T) {
	in, _ := setup(t, conv(1, "さくら"))
	in.Apply(clientMsg(1, 1, "さくらの相談"))
	in.SetDraft("さくらさんへ")
	other := conv(1, "ひなた")
	other.ClientID = 999
	in.Apply(&protocol.Welcome{Conversations: []protocol.Conversation{other}})
	if c := in.Conv(1); len(c.Messages) != 0 || c.Draft != "" || c.Nickname != "ひなた" {
		t.Fatalf("kept %d messages and draft %q of another client", len(c.Messages), c.Draft)
	}
}

// The client's typing shows for a few seconds after each frame, and ends
// with their message; the counselor's own frames echoed back are ignored.
func TestTyping(t *testing.T) {
	in, clk := setup(t, conv(1, "さくら"))
	in.Apply(clientMsg(1, 1, "こんにちは"))
	if eff := in.Apply(&protocol.TypingFrame{ConversationID: 1, SenderID: 10, SenderRole: protocol.RoleClient}); !slices.Contains(eff.Convs, 1) {
		t.Fatalf("typing did not touch the conversation: %+v", eff)
	}
	if who, ok := in.Conv(1).Typing(clk.t); !ok || who.SenderRole != protocol.RoleClient {
		t.Fatal("typing not shown")
	}
	clk.t = clk.t.Add(protocol.TypingShowFor)
	if _, ok := in.Conv(1).Typing(clk.t); ok {
		t.Fatal("typing shown after it ran out")
	}
	if eff := in.TypingEnded(); !slices.Contains(eff.Convs, 1) {
		t.Fatal("the end of typing not reported")
	}
	in.Apply(&protocol.TypingFrame{ConversationID: 1, SenderID: 10, SenderRole: protocol.RoleClient})
	in.Apply(clientMsg(1, 2, "続きです"))
	if _, ok := in.Conv(1).Typing(clk.t); ok {
		t.Fatal("typing shown after the client's message")
	}
	in.Apply(&protocol.TypingFrame{ConversationID: 1, SenderID: 100, SenderRole: protocol.RoleCounselor})
	if _, ok := in.Conv(1).Typing(clk.t); ok {
		t.Fatal("the counselor's own typing shown")
	}
	in.Apply(&protocol.TypingFrame{ConversationID: 1, SenderID: 7, SenderRole: protocol.RoleCounselor, SenderName: "田中"})
	if who, ok := in.Conv(1).Typing(clk.t); !ok || who.SenderName != "田中" {
		t.Fatal("a colleague's typing not shown")
	}
}

// poolConv is a conversation waiting in the pool since t.
func poolConv(id int64, nick string, since time.Time) protocol.Conversation {
	c := conv(id, nick)
	c.AssigneeID, c.PoolSince, c.Status, c.WaitingSince = nil, &since, protocol.StatusWaiting, &since
	return c
}

// The views: one's own, the pool, everything.
func TestViews(t *testing.T) {
	colleagues := conv(3, "あおい")
	colleagues.AssigneeID = ptr(int64(7))
	in, _ := setup(t, conv(1, "さくら"), poolConv(2, "ひなた", t0.Add(-time.Hour)), colleagues, poolConv(4, "そら", t0.Add(-2*time.Hour)))
	for _, tt := range []struct {
		v    View
		want []int64
	}{{ViewMine, []int64{1}}, {ViewPool, []int64{4, 2}}, {ViewAll, []int64{4, 2, 1, 3}}} {
		if got := ids(in.List(tt.v, FilterAll, "")); !slices.Equal(got, tt.want) {
			t.Errorf("view %d: %v, want %v", tt.v, got, tt.want)
		}
	}
	if total, waiting := in.Count(ViewPool); total != 2 || waiting != 2 {
		t.Fatalf("pool count %d/%d", total, waiting)
	}
	if !in.Readable(in.Conv(1)) || in.Readable(in.Conv(2)) || in.Readable(in.Conv(3)) {
		t.Fatal("a counselor reads only their own")
	}
	in.Apply(&protocol.Welcome{Account: protocol.Account{ID: 1, Role: protocol.RoleAdmin}, Conversations: []protocol.Conversation{colleagues}})
	if !in.Readable(in.Conv(3)) {
		t.Fatal("an admin reads a colleague's conversation")
	}
}

// A conversation coming into the pool is announced and never brought to
// the front; a client writing in an admin's colleague's conversation
// neither; one of one's own is.
func TestFocusRuleHoldsForOnesOwn(t *testing.T) {
	colleagues := conv(3, "あおい")
	colleagues.AssigneeID = ptr(int64(7))
	in, _ := setup(t, conv(1, "さくら"), colleagues)
	in.Apply(&protocol.Welcome{Account: protocol.Account{ID: me, Role: protocol.RoleAdmin}, Conversations: []protocol.Conversation{conv(1, "さくら"), colleagues}})
	in.Apply(&protocol.Synced{})
	eff := in.Apply(&protocol.ConversationFrame{Conversation: poolConv(2, "ひなた", t0)})
	if eff.PoolArrived != 2 || eff.FocusChanged || in.Focused() != nil {
		t.Fatalf("a pool arrival: %+v, focused %v", eff, in.Focused())
	}
	if eff := in.Apply(&protocol.ConversationFrame{Conversation: poolConv(2, "ひなた", t0)}); eff.PoolArrived != 0 {
		t.Fatal("announced twice")
	}
	if eff := in.Apply(clientMsg(3, 1, "x")); eff.FocusChanged || eff.Notify || in.Focused() != nil {
		t.Fatalf("a colleague's client pulled the admin: %+v", eff)
	}
	if eff := in.Apply(clientMsg(1, 1, "y")); !eff.FocusChanged || !eff.Notify || in.Focused().ID != 1 {
		t.Fatalf("one's own client: %+v", eff)
	}
	// Taken: it is one's own, and the preview is gone.
	in.SetPreview(2, []protocol.Message{{Seq: 1, Body: "プレビュー"}})
	if len(in.Conv(2).Preview) != 1 {
		t.Fatal("preview not kept")
	}
	taken := poolConv(2, "ひなた", t0)
	taken.AssigneeID, taken.PoolSince = ptr(int64(me)), nil
	if eff := in.Apply(&protocol.ConversationFrame{Conversation: taken}); eff.Received != 2 || in.Conv(2).Preview != nil {
		t.Fatalf("taken: %+v preview %v", eff, in.Conv(2).Preview)
	}
}

// A conversation withdrawn (a colleague took it, it was handed on) leaves
// the app; if it was in front, the front moves on.
func TestWithdrawn(t *testing.T) {
	in, _ := setup(t, conv(1, "さくら"), conv(2, "ひなた"))
	waiting(in, 2, t0)
	in.Focus(1)
	eff := in.Apply(&protocol.ConversationWithdrawnFrame{ConversationID: 1, Reason: protocol.WithdrawnReassigned})
	if in.Conv(1) != nil || len(eff.Withdrawn) != 1 || eff.Withdrawn[0].Nickname != "さくら" || !eff.Withdrawn[0].Mine || !eff.FocusChanged {
		t.Fatalf("withdrawn: %+v", eff)
	}
	if f := in.Focused(); f == nil || f.ID != 2 {
		t.Fatalf("front after: %v", f)
	}
}

func ids(cs []*Conv) []int64 {
	var out []int64
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}
