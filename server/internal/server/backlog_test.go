package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

func TestAdmissionKeepsTheOrder(t *testing.T) {
	const bound = 2 * time.Second
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	type step struct {
		ref   string
		after time.Duration // since t0
		wait  time.Duration // the server's expected wait then
		ok    bool
		retry int // when refused
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"quiet server takes everything", []step{
			{"a", 0, 0, true, 0},
			{"b", 0, bound, true, 0}, // at the bound, not past it
		}},
		{"busy refuses with the time until the wait is under the bound, rounded up", []step{
			{"a", 0, 4200 * time.Millisecond, false, 3},
			{"a", 5 * time.Second, 0, true, 0},
		}},
		{"a later send waits for the refused one", []step{
			{"a", 0, 3 * time.Second, false, 1},
			{"b", time.Second, 0, false, 1}, // quiet again, but a is not back
			{"c", time.Second, 0, false, 1},
			{"c", 2 * time.Second, 0, false, 1}, // back before a: refused again
			{"a", 3 * time.Second, 0, true, 0},
			{"b", 3 * time.Second, 0, true, 0},
			{"c", 3 * time.Second, 0, true, 0},
			{"d", 3 * time.Second, 0, true, 0},
		}},
		{"the first refused one, come back while far too busy, keeps its place", []step{
			{"a", 0, 3 * time.Second, false, 1},
			{"b", 0, 3 * time.Second, false, 1},
			{"a", 3 * time.Second, 5 * time.Second, false, 3}, // past twice the bound
			{"b", 3 * time.Second, 0, false, 1},
			{"a", 6 * time.Second, 0, true, 0},
			{"b", 6 * time.Second, 0, true, 0},
		}},
		{"refused ones come back ahead of new ones while busy", []step{
			{"a", 0, 3 * time.Second, false, 1},
			{"b", 0, 3 * time.Second, false, 1},
			{"c", 3 * time.Second, 3 * time.Second, false, 1}, // new: refused
			{"a", 3 * time.Second, 3 * time.Second, true, 0},  // back: taken, busy as it is
			{"b", 3 * time.Second, 4 * time.Second, true, 0},  // at twice the bound
			{"c", 3 * time.Second, 4 * time.Second, true, 0},
			{"d", 3 * time.Second, 3 * time.Second, false, 1}, // new again: refused
		}},
		{"refused ones not sent again within a minute lose their turn", []step{
			{"a", 0, 3 * time.Second, false, 1},
			{"b", 2 * time.Minute, 0, true, 0},
		}},
		{"retry_after is at most 30 s", []step{
			{"a", 0, 10 * time.Minute, false, 30},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a admission
			for i, s := range tc.steps {
				retry, ok := a.admit(s.ref, t0.Add(s.after), s.wait, bound)
				if ok != s.ok || retry != s.retry {
					t.Fatalf("step %d (%s): ok=%v retry=%d, want ok=%v retry=%d", i, s.ref, ok, retry, s.ok, s.retry)
				}
			}
		})
	}
}

func TestBacklogEstimate(t *testing.T) {
	var b backlog
	b.observe(1, 10*time.Millisecond)
	b.inFlight.Add(300)
	if got := b.wait(); got != 3*time.Second {
		t.Fatalf("wait = %v, want 3s", got)
	}
	// Bigger batches make each write cheaper; the average follows.
	for range 50 {
		b.observe(100, 100*time.Millisecond)
	}
	if got := b.wait(); got < 300*time.Millisecond || got > 400*time.Millisecond {
		t.Fatalf("wait after large batches = %v, want about 300ms", got)
	}
	b.observe(0, time.Second) // a commit of nothing changes nothing
	if got := b.wait(); got > 400*time.Millisecond {
		t.Fatalf("empty commit moved the estimate: %v", got)
	}
}

