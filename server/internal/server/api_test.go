package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/push"
)

func loginRaw(t *testing.T, url, id, pw string) (int, protocol.Error) {
	t.Helper()
	body, _ := json.Marshal(protocol.LoginRequest{LoginID: id, Password: pw})
	code, resp := apiDo(t, "POST", url+"/api/v1/login", "", string(body))
	var er protocol.ErrorResponse
	_ = json.Unmarshal([]byte(resp), &er)
	return code, er.Error
}

func TestLoginLockout(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	_, cred := ts.newClient(t, o, "c")

	// Unknown IDs and wrong passwords get the same answer.
	codeUnknown, errUnknown := loginRaw(t, ts.URL, "nobo-dyhe", "whatever")
	codeWrong, errWrong := loginRaw(t, ts.URL, cred.LoginID, "wrong")
	if codeUnknown != codeWrong || errUnknown != errWrong || codeWrong != http.StatusUnauthorized {
		t.Fatalf("unknown ID answered %d %+v, wrong password %d %+v", codeUnknown, errUnknown, codeWrong, errWrong)
	}
	// Typed as printed, with capitals and spaces, the login still works.
	if code, e := loginRaw(t, ts.URL, strings.ToUpper(strings.ReplaceAll(cred.LoginID, "-", " ")), strings.ToUpper(cred.Password)); code != 200 {
		t.Fatalf("normalised login refused: %d %+v", code, e)
	}
	for i := 0; i < DefaultMaxFailures; i++ {
		loginRaw(t, ts.URL, cred.LoginID, "wrong")
	}
	code, e := loginRaw(t, ts.URL, cred.LoginID, cred.Password)
	if code != http.StatusTooManyRequests || e.Code != protocol.CodeLocked || e.RetryAfter <= 0 {
		t.Fatalf("correct password during lockout: %d %+v", code, e)
	}
	// Locking an unknown ID looks exactly the same.
	for i := 0; i < DefaultMaxFailures; i++ {
		loginRaw(t, ts.URL, "ghos-tid0", "x")
	}
	if code, e := loginRaw(t, ts.URL, "ghos-tid0", "x"); code != http.StatusTooManyRequests || e.Code != protocol.CodeLocked {
		t.Fatalf("unknown ID not locked alike: %d %+v", code, e)
	}
	ts.clock.Add(DefaultLockout + time.Second)
	if code, e := loginRaw(t, ts.URL, cred.LoginID, cred.Password); code != 200 {
		t.Fatalf("after the lockout: %d %+v", code, e)
	}
}

func TestPermissions(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, cred := ts.newClient(t, o, "c")
	co := ts.newCounselor(t, o, "co")
	conv := convOf(t, cl)

	type call struct {
		method, path, body string
	}
	calls := map[string]call{
		"list clients":   {"GET", "/api/v1/clients", ""},
		"create client":  {"POST", "/api/v1/clients", `{"nickname":"x"}`},
		"bulk clients":   {"POST", "/api/v1/clients/bulk", `{"prefix":"s","count":2}`},
		"update client":  {"PATCH", fmt.Sprintf("/api/v1/clients/%d", cred.Account.ID), `{"note":"x"}`},
		"reset password": {"POST", fmt.Sprintf("/api/v1/clients/%d/password", cred.Account.ID), ""},
		"change setting": {"PATCH", "/api/v1/org/settings", `{"staff_may_write_first":true}`},
		"list staff":     {"GET", "/api/v1/staff", ""},
		"create staff":   {"POST", "/api/v1/staff", `{"nickname":"x","role":"counselor"}`},
		"force logout":   {"POST", fmt.Sprintf("/api/v1/accounts/%d/logout", cred.Account.ID), ""},
		"assign":         {"POST", fmt.Sprintf("/api/v1/conversations/%d/assign", conv), `{"assignee_id":null}`},
		"delete client":  {"DELETE", fmt.Sprintf("/api/v1/clients/%d", cred.Account.ID), ""},
	}
	// Who may do what: clients nothing here; counselors read lists and
	// assign; admins everything.
	allowed := map[protocol.Role]map[string]bool{
		protocol.RoleClient:    {},
		protocol.RoleCounselor: {"list clients": true, "list staff": true, "assign": true},
	}
	tokens := map[protocol.Role]string{protocol.RoleClient: cl.Token, protocol.RoleCounselor: co.Token}
	for role, tok := range tokens {
		for name, c := range calls {
			t.Run(string(role)+" "+name, func(t *testing.T) {
				code, body := apiDo(t, c.method, ts.URL+c.path, tok, c.body)
				if allowed[role][name] {
					if code >= 300 {
						t.Fatalf("refused: %d %s", code, body)
					}
				} else if code != http.StatusForbidden {
					t.Fatalf("got %d %s, want 403", code, body)
				}
			})
		}
	}
	// The admin may do all of it (delete last: it ends the client).
	for _, name := range []string{"list clients", "create client", "bulk clients", "update client", "reset password",
		"change setting", "list staff", "create staff", "force logout", "assign", "delete client"} {
		c := calls[name]
		if code, body := apiDo(t, c.method, ts.URL+c.path, o.admin.Token, c.body); code >= 300 {
			t.Fatalf("admin %s: %d %s", name, code, body)
		}
	}
	// Nobody unauthenticated.
	if code, _ := apiDo(t, "GET", ts.URL+"/api/v1/conversations", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", code)
	}
}

