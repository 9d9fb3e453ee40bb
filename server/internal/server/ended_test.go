package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/pkg/sqlitefile"
	"github.com/taiwa-chat/taiwa/server/internal/store"
	"github.com/taiwa-chat/taiwa/server/internal/store/sqlite"
	"github.com/taiwa-chat/taiwa/server/internal/store/storetest"
)

// Once the server has answered that a session is ended, not one more
// frame for it is written: not what was sent afterwards, and not what sat
// in its queue, even on a connection that was reading slowly. (Without
// the rule, a trial lets the messages through with even odds: the
// connection's writer chooses at random between its queue and its end.
// Six trials miss it one time in 64.)
func TestEndedSessionGetsNoMoreFrames(t *testing.T) {
	for trial := range 6 {
		t.Run(fmt.Sprint("trial ", trial), func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) { c.SendQueue = 4096; c.WriteTimeout = 30 * time.Second })
			o := ts.org(t, "org")
			cl, _ := ts.newClient(t, o, "c")
			slow := ts.newCounselor(t, o, "slow")
			me, err := slow.Me(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			ws := stalledWS(t, ts.URL, slow.Token)
			wsWrite(t, ws, `{"type":"hello","v":1,"cursor":0}`)
			wsReadType(t, ws, "synced")
			// The counselor's app stops reading; 6 MB of messages overflow
			// the socket buffers and queue up behind its writer.
			clLive := goLive(t, cl, 0)
			body := strings.Repeat("まだ読まれていない文章。", 600)
			for i := range 300 {
				if _, err := clLive.live.Send(context.Background(), 0, fmt.Sprintf("BEFORE-%d %s", i, body)); err != nil {
					t.Fatal(err)
				}
			}
			if err := o.admin.ForceLogout(context.Background(), me.ID); err != nil {
				t.Fatal(err)
			}
			// The answer has arrived: from here on the session is ended.
			for i := range 5 {
				if _, err := clLive.live.Send(context.Background(), 0, fmt.Sprintf("AFTER-LOGOUT-%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var frames []string
			for {
				_, data, err := ws.Read(ctx)
				if err != nil {
					if code := websocket.CloseStatus(err); code != protocol.CloseRevoked {
						t.Fatalf("closed with %d (%v), want %d", code, err, protocol.CloseRevoked)
					}
					break
				}
				frames = append(frames, string(data))
			}
			before := 0
			for i, f := range frames {
				if strings.Contains(f, "AFTER-LOGOUT") {
					t.Fatalf("a message sent after the logout reached the ended session: %.60s", f)
				}
				if strings.Contains(f, `"type":"revoked"`) && i != len(frames)-1 {
					t.Fatalf("%d frames after the revoked frame", len(frames)-1-i)
				}
				if strings.Contains(f, "BEFORE-") {
					before++
				}
			}
			if before == 300 {
				t.Fatal("every queued message was written after the logout")
			}
		})
	}
}

// A client whose access period ends is signed out at that moment, on its
// open connection too, not at the next sweep; a message written as it
// ends is refused.
func TestAccessEndClosesTheConnectionAtOnce(t *testing.T) {
	ts := newTestServer(t, nil) // the sweep runs every 30 s: it is not what ends these
	o := ts.org(t, "org")
	ctx := context.Background()

	t.Run("the date passes", func(t *testing.T) {
		cl, cred := ts.newClient(t, o, "a")
		until := ts.clock.Now().Add(500 * time.Millisecond)
		if _, err := o.admin.UpdateClient(ctx, cred.Account.ID, protocol.UpdateClientRequest{AccessUntil: &until}); err != nil {
			t.Fatal(err)
		}
		live := goLive(t, cl, 0)
		start := time.Now()
		if err := live.ended(t); !errors.Is(err, client.ErrRevoked) {
			t.Fatalf("ended with %v", err)
		}
		if !hasEvent(live.rec.snapshot(), func(f *protocol.RevokedFrame) bool { return f.Reason == "access_ended" }) {
			t.Fatal("not told why")
		}
		t.Logf("closed %v after the connection was up", time.Since(start).Round(time.Millisecond))
	})
	t.Run("an admin ends it now", func(t *testing.T) {
		cl, cred := ts.newClient(t, o, "b")
		live := goLive(t, cl, 0)
		past := ts.clock.Now().Add(-time.Minute)
		if _, err := o.admin.UpdateClient(ctx, cred.Account.ID, protocol.UpdateClientRequest{AccessUntil: &past}); err != nil {
			t.Fatal(err)
		}
		if err := live.ended(t); !errors.Is(err, client.ErrRevoked) {
			t.Fatalf("ended with %v", err)
		}
		if _, err := cl.Me(ctx); !client.IsCode(err, protocol.CodeUnauthorized) {
			t.Fatalf("the session outlived the access period: %v", err)
		}
	})
	t.Run("a send as the period ends", func(t *testing.T) {
		cl, cred := ts.newClient(t, o, "c")
		until := ts.clock.Now().Add(time.Hour)
		if _, err := o.admin.UpdateClient(ctx, cred.Account.ID, protocol.UpdateClientRequest{AccessUntil: &until}); err != nil {
			t.Fatal(err)
		}
		live := goLive(t, cl, 0)
		ts.clock.Add(2 * time.Hour) // the server's clock passes it; the timer has not fired
		if _, err := live.live.Send(ctx, 0, "too late"); !client.IsCode(err, protocol.CodeForbidden) {
			t.Fatalf("send after the access period: %v", err)
		}
	})
}

// Every answer to a send names its ref, whatever was wrong with it, and
// what cannot be stored exactly as written is refused, never repaired.
func TestSendAnswersCarryTheirRef(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	ws := syncedWS(t, ts, cl.Token)
	tests := []struct {
		name, frame string
		code        protocol.Code
	}{
		{"vertical tab pasted from an editor", `{"type":"send","ref":"r-vt","body":"a\u000bb"}`, protocol.CodeInvalidBody},
		{"empty", `{"type":"send","ref":"r-empty","body":" "}`, protocol.CodeInvalidBody},
		{"too long", `{"type":"send","ref":"r-long","body":"` + strings.Repeat("あ", protocol.MaxBodyRunes+1) + `"}`, protocol.CodeInvalidBody},
		{"lone surrogate", `{"type":"send","ref":"r-sur","body":"a\ud800b"}`, protocol.CodeInvalidBody},
		{"reversed surrogates", `{"type":"send","ref":"r-rev","body":"\udc00\ud800"}`, protocol.CodeInvalidBody},
		{"unknown field", `{"type":"send","ref":"r-field","body":"x","urgent":true}`, protocol.CodeBadFrame},
		{"wrong type", `{"type":"send","ref":"r-type","body":5}`, protocol.CodeBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wsWrite(t, ws, tt.frame)
			e := wsReadType(t, ws, "error")
			var want string
			_ = json.Unmarshal([]byte(tt.frame), &struct {
				Ref *string `json:"ref"`
			}{&want})
			if e["ref"] != want || e["error"].(map[string]any)["code"] != string(tt.code) {
				t.Fatalf("got %v, want ref %q and %s", e, want, tt.code)
			}
		})
	}
	t.Run("a surrogate pair is a character", func(t *testing.T) {
		wsWrite(t, ws, `{"type":"send","ref":"r-pair","body":"ok \ud83d\ude00"}`)
		ack := wsReadType(t, ws, "ack")
		if ack["ref"] != "r-pair" || ack["message"].(map[string]any)["body"] != "ok 😀" {
			t.Fatalf("ack %v", ack)
		}
	})
	t.Run("unknown field in the hello", func(t *testing.T) {
		h := rawWS(t, ts.URL, cl.Token)
		wsWrite(t, h, `{"type":"hello","v":1,"cursor":0,"resume":true}`)
		wsReadType(t, h, "error")
		if code := wsCloseCode(t, h); code != protocol.CloseBadHello {
			t.Fatalf("close %d", code)
		}
	})
	t.Run("a lone surrogate in an HTTP body", func(t *testing.T) {
		code, body := apiDo(t, "PATCH", ts.URL+"/api/v1/org/settings", o.admin.Token, `{"display_name":"a\udfffb"}`)
		if code != http.StatusBadRequest || !strings.Contains(body, "surrogate") {
			t.Fatalf("%d %s", code, body)
		}
	})
}

