package ui

import (
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// benchInbox holds convs conversations of perConv messages each, and
// conversation 1 with long messages: the volume of a real desk.
func benchInbox(convs, perConv, long int) (*inbox.Inbox, *clock) {
	clk := &clock{t: time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)}
	in := inbox.New(clk.now)
	list := make([]protocol.Conversation, convs)
	for i := range list {
		id := int64(i + 1)
		n := perConv
		if id == 1 {
			n = long
		}
		since := clk.t.Add(-time.Duration(i) * time.Minute)
		list[i] = protocol.Conversation{ID: id, ClientID: 1000 + id, Nickname: fmt.Sprintf("相談者%03d", id), Status: protocol.StatusWaiting,
			FirstSeq: 1, LastSeq: int64(n), WaitingSince: &since, UpdatedAt: since}
	}
	in.Apply(&protocol.Welcome{Account: protocol.Account{ID: 1, Role: protocol.RoleCounselor}, Conversations: list})
	id := int64(0)
	start := clk.t.Add(-14 * 24 * time.Hour)
	for _, c := range list {
		n := int(c.LastSeq)
		msgs := make([]protocol.Message, n)
		for s := range msgs {
			id++
			m := protocol.Message{ID: id, ConversationID: c.ID, Seq: int64(s + 1), Kind: protocol.KindText, SenderRole: protocol.RoleClient,
				CreatedAt: start.Add(time.Duration(s) * 10 * time.Minute),
				Body:      "最近、夜になると不安で眠れません。誰かに話を聞いてほしくて連絡しました。仕事のことも家族のことも、うまく言葉にできないのですが、少しずつ話してみます。"}
			if s%2 == 1 {
				m.SenderRole, m.SenderID, m.Body = protocol.RoleCounselor, 1, "お話しくださってありがとうございます。ゆっくりで大丈夫ですので、続けて聞かせてください。"
			}
			msgs[s] = m
		}
		in.Load(c.ID, msgs)
	}
	in.Apply(&protocol.Synced{})
	return in, clk
}

func benchMain(b *testing.B, in *inbox.Inbox) (*Main, fyne.Window) {
	b.Helper()
	a := test.NewTempApp(b)
	a.Settings().SetTheme(Theme{})
	w := a.NewWindow("bench")
	w.Resize(fyne.NewSize(1280, 800))
	m := NewMain(in, w, Actions{Send: func(int64, string) {}, Read: func(int64, int64) {}, Alert: func() {}, Unread: func(int) {}})
	w.SetContent(m.Content())
	return m, w
}

// BenchmarkOpenConversation opens a 2,000-message conversation among 200
// (target: 100 ms).
func BenchmarkOpenConversation(b *testing.B) {
	in, _ := benchInbox(200, 15, 2000)
	m, _ := benchMain(b, in)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		m.pick(2)
		b.StartTimer()
		m.pick(1)
	}
	b.StopTimer()
	if n := m.history.Len(); n < 2000 {
		b.Fatalf("%d rows", n)
	}
}

// BenchmarkApplyMessage applies one incoming message with 200
// conversations and a 2,000-message conversation in front, the counselor
// writing in it (target: 5 ms): to another conversation (it waits in the
// list) and to the one in front (one row more).
func BenchmarkApplyMessage(b *testing.B) {
	for _, tt := range []struct {
		name string
		conv int64
	}{{"other", 2}, {"front", 1}} {
		b.Run(tt.name, func(b *testing.B) {
			in, clk := benchInbox(200, 15, 2000)
			m, w := benchMain(b, in)
			m.pick(1)
			w.Canvas().Focus(m.compose)
			seq := in.Conv(tt.conv).LastSeq
			id := int64(1 << 30)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				seq++
				id++
				clk.t = clk.t.Add(time.Second)
				f := &protocol.MessageFrame{Message: protocol.Message{ID: id, ConversationID: tt.conv, Seq: seq, Kind: protocol.KindText,
					SenderRole: protocol.RoleClient, CreatedAt: clk.t, Body: "すみません、もう一つ聞いてもいいですか。"}}
				m.Apply(in.Apply(f))
			}
			b.StopTimer()
			if in.FocusedID() != 1 {
				b.Fatal("the front changed while the counselor was writing")
			}
		})
	}
}
