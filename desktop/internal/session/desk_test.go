package session

import (
	"context"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/desktop/internal/dataset"
	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/keychain"
	"github.com/taiwa-chat/taiwa/server/servertest"
)

// A desk with many conversations and a long one, end to end: signed in
// without a cache everything arrives; restarted from the cache, the long
// conversation opens with its newest page and pages older ones from disk
// as the counselor scrolls up.
func TestRealisticDesk(t *testing.T) {
	srv := servertest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cred := srv.Counselor(t, "田中")
	counselor, _, err := client.Login(ctx, srv.URL, cred.LoginID, cred.Password, "dataset")
	if err != nil {
		t.Fatal(err)
	}
	spec := dataset.Spec{Clients: 30, Messages: 15, Long: 400, Workers: 4, Staff: []*client.Client{counselor}, Pool: 4}
	desk, err := dataset.Build(ctx, srv.URL, srv.Admin, spec)
	if err != nil {
		t.Fatal(err)
	}
	pooled := spec.Pool + spec.Pool/2 // one or two messages each
	if want := spec.Clients*spec.Messages + spec.Long + pooled; desk.Sent != want {
		t.Fatalf("sent %d messages, want %d", desk.Sent, want)
	}
	opts := Options{Keys: &keychain.Memory{}, DataDir: t.TempDir()}
	ctrl, h, a := signedInAs(t, srv, cred, opts)
	var long int64
	h.waitFor(t, "every conversation of the counselor's and message, and the pool", func() bool {
		n := 0
		for _, c := range ctrl.in.List(inbox.ViewMine, inbox.FilterAll, "") {
			n += len(c.Messages)
			if c.Nickname == dataset.LongNickname {
				long = c.ID
			}
		}
		pool, _ := ctrl.in.Count(inbox.ViewPool)
		return ctrl.in.Len() == spec.Clients+1+spec.Pool && pool == spec.Pool && n == desk.Sent-pooled
	})
	h.do(func() {
		for _, c := range ctrl.in.List(inbox.ViewPool, inbox.FilterAll, "") {
			if len(c.Messages) != 0 {
				t.Fatalf("the pool's words reached the counselor: %+v", c.Messages)
			}
		}
	})
	h.do(ctrl.Close)

	h2 := &harness{}
	opts.Do, opts.DoWait = h2.do, h2.do
	w := a.NewWindow("again")
	ctrl2 := New(a, w, opts)
	h2.do(ctrl2.Start)
	defer h2.do(ctrl2.Close)
	h2.do(func() {
		c := ctrl2.in.Conv(long)
		if c == nil || len(c.Messages) == 0 || len(c.Messages) >= spec.Long {
			t.Fatalf("started with %d messages of the long conversation: all or none read at start", len(c.Messages))
		}
		if ctrl2.in.Focused() == nil {
			t.Fatal("nothing in front after a restart")
		}
	})
	// Opening it and scrolling to the top pages older messages in.
	h2.do(func() {
		ctrl2.in.Focus(long)
		ctrl2.main.Apply(inbox.Effect{FocusChanged: true})
	})
	// Each scroll to the top asks for the page before the oldest held.
	for i := 0; ; i++ {
		var before int64
		h2.do(func() {
			if c := ctrl2.in.Conv(long); c.HasOlder() {
				before = c.Oldest()
			}
		})
		if before == 0 {
			break
		}
		if i > spec.Long/olderPage+1 {
			t.Fatal("paging does not end")
		}
		ctrl2.older(ctrl2.sess, long, before)
	}
	h2.do(func() {
		c := ctrl2.in.Conv(long)
		if len(c.Messages) != spec.Long || c.Messages[0].Seq != 1 {
			t.Fatalf("%d messages after paging, first seq %d", len(c.Messages), c.Messages[0].Seq)
		}
	})
}
