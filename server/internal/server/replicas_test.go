package server

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/sealkeys"
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
// server; an admin's forced logout on A closes the client's socket on B
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
	coLive.rec.waitFor(t, "the message on replica A", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.MessageFrame) bool {
			return f.Message.ID == m.ID && f.Message.Body == "レプリカを越えて"
		})
	})
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
