package session

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/keychain"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/servertest"
)

// A conversation handed to a colleague leaves the counselor's app: its
// messages, draft and cache rows go, and the screen says so.
func TestHandedAwayIsWiped(t *testing.T) {
	srv := servertest.New(t)
	cl, _ := srv.Client(t, "さくら")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clLive := cl.Live(client.LiveOptions{})
	go clLive.Run(ctx)
	if _, err := clLive.Send(ctx, 0, "聞いてください"); err != nil {
		t.Fatal(err)
	}
	ctrl, h, _, _ := signedIn(t, srv, protocol.RoleCounselor, Options{Keys: &keychain.Memory{}, DataDir: t.TempDir()})
	conv := takeFromPool(t, ctrl, h)
	h.do(func() { ctrl.send(conv, "お話を聞かせてください") })
	h.waitFor(t, "the reply acknowledged", func() bool { return len(ctrl.in.Conv(conv).Messages) == 2 })
	h.do(func() {
		ctrl.in.SetDraft("次に聞きたいこと")
		ctrl.drafts.Set(conv, "次に聞きたいこと")
		ctrl.drafts.Flush()
	})
	if d, _ := ctrl.cache.Drafts(); d[conv] == "" {
		t.Fatal("the draft was not kept")
	}

	colleague := srv.Counselor(t, "佐藤")
	staff, _ := srv.Admin.Staff(ctx)
	var to int64
	for _, s := range staff {
		if s.LoginID == colleague.LoginID {
			to = s.ID
		}
	}
	if _, err := srv.Admin.Assign(ctx, conv, &to); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the conversation gone from the app", func() bool { return ctrl.in.Conv(conv) == nil })
	h.do(func() {
		if !strings.Contains(ctrl.main.BannerText(), "さくら") {
			t.Fatalf("the screen does not say it was handed on: %q", ctrl.main.BannerText())
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		msgs, _ := ctrl.cache.Messages(conv)
		convs, _ := ctrl.cache.Conversations()
		drafts, _ := ctrl.cache.Drafts()
		held := len(msgs) > 0 || drafts[conv] != ""
		for _, c := range convs {
			held = held || c.ID == conv
		}
		if !held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cache still holds it: %d messages, draft %q", len(msgs), drafts[conv])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A hands a conversation to B, app to app: A's app lets it go; B's app
// announces it, and B reads the history with A's notes.
func TestHandOverBetweenApps(t *testing.T) {
	srv := servertest.New(t)
	cl, _ := srv.Client(t, "さくら")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clLive := cl.Live(client.LiveOptions{})
	go clLive.Run(ctx)
	if _, err := clLive.Send(ctx, 0, "聞いてください"); err != nil {
		t.Fatal(err)
	}
	a, ha, _, _ := signedIn(t, srv, protocol.RoleCounselor, Options{})
	bCred, err := srv.Admin.CreateStaff(ctx, protocol.CreateStaffRequest{Nickname: "スタッフ", Role: protocol.RoleCounselor})
	if err != nil {
		t.Fatal(err)
	}
	b, hb, _ := signedInWith(t, srv, bCred, Options{}, ha) // one UI lock for both apps
	conv := takeFromPool(t, a, ha)
	ha.do(func() { a.note(conv, "NOTE 睡眠のこと") })
	ha.waitFor(t, "the note kept", func() bool { c := a.in.Conv(conv); return len(c.Pending) == 0 && len(c.Messages) == 2 })
	var bID int64
	staff, _ := srv.Admin.Staff(ctx)
	for _, s := range staff {
		if s.LoginID == bCred.LoginID {
			bID = s.ID
		}
	}
	ha.waitFor(t, "colleagues' names", func() bool { return a.main != nil })
	a.transfer(a.sess, conv, &bID, "HANDOVER 夜に書く方です")
	ha.waitFor(t, "gone from A", func() bool { return a.in.Conv(conv) == nil })
	hb.waitFor(t, "announced at B", func() bool {
		c := b.in.Conv(conv)
		return c != nil && b.in.Mine(c) && strings.Contains(b.main.BannerText(), "さくら")
	})
	hb.do(func() { b.main.Open(conv) })
	hb.waitFor(t, "B reads the history with both notes", func() bool {
		c := b.in.Conv(conv)
		notes := 0
		for _, m := range c.Messages {
			if m.Kind == protocol.KindNote {
				notes++
			}
		}
		return len(c.Messages) == 3 && notes == 2
	})
}

// 離席 from the app: the pool leaves the app, and comes back with 受付中.
func TestAwayTakesThePoolAway(t *testing.T) {
	srv := servertest.New(t)
	cl, _ := srv.Client(t, "さくら")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clLive := cl.Live(client.LiveOptions{})
	go clLive.Run(ctx)
	if _, err := clLive.Send(ctx, 0, "聞いてください"); err != nil {
		t.Fatal(err)
	}
	ctrl, h, _, _ := signedIn(t, srv, protocol.RoleCounselor, Options{})
	pool := func() int { n, _ := ctrl.in.Count(inbox.ViewPool); return n }
	h.waitFor(t, "the pool", func() bool { return pool() == 1 })
	ctrl.setPresence(ctrl.sess, protocol.PresenceAway)
	h.waitFor(t, "the pool gone while away", func() bool { return pool() == 0 && ctrl.in.Presence() == protocol.PresenceAway })
	ctrl.setPresence(ctrl.sess, protocol.PresenceAvailable)
	h.waitFor(t, "the pool back", func() bool { return pool() == 1 && ctrl.in.Presence() == protocol.PresenceAvailable })
}
