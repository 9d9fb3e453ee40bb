package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// script is a fake server: each connection runs the next step.
type script struct {
	mu    sync.Mutex
	steps []func(t *testing.T, c *websocket.Conn, hello protocol.Hello)
	n     int
}

func (s *script) handler(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{"error":{"code":"unauthorized","message":"no"}}`, http.StatusUnauthorized)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		var hello protocol.Hello
		readJSON(t, c, &hello)
		s.mu.Lock()
		step := s.steps[min(s.n, len(s.steps)-1)]
		s.n++
		s.mu.Unlock()
		step(t, c, hello)
	})
}

func readJSON(t *testing.T, c *websocket.Conn, v any) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		return false
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Errorf("bad frame from client: %s", data)
		return false
	}
	return true
}

func writeJSON(c *websocket.Conn, v any) {
	_ = c.Write(context.Background(), websocket.MessageText, protocol.Encode(v))
}

func welcomeAndSync(c *websocket.Conn, msgs ...protocol.Message) {
	writeJSON(c, protocol.Welcome{Type: protocol.TypeWelcome, V: 1, Conversations: []protocol.Conversation{}})
	var cursor int64
	for _, m := range msgs {
		writeJSON(c, protocol.MessageFrame{Type: protocol.TypeMessage, Message: m})
		cursor = m.ID
	}
	writeJSON(c, protocol.Synced{Type: protocol.TypeSynced, Cursor: cursor})
}

func TestResumeAndResend(t *testing.T) {
	var (
		hellos []int64
		refs   []string
		mu     sync.Mutex
	)
	s := &script{steps: []func(*testing.T, *websocket.Conn, protocol.Hello){
		// First connection: one message, then the send is "committed" but
		// the connection drops before the ack.
		func(t *testing.T, c *websocket.Conn, h protocol.Hello) {
			mu.Lock()
			hellos = append(hellos, h.Cursor)
			mu.Unlock()
			welcomeAndSync(c, protocol.Message{ID: 41, ConversationID: 1, Seq: 1, Body: "hi"})
			var send protocol.Send
			if readJSON(t, c, &send) {
				mu.Lock()
				refs = append(refs, send.Ref)
				mu.Unlock()
			}
			c.Close(websocket.StatusGoingAway, "restart")
		},
		// Second: resumes from 41, gets the same ref again and acks it.
		func(t *testing.T, c *websocket.Conn, h protocol.Hello) {
			mu.Lock()
			hellos = append(hellos, h.Cursor)
			mu.Unlock()
			welcomeAndSync(c)
			var send protocol.Send
			if !readJSON(t, c, &send) {
				return
			}
			mu.Lock()
			refs = append(refs, send.Ref)
			mu.Unlock()
			writeJSON(c, protocol.Ack{Type: protocol.TypeAck, Ref: send.Ref, Message: protocol.Message{ID: 42, Seq: 2, Body: send.Body}})
			readJSON(t, c, &send) // hold the connection until the client leaves
		},
	}}
	srv := httptest.NewServer(s.handler(t))
	defer srv.Close()

	var states []StateEvent
	var smu sync.Mutex
	l := New(srv.URL, "tok").Live(LiveOptions{MinBackoff: 10 * time.Millisecond, OnEvent: func(ev Event) {
		if st := ev.State; st != nil {
			smu.Lock()
			states = append(states, *st)
			smu.Unlock()
		}
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()

	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	m, err := l.Send(sctx, 0, "届きますように")
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != 42 || l.Cursor() != 42 || len(l.Pending()) != 0 {
		t.Fatalf("message %+v, cursor %d, pending %d", m, l.Cursor(), len(l.Pending()))
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hellos) != 2 || hellos[0] != 0 || hellos[1] != 41 {
		t.Fatalf("hello cursors %v, want [0 41]", hellos)
	}
	if len(refs) != 2 || refs[0] != refs[1] {
		t.Fatalf("refs %v: the resend must reuse the ref", refs)
	}
	smu.Lock()
	defer smu.Unlock()
	if len(states) < 3 || !states[0].Connected || states[1].Connected || states[1].RetryIn <= 0 {
		t.Fatalf("state events %+v", states)
	}
}

func TestRevokedStopsAndFailsOutbox(t *testing.T) {
	s := &script{steps: []func(*testing.T, *websocket.Conn, protocol.Hello){
		func(t *testing.T, c *websocket.Conn, _ protocol.Hello) {
			welcomeAndSync(c)
			var send protocol.Send
			readJSON(t, c, &send)
			writeJSON(c, protocol.RevokedFrame{Type: protocol.TypeRevoked, Reason: "forced"})
			c.Close(protocol.CloseRevoked, "session ended")
		},
	}}
	srv := httptest.NewServer(s.handler(t))
	defer srv.Close()
	l := New(srv.URL, "tok").Live(LiveOptions{MinBackoff: 10 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- l.Run(context.Background()) }()
	_, res := l.Enqueue(0, "x")
	select {
	case err := <-done:
		if !errors.Is(err, ErrRevoked) {
			t.Fatalf("Run = %v, want ErrRevoked", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept going after revocation")
	}
	if r := <-res; !errors.Is(r.Err, ErrRevoked) {
		t.Fatalf("pending message result %v", r.Err)
	}
}

func TestUnauthorizedHandshakeIsRevoked(t *testing.T) {
	srv := httptest.NewServer((&script{}).handler(t))
	defer srv.Close()
	err := New(srv.URL, "wrong").Live(LiveOptions{}).Run(context.Background())
	if !errors.Is(err, ErrRevoked) {
		t.Fatalf("Run = %v", err)
	}
}

func TestHTTPErrorsDecode(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusConflict)
		w.Write([]byte(`{"error":{"code":"closed","message":"closed now","reopens_at":"2026-11-24T00:00:00Z"}}`))
	}))
	defer srv.Close()
	_, err := New(srv.URL, "t").Org(context.Background())
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeClosed || pe.ReopensAt == nil {
		t.Fatalf("err = %#v", err)
	}
	if !IsCode(err, protocol.CodeClosed) {
		t.Fatal("IsCode")
	}
}

// A link that stalls (the server neither answers nor closes) is dropped
// after two silent heartbeat intervals, and the client reconnects.
func TestHeartbeatDropsStalledLink(t *testing.T) {
	// Long enough that a loaded machine (the race detector, every package
	// at once) answers pings in time on the healthy second link.
	const every = 500 * time.Millisecond
	second := make(chan time.Time, 1)
	stalled := make(chan time.Time, 1)
	release := make(chan struct{})
	defer close(release)
	s := &script{steps: []func(*testing.T, *websocket.Conn, protocol.Hello){
		func(t *testing.T, c *websocket.Conn, h protocol.Hello) {
			welcomeAndSync(c)
			stalled <- time.Now()
			<-release // silent: no pong, no close
		},
		func(t *testing.T, c *websocket.Conn, h protocol.Hello) {
			second <- time.Now()
			welcomeAndSync(c)
			var ping protocol.Ping
			for readJSON(t, c, &ping) {
				if ping.Type != protocol.TypePing {
					t.Errorf("frame %q, want ping", ping.Type)
				}
				writeJSON(c, protocol.Pong{Type: protocol.TypePong})
			}
		},
	}}
	srv := httptest.NewServer(s.handler(t))
	defer srv.Close()
	var events []Event
	var mu sync.Mutex
	l := New(srv.URL, "tok").Live(LiveOptions{PingEvery: every, MinBackoff: 10 * time.Millisecond, OnEvent: func(ev Event) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx) //nolint:errcheck
	from := <-stalled
	select {
	case at := <-second:
		if d := at.Sub(from); d > 10*every {
			t.Fatalf("reconnected %v after the stall, heartbeat every %v", d, every)
		}
	case <-time.After(20 * every):
		t.Fatal("a stalled link was never dropped")
	}
	// Pongs keep the second link up and never reach the app.
	time.Sleep(4 * every)
	mu.Lock()
	defer mu.Unlock()
	for _, ev := range events {
		if _, ok := ev.Frame.(*protocol.Pong); ok {
			t.Fatal("a pong reached the app")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.steps); s.n != n {
		t.Fatalf("%d connections, want %d (the second link was dropped too)", s.n, n)
	}
}

// Withdrawn messages leave the outbox with ErrWithdrawn; others stay.
func TestWithdrawConversation(t *testing.T) {
	l := New("http://127.0.0.1:9", "tok").Live(LiveOptions{Outbox: []PendingMessage{
		{Ref: "a", ConversationID: 3, Body: "to the old client"},
		{Ref: "b", ConversationID: 4, Body: "elsewhere"},
	}})
	done := l.EnqueueRef("c", 3, "also to the old client")
	if n := l.WithdrawConversation(3); n != 2 {
		t.Fatalf("withdrew %d, want 2", n)
	}
	if r := <-done; !errors.Is(r.Err, ErrWithdrawn) {
		t.Fatalf("result %v", r.Err)
	}
	if p := l.Pending(); len(p) != 1 || p[0].Ref != "b" {
		t.Fatalf("outbox %+v", p)
	}
}

// A send the server could not store for now (internal, unavailable) is
// sent again on the same connection after a while, not left waiting for
// a reconnection.
func TestRetryableRefusalIsRetried(t *testing.T) {
	s := &script{steps: []func(*testing.T, *websocket.Conn, protocol.Hello){
		func(t *testing.T, c *websocket.Conn, h protocol.Hello) {
			welcomeAndSync(c)
			var send protocol.Send
			refused := false
			for readJSON(t, c, &send) {
				if send.Type != protocol.TypeSend {
					continue
				}
				if !refused {
					// The database was busy: say so, with when to come back.
					writeJSON(c, protocol.ErrorFrame{Type: protocol.TypeError, Ref: send.Ref,
						Error: protocol.Error{Code: protocol.CodeUnavailable, Message: "busy", RetryAfter: 1}})
					refused = true
					continue
				}
				writeJSON(c, protocol.Ack{Type: protocol.TypeAck, Ref: send.Ref, Message: protocol.Message{ID: 1, Seq: 1, Body: "first try"}})
			}
		},
	}}
	srv := httptest.NewServer(s.handler(t))
	defer srv.Close()
	l := New(srv.URL, "tok").Live(LiveOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx) //nolint:errcheck
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	start := time.Now()
	// The server refuses the first copy and acknowledges the retry.
	m, err := l.Send(sctx, 0, "first try")
	if err != nil {
		t.Fatalf("never retried: %v", err)
	}
	if m.ID != 1 || time.Since(start) < time.Second {
		t.Fatalf("acked %+v after %v (retry_after was 1 s)", m, time.Since(start))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n != 1 {
		t.Fatalf("%d connections: the retry waited for a reconnection", s.n)
	}
}
