package server

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// Counselors see client data only around business hours: the server
// refuses it over HTTP and the live connection, and disconnects a
// counselor when the window closes. Admins and clients are not limited.
func TestCounselorAccessHours(t *testing.T) {
	ts := newTestServer(t, nil) // Monday 12:00 in Tokyo
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	co := ts.newCounselor(t, o, "co")
	ctx := context.Background()
	var spans []hours.Span
	for d := time.Monday; d <= time.Friday; d++ {
		spans = append(spans, hours.Span{Day: d, Start: 9 * 60, End: 17 * 60})
	}
	on, margin := true, 30
	if _, err := o.admin.UpdateSettings(ctx, protocol.SettingsPatch{
		Hours:              &hours.Schedule{TimeZone: "Asia/Tokyo", Spans: spans},
		CounselorHoursOnly: &on, CounselorMarginMinutes: &margin,
	}); err != nil {
		t.Fatal(err)
	}
	coLive := goLive(t, co, 0)
	if _, err := co.Conversations(ctx); err != nil {
		t.Fatalf("inside the window: %v", err)
	}

	// 17:20 is within the margin; 17:31 is not.
	ts.clock.Add(5*time.Hour + 20*time.Minute)
	ts.SweepOnce(ctx)
	if _, err := co.Conversations(ctx); err != nil {
		t.Fatalf("within the margin: %v", err)
	}
	ts.clock.Add(11 * time.Minute)
	ts.SweepOnce(ctx)

	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	opens := time.Date(2026, 11, 24, 8, 30, 0, 0, tokyo) // Tuesday 09:00 less the margin
	var outside *client.OutsideHoursError
	if err := firstError(t, coLive.rec); !errors.As(err, &outside) || !outside.Opens.Equal(opens) {
		t.Fatalf("live connection ended with %v, want outside hours until %v", err, opens)
	}
	conv := convOf(t, o.admin)
	for name, call := range map[string]func() error{
		"conversations": func() error { _, err := co.Conversations(ctx); return err },
		"history":       func() error { _, err := co.History(ctx, conv, 0, 10); return err },
		"clients":       func() error { _, err := co.Clients(ctx); return err },
		"assign":        func() error { _, err := co.Assign(ctx, conv, nil); return err },
	} {
		err := call()
		pe := protocol.AsError(err)
		if pe.Code != protocol.CodeOutsideHours || pe.ReopensAt == nil || !pe.ReopensAt.Equal(opens) {
			t.Errorf("%s outside hours: %v", name, err)
		}
	}
	if code, _ := apiDo(t, "GET", ts.URL+"/api/v1/conversations", co.Token, ""); code != http.StatusForbidden {
		t.Errorf("status %d, want 403", code)
	}
	// Reconnecting does not help; what needs no client data still works.
	rec := newRecorder()
	again := co.Live(client.LiveOptions{OnEvent: rec.on})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go again.Run(runCtx)
	if err := firstError(t, rec); !errors.As(err, &outside) {
		t.Fatalf("reconnect outside hours: %v", err)
	}
	if _, err := co.Me(ctx); err != nil {
		t.Fatalf("me: %v", err)
	}
	if _, err := co.Org(ctx); err != nil {
		t.Fatalf("org (the lock screen's opening time): %v", err)
	}
	// Admins and clients are not limited.
	if _, err := o.admin.Conversations(ctx); err != nil {
		t.Fatalf("admin outside hours: %v", err)
	}
	goLive(t, o.admin, 0)
	if _, err := goLive(t, cl, 0).live.Send(ctx, 0, "夜に書きます"); err != nil {
		t.Fatalf("client outside hours: %v", err)
	}
}

// firstError waits for the first disconnection a live connection reports.
func firstError(t *testing.T, rec *recorder) error {
	t.Helper()
	var err error
	rec.waitFor(t, "a disconnection", func(evs []any) bool {
		return hasEvent(evs, func(e client.StateEvent) bool {
			err = e.Err
			return !e.Connected && e.Err != nil
		})
	})
	return err
}

// A desktop (staff) session nobody uses ends; using it keeps it alive;
// clients' sessions have no idle limit.
func TestStaffIdleExpiry(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.StaffIdle = 2 * time.Hour })
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	co := ts.newCounselor(t, o, "co")
	ctx := context.Background()
	coMe, err := co.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	coLive := goLive(t, co, 0)
	m, err := goLive(t, cl, 0).live.Send(ctx, 0, "hello")
	if err != nil {
		t.Fatal(err)
	}

	ts.clock.Add(90 * time.Minute)
	if _, err := coLive.live.Send(ctx, m.ConversationID, "a reply is use"); err != nil {
		t.Fatal(err)
	}
	ts.clock.Add(90 * time.Minute) // 3 h since sign-in, 1.5 h since use
	ts.SweepOnce(ctx)
	select { // (a request would count as use: watch the connection instead)
	case <-coLive.done:
		t.Fatalf("a used session ended: %v", coLive.err)
	case <-time.After(200 * time.Millisecond):
	}
	// ...nor is listed as ended beside itself, nor is the client's (SQLite
	// bound the idle rule's numbered parameters to the ended-session
	// record's own two: every staff session, and clients' older than the
	// staff limit, were recorded as signed out (idle) at each sweep while
	// they lived; seen in the admin guide's picture of devices).
	admin := store.Principal{AccountID: -1, OrgID: o.id, Role: protocol.RoleAdmin}
	clMe, err := cl.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{coMe.ID, clMe.ID} {
		if ds, err := ts.store.Devices(ctx, admin, id); err != nil || len(ds) != 1 || !ds[0].Active {
			t.Fatalf("account %d's devices after a sweep: %+v %v", id, ds, err)
		}
	}
	ts.clock.Add(31 * time.Minute)
	ts.SweepOnce(ctx)
	if err := coLive.ended(t); !errors.Is(err, client.ErrRevoked) {
		t.Fatalf("idle desktop session: %v", err)
	}
	if _, err := co.Me(ctx); !client.IsCode(err, protocol.CodeUnauthorized) {
		t.Fatalf("idle session still valid: %v", err)
	}
	// (The admin's own session idled out too: ask the store.)
	ds, err := ts.store.Devices(ctx, store.Principal{AccountID: -1, OrgID: o.id, Role: protocol.RoleAdmin}, coMe.ID)
	if err != nil || len(ds) == 0 || ds[0].EndReason != "idle" {
		t.Fatalf("devices %+v %v", ds, err)
	}
	if _, err := cl.Me(ctx); err != nil {
		t.Fatalf("client session ended by idleness: %v", err)
	}
}