func TestNoteStaysWithStaff(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cred, err := o.admin.CreateClient(context.Background(), protocol.CreateClientRequest{Nickname: "c", Note: "NOTE-for-staff-only"})
	if err != nil {
		t.Fatal(err)
	}
	cl := ts.login(t, cred.LoginID, cred.Password)
	for _, path := range []string{"/api/v1/me", "/api/v1/conversations"} {
		if _, body := apiDo(t, "GET", ts.URL+path, cl.Token, ""); strings.Contains(body, "NOTE-for-staff-only") {
			t.Fatalf("%s shows the client its note", path)
		}
	}
	ws := rawWS(t, ts.URL, cl.Token)
	wsWrite(t, ws, `{"type":"hello","v":1}`)
	if w := wsReadType(t, ws, "welcome"); strings.Contains(fmt.Sprint(w), "NOTE-for-staff-only") {
		t.Fatal("welcome shows the client its note")
	}
}

func TestBadHTTPInput(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	tok := o.admin.Token
	tests := []struct {
		name, method, path, body string
		status                   int
	}{
		{"malformed json", "POST", "/api/v1/clients", `{"nickname":`, 400},
		{"unknown field", "POST", "/api/v1/clients", `{"nickname":"x","email":"a@b"}`, 400},
		{"wrong type", "POST", "/api/v1/clients", `{"nickname":5}`, 400},
		{"invalid utf8", "POST", "/api/v1/clients", "{\"nickname\":\"\xff\"}", 400},
		{"empty nickname", "POST", "/api/v1/clients", `{"nickname":"  "}`, 400},
		{"long nickname", "POST", "/api/v1/clients", `{"nickname":"` + strings.Repeat("長", 41) + `"}`, 400},
		{"too large", "POST", "/api/v1/clients", `{"nickname":"` + strings.Repeat("x", protocol.MaxRequestBytes) + `"}`, 413},
		{"bad id", "DELETE", "/api/v1/clients/abc", "", 400},
		{"missing client", "DELETE", "/api/v1/clients/9999", "", 404},
		{"bulk too many", "POST", "/api/v1/clients/bulk", `{"prefix":"s","count":501}`, 400},
		{"bulk both", "POST", "/api/v1/clients/bulk", `{"prefix":"s","count":2,"nicknames":["a"]}`, 400},
		{"bulk bad name", "POST", "/api/v1/clients/bulk", `{"nicknames":["ok",""]}`, 400},
		{"bad retention", "PATCH", "/api/v1/org/settings", `{"retention_seconds":10}`, 400},
		{"bad zone", "PATCH", "/api/v1/org/settings", `{"hours":{"time_zone":"Mars/Base","spans":[]}}`, 400},
		{"bad clock", "PATCH", "/api/v1/org/settings", `{"hours":{"time_zone":"Asia/Tokyo","spans":[{"day":1,"start":"25:00","end":"26:00"}]}}`, 400},
		{"bad behaviour", "PATCH", "/api/v1/org/settings", `{"closed_behavior":"sometimes"}`, 400},
		{"bad limit", "GET", "/api/v1/conversations/1/messages?limit=0", "", 400},
		{"wrong method", "PUT", "/api/v1/clients", "", 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := apiDo(t, tt.method, ts.URL+tt.path, tok, tt.body)
			if code != tt.status {
				t.Fatalf("got %d %s, want %d", code, body, tt.status)
			}
			if code != 405 && !strings.Contains(body, `"code"`) {
				t.Fatalf("error body without a code: %s", body)
			}
		})
	}
	// Nothing was created by the refused requests.
	if list, _ := o.admin.Clients(context.Background()); len(list) != 0 {
		t.Fatalf("refused requests created %d clients", len(list))
	}
}

