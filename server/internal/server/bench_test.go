package server

import (
	"context"
	"fmt"
	"testing"

	"github.com/coder/websocket"

	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/pkg/store"
)

// BenchmarkConnect measures one client's live connection coming up:
// handshake, session check, subscription snapshot, welcome, synced. It is
// the cost a mass reconnect (after a restart) pays per client.
func BenchmarkConnect(b *testing.B) {
	ts := newTestServer(b, nil)
	ctx := context.Background()
	org, err := ts.store.CreateOrg(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	const clients = 200
	tokens := make([]string, clients)
	for i := range tokens {
		a, err := ts.store.CreateAccount(ctx, store.Principal{}, store.NewAccount{OrgID: org.ID, Role: protocol.RoleClient,
			LoginID: fmt.Sprintf("bench-%d", i), Nickname: "c", PasswordHash: "x"})
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = credential.NewToken()
		if _, err := ts.store.CreateSession(ctx, store.NewSession{AccountID: a.ID, TokenHash: credential.TokenHash(tokens[i]), ExpiresAt: ts.clock.Now().Add(1e15)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := rawWS(b, ts.URL, tokens[i%clients])
		wsWrite(b, c, `{"type":"hello","v":1,"cursor":0}`)
		wsReadType(b, c, "synced")
		c.Close(websocket.StatusNormalClosure, "")
	}
}
