package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// syncedWS opens a raw live connection and reads up to its synced frame.
func syncedWS(t *testing.T, ts *testServer, token string) *websocket.Conn {
	t.Helper()
	c := rawWS(t, ts.URL, token)
	wsWrite(t, c, `{"type":"hello","v":1,"cursor":0}`)
	wsReadType(t, c, "synced")
	return c
}

// An app that pings hears a pong; once it falls silent the server drops
// the connection within the heartbeat timeout, and the subscriber with it.
// An app that never pings is left to the WebSocket pings.
func TestHeartbeat(t *testing.T) {
	const timeout = time.Second // generous: a loaded machine still answers in time
	ts := newTestServer(t, func(c *Config) { c.HeartbeatTimeout = timeout })
	o := ts.org(t, "org")
	cl, cred := ts.newClient(t, o, "c")
	clID := cred.Account.ID

	pinging := syncedWS(t, ts, cl.Token)
	silent := syncedWS(t, ts, cl.Token)
	wsWrite(t, pinging, `{"type":"ping"}`)
	wsReadType(t, pinging, "pong")
	// Frames keep it alive past the timeout.
	for range 4 {
		time.Sleep(timeout / 2)
		wsWrite(t, pinging, `{"type":"ping"}`)
		wsReadType(t, pinging, "pong")
	}

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	for err == nil {
		_, _, err = pinging.Read(ctx) // nothing sent: the server must give up
	}
	if ctx.Err() != nil {
		t.Fatal("a silent pinging connection was not dropped")
	}
	if took := time.Since(start); took < timeout*3/4 || took > timeout+2*time.Second {
		t.Fatalf("dropped after %v, timeout %v", took, timeout)
	}
	waitUntil(t, "the dropped connection leaves the hub", func() bool {
		ts.hub.mu.RLock()
		defer ts.hub.mu.RUnlock()
		return len(ts.hub.byAccount[clID]) == 1
	})

	// The connection that never pinged is still served.
	wsWrite(t, silent, `{"type":"ping"}`)
	wsReadType(t, silent, "pong")
}

// Typing reaches the conversation's other side only, carries the
// counselor's display name, is rate-limited and stored nowhere.
func TestTyping(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.TypingEvery = time.Hour }) // one relayed per connection
	ctx := context.Background()
	o := ts.org(t, "org")
	cl, clCred := ts.newClient(t, o, "c")
	other, _ := ts.newClient(t, o, "other")
	co := ts.newCounselor(t, o, "田中 花子")
	if _, err := co.UpdateMe(ctx, protocol.MePatch{DisplayName: ptr("みどり")}); err != nil {
		t.Fatal(err)
	}
	colleague := ts.newCounselor(t, o, "同僚")
	b := ts.org(t, "another org")
	strangerStaff := ts.newCounselor(t, b, "x")
	clLive, otherLive, coLive := goLive(t, cl, 0), goLive(t, other, 0), goLive(t, co, 0)
	strangerLive, colleagueLive := goLive(t, strangerStaff, 0), goLive(t, colleague, 0)
	conv := convOf(t, cl)
	// The client has written, and the counselor has the conversation.
	ts.write(t, cl, "はじめまして")
	if _, err := co.Claim(ctx, conv); err != nil {
		t.Fatal(err)
	}
	// typingFrames takes events, not the recorder: waitFor holds its lock.
	typingFrames := func(evs []any) []*protocol.TypingFrame {
		var out []*protocol.TypingFrame
		for _, e := range evs {
			if f, ok := e.(*protocol.TypingFrame); ok {
				out = append(out, f)
			}
		}
		return out
	}

	// The client types three times in a burst: staff hear it once.
	for range 3 {
		if err := clLive.live.Typing(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}
	coLive.rec.waitFor(t, "the client's typing", func(evs []any) bool { return len(typingFrames(evs)) > 0 })
	if f := typingFrames(coLive.rec.snapshot())[0]; f.ConversationID != conv || f.SenderRole != protocol.RoleClient || f.SenderID != clCred.Account.ID || f.SenderName != "" {
		t.Fatalf("typing frame to staff: %+v", f)
	}

	// The counselor types: the client hears it with the display name.
	if err := coLive.live.Typing(ctx, conv); err != nil {
		t.Fatal(err)
	}
	clLive.rec.waitFor(t, "the counselor's typing", func(evs []any) bool { return len(typingFrames(evs)) > 0 })
	if f := typingFrames(clLive.rec.snapshot())[0]; f.ConversationID != conv || f.SenderRole != protocol.RoleCounselor || f.SenderName != "みどり" {
		t.Fatalf("typing frame to the client: %+v", f)
	}
	// Naming another organisation's conversation is not found.
	if err := strangerLive.live.Typing(ctx, conv); err != nil {
		t.Fatal(err)
	}
	strangerLive.rec.waitFor(t, "not found", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ErrorFrame) bool { return f.Error.Code == protocol.CodeNotFound })
	})

	// A message after the burst is the next frame the counselor sees:
	// the two extra typing frames were dropped, not queued.
	if _, err := clLive.live.Send(ctx, 0, "marker"); err != nil {
		t.Fatal(err)
	}
	coLive.rec.waitFor(t, "the marker", func(evs []any) bool {
		return countMessages(evs, func(m protocol.Message) bool { return m.Body == "marker" }) == 1
	})
	if n := len(typingFrames(coLive.rec.snapshot())); n != 1 {
		t.Fatalf("staff heard %d typing frames, want 1", n)
	}
	for name, rec := range map[string]*recorder{"the other client": otherLive.rec, "another organisation": strangerLive.rec, "the typist": clLive.rec,
		"a colleague who does not have the conversation": colleagueLive.rec} {
		for _, f := range typingFrames(rec.snapshot()) {
			if f.SenderID == clCred.Account.ID {
				t.Fatalf("%s heard the client typing", name)
			}
		}
	}
	if n := len(typingFrames(otherLive.rec.snapshot())); n != 0 {
		t.Fatalf("another client heard %d typing frames", n)
	}
	page, err := cl.History(ctx, conv, 0, 10)
	if err != nil || len(page.Messages) != 2 {
		t.Fatalf("typing was stored: %+v %v", page.Messages, err)
	}
}

