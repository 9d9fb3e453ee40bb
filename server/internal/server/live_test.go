package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store/sqlite"
)

func TestConversationBothWays(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "相談室")
	cl, _ := ts.newClient(t, o, "さくら")
	co := ts.newCounselor(t, o, "田中")
	clLive, coLive := goLive(t, cl, 0), goLive(t, co, 0)
	ctx := context.Background()

	// The counselor cannot write first (nor see a client who has not written).
	conv := convOf(t, cl)
	if cs, _ := co.Conversations(ctx); len(cs) != 0 {
		t.Fatalf("a counselor sees clients who have not written: %+v", cs)
	}
	if _, err := coLive.live.Send(ctx, conv, "こんにちは"); !client.IsCode(err, protocol.CodeClientFirst) {
		t.Fatalf("counselor wrote first: %v", err)
	}

	m, err := clLive.live.Send(ctx, 0, "眠れない日が続いています。\n相談できますか？")
	if err != nil {
		t.Fatal(err)
	}
	// The ack came after the commit: the message is in the database. It
	// waits in the pool: the counselor sees that, not the words.
	page, err := o.admin.History(ctx, conv, 0, 10)
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Body != m.Body {
		t.Fatalf("history after ack: %+v %v", page, err)
	}
	coLive.rec.waitFor(t, "waiting status, in the pool", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationFrame) bool {
			return f.Conversation.Status == protocol.StatusWaiting && f.Conversation.InPool()
		})
	})
	if n := countMessages(coLive.rec.snapshot(), func(protocol.Message) bool { return true }); n != 0 {
		t.Fatalf("the pool's text reached a counselor: %d messages", n)
	}
	if _, err := co.History(ctx, conv, 0, 10); !client.IsCode(err, protocol.CodeForbidden) {
		t.Fatalf("a counselor read the pool's history: %v", err)
	}
	// Taken (担当する): the history is theirs to read.
	if _, err := co.Claim(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if page, err = co.History(ctx, conv, 0, 10); err != nil || len(page.Messages) != 1 || page.Messages[0].Body != m.Body {
		t.Fatalf("the assignee's history: %+v %v", page, err)
	}

	r, err := coLive.live.Send(ctx, conv, "はい、もちろんです。")
	if err != nil {
		t.Fatal(err)
	}
	clLive.rec.waitFor(t, "reply at client", func(evs []any) bool {
		return countMessages(evs, func(x protocol.Message) bool { return x.ID == r.ID }) == 1
	})
	if err := clLive.live.Receipt(ctx, 0, r.Seq, r.Seq); err != nil {
		t.Fatal(err)
	}
	coLive.rec.waitFor(t, "read receipt at counselor", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationFrame) bool { return f.Conversation.ClientReadSeq == r.Seq })
	})
}

func TestIdempotentResend(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	ws := rawWS(t, ts.URL, cl.Token)
	wsWrite(t, ws, `{"type":"hello","v":1,"cursor":0}`)
	wsReadType(t, ws, "synced")
	ids := map[float64]bool{}
	for i := 0; i < 3; i++ {
		wsWrite(t, ws, `{"type":"send","ref":"same-ref-1","body":"一度だけ"}`)
		ack := wsReadType(t, ws, "ack")
		ids[ack["message"].(map[string]any)["id"].(float64)] = true
	}
	if len(ids) != 1 {
		t.Fatalf("resends produced %d distinct messages", len(ids))
	}
	page, _ := cl.History(context.Background(), convOf(t, cl), 0, 10)
	if len(page.Messages) != 1 {
		t.Fatalf("stored %d messages, want 1", len(page.Messages))
	}
}