// TestBusyRefusesInOrderOverTheRealServer: a busy server refuses sends at
// once with retry_after, keeps the connection, stores nothing of them, and
// takes them back in the order they were written.
func TestBusyRefusesInOrderOverTheRealServer(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	ws := rawWS(t, ts.URL, cl.Token)
	wsWrite(t, ws, fmt.Sprintf(`{"type":"hello","v":%d,"cursor":0}`, protocol.Version))
	wsReadType(t, ws, "synced")

	// As if a thousand sends were waiting on 10 ms commits: 10 s.
	ts.backlog.perWrite.Store(int64(10 * time.Millisecond))
	ts.backlog.inFlight.Add(1000)
	for _, ref := range []string{"r-1", "r-2"} {
		wsWrite(t, ws, `{"type":"send","ref":"`+ref+`","body":"`+ref+`"}`)
		e := wsReadType(t, ws, "error")
		if e["ref"] != ref {
			t.Fatalf("error for %v, want %s", e["ref"], ref)
		}
		body := e["error"].(map[string]any)
		// About 10 s (a background commit may move the average a little).
		if ra, _ := body["retry_after"].(float64); body["code"] != string(protocol.CodeUnavailable) || ra < 5 || ra > 30 {
			t.Fatalf("busy answer: %v", body)
		}
	}
	ts.backlog.inFlight.Add(-1000)
	// r-2 back first is refused again; r-1 then r-2 are taken.
	wsWrite(t, ws, `{"type":"send","ref":"r-2","body":"r-2"}`)
	if e := wsReadType(t, ws, "error"); e["ref"] != "r-2" {
		t.Fatalf("r-2 before r-1: %v", e)
	}
	for _, ref := range []string{"r-1", "r-2"} {
		wsWrite(t, ws, `{"type":"send","ref":"`+ref+`","body":"`+ref+`"}`)
		if a := wsReadType(t, ws, "ack"); a["ref"] != ref {
			t.Fatalf("ack %v, want %s", a["ref"], ref)
		}
	}
	page, err := cl.History(context.Background(), convOf(t, cl), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 2 || page.Messages[0].Body != "r-1" || page.Messages[1].Body != "r-2" {
		t.Fatalf("stored %+v", page.Messages)
	}
	if m := metricsText(t, ts); !containsLine(m, "taiwa_sends_busy_total 3") {
		t.Fatalf("busy metric:\n%s", m)
	}
}

func containsLine(text, line string) bool {
	return slices.Contains(strings.Split(text, "\n"), line)
}

// TestGoClientHoldsWhileBusy: the apps' library, refused as busy, holds
// what is written meanwhile and sends it after the refused message, so
// the server refuses nothing more and stores the words in order.
func TestGoClientHoldsWhileBusy(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.BusyAfter = time.Second })
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	l := goLive(t, cl, 0)
	ts.backlog.perWrite.Store(int64(10 * time.Millisecond))
	ts.backlog.inFlight.Add(150) // 1.5 s: busy, come back in 2 s
	_, first := l.live.Enqueue(0, "ひとつめ")
	l.rec.waitFor(t, "the refusal", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ErrorFrame) bool { return f.Error.Code == protocol.CodeUnavailable })
	})
	ts.backlog.inFlight.Add(-150)
	_, second := l.live.Enqueue(0, "ふたつめ")
	storedInOrder(t, cl, 10*time.Second, "never acknowledged", first, second)
	if m := metricsText(t, ts); !containsLine(m, "taiwa_sends_busy_total 1") {
		t.Fatalf("the held message was refused too:\n%s", m)
	}
}

func TestCallbacksTakeFirstRefusedFirstUpToTheRoom(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	subs := func(refused ...int32) []*subscriber {
		out := make([]*subscriber, len(refused))
		for i, n := range refused {
			out[i] = &subscriber{conn: uint64(i + 1)}
			out[i].refused.Store(n)
		}
		return out
	}
	conns := func(ss []*subscriber) []uint64 {
		var out []uint64
		for _, s := range ss {
			out = append(out, s.conn)
		}
		return out
	}
	type round struct {
		after time.Duration
		room  int
		want  []uint64
	}
	for _, tc := range []struct {
		name    string
		refused []int32
		rounds  []round
	}{
		{"as many as the room takes, counting each one's refused sends", []int32{2, 3, 1, 1}, []round{
			{0, 5, []uint64{1, 2}},
			{callbackEvery, 100, []uint64{3, 4}},
		}},
		{"at least one, however little room", []int32{5, 1}, []round{
			{0, 0, []uint64{1}},
			{callbackEvery, 1, []uint64{2}},
		}},
		{"a connection with no count left counts as one send", []int32{0, 0, 0}, []round{
			{0, 2, []uint64{1, 2}},
		}},
		{"one round per interval", []int32{1, 1, 1}, []round{
			{0, 1, []uint64{1}},
			{callbackEvery / 2, 100, nil},
			{callbackEvery, 100, []uint64{2, 3}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c callbacks
			for _, s := range subs(tc.refused...) {
				c.add(s)
				c.add(s) // listed once
			}
			for i, r := range tc.rounds {
				got := c.take(r.room, t0.Add(r.after))
				if !slices.Equal(conns(got), r.want) {
					t.Fatalf("round %d: called back %v, want %v", i, conns(got), r.want)
				}
				for _, s := range got {
					if s.listed.Load() {
						t.Fatalf("round %d: connection %d still marked listed", i, s.conn)
					}
				}
			}
		})
	}
	// A closed connection leaves the list.
	var c callbacks
	ss := subs(1, 1)
	c.add(ss[0])
	c.add(ss[1])
	c.forget(ss[0])
	if got := conns(c.take(10, t0)); !slices.Equal(got, []uint64{2}) || c.n.Load() != 0 {
		t.Fatalf("after forget: called back %v, %d left", got, c.n.Load())
	}
}

// TestBusyCallsBackOverTheRealServer: a connection whose send was refused
// as busy is told to send again as soon as commits show room, long before
// its retry_after, and its message is then taken.
func TestBusyCallsBackOverTheRealServer(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	held, _ := ts.newClient(t, o, "held")
	other, _ := ts.newClient(t, o, "other")
	ws := refusedAsBusy(t, ts, held)
	// Another client's message commits: the commit finds room.
	ows := rawWS(t, ts.URL, other.Token)
	wsWrite(t, ows, fmt.Sprintf(`{"type":"hello","v":%d,"cursor":0}`, protocol.Version))
	wsReadType(t, ows, "synced")
	wsWrite(t, ows, `{"type":"send","ref":"o-1","body":"こんにちは"}`)
	wsReadType(t, ows, "ack")

	wsReadType(t, ws, "resume") // within wsReadType's 5 s, not the 28 s
	wsWrite(t, ws, `{"type":"send","ref":"r-1","body":"まだ大丈夫です"}`)
	if a := wsReadType(t, ws, "ack"); a["ref"] != "r-1" {
		t.Fatalf("ack %v", a)
	}
	if m := metricsText(t, ts); !containsLine(m, "taiwa_connections_called_back_total 1") {
		t.Fatalf("call-back metric:\n%s", m)
	}
}

// TestGoClientSendsWhenCalledBack: the apps' library, holding a refused
// message for a long retry_after, sends it (and what was written
// meanwhile, in order) as soon as the server calls it back.
func TestGoClientSendsWhenCalledBack(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	other, _ := ts.newClient(t, o, "other")
	l := goLive(t, cl, 0)
	ts.backlog.perWrite.Store(int64(10 * time.Millisecond))
	ts.backlog.inFlight.Add(3200) // 32 s: come back in 30 s
	_, first := l.live.Enqueue(0, "ひとつめ")
	l.rec.waitFor(t, "the refusal", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ErrorFrame) bool { return f.Error.Code == protocol.CodeUnavailable })
	})
	_, second := l.live.Enqueue(0, "ふたつめ") // held
	ts.backlog.inFlight.Add(-3200)
	ol := goLive(t, other, 0)
	if _, done := ol.live.Enqueue(0, "こんにちは"); (<-done).Err != nil {
		t.Fatal("the other client's send failed")
	}
	storedInOrder(t, cl, 15*time.Second /* half the retry_after */, "not sent when called back", first, second)
}