func TestAdminFlows(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	ctx := context.Background()
	creds, err := o.admin.BulkCreateClients(ctx, protocol.BulkCreateClientsRequest{Prefix: "セミナー", Count: 12})
	if err != nil || len(creds) != 12 {
		t.Fatalf("bulk: %d %v", len(creds), err)
	}
	if creds[0].Account.Nickname != "セミナー-01" || creds[11].Account.Nickname != "セミナー-12" {
		t.Fatalf("nicknames %q…%q", creds[0].Account.Nickname, creds[11].Account.Nickname)
	}
	seen := map[string]bool{}
	for _, c := range creds {
		if seen[c.LoginID] || c.Password == "" {
			t.Fatalf("duplicate or empty credentials: %+v", c)
		}
		seen[c.LoginID] = true
	}
	c0 := ts.login(t, creds[0].LoginID, creds[0].Password)
	reset, err := o.admin.ResetClientPassword(ctx, creds[0].Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c0.Me(ctx); !client.IsCode(err, protocol.CodeUnauthorized) {
		t.Fatalf("session survived password reset: %v", err)
	}
	if _, _, err := client.Login(ctx, ts.URL, creds[0].LoginID, creds[0].Password, ""); !client.IsCode(err, protocol.CodeBadCredentials) {
		t.Fatalf("old password works: %v", err)
	}
	ts.login(t, creds[0].LoginID, reset.Password)

	// An access date in the past stops the login.
	past := ts.clock.Now().Add(-time.Hour)
	if _, err := o.admin.UpdateClient(ctx, creds[1].Account.ID, protocol.UpdateClientRequest{AccessUntil: &past}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.Login(ctx, ts.URL, creds[1].LoginID, creds[1].Password, ""); !client.IsCode(err, protocol.CodeForbidden) {
		t.Fatalf("expired client logged in: %v", err)
	}

	staffCred, err := o.admin.CreateStaff(ctx, protocol.CreateStaffRequest{Nickname: "佐藤", Role: protocol.RoleCounselor})
	if err != nil {
		t.Fatal(err)
	}
	staffList, _ := o.admin.Staff(ctx)
	if len(staffList) != 2 {
		t.Fatalf("staff = %+v", staffList)
	}
	// A staff account is not deletable through the clients path.
	if err := o.admin.DeleteClient(ctx, staffCred.Account.ID); !client.IsCode(err, protocol.CodeNotFound) {
		t.Fatalf("deleted staff via clients path: %v", err)
	}
	if err := o.admin.DeleteStaff(ctx, staffCred.Account.ID); err != nil {
		t.Fatal(err)
	}
	me, _ := o.admin.Me(ctx)
	if err := o.admin.DeleteStaff(ctx, me.ID); err == nil {
		t.Fatal("the last admin deleted itself")
	}
}

func TestHealthAndMetrics(t *testing.T) {
	ts := newTestServer(t, nil)
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
		code, body := apiDo(t, "GET", ts.URL+path, "", "")
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("%s: %d %s", path, code, body)
		}
	}
	// Metrics show when clients are connected and writing: not on the
	// public address, only on the metrics one.
	if code, body := apiDo(t, "GET", ts.URL+"/metrics", "", ""); code == 200 || strings.Contains(body, "taiwa_") {
		t.Fatalf("/metrics on the public address: %d", code)
	}
	if body := metricsText(t, ts); !strings.Contains(body, "taiwa_connections") {
		t.Fatalf("metrics handler: %s", body)
	}
	// Profiles likewise, and never the command line (it can carry a
	// database password).
	for _, tc := range []struct {
		path   string
		public int
		metric int
	}{
		{"/debug/pprof/heap", 404, 200},
		{"/debug/pprof/goroutine?debug=1", 404, 200},
		{"/debug/pprof/cmdline", 404, 404},
		{"/debug/pprof/trace", 404, 404},
	} {
		if code, _ := apiDo(t, "GET", ts.URL+tc.path, "", ""); code != tc.public {
			t.Errorf("public %s: %d, want %d", tc.path, code, tc.public)
		}
		rec := httptest.NewRecorder()
		ts.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != tc.metric {
			t.Errorf("metrics address %s: %d, want %d", tc.path, rec.Code, tc.metric)
		}
	}
	resp, err := http.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("CSP = %q", csp)
	}
}