func TestReconnectResumesWithoutLossOrDuplicates(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	co := ts.newCounselor(t, o, "co")
	ctx := context.Background()
	coLive := goLive(t, co, 0)

	first := goLive(t, cl, 0)
	m1, err := first.live.Send(ctx, 0, "one")
	if err != nil {
		t.Fatal(err)
	}
	cursor := first.live.Cursor()
	first.stop()
	first.ended(t)

	// While the client is away: replies arrive, and the client writes
	// offline (queued in its outbox).
	conv := convOf(t, co)
	var replies []int64
	for i := 0; i < 5; i++ {
		m, err := coLive.live.Send(ctx, conv, fmt.Sprintf("reply %d", i))
		if err != nil {
			t.Fatal(err)
		}
		replies = append(replies, m.ID)
	}
	rec := newRecorder()
	l := cl.Live(client.LiveOptions{Cursor: cursor, OnEvent: rec.on, MinBackoff: 10 * time.Millisecond})
	_, offline := l.Enqueue(0, "written offline")
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.Run(rctx) }()
	defer func() { cancel(); <-done }()

	select {
	case r := <-offline:
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("offline message never acknowledged")
	}
	rec.waitFor(t, "replay", func(evs []any) bool { return hasEvent(evs, func(*protocol.Synced) bool { return true }) })
	got := rec.messages()
	var replayed []int64
	for _, m := range got {
		if m.ID <= m1.ID {
			t.Fatalf("message %d replayed although the cursor was past it", m.ID)
		}
		if m.SenderRole == protocol.RoleCounselor {
			replayed = append(replayed, m.ID)
		}
	}
	if fmt.Sprint(replayed) != fmt.Sprint(replies) {
		t.Fatalf("replayed %v, want %v in order", replayed, replies)
	}
	page, _ := co.History(ctx, conv, 0, 100)
	if n := len(page.Messages); n != 7 {
		t.Fatalf("stored %d messages, want 7", n)
	}
}

// A connection that stops reading is closed when its queue fills; the
// others, and the sender, carry on.
func TestStalledReader(t *testing.T) {
	// A staff connection queues staffQueueFactor times this: 8 frames.
	ts := newTestServer(t, func(c *Config) { c.SendQueue = 1; c.WriteTimeout = time.Second })
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	// Admins: staff who read every message of the organisation.
	fast := ts.newAdmin(t, o, "fast")
	slow := ts.newAdmin(t, o, "slow")

	stalled := stalledWS(t, ts.URL, slow.Token)
	wsWrite(t, stalled, `{"type":"hello","v":1,"cursor":0}`)
	wsReadType(t, stalled, "synced")
	// From here on the stalled connection reads nothing.

	fastLive := goLive(t, fast, 0)
	clLive := goLive(t, cl, 0)
	const n = 200
	body := strings.Repeat("長い文章です。", 1400) // ~30 KB per frame
	for i := 0; i < n; i++ {
		if _, err := clLive.live.Send(context.Background(), 0, fmt.Sprintf("%d %s", i, body)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	fastLive.rec.waitFor(t, "all messages at the fast reader", func(evs []any) bool {
		return countMessages(evs, func(protocol.Message) bool { return true }) == n
	})
	// Now read what the stalled connection was sent: a gap-free prefix,
	// then the end. The close frame itself reaches it only if its socket
	// had room (4008); otherwise the server drops it after the write
	// timeout and the read sees the connection gone.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var lastSeq float64
	for {
		_, data, err := stalled.Read(ctx)
		if err != nil {
			if code := websocket.CloseStatus(err); code != protocol.CloseTooSlow && code != -1 {
				t.Fatalf("stalled reader closed with %d", code)
			}
			if ctx.Err() != nil {
				t.Fatalf("stalled reader was never closed (last seq %v, err %v)\n%s", lastSeq, err, ts.logs.String())
			}
			break
		}
		var f struct {
			Type    string
			Message struct{ Seq float64 }
		}
		if json.Unmarshal(data, &f) == nil && f.Type == "message" {
			if f.Message.Seq != lastSeq+1 {
				t.Fatalf("gap before close: seq %v after %v", f.Message.Seq, lastSeq)
			}
			lastSeq = f.Message.Seq
		}
	}
	if lastSeq >= n {
		t.Fatalf("stalled reader got all %d messages: it was never behind", n)
	}
	if got := testutil.ToFloat64(ts.metrics.slowClosed); got < 1 {
		t.Fatalf("slow closes = %v", got)
	}
}

func TestTenantIsolation(t *testing.T) {
	ts := newTestServer(t, nil)
	a, b := ts.org(t, "A"), ts.org(t, "B")
	clA, _ := ts.newClient(t, a, "a1")
	clA2, _ := ts.newClient(t, a, "a2")
	coB := ts.newCounselor(t, b, "b-counselor")
	clB, _ := ts.newClient(t, b, "b1")
	bLive := goLive(t, b.admin, 0) // reads every message of B
	clBLive := goLive(t, clB, 0)
	a2Live := goLive(t, clA2, 0)

	aLive := goLive(t, clA, 0)
	secret, err := aLive.live.Send(context.Background(), 0, "SECRET-of-A")
	if err != nil {
		t.Fatal(err)
	}
	convA := secret.ConversationID
	// Something B may see, sent after A's message: once it arrives, A's
	// would have arrived too if it leaked.
	clBLive.live.Send(context.Background(), 0, "B's own")
	bLive.rec.waitFor(t, "B's own message", func(evs []any) bool {
		return countMessages(evs, func(m protocol.Message) bool { return m.Body == "B's own" }) == 1
	})
	for name, rec := range map[string]*recorder{"counselor of B": bLive.rec, "client of B": clBLive.rec, "other client of A": a2Live.rec} {
		if n := countMessages(rec.snapshot(), func(m protocol.Message) bool { return m.ConversationID == convA }); n != 0 {
			t.Errorf("%s received %d of A's messages", name, n)
		}
	}

	tests := []struct {
		name string
		c    *client.Client
	}{{"counselor of B", coB}, {"admin of B", b.admin}, {"other client of A", clA2}, {"client of B", clB}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.c.History(context.Background(), convA, 0, 10); !client.IsCode(err, protocol.CodeNotFound) {
				t.Fatalf("history of A's conversation: %v", err)
			}
			convs, _ := tt.c.Conversations(context.Background())
			for _, c := range convs {
				if c.ID == convA {
					t.Fatal("A's conversation listed")
				}
			}
		})
	}
	// Staff of B cannot write into A's conversation, nor delete A's client.
	if _, err := bLive.live.Send(context.Background(), convA, "intrusion"); !client.IsCode(err, protocol.CodeNotFound) {
		t.Fatalf("cross-org send: %v", err)
	}
	clients, _ := a.admin.Clients(context.Background())
	if err := b.admin.DeleteClient(context.Background(), clients[0].ID); !client.IsCode(err, protocol.CodeNotFound) {
		t.Fatalf("cross-org delete: %v", err)
	}
}