// storedInOrder waits up to within for each send to be acknowledged and
// checks that the client's conversation holds ひとつめ then ふたつめ.
func storedInOrder(t *testing.T, cl *client.Client, within time.Duration, late string, sends ...<-chan client.Result) {
	t.Helper()
	for i, done := range sends {
		select {
		case r := <-done:
			if r.Err != nil {
				t.Fatalf("message %d: %v", i+1, r.Err)
			}
		case <-time.After(within):
			t.Fatalf("message %d %s", i+1, late)
		}
	}
	page, err := cl.History(context.Background(), convOf(t, cl), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 2 || page.Messages[0].Body != "ひとつめ" || page.Messages[1].Body != "ふたつめ" {
		t.Fatalf("stored %+v", page.Messages)
	}
}

// TestBusyCallsBackWithoutCommits: when nothing commits any more (the load
// fell away), a held connection is still called back within a round,
// rather than waiting out its retry_after on an idle server.
func TestBusyCallsBackWithoutCommits(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	held, _ := ts.newClient(t, o, "held")
	ws := refusedAsBusy(t, ts, held) // the backlog is gone; nothing commits
	wsReadType(t, ws, "resume")      // within wsReadType's 5 s, not the 28 s
	wsWrite(t, ws, `{"type":"send","ref":"r-1","body":"まだ大丈夫です"}`)
	if a := wsReadType(t, ws, "ack"); a["ref"] != "r-1" {
		t.Fatalf("ack %v", a)
	}
}

// refusedAsBusy opens a live connection for cl, has its send r-1 refused
// as busy (come back in about 28 s), and empties the backlog again: what
// follows decides when the connection hears it may send.
func refusedAsBusy(t *testing.T, ts *testServer, cl *client.Client) *websocket.Conn {
	t.Helper()
	ws := rawWS(t, ts.URL, cl.Token)
	wsWrite(t, ws, fmt.Sprintf(`{"type":"hello","v":%d,"cursor":0}`, protocol.Version))
	wsReadType(t, ws, "synced")
	ts.backlog.perWrite.Store(int64(10 * time.Millisecond))
	ts.backlog.inFlight.Add(3000) // 30 s: come back in 28 s
	wsWrite(t, ws, `{"type":"send","ref":"r-1","body":"まだ大丈夫です"}`)
	e := wsReadType(t, ws, "error")
	if ra, _ := e["error"].(map[string]any)["retry_after"].(float64); ra < 20 {
		t.Fatalf("busy answer: %v", e)
	}
	ts.backlog.inFlight.Add(-3000)
	return ws
}
