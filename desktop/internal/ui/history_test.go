package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// longConversation gives conversation 1 n messages over several days,
// alternating client and counselor (account 1 is the counselor signed
// in, 7 a colleague).
func longConversation(in *inbox.Inbox, n int, start time.Time) {
	msgs := make([]protocol.Message, n)
	for i := range msgs {
		seq := int64(i + 1)
		m := protocol.Message{ID: 10000 + seq, ConversationID: 1, Seq: seq, Kind: protocol.KindText,
			CreatedAt: start.Add(time.Duration(i) * 20 * time.Minute), SenderRole: protocol.RoleClient, SenderID: 11,
			Body: fmt.Sprintf("%d 番目のメッセージです。最近、夜になると不安で眠れません。誰かに話を聞いてほしくて連絡しました。", seq)}
		if i%2 == 1 {
			m.SenderRole, m.SenderID = protocol.RoleCounselor, 7
			m.Body = fmt.Sprintf("%d: お話を聞かせてください。", seq)
		}
		msgs[i] = m
	}
	c := in.Conv(1).Conversation
	c.LastSeq = int64(n)
	in.Apply(&protocol.ConversationFrame{Conversation: c})
	in.Load(1, msgs)
}

func atBottom(v *historyView) bool {
	return v.scroll.Offset.Y >= v.total()-v.viewHeight()-1
}

func TestHistoryIsVirtualisedAndOpensAtTheNewest(t *testing.T) {
	m, in, clk, _, _ := newMainForTest(t)
	longConversation(in, 2000, clk.t.Add(-30*24*time.Hour))
	m.pick(1)
	v := m.history
	if v.Len() < 2000 {
		t.Fatalf("%d rows for 2,000 messages", v.Len())
	}
	if n := len(v.body.active); n == 0 || n > 40 {
		t.Fatalf("%d row widgets exist for a view of %v px: not virtualised", n, v.viewHeight())
	}
	if !atBottom(v) {
		t.Fatalf("opened at %v of %v, not at the newest message", v.scroll.Offset.Y, v.total())
	}
	last := v.body.active[rowKey{kind: rowStaff, id: 12000}]
	if last == nil || !strings.Contains(strings.Join(last.Text(), " "), "2000:") {
		t.Fatal("the newest message is not drawn")
	}
	// Day separators: one per day the messages span.
	days := 0
	for _, r := range v.rows {
		if r.key.kind == rowDay {
			days++
		}
	}
	if days < 27 || days > 29 {
		t.Fatalf("%d day separators for 2,000 messages 20 minutes apart", days)
	}
}

// One incoming message adds one row; the rows already drawn keep their
// widgets, and a view at the bottom follows the newest message.
func TestHistoryAppendsOneRow(t *testing.T) {
	m, in, clk, _, _ := newMainForTest(t)
	longConversation(in, 300, clk.t.Add(-2*time.Hour))
	m.pick(1)
	v := m.history
	before := v.Len()
	kept := v.body.active[rowKey{kind: rowStaff, id: 10300}]
	msg := clientMsg(1, 301, "新しいメッセージ")
	msg.Message.CreatedAt = in.Conv(1).Messages[299].CreatedAt.Add(time.Minute)
	m.Apply(in.Apply(msg))
	if v.Len() != before+1 {
		t.Fatalf("%d rows after one message, was %d", v.Len(), before)
	}
	if v.body.active[rowKey{kind: rowStaff, id: 10300}] != kept {
		t.Fatal("a row still in view got another widget: the history was rebuilt")
	}
	if !atBottom(v) {
		t.Fatal("the view did not follow the newest message")
	}
}

// Scrolled up, the history asks for the page before the oldest message
// held, puts it in front, and what the counselor reads stays in place.
func TestHistoryPagesOlderAsTheCounselorScrollsUp(t *testing.T) {
	m, in, clk, _, _ := newMainForTest(t)
	var asked []int64
	m.actions.Older = func(conv, before int64) { asked = append(asked, before) }
	longConversation(in, 500, clk.t.Add(-48*time.Hour))
	c := in.Conv(1)
	all := append([]protocol.Message(nil), c.Messages...)
	c.Messages = c.Messages[400:] // hold only the newest 100
	m.pick(1)
	v := m.history
	if len(asked) != 0 {
		t.Fatalf("asked for older messages while at the bottom: %v", asked)
	}
	v.scroll.ScrollToOffset(fyne.NewPos(0, 10))
	v.scrolled(v.scroll.Offset)
	if len(asked) != 1 || asked[0] != 401 {
		t.Fatalf("asked %v, want one page before seq 401", asked)
	}
	from, _ := v.visibleRange()
	for v.rows[from].key.kind != rowClient && v.rows[from].key.kind != rowStaff {
		from++
	}
	anchor := v.rows[from].key
	screenY := v.tops[from] - v.scroll.Offset.Y
	m.OlderLoaded(1, all[300:400], nil)
	i := 0
	for i < v.Len() && v.rows[i].key != anchor {
		i++
	}
	if got := v.tops[i] - v.scroll.Offset.Y; got < screenY-1 || got > screenY+1 {
		t.Fatalf("the row in view moved from %v to %v on screen", screenY, got)
	}
	if in.Conv(1).Oldest() != 301 {
		t.Fatalf("oldest held %d", in.Conv(1).Oldest())
	}
}