func dbFilesContain(t *testing.T, dir, marker string) []string {
	t.Helper()
	var hits []string
	for _, n := range []string{sqlite.FileName, sqlite.FileName + "-wal", sqlite.FileName + "-shm"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(marker)) {
			hits = append(hits, n)
		}
	}
	return hits
}

func TestRetentionDeletesEverywhere(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	co := ts.newAdmin(t, o, "co")
	coLive := goLive(t, co, 0)
	clLive := goLive(t, cl, 0)
	ctx := context.Background()
	var markers []string
	for i := 0; i < 5; i++ {
		mk := fmt.Sprintf("RETENTION-MARKER-%d-e1f9", i)
		markers = append(markers, mk)
		if _, err := clLive.live.Send(ctx, 0, mk+" 消えるべき内容"); err != nil {
			t.Fatal(err)
		}
	}
	coLive.rec.waitFor(t, "messages", func(evs []any) bool { return countMessages(evs, func(protocol.Message) bool { return true }) >= 5 })
	// Bodies are sealed (server/internal/sealkeys): never in the files, not even before
	// the sweep; sqlite's tests check that the sealed bytes go too.
	if hits := dbFilesContain(t, ts.dir, markers[0]); len(hits) > 0 {
		t.Fatalf("body stored in the clear in %v", hits)
	}
	ts.clock.Add(7*24*time.Hour + time.Minute)
	ts.SweepOnce(ctx)
	for _, rec := range []*recorder{coLive.rec, clLive.rec} {
		rec.waitFor(t, "deleted frame", func(evs []any) bool {
			return hasEvent(evs, func(f *protocol.DeletedFrame) bool { return f.ThroughSeq == 5 && f.Count == 5 })
		})
	}
	for _, mk := range markers {
		if hits := dbFilesContain(t, ts.dir, mk); len(hits) > 0 {
			t.Errorf("%s still in %v", mk, hits)
		}
	}
	for _, mk := range markers {
		if strings.Contains(ts.logs.String(), mk) {
			t.Errorf("message text %s appeared in the server log", mk)
		}
	}
}

