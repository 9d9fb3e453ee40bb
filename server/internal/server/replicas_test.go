package server

import (
	"context"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/sealkeys"
	"github.com/taiwa-chat/taiwa/server/internal/store"
	"github.com/taiwa-chat/taiwa/server/internal/store/postgres/pgtest"
)

// The PostgreSQL tests share one throwaway cluster, started on first use.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// replicaPair runs two servers on one PostgreSQL database, as two
// replicas behind a proxy would: same master key, same key directory.
func replicaPair(t *testing.T) (a, b *testServer) {
	t.Helper()
	dsn, master, kek := pgtest.DB(t), sealkeys.NewMasterKey(), t.TempDir()
	pg := func(c *Config) { c.DB, c.MasterKey, c.KEKDir = dsn, master, kek }
	return newTestServer(t, pg), newTestServer(t, pg)
}

// A client on replica B and a counselor on replica A talk as on one
// server (the counselor takes the conversation from the pool first); an admin's forced logout on A closes the client's socket on B
// within a second.
func TestReplicasServeOneConversation(t *testing.T) {
	a, b := replicaPair(t)
	o := a.org(t, "org")
	_, cred := a.newClient(t, o, "c")
	cl := b.login(t, cred.LoginID, cred.Password)
	co := a.newCounselor(t, o, "co")
	coLive := goLive(t, co, 0)
	clLive := goLive(t, cl, 0)
	ctx := context.Background()

	m, err := clLive.live.Send(ctx, 0, "レプリカを越えて")
	if err != nil {
		t.Fatal(err)
	}
	// The counselor on A sees it wait in the pool, takes it (担当する),
	// and reads it.
	coLive.rec.waitFor(t, "the conversation in the pool on replica A", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationFrame) bool {
			return f.Conversation.ID == m.ConversationID && f.Conversation.InPool()
		})
	})
	if _, err := co.Claim(ctx, m.ConversationID); err != nil {
		t.Fatal(err)
	}
	page, err := co.History(ctx, m.ConversationID, 0, 10)
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Body != "レプリカを越えて" {
		t.Fatalf("the counselor reads: %+v %v", page, err)
	}
	if _, err := coLive.live.Send(ctx, m.ConversationID, "返事"); err != nil {
		t.Fatal(err)
	}
	clLive.rec.waitFor(t, "the reply on replica B", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.MessageFrame) bool { return f.Message.Body == "返事" })
	})

	// Typing on B reaches the counselor on A once (a hint, not stored).
	if err := clLive.live.Typing(ctx, 0); err != nil {
		t.Fatal(err)
	}
	coLive.rec.waitFor(t, "the typing hint on replica A", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.TypingFrame) bool { return f.ConversationID == m.ConversationID })
	})

	start := time.Now()
	if err := o.admin.ForceLogout(ctx, cred.Account.ID); err != nil {
		t.Fatal(err)
	}
	if err := clLive.ended(t); !errors.Is(err, client.ErrRevoked) {
		t.Fatalf("the client's socket on B ended with %v, want ErrRevoked", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the socket on B closed %v after the forced logout on A (want ≤ 1 s)", d)
	} else {
		t.Logf("forced logout on A closed the socket on B in %v", d)
	}
}

// Guesses spread over replicas count as one: the failure limits hold
// whichever replica each guess reaches, and lock on all of them.
func TestLoginLimitsHoldAcrossReplicas(t *testing.T) {
	dsn, master, kek := pgtest.DB(t), sealkeys.NewMasterKey(), t.TempDir()
	pg := func(c *Config) { c.DB, c.MasterKey, c.KEKDir, c.MaxFailures, c.IDFailures = dsn, master, kek, 3, 100 }
	a, b := newTestServer(t, pg), newTestServer(t, pg)
	o := a.org(t, "org")
	_, cred := a.newClient(t, o, "c")
	ctx := context.Background()
	for i, ts := range []*testServer{a, b, a} {
		if _, _, err := client.Login(ctx, ts.URL, cred.LoginID, "wrong-password", ""); !client.IsCode(err, protocol.CodeBadCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	for name, ts := range map[string]*testServer{"A": a, "B": b} {
		if _, _, err := client.Login(ctx, ts.URL, cred.LoginID, cred.Password, ""); !client.IsCode(err, protocol.CodeLocked) {
			t.Fatalf("after three failures on two replicas, replica %s let the right password in: %v", name, err)
		}
	}
}

// A reply is pushed once, by the replica that committed it, and only
// when the client is connected to no replica at all.
func TestPushOnceAcrossReplicas(t *testing.T) {
	dsn, master, kek := pgtest.DB(t), sealkeys.NewMasterKey(), t.TempDir()
	senders := []*recordingSender{{wake: make(chan struct{}, 16)}, {wake: make(chan struct{}, 16)}}
	a := newTestServer(t, func(c *Config) { c.DB, c.MasterKey, c.KEKDir, c.Push = dsn, master, kek, senders[0] })
	b := newTestServer(t, func(c *Config) { c.DB, c.MasterKey, c.KEKDir, c.Push = dsn, master, kek, senders[1] })
	o := a.org(t, "org")
	_, cred := a.newClient(t, o, "c")
	cl := b.login(t, cred.LoginID, cred.Password)
	if code, body := apiDo(t, "PUT", b.URL+"/api/v1/push", cl.Token, `{"token":"phone-token-1"}`); code != http.StatusNoContent {
		t.Fatalf("register token: %d %s", code, body)
	}
	co := a.newCounselor(t, o, "co")
	coLive := goLive(t, co, 0)
	clLive := goLive(t, cl, 0) // on B
	ctx := context.Background()
	m, err := clLive.live.Send(ctx, 0, "hello")
	if err != nil {
		t.Fatal(err)
	}
	online := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			on, err := a.store.(store.Presence).Online(ctx, cred.Account.ID)
			if err == nil && on == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("presence never became %v (%v)", want, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	online(true)
	// Connected on B: a reply committed on A pushes nothing, anywhere.
	if _, err := coLive.live.Send(ctx, m.ConversationID, "reply while connected to B"); err != nil {
		t.Fatal(err)
	}
	clLive.rec.waitFor(t, "the reply on B", func(evs []any) bool {
		return countMessages(evs, func(x protocol.Message) bool { return x.Body == "reply while connected to B" }) == 1
	})
	clLive.stop()
	clLive.ended(t)
	online(false)
	if _, err := coLive.live.Send(ctx, m.ConversationID, "reply while away"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-senders[0].wake:
	case <-time.After(10 * time.Second):
		t.Fatal("no push for a reply while the client was away")
	}
	time.Sleep(300 * time.Millisecond) // a second push, if any, would arrive by now
	for i, s := range senders {
		s.mu.Lock()
		n := len(s.sent)
		s.mu.Unlock()
		if want := []int{1, 0}[i]; n != want {
			t.Errorf("replica %d pushed %d times, want %d", i, n, want)
		}
	}
}