func ptr[T any](v T) *T { return &v }

// A staff member chooses the name clients see above their replies.
func TestDisplayName(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := context.Background()
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	co := ts.newCounselor(t, o, "田中 花子")

	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"set", `{"display_name":"  みどり  "}`, 200, "みどり"},
		{"too long", `{"display_name":"` + strings.Repeat("あ", protocol.MaxDisplayNameRunes+1) + `"}`, 400, "みどり"},
		{"two lines", `{"display_name":"a\nb"}`, 400, "みどり"},
		{"unknown field", `{"nickname":"x"}`, 400, "みどり"},
		{"nothing", `{}`, 200, "みどり"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := apiDo(t, "PATCH", ts.URL+"/api/v1/me", co.Token, tt.body)
			if code != tt.status {
				t.Fatalf("status %d %s, want %d", code, body, tt.status)
			}
			me, err := co.Me(ctx)
			if err != nil || me.DisplayName != tt.want {
				t.Fatalf("display name %q (%v), want %q", me.DisplayName, err, tt.want)
			}
		})
	}
	if code, _ := apiDo(t, "PATCH", ts.URL+"/api/v1/me", cl.Token, `{"display_name":"x"}`); code != http.StatusForbidden {
		t.Fatalf("a client set a display name: %d", code)
	}

	clLive := goLive(t, cl, 0)
	coLive := goLive(t, co, 0)
	if _, err := clLive.live.Send(ctx, 0, "こんにちは"); err != nil {
		t.Fatal(err)
	}
	reply, err := coLive.live.Send(ctx, convOf(t, cl), "こんにちは、みどりです")
	if err != nil {
		t.Fatal(err)
	}
	if reply.SenderName != "みどり" {
		t.Fatalf("ack carries sender name %q", reply.SenderName)
	}
	clLive.rec.waitFor(t, "the reply with its name", func(evs []any) bool {
		return countMessages(evs, func(m protocol.Message) bool {
			return m.SenderName == "みどり" && m.SenderRole == protocol.RoleCounselor
		}) == 1
	})
	// The client's own messages carry no name; a new name shows on old replies.
	if _, err := co.UpdateMe(ctx, protocol.MePatch{DisplayName: ptr("さくら先生")}); err != nil {
		t.Fatal(err)
	}
	page, err := cl.History(ctx, convOf(t, cl), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.Messages {
		want := ""
		if m.SenderRole == protocol.RoleCounselor {
			want = "さくら先生"
		}
		if m.SenderName != want {
			t.Fatalf("message %d from %s has name %q, want %q", m.Seq, m.SenderRole, m.SenderName, want)
		}
	}
}