func TestDeleteClientEndsEverything(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, cred := ts.newClient(t, o, "c")
	co := ts.newCounselor(t, o, "co")
	coLive := goLive(t, co, 0)
	clLive := goLive(t, cl, 0)
	m, err := clLive.live.Send(context.Background(), 0, "DELETE-CLIENT-MARKER-77")
	if err != nil {
		t.Fatal(err)
	}
	if err := o.admin.DeleteClient(context.Background(), cred.Account.ID); err != nil {
		t.Fatal(err)
	}
	if err := clLive.ended(t); !errors.Is(err, client.ErrRevoked) {
		t.Fatalf("client's live connection ended with %v, want ErrRevoked", err)
	}
	if !hasEvent(clLive.rec.snapshot(), func(f *protocol.RevokedFrame) bool { return f.Reason == "deleted" }) {
		t.Fatal("client was not told why")
	}
	coLive.rec.waitFor(t, "conversation_deleted", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationDeletedFrame) bool { return f.ConversationID == m.ConversationID })
	})
	if hits := dbFilesContain(t, ts.dir, "DELETE-CLIENT-MARKER-77"); len(hits) > 0 {
		t.Fatalf("deleted client's words remain in %v", hits)
	}
	if _, _, err := client.Login(context.Background(), ts.URL, cred.LoginID, cred.Password, ""); !client.IsCode(err, protocol.CodeBadCredentials) {
		t.Fatalf("deleted client can log in: %v", err)
	}
}

func TestForcedLogout(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, cred := ts.newClient(t, o, "c")
	live := goLive(t, cl, 0)
	if err := o.admin.ForceLogout(context.Background(), cred.Account.ID); err != nil {
		t.Fatal(err)
	}
	if err := live.ended(t); !errors.Is(err, client.ErrRevoked) {
		t.Fatalf("ended with %v", err)
	}
	if _, err := cl.Me(context.Background()); !client.IsCode(err, protocol.CodeUnauthorized) {
		t.Fatalf("token still valid: %v", err)
	}
}

func TestClosedHours(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	co := ts.newCounselor(t, o, "co")
	coLive := goLive(t, co, 0)
	clLive := goLive(t, cl, 0)
	ctx := context.Background()

	on := true
	org, err := o.admin.UpdateSettings(ctx, protocol.SettingsPatch{Pause: &hours.Pause{On: on}})
	if err != nil || org.Availability.State != hours.StatePaused {
		t.Fatalf("pause: %+v %v", org, err)
	}
	for _, rec := range []*recorder{coLive.rec, clLive.rec} {
		rec.waitFor(t, "settings frame", func(evs []any) bool {
			return hasEvent(evs, func(f *protocol.SettingsFrame) bool { return f.Org.Availability.State == hours.StatePaused })
		})
	}
	if _, err := clLive.live.Send(ctx, 0, "誰かいますか"); err != nil {
		t.Fatal(err)
	}
	clLive.rec.waitFor(t, "closed notice", func(evs []any) bool {
		return countMessages(evs, func(m protocol.Message) bool { return m.Kind == protocol.KindClosedNotice }) == 1
	})

	block := protocol.ClosedBlock
	if _, err := o.admin.UpdateSettings(ctx, protocol.SettingsPatch{ClosedBehavior: &block}); err != nil {
		t.Fatal(err)
	}
	_, err = clLive.live.Send(ctx, 0, "送れますか")
	if !client.IsCode(err, protocol.CodeClosed) {
		t.Fatalf("blocked send: %v", err)
	}
	// The counselor can still answer.
	if _, err := coLive.live.Send(ctx, convOf(t, co), "明日お返事します"); err != nil {
		t.Fatal(err)
	}
}

func TestAvailabilityPushedWhenHoursEnd(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	// Open 09:00–12:30 on Mondays; the clock says 12:00.
	sched := hours.Schedule{TimeZone: "Asia/Tokyo", Spans: []hours.Span{{Day: time.Monday, Start: 9 * 60, End: 12*60 + 30}}}
	if _, err := o.admin.UpdateSettings(context.Background(), protocol.SettingsPatch{Hours: &sched}); err != nil {
		t.Fatal(err)
	}
	live := goLive(t, cl, 0)
	ts.SweepOnce(context.Background()) // records the current state
	ts.clock.Add(31 * time.Minute)
	ts.SweepOnce(context.Background())
	live.rec.waitFor(t, "closed availability", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.SettingsFrame) bool {
			return f.Org.Availability.State == hours.StateClosed && f.Org.Availability.ReopensAt != nil
		})
	})
}

