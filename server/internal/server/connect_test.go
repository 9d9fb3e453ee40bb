package server

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// duringConnect is the server's store with a hook into the next live
// connection's subscription, run just before the hub lists the connection
// or just after, and a count of session look-ups.
type duringConnect struct {
	store.Store
	lookups atomic.Int32

	mu            sync.Mutex
	before, after func()
}

func (d *duringConnect) SessionByToken(ctx context.Context, tokenHash []byte) (store.Session, store.AccountRecord, error) {
	d.lookups.Add(1)
	return d.Store.SessionByToken(ctx, tokenHash)
}

func (d *duringConnect) Subscribe(ctx context.Context, p store.Principal, register func()) (store.Snapshot, error) {
	d.mu.Lock()
	before, after := d.before, d.after
	d.before, d.after = nil, nil
	d.mu.Unlock()
	if before != nil {
		before()
	}
	return d.Store.Subscribe(ctx, p, func() {
		register()
		if after != nil {
			after()
		}
	})
}

// A session ended, or an access period changed, while a connection is
// between its handshake and the hub: the change is published to no
// connection of that session, and the connection must still act on it.
// An ordinary connection looks its session up once.
func TestChangesWhileConnectingReachTheConnection(t *testing.T) {
	ts := newTestServer(t, nil)
	d := &duringConnect{Store: ts.store}
	ts.store = d
	o := ts.org(t, "org")
	ctx := context.Background()
	fail := func(err error) {
		if err != nil {
			t.Error(err)
		}
	}

	cases := []struct {
		name   string
		before bool // the change is published before the hub lists the connection
		change func(accountID int64)
		reason string // the revoked frame's; "" for the connection staying up
	}{
		{"logged out before it is listed", true, func(id int64) { fail(o.admin.ForceLogout(ctx, id)) }, "expired"},
		{"logged out as it is listed", false, func(id int64) { fail(o.admin.ForceLogout(ctx, id)) }, "forced"},
		{"access shortened before it is listed", true, func(id int64) { fail(shorten(ctx, ts, o, id)) }, "access_ended"},
		{"access shortened as it is listed", false, func(id int64) { fail(shorten(ctx, ts, o, id)) }, "access_ended"},
		{"nothing happens", true, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl, cred := ts.newClient(t, o, tc.name)
			hook := func() {
				if tc.change != nil {
					tc.change(cred.Account.ID)
				}
			}
			d.mu.Lock()
			if tc.before {
				d.before = hook
			} else {
				d.after = hook
			}
			d.mu.Unlock()
			lookups := d.lookups.Load()
			ws := rawWS(t, ts.URL, cl.Token)
			wsWrite(t, ws, `{"type":"hello","v":2,"cursor":0}`)
			types, reason, code := readToClose(t, ws, tc.reason == "")
			if tc.reason == "" {
				if got := d.lookups.Load() - lookups; got != 1 {
					t.Errorf("%d session look-ups for one connection, want 1", got)
				}
				if types[len(types)-1] != "synced" {
					t.Errorf("frames %v, want the connection up", types)
				}
				return
			}
			if code != protocol.CloseRevoked || reason != tc.reason {
				t.Fatalf("closed with %d, revoked frame %q (frames %v); want %d, %q", code, reason, types, protocol.CloseRevoked, tc.reason)
			}
		})
	}
}

// shorten ends a client's access period half a second from now.
func shorten(ctx context.Context, ts *testServer, o testOrg, accountID int64) error {
	until := ts.clock.Now().Add(500 * time.Millisecond)
	_, err := o.admin.UpdateClient(ctx, accountID, protocol.UpdateClientRequest{AccessUntil: &until})
	return err
}

// readToClose reads frames until the connection closes (or, when up is
// set, until it is synced), returning the frames' types, a revoked
// frame's reason and the close code.
func readToClose(t *testing.T, ws *websocket.Conn, up bool) (types []string, reason string, code websocket.StatusCode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("still open after %v (frames %v)", 10*time.Second, types)
			}
			return types, reason, websocket.CloseStatus(err)
		}
		var f struct{ Type, Reason string }
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		types = append(types, f.Type)
		if f.Type == protocol.TypeRevoked {
			reason = f.Reason
		}
		if up && f.Type == protocol.TypeSynced {
			return types, reason, 0
		}
	}
}