// Replies say who wrote them and whether the client has read them.
func TestHistoryMetaLines(t *testing.T) {
	m, in, clk, _, _ := newMainForTest(t)
	longConversation(in, 4, clk.t.Add(-time.Hour))
	own := protocol.Message{ID: 20005, ConversationID: 1, Seq: 5, SenderRole: protocol.RoleCounselor, SenderID: 1, Body: "自分の返事", CreatedAt: clk.t}
	m.Apply(in.Apply(&protocol.MessageFrame{Message: own}))
	m.SetStaff(map[int64]protocol.Account{7: {ID: 7, Nickname: "田中", DisplayName: "たなか"}})
	m.pick(1)
	c := in.Conv(1).Conversation
	c.ClientReadSeq = 2
	m.Apply(in.Apply(&protocol.ConversationFrame{Conversation: c}))
	meta := func(id int64) string {
		rv := m.history.body.active[rowKey{kind: rowStaff, id: id}]
		if rv == nil {
			t.Fatalf("row %d not drawn", id)
		}
		return rv.meta.Text
	}
	if got := meta(10002); !strings.Contains(got, "田中「たなか」") || !strings.Contains(got, T("msg.read", "read")) {
		t.Errorf("colleague's read reply: %q", got)
	}
	if got := meta(10004); strings.Contains(got, T("msg.read", "read")) {
		t.Errorf("unread reply marked read: %q", got)
	}
	if got := meta(20005); !strings.Contains(got, T("msg.you", "you")) {
		t.Errorf("own reply: %q", got)
	}
}

// A sent reply shows as waiting until its ack, and not a moment longer,
// even though the server's message frame comes first.
func TestHistoryPendingReplyGoesWithTheAck(t *testing.T) {
	m, in, clk, _, _ := newMainForTest(t)
	m.Apply(in.Apply(clientMsg(1, 1, "こんにちは")))
	m.pick(1)
	p := client.PendingMessage{Ref: "r1", ConversationID: 1, Body: "どうぞ"}
	m.Apply(in.AddPending(p))
	if m.history.body.active[rowKey{kind: rowPending, ref: "r1"}] == nil {
		t.Fatal("the reply is not shown as waiting")
	}
	reply := protocol.Message{ID: 30000, ConversationID: 1, Seq: 2, SenderRole: protocol.RoleCounselor, SenderID: 1, Body: "どうぞ", CreatedAt: clk.t}
	m.Apply(in.Apply(&protocol.MessageFrame{Message: reply}))
	m.Apply(in.Apply(&protocol.Ack{Ref: "r1", Message: reply}))
	for _, r := range m.history.rows {
		if r.key.kind == rowPending {
			t.Fatal("a false 'waiting to send' copy remains after the ack")
		}
	}
	if m.history.body.active[rowKey{kind: rowStaff, id: 30000}] == nil {
		t.Fatal("the sent reply is not shown")
	}
}

// At 1920 px a line holds no more than a readable length.
func TestReadableLineLength(t *testing.T) {
	m, in, _, _, w := newMainForTest(t)
	w.Resize(fyne.NewSize(1920, 1080))
	m.Apply(in.Apply(clientMsg(1, 1, strings.Repeat("とても長いメッセージを書いています。", 20))))
	m.pick(1)
	v := m.history
	for _, r := range v.rows {
		if r.key.kind == rowClient && r.textW > v.m.maxText+v.m.textSize {
			t.Fatalf("a line is %v px wide at 1920 px (limit %v)", r.textW, v.m.maxText)
		}
		if r.key.kind == rowClient && len(r.lines) < 5 {
			t.Fatalf("%d lines: not wrapped", len(r.lines))
		}
	}
}

// Switching conversations draws the new one's rows only: no widget keeps
// a row of the conversation before (the head row included).
func TestHistorySwitchLeavesNothingBehind(t *testing.T) {
	m, in, clk, _, _ := newMainForTest(t)
	longConversation(in, 300, clk.t.Add(-2*time.Hour))
	m.pick(1)
	m.Apply(in.Apply(clientMsg(3, 1, "そらです")))
	m.pick(3)
	for _, o := range m.history.body.objs {
		rv := o.(*rowView)
		if text := strings.Join(rv.Text(), " "); strings.Contains(text, "番目") || strings.Contains(text, "お話") {
			t.Fatalf("a row of the conversation before is still drawn: %v %q", rv.key, text)
		}
	}
}