// An app that keeps sending bad frames hears why for each of them before
// the connection is closed.
func TestStrikesAreAnsweredBeforeTheClose(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	ws := syncedWS(t, ts, cl.Token)
	for i := range maxStrikes + 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := ws.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"type":"send","ref":"bad-%d","body":""}`, i)))
		cancel()
		if err != nil {
			break // closed already
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errorsRead := 0
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			if code := websocket.CloseStatus(err); code != websocket.StatusPolicyViolation {
				t.Fatalf("closed with %d (%v)", code, err)
			}
			break
		}
		if strings.Contains(string(data), `"type":"error"`) {
			errorsRead++
		}
	}
	if errorsRead != maxStrikes {
		t.Fatalf("%d error frames before the close, want %d", errorsRead, maxStrikes)
	}
}

// Unknown routes and wrong methods answer in the documented error shape.
func TestUnknownRoutesAnswerJSON(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Web = true })
	tests := []struct {
		method, path string
		status       int
		code         protocol.Code
		allow        string
	}{
		{"GET", "/api/v1/nothing-here", http.StatusNotFound, protocol.CodeNotFound, ""},
		{"POST", "/api/v2/login", http.StatusNotFound, protocol.CodeNotFound, ""},
		{"PUT", "/api/v1/login", http.StatusMethodNotAllowed, protocol.CodeMethodNotAllowed, "POST"},
		{"DELETE", "/api/v1/clients", http.StatusMethodNotAllowed, protocol.CodeMethodNotAllowed, "GET, POST"},
		{"GET", "/api/v1/clients/7/password", http.StatusMethodNotAllowed, protocol.CodeMethodNotAllowed, "POST"},
		{"TRACE", "/api/v1/login", http.StatusMethodNotAllowed, protocol.CodeMethodNotAllowed, "POST"},
		{"BREW", "/api/v1/me", http.StatusMethodNotAllowed, protocol.CodeMethodNotAllowed, "GET, PATCH"},
	}
	o := ts.org(t, "org")
	tests = append(tests, struct {
		method, path string
		status       int
		code         protocol.Code
		allow        string
	}{"GET", "/api/v1/live", http.StatusUpgradeRequired, protocol.CodeUpgradeRequired, ""})
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, ts.URL+tt.path, nil)
			req.Header.Set("Authorization", "Bearer "+o.admin.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var er protocol.ErrorResponse
			if err := json.NewDecoder(resp.Body).Decode(&er); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if resp.StatusCode != tt.status || er.Error.Code != tt.code || resp.Header.Get("Allow") != tt.allow {
				t.Fatalf("got %d %s Allow=%q", resp.StatusCode, er.Error.Code, resp.Header.Get("Allow"))
			}
		})
	}
}

// The HTTP server cuts slow requests, while a live connection outlives
// every HTTP timeout.
func TestHTTPTimeoutsSpareLiveConnections(t *testing.T) {
	cfg := Config{
		DataDir:     t.TempDir(),
		Addr:        "127.0.0.1:0",
		MetricsAddr: "off",
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Password:    credential.Params{Time: 1, Memory: 1024, Threads: 1},
		// Cheap generated passwords too: registering the test's client must
		// not itself outlast the 700 ms write timeout on a loaded machine.
		Generated:    credential.Params{Time: 1, Memory: 1024, Threads: 1},
		HTTPTimeouts: HTTPTimeouts{ReadHeader: 300 * time.Millisecond, Read: 500 * time.Millisecond, Write: 700 * time.Millisecond, Idle: time.Second},
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, func(a net.Addr) { addrc <- a }) }()
	t.Cleanup(func() { stop(); <-done })
	url := "http://" + (<-addrc).String()
	ts := &testServer{Server: s, URL: url, clock: storetest.NewClock(time.Now())}
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")

	// A peer that sends half a request is cut off.
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = bufio.NewReader(conn).ReadString('\n')
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a half-sent request held the connection for 5 s")
	}

	// A live connection lasts past them all and still works.
	live := goLive(t, cl, 0)
	time.Sleep(1500 * time.Millisecond) // longer than every HTTP timeout above
	if _, err := live.live.Send(context.Background(), 0, "まだつながっています"); err != nil {
		t.Fatalf("send on a live connection past the HTTP timeouts: %v", err)
	}
	select {
	case <-live.done:
		t.Fatalf("the live connection ended: %v", live.err)
	default:
	}

	// A bulk registration outlasting the write timeout still gets its
	// answer: the only place its passwords are shown.
	start := time.Now()
	creds, err := o.admin.BulkCreateClients(context.Background(), protocol.BulkCreateClientsRequest{Prefix: "seminar", Count: 120})
	if err != nil || len(creds) != 120 {
		t.Fatalf("bulk registration: %d slips, %v", len(creds), err)
	}
	if took := time.Since(start); took < cfg.HTTPTimeouts.Write {
		t.Logf("the registration took %v, under the write timeout: this run did not test it", took)
	}
}

// Shared-device sessions end after a short time without use, and at once
// on quick exit.
func TestSharedDeviceSession(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	_, cred := ts.newClient(t, o, "c")
	ctx := context.Background()
	signIn := func(shared bool) *client.Client {
		t.Helper()
		body, _ := json.Marshal(protocol.LoginRequest{LoginID: cred.LoginID, Password: cred.Password, Cookie: true, Shared: shared})
		code, resp := apiDo(t, "POST", ts.URL+"/api/v1/login", "", string(body))
		if code != http.StatusOK {
			t.Fatalf("sign-in: %d %s", code, resp)
		}
		var lr protocol.LoginResponse
		if err := json.Unmarshal([]byte(resp), &lr); err != nil {
			t.Fatal(err)
		}
		return client.New(ts.URL, lr.Token)
	}
	own, shared, used := signIn(false), signIn(true), signIn(true)
	for range 3 {
		ts.clock.Add(20 * time.Minute)
		if _, err := used.Me(ctx); err != nil {
			t.Fatalf("a shared session in use ended: %v", err)
		}
	}
	if _, err := shared.Me(ctx); !client.IsCode(err, protocol.CodeUnauthorized) {
		t.Fatalf("a shared session unused for an hour: %v", err)
	}
	if _, err := own.Me(ctx); err != nil {
		t.Fatalf("the client's own phone was signed out: %v", err)
	}
	// Quick exit signs out at once.
	if err := used.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := used.Me(ctx); !client.IsCode(err, protocol.CodeUnauthorized) {
		t.Fatalf("after quick exit: %v", err)
	}
	// The sweep records the idle one as ended, for the admin's device list.
	ts.SweepOnce(ctx)
	devices, err := o.admin.Devices(ctx, cred.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	for _, d := range devices {
		reasons[d.EndReason] = true
	}
	if !reasons["idle"] || !reasons["logout"] {
		t.Fatalf("devices %+v", devices)
	}
}

// Two admins deleting each other at the same moment leave one of them.
func TestLastAdminSurvivesConcurrentDeletes(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := context.Background()
	for round := range 20 {
		o := ts.org(t, fmt.Sprint("org ", round))
		cred, err := o.admin.CreateStaff(ctx, protocol.CreateStaffRequest{Nickname: "second", Role: protocol.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		second := ts.login(t, cred.LoginID, cred.Password)
		first, err := o.admin.Me(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); o.admin.DeleteStaff(ctx, cred.Account.ID) }()
		go func() { defer wg.Done(); second.DeleteStaff(ctx, first.ID) }()
		wg.Wait()
		admins, err := ts.store.Accounts(ctx, store.Principal{AccountID: first.ID, OrgID: first.OrgID, Role: first.Role}, protocol.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if len(admins) != 1 {
			t.Fatalf("round %d: %d admins left", round, len(admins))
		}
	}
}

// When the database falls behind, a connection's acks come later but the
// connection stays: its pings are answered while its sends wait. (Before,
// the read loop waited on each commit, pongs went unread and the server
// dropped the connection without a close code.)
func TestSlowCommitsDoNotDropConnections(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.PingInterval = 100 * time.Millisecond })
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	live := goLive(t, cl, 0)
	// Another connection holds the database's write lock for 1.5 s: every
	// commit waits (busy_timeout), as under a load the disk cannot keep up with.
	db, err := sqlitefile.Open(filepath.Join(ts.dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	released := time.AfterFunc(1500*time.Millisecond, func() { conn.ExecContext(context.Background(), "ROLLBACK") })
	defer released.Stop()
	type result struct {
		m   protocol.Message
		err error
	}
	done := make(chan result, 3)
	for i := range 3 {
		go func() {
			m, err := live.live.Send(context.Background(), 0, fmt.Sprintf("遅くても届く %d", i))
			done <- result{m, err}
		}()
	}
	for range 3 {
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatalf("send while commits lag: %v", r.err)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("no ack 15 s after the database was free again\n%s", ts.logs.String())
		}
	}
	select {
	case <-live.done:
		t.Fatalf("the connection was dropped while its commits lagged: %v", live.err)
	default:
	}
	welcomes := 0
	for _, ev := range live.rec.snapshot() {
		if _, ok := ev.(*protocol.Welcome); ok {
			welcomes++
		}
	}
	if welcomes != 1 {
		t.Fatalf("the app connected %d times: the server dropped it while its commits lagged", welcomes)
	}
}

// Nor is anything taken from an ended session: sends that arrive after
// the answer, while the connection's writer is still stuck behind a
// stalled reader, are not stored.
func TestEndedSessionStoresNothingMore(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.SendQueue = 4096; c.WriteTimeout = 30 * time.Second })
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	co := ts.newCounselor(t, o, "co")
	me, err := co.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clLive := goLive(t, cl, 0)
	first, err := clLive.live.Send(context.Background(), 0, "相談があります")
	if err != nil {
		t.Fatal(err)
	}
	ws := stalledWS(t, ts.URL, co.Token)
	wsWrite(t, ws, `{"type":"hello","v":1,"cursor":0}`)
	wsReadType(t, ws, "synced")
	// The counselor's connection stops reading: its writer blocks.
	body := strings.Repeat("まだ読まれていない文章。", 600)
	for i := range 300 {
		if _, err := clLive.live.Send(context.Background(), 0, fmt.Sprintf("BEFORE-%d %s", i, body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.admin.ForceLogout(context.Background(), me.ID); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		wsWrite(t, ws, fmt.Sprintf(`{"type":"send","ref":"after-%d","conversation_id":%d,"body":"AFTER-END %d"}`, i, first.ConversationID, i))
	}
	time.Sleep(500 * time.Millisecond) // what would be stored is stored by now
	page, err := o.admin.Supervise(context.Background(), first.ConversationID, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.Messages {
		if strings.HasPrefix(m.Body, "AFTER-END") {
			t.Fatalf("a send from the ended session was stored: %q", m.Body)
		}
	}
}
