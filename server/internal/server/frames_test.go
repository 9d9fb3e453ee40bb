package server

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// frameLog reads a raw connection's frames up to and including the first
// of type until, and names them: "message+conversation" for a message
// frame carrying its conversation's state, "ack+message+conversation"
// likewise.
func frameLog(t *testing.T, c *websocket.Conn, until string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []string
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("reading for %s after %v: %v", until, got, err)
		}
		var f struct {
			Type         string          `json:"type"`
			Message      json.RawMessage `json:"message"`
			Conversation json.RawMessage `json:"conversation"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		name := f.Type
		if f.Type == protocol.TypeAck && f.Message != nil {
			name += "+message"
		}
		if f.Type != protocol.TypeConversation && f.Conversation != nil {
			name += "+conversation"
		}
		got = append(got, name)
		if f.Type == until {
			return got
		}
	}
}

// The frames a message costs, by protocol version, over the real server:
// version 2 sends the writer its ack alone (carrying the message and the
// conversation's new state) and each reader one frame; version 1 as
// before (the writer's own message, the state, the ack; each reader the
// message and the state).
func TestFramesPerMessage(t *testing.T) {
	tests := []struct {
		v                        int
		writer, reader, replyOut []string
	}{
		{2, []string{"ack+message+conversation"}, []string{"message+conversation", "pong"}, []string{"ack+message+conversation"}},
		{1, []string{"message", "conversation", "ack+message"}, []string{"message", "conversation", "pong"}, []string{"message", "conversation", "ack+message"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("v%d", tt.v), func(t *testing.T) {
			ts := newTestServer(t, nil)
			o := ts.org(t, "org")
			cl, _ := ts.newClient(t, o, "さくら")
			hello := fmt.Sprintf(`{"type":"hello","v":%d}`, tt.v)
			open := func(c *client.Client) *websocket.Conn {
				ws := rawWS(t, ts.URL, c.Token)
				wsWrite(t, ws, hello)
				if w := wsReadType(t, ws, protocol.TypeWelcome); w["v"] != float64(tt.v) {
					t.Fatalf("welcome speaks version %v, want %d", w["v"], tt.v)
				}
				wsReadType(t, ws, protocol.TypeSynced)
				return ws
			}
			clWS, adWS := open(cl), open(o.admin)
			send := func(ws *websocket.Conn, ref, conv string) {
				wsWrite(t, ws, `{"type":"send","ref":"`+ref+`","body":"聞いてください"`+conv+`}`)
			}
			// The first message opens the conversation; the second is the
			// steady state measured. The reader's pong (answered after
			// every frame queued before it) closes its count.
			send(clWS, "warm", "")
			frameLog(t, clWS, protocol.TypeAck)
			wsWrite(t, adWS, `{"type":"ping"}`)
			frameLog(t, adWS, protocol.TypePong)

			send(clWS, "second", "")
			if got := frameLog(t, clWS, protocol.TypeAck); !slices.Equal(got, tt.writer) {
				t.Errorf("the writer got %v, want %v", got, tt.writer)
			}
			wsWrite(t, adWS, `{"type":"ping"}`)
			if got := frameLog(t, adWS, protocol.TypePong); !slices.Equal(got, tt.reader) {
				t.Errorf("a reader got %v, want %v", got, tt.reader)
			}

			// The admin answers: the same the other way round. The first
			// reply takes the conversation (colleagues hear of the desk's
			// load), the second is measured.
			to := fmt.Sprintf(`,"conversation_id":%d`, convOf(t, cl))
			send(adWS, "take", to)
			frameLog(t, adWS, protocol.TypeAck)
			wsWrite(t, clWS, `{"type":"ping"}`)
			frameLog(t, clWS, protocol.TypePong)
			send(adWS, "reply", to)
			if got := frameLog(t, adWS, protocol.TypeAck); !slices.Equal(got, tt.replyOut) {
				t.Errorf("the replying admin got %v, want %v", got, tt.replyOut)
			}
			wsWrite(t, clWS, `{"type":"ping"}`)
			if got := frameLog(t, clWS, protocol.TypePong); !slices.Equal(got, tt.reader) {
				t.Errorf("the client got %v, want %v", got, tt.reader)
			}
		})
	}
}

// A message held for its ack goes out as a frame the moment anything
// else reaches the connection first, so that no conversation state is
// ever written after a newer one; its ack then carries the message only.
func TestHeldMessageGoesBeforeLaterFrames(t *testing.T) {
	p := store.Principal{AccountID: 7, OrgID: 1, Role: protocol.RoleClient}
	h := newHub(newMetrics(), time.Now)
	sub := newSubscriber(p, 1, 16)
	sub.v2 = true
	h.add(sub)
	defer h.remove(sub)

	conv := func(lastSeq int64) *protocol.Conversation {
		return &protocol.Conversation{ID: 3, ClientID: 7, LastSeq: lastSeq}
	}
	own := func(id, seq int64) []store.Change {
		m := &protocol.Message{ID: id, ConversationID: 3, Seq: seq, SenderID: 7, SenderRole: protocol.RoleClient, Kind: protocol.KindText, Body: "x"}
		return []store.Change{
			{Kind: store.ChangeMessage, OrgID: 1, ClientID: 7, ConversationID: 3, Message: m, Conversation: conv(seq), Conn: sub.conn},
			{Kind: store.ChangeConversation, OrgID: 1, ClientID: 7, ConversationID: 3, Conversation: conv(seq), Before: conv(seq - 1)},
		}
	}
	names := func() []string {
		var out []string
		for _, f := range sub.q.Take(nil) {
			var v struct {
				Type         string                 `json:"type"`
				Message      *protocol.Message      `json:"message"`
				Conversation *protocol.Conversation `json:"conversation"`
			}
			if err := json.Unmarshal(f.data, &v); err != nil {
				t.Fatal(err)
			}
			name := v.Type
			if v.Message != nil {
				name += fmt.Sprintf(" #%d", v.Message.ID)
			}
			if v.Conversation != nil {
				name += fmt.Sprintf(" state %d", v.Conversation.LastSeq)
			}
			out = append(out, name)
		}
		return out
	}

	// Nothing in between: the ack carries message and state.
	h.publish(own(10, 1))
	if got := names(); len(got) != 0 {
		t.Fatalf("queued before the ack: %v", got)
	}
	h.ack(sub, "a", protocol.Message{ID: 10, ConversationID: 3, Seq: 1})
	if got, want := names(), []string{"ack #10 state 1"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}

	// A receipt's state is published before the ack is written: the held
	// message goes first, with its older state, and the ack carries none.
	h.publish(own(11, 2))
	h.publish([]store.Change{{Kind: store.ChangeConversation, OrgID: 1, ClientID: 7, ConversationID: 3, Conversation: conv(3), Before: conv(2)}})
	h.ack(sub, "b", protocol.Message{ID: 11, ConversationID: 3, Seq: 2})
	if got, want := names(), []string{"message #11 state 2", "conversation state 3", "ack #11"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
