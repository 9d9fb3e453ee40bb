package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
	"github.com/taiwa-chat/taiwa/server/internal/store/storetest"
)

// syncBuffer is a log sink that tests can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type testServer struct {
	*Server
	URL   string
	clock *storetest.Clock
	logs  *syncBuffer
	dir   string
}

type testOrg struct {
	id    int64
	admin *client.Client
}

// newTestServer runs a real server on a loopback port with cheap password
// hashing and a settable clock (Monday 2026-11-23 12:00 in Tokyo).
func newTestServer(t testing.TB, tweak func(*Config)) *testServer {
	t.Helper()
	ts := &testServer{clock: storetest.NewClock(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)), logs: &syncBuffer{}, dir: t.TempDir()}
	cfg := Config{
		DataDir:   ts.dir,
		Logger:    slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:       ts.clock.Now,
		Password:  credential.Params{Time: 1, Memory: 1024, Threads: 1},
		Generated: credential.Params{Time: 1, Memory: 1024, Threads: 1},
		// Tests move the clock by days; TestStaffIdleExpiry sets its own.
		StaffIdle: 365 * 24 * time.Hour,
		// Test hashes are cheap and tests sign in side by side from one
		// address; TestHashFloodFromOneAddress sets the real bound.
		Hashers: 64,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.beginClose()
		hs.Close()
		s.live.Wait()
		s.Close()
	})
	ts.Server, ts.URL = s, hs.URL
	return ts
}