// recordingSender is a push.Sender that remembers tokens (and, apart,
// the kinds).
type recordingSender struct {
	mu    sync.Mutex
	sent  []string
	kinds []string
	wake  chan struct{}
}

func (r *recordingSender) Send(_ context.Context, tok, kind string) error {
	r.mu.Lock()
	r.sent = append(r.sent, tok)
	r.kinds = append(r.kinds, kind)
	r.mu.Unlock()
	r.wake <- struct{}{}
	return nil
}

func TestPushOnlyWhenAway(t *testing.T) {
	rs := &recordingSender{wake: make(chan struct{}, 16)}
	ts := newTestServer(t, func(c *Config) { c.Push = rs })
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	co := ts.newCounselor(t, o, "co")
	ctx := context.Background()
	if code, body := apiDo(t, "PUT", ts.URL+"/api/v1/push", cl.Token, `{"token":"phone-token-1"}`); code != http.StatusNoContent {
		t.Fatalf("register token: %d %s", code, body)
	}
	if code, _ := apiDo(t, "PUT", ts.URL+"/api/v1/push", cl.Token, `{"token":"bad token"}`); code != http.StatusBadRequest {
		t.Fatalf("invalid token accepted: %d", code)
	}
	coLive := goLive(t, co, 0)

	// Connected: the reply arrives live, no push.
	clLive := goLive(t, cl, 0)
	m, err := clLive.live.Send(ctx, 0, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := coLive.live.Send(ctx, m.ConversationID, "reply while connected"); err != nil {
		t.Fatal(err)
	}
	clLive.rec.waitFor(t, "live reply", func(evs []any) bool {
		return countMessages(evs, func(x protocol.Message) bool { return x.Body == "reply while connected" }) == 1
	})
	clLive.stop()
	clLive.ended(t)
	// The app has gone; the server notices when its handler returns.
	clientID := convClient(t, co, m.ConversationID)
	deadline := time.Now().Add(10 * time.Second)
	for ts.hub.connected(clientID) {
		if time.Now().After(deadline) {
			t.Fatal("the server still counts the client as connected")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// Away: one push to the registered device; the client's own messages never push.
	if _, err := coLive.live.Send(ctx, m.ConversationID, "reply while away"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rs.wake:
	case <-time.After(10 * time.Second):
		t.Fatal("no push for a reply while the client was away")
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if len(rs.sent) != 1 || rs.sent[0] != "phone-token-1" {
		t.Fatalf("pushed %v", rs.sent)
	}
	// Turning push off forgets the token.
	if code, _ := apiDo(t, "DELETE", ts.URL+"/api/v1/push", cl.Token, `{"token":"phone-token-1"}`); code != http.StatusNoContent {
		t.Fatalf("delete token: %d", code)
	}
	if toks, _ := ts.store.PushTokens(ctx, convClient(t, co, m.ConversationID)); len(toks) != 0 {
		t.Fatalf("token kept after turning push off: %v", toks)
	}
}

func convClient(t *testing.T, c *client.Client, conv int64) int64 {
	t.Helper()
	cs, err := c.Conversations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range cs {
		if x.ID == conv {
			return x.ClientID
		}
	}
	t.Fatal("conversation not found")
	return 0
}

func TestPushConfigAndTokenLifetime(t *testing.T) {
	web := &push.WebConfig{APIKey: "k", ProjectID: "p", MessagingSenderID: "1", AppID: "a", VAPIDKey: "BPublic"}
	tests := []struct {
		name        string
		sender, web bool
		wantEnabled bool
	}{
		{"push off", false, false, false},
		{"sender without web config", true, false, false},
		{"push on", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) {
				if tt.sender {
					c.Push = &recordingSender{wake: make(chan struct{}, 16)}
				}
				if tt.web {
					c.PushWeb = web
				}
			})
			o := ts.org(t, "org")
			cl, _ := ts.newClient(t, o, "c")
			code, body := apiDo(t, "GET", ts.URL+"/api/v1/push/config", cl.Token, "")
			if code != http.StatusOK {
				t.Fatalf("config: %d %s", code, body)
			}
			var got struct {
				Enabled bool
				Web     *push.WebConfig
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if got.Enabled != tt.wantEnabled || (got.Web != nil) != tt.wantEnabled {
				t.Fatalf("config %s, want enabled=%v", body, tt.wantEnabled)
			}
			if tt.wantEnabled && got.Web.VAPIDKey != web.VAPIDKey {
				t.Fatalf("config %s lacks the VAPID key", body)
			}
			// The page may reach Firebase's registration only when push is on.
			resp, err := http.Get(ts.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			csp := resp.Header.Get("Content-Security-Policy")
			if strings.Contains(csp, "googleapis.com") != tt.wantEnabled {
				t.Fatalf("CSP %q with push enabled=%v", csp, tt.wantEnabled)
			}
			// Staff have no phones to notify.
			co := ts.newCounselor(t, o, "co")
			for _, m := range []string{"GET", "PUT", "DELETE"} {
				if code, _ := apiDo(t, m, ts.URL+"/api/v1/push"+map[bool]string{true: "/config"}[m == "GET"], co.Token, `{"token":"t"}`); code != http.StatusForbidden {
					t.Errorf("counselor %s push: %d, want 403", m, code)
				}
			}
		})
	}
}

// A phone that signs out, is signed out by an admin or whose session
// expires gets no more notices, even though it never said "turn off".
func TestPushTokenEndsWithSession(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Push = &recordingSender{wake: make(chan struct{}, 16)} })
	o := ts.org(t, "org")
	ctx := context.Background()
	tokens := func(c *client.Client) []string {
		t.Helper()
		me, err := c.Me(ctx)
		if err != nil {
			t.Fatal(err)
		}
		toks, err := ts.store.PushTokens(ctx, me.ID)
		if err != nil {
			t.Fatal(err)
		}
		return toks
	}
	register := func(c *client.Client, tok string) {
		t.Helper()
		if code, body := apiDo(t, "PUT", ts.URL+"/api/v1/push", c.Token, `{"token":"`+tok+`"}`); code != http.StatusNoContent {
			t.Fatalf("register: %d %s", code, body)
		}
	}

	cl, cred := ts.newClient(t, o, "c")
	second := ts.login(t, cred.LoginID, cred.Password)
	register(cl, "phone-a")
	register(second, "phone-b")
	if got := tokens(cl); len(got) != 2 {
		t.Fatalf("tokens %v", got)
	}
	// Signing out one device forgets that device only.
	if code, _ := apiDo(t, "POST", ts.URL+"/api/v1/logout", cl.Token, ""); code != http.StatusNoContent && code != http.StatusOK {
		t.Fatalf("logout: %d", code)
	}
	if got := tokens(second); len(got) != 1 || got[0] != "phone-b" {
		t.Fatalf("after one logout: %v", got)
	}
	// A forced logout forgets the rest.
	me, _ := second.Me(ctx)
	if code, body := apiDo(t, "POST", fmt.Sprintf("%s/api/v1/accounts/%d/logout", ts.URL, me.ID), o.admin.Token, ""); code/100 != 2 {
		t.Fatalf("force logout: %d %s", code, body)
	}
	if toks, _ := ts.store.PushTokens(ctx, me.ID); len(toks) != 0 {
		t.Fatalf("tokens after forced logout: %v", toks)
	}
	// A token cannot be attached to an ended session.
	if code, _ := apiDo(t, "PUT", ts.URL+"/api/v1/push", second.Token, `{"token":"phone-c"}`); code != http.StatusUnauthorized {
		t.Fatalf("register on ended session: %d", code)
	}
}

func TestStaffChangesOwnPassword(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	ctx := context.Background()
	cred, err := o.admin.CreateStaff(ctx, protocol.CreateStaffRequest{Nickname: "Tanaka", Role: protocol.RoleCounselor})
	if err != nil {
		t.Fatal(err)
	}
	laptop := ts.login(t, cred.LoginID, cred.Password)
	other := ts.login(t, cred.LoginID, cred.Password)
	const chosen = "朝の光が差し込む静かな部屋"
	tests := []struct {
		name, current, next string
		code                protocol.Code
	}{
		{"wrong current password", "wrong-one", chosen, protocol.CodeBadCredentials},
		{"too short", cred.Password, "short-pw", protocol.CodeInvalid},
		{"contains the name", cred.Password, "tanaka-is-my-name-2026", protocol.CodeInvalid},
		{"too common", cred.Password, "password2026", protocol.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := laptop.ChangePassword(ctx, tt.current, tt.next); !client.IsCode(err, tt.code) {
				t.Fatalf("got %v, want %s", err, tt.code)
			}
		})
	}
	if err := laptop.ChangePassword(ctx, cred.Password, chosen); err != nil {
		t.Fatal(err)
	}
	// This device stays; the other one is signed out; the old password is gone.
	if _, err := laptop.Me(ctx); err != nil {
		t.Fatalf("the changing session ended: %v", err)
	}
	if _, err := other.Me(ctx); !client.IsCode(err, protocol.CodeUnauthorized) {
		t.Fatalf("other session kept: %v", err)
	}
	if _, _, err := client.Login(ctx, ts.URL, cred.LoginID, cred.Password, "x"); err == nil {
		t.Fatal("old password still works")
	}
	ts.login(t, cred.LoginID, chosen)
	page, err := o.admin.AuditLog(ctx, 0, 10)
	if err != nil || page.Entries[0].Action != protocol.AuditPasswordChanged {
		t.Fatalf("audit %+v %v", page.Entries, err)
	}
	if strings.Contains(ts.logs.String(), chosen) {
		t.Fatal("the new password is in the log")
	}
}