func TestBadFrames(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	bystander := goLive(t, cl, 0)

	t.Run("first frame not hello", func(t *testing.T) {
		ws := rawWS(t, ts.URL, cl.Token)
		wsWrite(t, ws, `{"type":"send","ref":"a","body":"x"}`)
		e := wsReadType(t, ws, "error")
		if e["error"].(map[string]any)["code"] != "bad_frame" {
			t.Fatalf("error = %v", e)
		}
		if code := wsCloseCode(t, ws); code != protocol.CloseBadHello {
			t.Fatalf("close = %d", code)
		}
	})
	t.Run("unsupported version", func(t *testing.T) {
		ws := rawWS(t, ts.URL, cl.Token)
		wsWrite(t, ws, `{"type":"hello","v":99}`)
		e := wsReadType(t, ws, "error")
		if e["error"].(map[string]any)["code"] != "unsupported_version" {
			t.Fatalf("error = %v", e)
		}
	})

	ws := rawWS(t, ts.URL, cl.Token)
	wsWrite(t, ws, `{"type":"hello","v":1}`)
	wsReadType(t, ws, "synced")
	frames := []struct {
		name, frame string
		code        protocol.Code
	}{
		{"malformed json", `{"type":`, protocol.CodeBadFrame},
		{"unknown type", `{"type":"shout"}`, protocol.CodeUnknownType},
		{"invalid utf8", "{\"type\":\"send\",\"ref\":\"r\",\"body\":\"\xc3\x28\"}", protocol.CodeBadFrame},
		{"empty body", `{"type":"send","ref":"r","body":"   "}`, protocol.CodeInvalidBody},
		{"wrong field type", `{"type":"send","ref":"r","body":["x"]}`, protocol.CodeBadFrame},
		{"second hello", `{"type":"hello","v":1}`, protocol.CodeBadFrame},
	}
	for _, f := range frames {
		t.Run(f.name, func(t *testing.T) {
			wsWrite(t, ws, f.frame)
			e := wsReadType(t, ws, "error")
			if got := e["error"].(map[string]any)["code"]; got != string(f.code) {
				t.Fatalf("code = %v, want %s", got, f.code)
			}
		})
	}
	t.Run("still serving after errors", func(t *testing.T) {
		wsWrite(t, ws, `{"type":"send","ref":"ok-1","body":"まだ大丈夫"}`)
		wsReadType(t, ws, "ack")
	})
	t.Run("oversized frame closes with 1009", func(t *testing.T) {
		big := rawWS(t, ts.URL, cl.Token)
		wsWrite(t, big, `{"type":"hello","v":1}`)
		wsReadType(t, big, "synced")
		wsWrite(t, big, `{"type":"send","ref":"r","body":"`+strings.Repeat("x", protocol.MaxFrameBytes+1)+`"}`)
		if code := wsCloseCode(t, big); code != websocket.StatusMessageTooBig {
			t.Fatalf("close = %d", code)
		}
	})
	t.Run("binary frame closes with 1003", func(t *testing.T) {
		bin := rawWS(t, ts.URL, cl.Token)
		wsWrite(t, bin, `{"type":"hello","v":1}`)
		wsReadType(t, bin, "synced")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := bin.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
			t.Fatal(err)
		}
		if code := wsCloseCode(t, bin); code != websocket.StatusUnsupportedData {
			t.Fatalf("close = %d", code)
		}
	})
	// The bystander's connection was never disturbed.
	if _, err := bystander.live.Send(context.Background(), 0, "平気です"); err != nil {
		t.Fatalf("bystander: %v", err)
	}
}

func TestLiveRequiresSession(t *testing.T) {
	ts := newTestServer(t, nil)
	code, body := apiDo(t, "GET", ts.URL+"/api/v1/live", "not-a-token", "")
	if code != 401 || !strings.Contains(body, "unauthorized") {
		t.Fatalf("live without session: %d %s", code, body)
	}
}