// org creates an organisation and returns its signed-in admin.
func (ts *testServer) org(t testing.TB, name string) testOrg {
	t.Helper()
	ctx := context.Background()
	o, err := ts.store.CreateOrg(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := ts.NewCredentials(ctx, store.Principal{}, store.NewAccount{OrgID: o.ID, Role: protocol.RoleAdmin, Nickname: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	return testOrg{id: o.ID, admin: ts.login(t, cred.LoginID, cred.Password)}
}

func (ts *testServer) login(t testing.TB, id, pw string) *client.Client {
	t.Helper()
	c, _, err := client.Login(context.Background(), ts.URL, id, pw, "test")
	if err != nil {
		t.Fatalf("login %s: %v", id, err)
	}
	return c
}

// newClient registers a client and signs it in.
func (ts *testServer) newClient(t testing.TB, o testOrg, nick string) (*client.Client, protocol.Credentials) {
	t.Helper()
	cred, err := o.admin.CreateClient(context.Background(), protocol.CreateClientRequest{Nickname: nick})
	if err != nil {
		t.Fatal(err)
	}
	return ts.login(t, cred.LoginID, cred.Password), cred
}

// newAdmin registers a second admin and signs it in: staff who read
// every conversation of the organisation.
func (ts *testServer) newAdmin(t testing.TB, o testOrg, nick string) *client.Client {
	t.Helper()
	cred, err := o.admin.CreateStaff(context.Background(), protocol.CreateStaffRequest{Nickname: nick, Role: protocol.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	return ts.login(t, cred.LoginID, cred.Password)
}

// write stores a message from a signed-in client without a live
// connection (its conversation then waits in the pool).
func (ts *testServer) write(t testing.TB, c *client.Client, body string) protocol.Message {
	t.Helper()
	ctx := context.Background()
	me, err := c.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := ts.store.Send(ctx, store.Principal{AccountID: me.ID, OrgID: me.OrgID, Role: me.Role}, store.SendRequest{Ref: client.NewRef(), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (ts *testServer) newCounselor(t testing.TB, o testOrg, nick string) *client.Client {
	t.Helper()
	c, _ := ts.newCounselorCred(t, o, nick)
	return c
}

// newCounselorCred registers a counselor, signs it in and returns its
// one-time credentials too.
func (ts *testServer) newCounselorCred(t testing.TB, o testOrg, nick string) (*client.Client, protocol.Credentials) {
	t.Helper()
	cred, err := o.admin.CreateStaff(context.Background(), protocol.CreateStaffRequest{Nickname: nick, Role: protocol.RoleCounselor})
	if err != nil {
		t.Fatal(err)
	}
	return ts.login(t, cred.LoginID, cred.Password), cred
}

// recorder collects a live connection's events for assertions.
type recorder struct {
	mu     sync.Mutex
	events []any
	wake   chan struct{}
}

func newRecorder() *recorder { return &recorder{wake: make(chan struct{}, 1)} }

// on records an event flattened to its frame or its StateEvent, so that
// hasEvent[T] matches either kind by type.
func (r *recorder) on(ev client.Event) {
	var v any = ev.Frame
	if ev.State != nil {
		v = *ev.State
	}
	r.mu.Lock()
	r.events = append(r.events, v)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// waitFor polls cond over the recorded events until it holds or the
// deadline passes.
func (r *recorder) waitFor(t *testing.T, what string, cond func([]any) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		ok := cond(r.events)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.wake:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// snapshot returns a copy of the events so far.
func (r *recorder) snapshot() []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]any(nil), r.events...)
}

func (r *recorder) messages() []protocol.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []protocol.Message
	for _, e := range r.events {
		if m, ok := e.(*protocol.MessageFrame); ok {
			out = append(out, m.Message)
		}
	}
	return out
}

func countMessages(evs []any, pred func(protocol.Message) bool) int {
	n := 0
	for _, e := range evs {
		if m, ok := e.(*protocol.MessageFrame); ok && pred(m.Message) {
			n++
		}
	}
	return n
}

func hasEvent[T any](evs []any, pred func(T) bool) bool {
	for _, e := range evs {
		if v, ok := e.(T); ok && pred(v) {
			return true
		}
	}
	return false
}

type liveConn2 struct {
	live *client.Live
	rec  *recorder
	done chan struct{} // closed when Run returns
	err  error         // what Run returned, valid after done
	stop context.CancelFunc
}

// ended waits for Run to return and gives its error.
func (l *liveConn2) ended(t *testing.T) error {
	t.Helper()
	select {
	case <-l.done:
		return l.err
	case <-time.After(10 * time.Second):
		t.Fatal("live connection did not end")
		return nil
	}
}

// goLive starts a live connection and waits until it is replayed.
func goLive(t *testing.T, c *client.Client, cursor int64) *liveConn2 {
	t.Helper()
	rec := newRecorder()
	l := c.Live(client.LiveOptions{Cursor: cursor, OnEvent: rec.on, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	lc := &liveConn2{live: l, rec: rec, done: make(chan struct{}), stop: cancel}
	go func() {
		lc.err = l.Run(ctx)
		close(lc.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-lc.done
	})
	rec.waitFor(t, "synced", func(evs []any) bool {
		return hasEvent(evs, func(*protocol.Synced) bool { return true })
	})
	return lc
}

// rawWS opens a bare WebSocket with a token, for frame-level tests.
func rawWS(t testing.TB, url, token string) *websocket.Conn {
	t.Helper()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/api/v1/live", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(16 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func wsWrite(t testing.TB, c *websocket.Conn, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// wsReadType reads frames until one of type typ arrives, returning it raw.
func wsReadType(t testing.TB, c *websocket.Conn, typ string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("reading for %s: %v", typ, err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		if m["type"] == typ {
			return m
		}
	}
}

// wsCloseCode reads until the connection closes and returns the code.
func wsCloseCode(t *testing.T, c *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func apiDo(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func convOf(t testing.TB, c *client.Client) int64 {
	t.Helper()
	cs, err := c.Conversations(context.Background())
	if err != nil || len(cs) != 1 {
		t.Fatalf("conversations: %v %v", cs, err)
	}
	return cs[0].ID
}

// metricsText is what the metrics address serves.
func metricsText(t *testing.T, ts *testServer) string {
	t.Helper()
	rec := httptest.NewRecorder()
	ts.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// stalledWS opens a live connection with a tiny receive buffer, so that
// the server's socket fills quickly when the test stops reading, as it
// would for a phone on a dead network, whatever the host's defaults.
func stalledWS(t *testing.T, url, token string) *websocket.Conn {
	t.Helper()
	dialer := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/api/v1/live", &websocket.DialOptions{
		HTTPHeader: h, HTTPClient: &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	c.SetReadLimit(1 << 20)
	return c
}
