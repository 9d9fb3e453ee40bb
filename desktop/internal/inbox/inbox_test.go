package inbox

import (
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)

func setup(t *testing.T, convs ...protocol.Conversation) (*Inbox, *clock) {
	t.Helper()
	c := &clock{t: t0}
	in := New(c.now)
	in.Apply(&protocol.Welcome{Account: protocol.Account{ID: 100, Role: protocol.RoleCounselor}, Conversations: convs})
	in.Apply(&protocol.Synced{})
	return in, c
}

func conv(id int64, nick string) protocol.Conversation {
	return protocol.Conversation{ID: id, ClientID: id * 10, Nickname: nick, Status: protocol.StatusNew, FirstSeq: 1}
}

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
		draft     string
		wantFocus int64
		wantChime bool
	}{
		{"not composing: the newcomer comes to the front", "", 2, false},
		{"composing: the reply stays, the newcomer waits with a chime", "書きかけの返事", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, _ := setup(t, conv(1, "さくら"), conv(2, "ひなた"))
			in.Apply(clientMsg(1, 1, "こんにちは"))
			if f := in.Focused(); f == nil || f.ID != 1 {
				t.Fatalf("first message did not focus its conversation")
			}
			in.SetDraft(tt.draft)
			eff := in.Apply(clientMsg(2, 1, "聞いてください"))
			if got := in.Focused().ID; got != tt.wantFocus {
				t.Fatalf("focused %d, want %d", got, tt.wantFocus)
			}
			if eff.Chime != tt.wantChime || eff.FocusChanged == tt.wantChime || eff.Notify != 2 {
				t.Fatalf("effect %+v", eff)
			}
			if in.Conv(1).Draft != tt.draft {
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
	if q[0].Unread() != 2 || !q[0].Unanswered() {
		t.Fatalf("markers: unread %d, unanswered %v", q[0].Unread(), q[0].Unanswered())
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
	in.Step(1)
	if in.Focused().ID != 1 {
		t.Fatalf("first step focused %d", in.Focused().ID)
	}
	in.Step(1)
	in.Step(1)
	if in.Focused().ID != 3 {
		t.Fatalf("third step focused %d", in.Focused().ID)
	}
	in.Step(1)
	if in.Focused().ID != 1 {
		t.Fatal("step does not wrap around")
	}
	in.Step(-1)
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
	if eff.FocusChanged || eff.Notify != 0 || in.Focused().ID != 1 {
		t.Fatalf("a colleague's reply moved the focus: %+v", eff)
	}
}

// Replayed history is old news: it must not move the focus. Once synced,
// the longest wait comes to the front if nothing is there.
func TestReplayDoesNotMoveFocus(t *testing.T) {
	c := &clock{t: t0}
	in := New(c.now)
	in.Apply(&protocol.Welcome{Conversations: []protocol.Conversation{conv(1, "a"), conv(2, "b")}})
	waiting(in, 1, t0.Add(-time.Hour))
	waiting(in, 2, t0.Add(-time.Minute))
	for _, f := range []*protocol.MessageFrame{clientMsg(1, 1, "x"), clientMsg(2, 1, "y")} {
		if eff := in.Apply(f); eff.FocusChanged || eff.Notify != 0 {
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
