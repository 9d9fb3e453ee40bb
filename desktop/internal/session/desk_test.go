package session

import (
	"context"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/desktop/internal/dataset"
	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/pkg/keychain"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/servertest"
)

// A desk with many conversations and a long one, end to end: signed in
// without a cache everything arrives; restarted from the cache, the long
// conversation opens with its newest page and pages older ones from disk
// as the counselor scrolls up.
func TestRealisticDesk(t *testing.T) {
	srv := servertest.New(t)
	spec := dataset.Spec{Clients: 30, Messages: 15, Long: 400, Workers: 4}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	desk, err := dataset.Build(ctx, srv.URL, srv.Admin, spec)
	if err != nil {
		t.Fatal(err)
	}
	if want := spec.Clients*spec.Messages + spec.Long; desk.Sent != want {
		t.Fatalf("sent %d messages, want %d", desk.Sent, want)
	}
	opts := Options{Keys: &keychain.Memory{}, DataDir: t.TempDir()}
	ctrl, h, a, _ := signedIn(t, srv, protocol.RoleCounselor, opts)
	var long int64
	h.waitFor(t, "every conversation and message", func() bool {
		n := 0
		for _, c := range ctrl.in.List(inbox.FilterAll, "") {
			n += len(c.Messages)
			if c.Nickname == dataset.LongNickname {
				long = c.ID
			}
		}
		return ctrl.in.Len() == spec.Clients+1 && n == desk.Sent
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