func TestConcurrentSendersKeepOrder(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	co := ts.newAdmin(t, o, "co")
	coLive := goLive(t, co, 0)
	const clients, each = 10, 20
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		cl, _ := ts.newClient(t, o, fmt.Sprintf("c%d", i))
		l := goLive(t, cl, 0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				if _, err := l.live.Send(context.Background(), 0, fmt.Sprint(j)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	coLive.rec.waitFor(t, "all messages", func(evs []any) bool {
		return countMessages(evs, func(protocol.Message) bool { return true }) == clients*each
	})
	last := map[int64]int64{}
	var lastID int64
	for _, m := range coLive.rec.messages() {
		if m.ID <= lastID {
			t.Fatalf("message IDs out of order: %d after %d", m.ID, lastID)
		}
		if m.Seq != last[m.ConversationID]+1 {
			t.Fatalf("conversation %d: seq %d after %d", m.ConversationID, m.Seq, last[m.ConversationID])
		}
		lastID, last[m.ConversationID] = m.ID, m.Seq
	}
}

func TestLiveOriginAndHelloTimeout(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.HelloTimeout = 200 * time.Millisecond })
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/api/v1/live"
	dial := func(origin string) (*websocket.Conn, *http.Response, error) {
		h := http.Header{}
		h.Set("Authorization", "Bearer "+cl.Token)
		if origin != "" {
			h.Set("Origin", origin)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
	}
	// A page on another site cannot open a live connection with the
	// visitor's cookie or token.
	if c, resp, err := dial("https://evil.example"); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		if c != nil {
			c.CloseNow()
		}
		t.Fatalf("cross-origin handshake: %v %v", resp, err)
	}
	c, _, err := dial(ts.URL) // same origin
	if err != nil {
		t.Fatalf("same-origin handshake: %v", err)
	}
	defer c.CloseNow()
	// Saying nothing: closed with 4000 after the hello timeout.
	if code := wsCloseCode(t, c); code != protocol.CloseBadHello {
		t.Fatalf("silent connection closed with %d, want %d", code, protocol.CloseBadHello)
	}
}

// Logs never carry what clients wrote or who they are: run a whole
// conversation at debug level and scan every log line.
func TestLogsHoldNoClientText(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	ctx := context.Background()
	cred, err := o.admin.CreateClient(ctx, protocol.CreateClientRequest{Nickname: "NICK-ゆうき-5d1", Note: "NOTE-家族のこと-7a2"})
	if err != nil {
		t.Fatal(err)
	}
	cl := ts.login(t, cred.LoginID, cred.Password)
	co := ts.newCounselor(t, o, "COUNSELOR-佐々木-c3")
	clLive, coLive := goLive(t, cl, 0), goLive(t, co, 0)
	m, err := clLive.live.Send(ctx, 0, "TEXT-死にたいと思うことがある-91f")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := coLive.live.Send(ctx, m.ConversationID, "REPLY-話してくれてありがとう-e40"); err != nil {
		t.Fatal(err)
	}
	// Issue 14: a counselor's note, a template, a promised date.
	if _, err := co.SetClientNote(ctx, cred.Account.ID, protocol.NoteRequest{Note: "NOTE-夜に不安が強い-b81"}); err != nil {
		t.Fatal(err)
	}
	if _, err := co.CreateTemplate(ctx, protocol.TemplateRequest{Scope: protocol.ScopePersonal, Title: "TEXT-題-2c", Body: "TEXT-{nickname}さん-3d"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.Login(ctx, ts.URL, cred.LoginID, "wrong-PASSWORD-x", ""); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := o.admin.DeleteClient(ctx, cred.Account.ID); err != nil {
		t.Fatal(err)
	}
	logs := ts.logs.String()
	if !strings.Contains(logs, "client created") {
		t.Fatal("nothing logged: the scan could not fail")
	}
	// The metrics and the audit log are read by more people than the
	// conversation: they get none of it either.
	metrics := metricsText(t, ts)
	if !strings.Contains(metrics, "taiwa_") {
		t.Fatal("no metrics: the scan could not fail")
	}
	audit, err := o.admin.AuditLog(ctx, 0, 100)
	if err != nil || len(audit.Entries) < 3 {
		t.Fatalf("audit log: %d entries, %v", len(audit.Entries), err)
	}
	auditJSON, _ := json.Marshal(audit)
	for where, text := range map[string]string{"log": logs, "metrics": metrics, "audit log": string(auditJSON)} {
		for _, secret := range []string{"NICK-", "NOTE-", "TEXT-", "REPLY-", "PASSWORD", cred.Password, cred.LoginID, cl.Token} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contains %q", where, secret)
			}
		}
	}
	if strings.Contains(logs, "COUNSELOR-") || strings.Contains(metrics, "COUNSELOR-") {
		t.Error("a staff name in the log or metrics") // the audit log names staff on purpose
	}
}
