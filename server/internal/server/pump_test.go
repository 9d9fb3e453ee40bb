package server

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// writers reads how many connections have a writer running.
func writers(t *testing.T, ts *testServer) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^taiwa_connection_writers (\S+)$`).FindStringSubmatch(metricsText(t, ts))
	if m == nil {
		t.Fatal("no taiwa_connection_writers in the metrics")
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// waitIdle waits until no connection has a writer running.
func waitIdle(t *testing.T, ts *testServer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for writers(t, ts) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d writers still running", writers(t, ts))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An idle connection holds no writer, only its reader; whatever comes
// for it afterwards still reaches it, in order, and its answers too.
func TestIdleConnectionsHoldNoWriter(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "client")
	staff := goLive(t, o.admin, 0) // an admin reads every conversation
	client := goLive(t, cl, 0)
	waitIdle(t, ts)

	ctx := context.Background()
	for round := range 3 {
		for i := range 5 {
			if _, err := client.live.Send(ctx, 0, "round "+strconv.Itoa(round)+" message "+strconv.Itoa(i)); err != nil {
				t.Fatal(err)
			}
		}
		want := 5 * (round + 1)
		staff.rec.waitFor(t, "the client's messages at the admin", func(evs []any) bool {
			return countMessages(evs, func(m protocol.Message) bool { return m.SenderRole == protocol.RoleClient }) >= want
		})
		waitIdle(t, ts)
	}
	var seqs []int64
	for _, m := range staff.rec.messages() {
		seqs = append(seqs, m.Seq)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("out of order at the admin: %v", seqs)
		}
	}
}

// Closing the server says goodbye to every connection, idle ones too.
func TestShutdownTellsIdleConnections(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "client")
	ws := rawWS(t, ts.URL, cl.Token)
	wsWrite(t, ws, `{"type":"hello","v":2,"cursor":0}`)
	wsReadType(t, ws, protocol.TypeSynced)
	waitIdle(t, ts)
	ts.beginClose()
	if code := wsCloseCode(t, ws); code != websocket.StatusGoingAway {
		t.Fatalf("closed with %d, want %d (going away)", code, websocket.StatusGoingAway)
	}
}
