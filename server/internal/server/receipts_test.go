package server

import (
	"context"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// Apps confirm deletions; admins see per device when the last arrived,
// including for a device that was signed out by force and wiped itself.
func TestDeletionReceipts(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, cred := ts.newClient(t, o, "c")
	ctx := context.Background()
	clLive := goLive(t, cl, 0)
	if _, err := clLive.live.Send(ctx, 0, "消える言葉"); err != nil {
		t.Fatal(err)
	}
	devices := func() []protocol.Device {
		t.Helper()
		ds, err := o.admin.Devices(ctx, cred.Account.ID)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	if ds := devices(); len(ds) != 1 || !ds[0].Active || ds[0].WipedAt != nil || ds[0].Device != "test" {
		t.Fatalf("before any deletion: %+v", ds)
	}

	// Retention deletes the message; the app applies it and confirms.
	ts.clock.Add(7*24*time.Hour + time.Minute)
	ts.SweepOnce(ctx)
	var deleted *protocol.DeletedFrame
	clLive.rec.waitFor(t, "deleted frame", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.DeletedFrame) bool { deleted = f; return true })
	})
	if deleted.At.IsZero() {
		t.Fatal("deleted frame without its time")
	}
	if err := clLive.live.Wiped(ctx, deleted.At); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the receipt recorded", func() bool {
		ds := devices()
		return len(ds) == 1 && ds[0].WipedAt != nil && ds[0].WipedAt.Equal(deleted.At)
	})
	// A receipt from the future is held to now.
	if err := clLive.live.Wiped(ctx, ts.clock.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the receipt clamped", func() bool {
		ds := devices()
		return ds[0].WipedAt != nil && !ds[0].WipedAt.After(ts.clock.Now())
	})

	// A lost phone: the admin signs it out; it wipes and confirms with the
	// ended session's token, which can do nothing else.
	if err := cl.ConfirmWiped(ctx); !client.IsCode(err, protocol.CodeNotFound) {
		t.Fatalf("receipt for a live session: %v", err)
	}
	if err := o.admin.ForceLogout(ctx, cred.Account.ID); err != nil {
		t.Fatal(err)
	}
	clLive.ended(t)
	if ds := devices(); len(ds) != 1 || ds[0].Active || ds[0].EndReason != "forced" || ds[0].EndedAt == nil {
		t.Fatalf("after the forced logout: %+v", ds)
	}
	if err := cl.ConfirmWiped(ctx); err != nil {
		t.Fatalf("wipe confirmation: %v", err)
	}
	if ds := devices(); ds[0].WipedAt == nil || ds[0].WipedAt.Before(*ds[0].EndedAt) {
		t.Fatalf("wipe not recorded: %+v", ds)
	}
	if _, err := cl.Conversations(ctx); !client.IsCode(err, protocol.CodeUnauthorized) {
		t.Fatalf("the ended token still works: %v", err)
	}
	// A device that wipes itself and then signs out says so in one call.
	second := ts.login(t, cred.LoginID, cred.Password)
	if code, body := apiDo(t, "POST", ts.URL+"/api/v1/logout?wiped=1", second.Token, ""); code/100 != 2 {
		t.Fatalf("logout?wiped=1: %d %s", code, body)
	}
	ds := devices()
	if ds[0].EndReason != "logout" || ds[0].WipedAt == nil {
		t.Fatalf("after a wiped logout: %+v", ds[0])
	}
	// Other organisations' admins see nothing of it.
	other := ts.org(t, "other")
	if _, err := other.admin.Devices(ctx, cred.Account.ID); !client.IsCode(err, protocol.CodeNotFound) {
		t.Fatalf("another organisation's admin: %v", err)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