func TestTOTPSecondFactor(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	ctx := context.Background()
	co, cred := ts.newCounselorCred(t, o, "co")
	code := func(secret string, d time.Duration) string {
		t.Helper()
		c, err := credential.TOTPCode(secret, ts.clock.Now().Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// A session alone is not enough: enrolling asks for the password.
	if _, err := co.EnrollTOTP(ctx, ""); !client.IsCode(err, protocol.CodeBadCredentials) {
		t.Fatalf("enroll without the password: %v", err)
	}
	e, err := co.EnrollTOTP(ctx, cred.Password)
	if err != nil || e.Secret == "" || len(e.QRPNG) == 0 {
		t.Fatalf("enroll: %+v %v", e, err)
	}
	if st, _ := co.TOTPStatus(ctx); st.On {
		t.Fatal("on before confirmation")
	}
	if err := co.ConfirmTOTP(ctx, "000000"); !client.IsCode(err, protocol.CodeBadCredentials) && code(e.Secret, 0) != "000000" {
		t.Fatalf("wrong confirmation code: %v", err)
	}
	if err := co.ConfirmTOTP(ctx, code(e.Secret, 0)); err != nil {
		t.Fatal(err)
	}
	if st, _ := co.TOTPStatus(ctx); !st.On {
		t.Fatal("not on after confirmation")
	}
	// The secret is stored wrapped by the master key, never as typed into an app.
	if hits := dbFilesContain(t, ts.dir, e.Secret); len(hits) > 0 {
		t.Fatalf("TOTP secret in the clear in %v", hits)
	}

	// Sign-in now asks for a code; a wrong one is a failed login; a used
	// one cannot be replayed.
	if _, _, err := client.Login(ctx, ts.URL, cred.LoginID, cred.Password, "x"); !client.IsCode(err, protocol.CodeTOTPRequired) {
		t.Fatalf("password alone: %v", err)
	}
	if _, _, err := client.LoginTOTP(ctx, ts.URL, cred.LoginID, "wrong", "x", code(e.Secret, 0)); !client.IsCode(err, protocol.CodeBadCredentials) {
		t.Fatalf("wrong password with a code: %v", err)
	}
	ts.clock.Add(30 * time.Second) // the confirming code's step is used
	if _, _, err := client.LoginTOTP(ctx, ts.URL, cred.LoginID, cred.Password, "x", code(e.Secret, 90*time.Second)); !client.IsCode(err, protocol.CodeBadCredentials) {
		t.Fatalf("a code from the future: %v", err)
	}
	good := code(e.Secret, 0)
	if _, _, err := client.LoginTOTP(ctx, ts.URL, cred.LoginID, cred.Password, "x", good); err != nil {
		t.Fatalf("password and code: %v", err)
	}
	if _, _, err := client.LoginTOTP(ctx, ts.URL, cred.LoginID, cred.Password, "x", good); !client.IsCode(err, protocol.CodeBadCredentials) {
		t.Fatalf("replayed code: %v", err)
	}

	// Turning it off takes the password and a current code. (The wrong
	// codes above count toward the lockout until it has passed.)
	ts.clock.Add(DefaultLockout + time.Second)
	if err := co.DisableTOTP(ctx, code(e.Secret, 0), "wrong password"); !client.IsCode(err, protocol.CodeBadCredentials) {
		t.Fatalf("off with a wrong password: %v", err)
	}
	if st, _ := co.TOTPStatus(ctx); !st.On {
		t.Fatal("turned off by a wrong password")
	}

	// A lost phone: the admin resets it; the password alone works again.
	staff, _ := o.admin.Staff(ctx)
	var id int64
	for _, s := range staff {
		if s.LoginID == cred.LoginID {
			id = s.ID
		}
	}
	if err := co.ResetStaffTOTP(ctx, id); !client.IsCode(err, protocol.CodeForbidden) {
		t.Fatalf("a counselor reset it: %v", err)
	}
	if err := o.admin.ResetStaffTOTP(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.Login(ctx, ts.URL, cred.LoginID, cred.Password, "x"); err != nil {
		t.Fatalf("after the reset: %v", err)
	}
	page, _ := o.admin.AuditLog(ctx, 0, 5)
	if page.Entries[0].Action != protocol.AuditTOTPChanged || page.Entries[0].Detail != "reset" {
		t.Fatalf("audit %+v", page.Entries[0])
	}
}

// TestEveryRouteIsDocumented fails when a route exists that
// docs/protocol.md does not describe (its table lists them under /api/v1).
func TestEveryRouteIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{}
	for _, rt := range s.apiRoutes() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		documented := false
		for _, p := range []string{path, strings.TrimPrefix(path, "/api/v1")} {
			want := "`" + method + " " + p
			documented = documented || strings.Contains(string(doc), want+"`") || strings.Contains(string(doc), want+"?")
		}
		if !documented {
			t.Errorf("%s is not in docs/protocol.md", rt.pattern)
		}
	}
}

// Counselors take what waits in the pool or is theirs; a colleague's, an
// admin's included, is not theirs to take (docs/protocol.md says the same).
func TestAssignRules(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	ctx := context.Background()
	co := ts.newCounselor(t, o, "co")
	other := ts.newCounselor(t, o, "other")
	cl, _ := ts.newClient(t, o, "c")
	conv := ts.write(t, cl, "相談です").ConversationID // waits in the pool
	me, _ := co.Me(ctx)
	them, _ := other.Me(ctx)
	admin, _ := o.admin.Me(ctx)
	steps := []struct {
		name     string
		by       *client.Client
		assignee *int64
		ok       bool
	}{
		{"counselor takes one from the pool", co, &me.ID, true},
		{"takes it again", co, &me.ID, true},
		{"a colleague takes it", other, &them.ID, false},
		{"counselor hands it to a colleague", co, &them.ID, false},
		{"counselor releases it", co, nil, true},
		{"admin takes it", o.admin, &admin.ID, true},
		{"counselor takes the admin's", co, &me.ID, false},
		{"admin gives it to a counselor", o.admin, &them.ID, true},
	}
	for _, st := range steps {
		_, err := st.by.Assign(ctx, conv, st.assignee)
		if (err == nil) != st.ok {
			t.Fatalf("%s: %v, want ok=%v", st.name, err, st.ok)
		}
		if !st.ok && !client.IsCode(err, protocol.CodeForbidden) {
			t.Fatalf("%s: %v, want forbidden", st.name, err)
		}
	}
}

// A seminar's clients are made in the order asked: the admin's list (by
// ID) reads like the slips.
func TestBulkRegistrationKeepsOrder(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	ctx := context.Background()
	creds, err := o.admin.BulkCreateClients(ctx, protocol.BulkCreateClientsRequest{Prefix: "seminar", Count: 30})
	if err != nil {
		t.Fatal(err)
	}
	list, err := o.admin.Clients(ctx)
	if err != nil || len(list) != 30 {
		t.Fatalf("%d clients, %v", len(list), err)
	}
	for i, c := range list {
		if c.Nickname != creds[i].Account.Nickname || c.Nickname != fmt.Sprintf("seminar-%02d", i+1) {
			t.Fatalf("client %d is %q, slip %q", i, c.Nickname, creds[i].Account.Nickname)
		}
	}
}

// TestAnnouncementsNewsAndPush (issue 16): an admin's announcement to a
// group tells that group's connected clients there is news (a frame with
// nothing else), pushes "news" to one who is away, and is listed to its
// clients only; other groups' clients hear nothing.
func TestAnnouncementsNewsAndPush(t *testing.T) {
	rs := &recordingSender{wake: make(chan struct{}, 16)}
	ts := newTestServer(t, func(c *Config) { c.Push = rs })
	o := ts.org(t, "org")
	ctx := context.Background()
	name := "A社"
	g, err := o.admin.CreateGroup(ctx, protocol.GroupRequest{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	login := func(req protocol.CreateClientRequest) *client.Client {
		t.Helper()
		cred, err := o.admin.CreateClient(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return ts.login(t, cred.LoginID, cred.Password)
	}
	near := login(protocol.CreateClientRequest{Nickname: "near", GroupID: g.ID})
	away := login(protocol.CreateClientRequest{Nickname: "away", GroupID: g.ID})
	outside := login(protocol.CreateClientRequest{Nickname: "outside"})
	if code, body := apiDo(t, "PUT", ts.URL+"/api/v1/push", away.Token, `{"token":"away-phone"}`); code != http.StatusNoContent {
		t.Fatalf("register token: %d %s", code, body)
	}
	nearLive, outsideLive := goLive(t, near, 0), goLive(t, outside, 0)

	code, body := apiDo(t, "POST", ts.URL+"/api/v1/announcements", o.admin.Token,
		fmt.Sprintf(`{"body":"年末年始は12月29日から休業します。","group_ids":[%d]}`, g.ID))
	if code != http.StatusCreated {
		t.Fatalf("announce: %d %s", code, body)
	}
	nearLive.rec.waitFor(t, "news", func(evs []any) bool {
		for _, e := range evs {
			if _, ok := e.(*protocol.NewsFrame); ok {
				return true
			}
		}
		return false
	})
	select {
	case <-rs.wake:
	case <-time.After(10 * time.Second):
		t.Fatal("no push for the client who was away")
	}
	rs.mu.Lock()
	if len(rs.sent) != 1 || rs.sent[0] != "away-phone" || rs.kinds[0] != "news" {
		t.Errorf("pushed %v %v", rs.sent, rs.kinds)
	}
	rs.mu.Unlock()
	for _, c := range []struct {
		who  *client.Client
		want int
	}{{near, 1}, {away, 1}, {outside, 0}} {
		code, body := apiDo(t, "GET", ts.URL+"/api/v1/announcements", c.who.Token, "")
		var list []protocol.Announcement
		if code != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil || len(list) != c.want {
			t.Errorf("listing: %d %s, want %d", code, body, c.want)
		}
		if strings.Contains(body, "group_ids") {
			t.Errorf("a client is told the groups: %s", body)
		}
	}
	// The outside client's connection heard no news of A社's: an
	// announcement to everyone after it is the first (and only) news it
	// hears, as changes reach a connection in commit order.
	if code, body := apiDo(t, "POST", ts.URL+"/api/v1/announcements", o.admin.Token, `{"body":"全員へのお知らせ"}`); code != http.StatusCreated {
		t.Fatalf("announce to all: %d %s", code, body)
	}
	countNews := func(evs []any) int {
		n := 0
		for _, e := range evs {
			if _, ok := e.(*protocol.NewsFrame); ok {
				n++
			}
		}
		return n
	}
	outsideLive.rec.waitFor(t, "news for everyone", func(evs []any) bool { return countNews(evs) >= 1 })
	nearLive.rec.waitFor(t, "second news", func(evs []any) bool { return countNews(evs) >= 2 })
	if n := countNews(outsideLive.rec.snapshot()); n != 1 {
		t.Errorf("the client of another group heard %d news frames, want 1", n)
	}
}