// Clients are told the organisation's name only when it chose to be named
// on their phones; the welcome and contact texts reach them.
func TestClientOrgView(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := context.Background()
	o := ts.org(t, "こころ相談室")
	cl, cred := ts.newClient(t, o, "c")
	co := ts.newCounselor(t, o, "co")
	clLive := goLive(t, cl, 0)
	coLive := goLive(t, co, 0)

	welcome := func(rec *recorder) protocol.Org {
		for _, e := range rec.snapshot() {
			if w, ok := e.(*protocol.Welcome); ok {
				return w.Org
			}
		}
		t.Fatal("no welcome")
		return protocol.Org{}
	}
	if n := welcome(clLive.rec).Settings.DisplayName; n != "" {
		t.Fatalf("client's welcome names the organisation: %q", n)
	}
	if n := welcome(coLive.rec).Settings.DisplayName; n != "こころ相談室" {
		t.Fatalf("staff's welcome: %q", n)
	}

	patch := protocol.SettingsPatch{WelcomeText: ptr("ようこそ。\r\nゆっくり書いてください。"), ContactText: ptr("用紙をなくしたら、保健室の先生へ")}
	if _, err := o.admin.UpdateSettings(ctx, patch); err != nil {
		t.Fatal(err)
	}
	clLive.rec.waitFor(t, "settings for the client", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.SettingsFrame) bool {
			return f.Org.Settings.WelcomeText == "ようこそ。\nゆっくり書いてください。" && f.Org.Settings.DisplayName == ""
		})
	})
	coLive.rec.waitFor(t, "settings for staff", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.SettingsFrame) bool {
			return f.Org.Settings.ContactText != "" && f.Org.Settings.DisplayName == "こころ相談室"
		})
	})
	org, err := cl.Org(ctx)
	if err != nil || org.Settings.DisplayName != "" || org.Settings.ContactText != "用紙をなくしたら、保健室の先生へ" {
		t.Fatalf("client's GET /org: %+v %v", org.Settings, err)
	}
	look, err := ts.store.AppLook(ctx, strings.Trim(strings.TrimPrefix(org.AppPath, "/a/"), "/"))
	if err != nil || look.ContactText != "用紙をなくしたら、保健室の先生へ" {
		t.Fatalf("app look: %+v %v", look, err)
	}

	if _, err := o.admin.UpdateSettings(ctx, protocol.SettingsPatch{ShowOrgName: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	org, err = cl.Org(ctx)
	if err != nil || org.Settings.DisplayName != "こころ相談室" {
		t.Fatalf("named on request: %+v %v", org.Settings, err)
	}
	status, body := apiDo(t, "POST", ts.URL+"/api/v1/login", "", `{"login_id":"`+cred.LoginID+`","password":"`+cred.Password+`"}`)
	var login protocol.LoginResponse
	if err := json.Unmarshal([]byte(body), &login); status != 200 || err != nil || login.Org.Settings.DisplayName != "こころ相談室" {
		t.Fatalf("login: %d %s", status, body)
	}

	for _, bad := range []protocol.SettingsPatch{
		{WelcomeText: ptr(strings.Repeat("あ", protocol.MaxClientTextRunes+1))},
		{ContactText: ptr("bell\a")},
	} {
		if _, err := o.admin.UpdateSettings(ctx, bad); err == nil {
			t.Fatalf("accepted %+v", bad)
		}
	}
}

// A closed notice says why: outside hours, or paused.
func TestClosedNoticeState(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := context.Background()
	o := ts.org(t, "org")
	tests := []struct {
		name  string
		patch protocol.SettingsPatch
		want  hours.State
	}{
		{"paused", protocol.SettingsPatch{Pause: &hours.Pause{On: true}}, hours.StatePaused},
		// Monday 12:00 in Tokyo, open only on Sundays.
		{"closed", protocol.SettingsPatch{Pause: &hours.Pause{}, Hours: &hours.Schedule{TimeZone: "Asia/Tokyo",
			Spans: []hours.Span{{Day: time.Sunday, Start: 9 * 60, End: 17 * 60}}}}, hours.StateClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := o.admin.UpdateSettings(ctx, tt.patch); err != nil {
				t.Fatal(err)
			}
			cl, _ := ts.newClient(t, o, tt.name)
			l := goLive(t, cl, 0)
			if _, err := l.live.Send(ctx, 0, "もしもし"); err != nil {
				t.Fatal(err)
			}
			l.rec.waitFor(t, "notice", func(evs []any) bool {
				return countMessages(evs, func(m protocol.Message) bool { return m.Kind == protocol.KindClosedNotice }) == 1
			})
			for _, m := range l.rec.messages() {
				if m.Kind == protocol.KindClosedNotice && m.State != tt.want {
					t.Fatalf("notice state %q, want %q", m.State, tt.want)
				}
			}
		})
	}
}
