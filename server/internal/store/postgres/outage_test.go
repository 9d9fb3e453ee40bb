package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/server/internal/store"
	"github.com/taiwa-chat/taiwa/server/internal/store/postgres/pgtest"
	"github.com/taiwa-chat/taiwa/server/internal/store/storetest"
)

// A PostgreSQL restart under load is an outage the writers wait out:
// every send returns acknowledged once the database is back, none twice.
func TestSendsRideOutARestart(t *testing.T) {
	c := pgtest.Own(t)
	ctx := context.Background()
	dsn, err := c.CreateDB(ctx, "taiwa")
	if err != nil {
		t.Fatal(err)
	}
	f := storetest.NewFixture(t, func(t testing.TB, now func() time.Time, publish func([]store.Change)) store.Store {
		return openDSN(t, dsn, Options{Now: now, Publish: publish})
	})
	o := f.Org(t, 4)
	var wg sync.WaitGroup
	restarted := make(chan struct{})
	for i, cl := range o.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 30 {
				if j == 10 && i == 0 {
					close(restarted)
				}
				if _, _, err := f.Store.Send(ctx, cl, store.SendRequest{Ref: fmt.Sprint(j), Body: "x"}); err != nil {
					t.Errorf("client %d send %d: %v", i, j, err)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	<-restarted
	if err := c.Stop("fast"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	msgs, err := f.Store.MessagesAfter(ctx, o.Admin, 0, 1000)
	if err != nil || len(msgs) != 4*30 {
		t.Fatalf("stored %d of 120 messages: %v", len(msgs), err)
	}
	if got := len(f.Published(store.ChangeMessage)); got != 120 {
		t.Fatalf("published %d of 120 messages", got)
	}
}

// Idle staff and shared-device sessions end at the sweep.
func TestIdleSessionsEnd(t *testing.T) {
	f := storetest.NewFixture(t, func(t testing.TB, now func() time.Time, publish func([]store.Change)) store.Store {
		return openDSN(t, pgtest.DB(t), Options{Now: now, Publish: publish, StaffIdle: time.Hour, SharedIdle: 10 * time.Minute})
	})
	o := f.Org(t, 2)
	ctx := context.Background()
	exp := f.Clock.Now().Add(30 * 24 * time.Hour)
	f.Store.CreateSession(ctx, store.NewSession{AccountID: o.Staff.AccountID, TokenHash: []byte("staff"), ExpiresAt: exp})
	f.Store.CreateSession(ctx, store.NewSession{AccountID: o.Clients[0].AccountID, TokenHash: []byte("shared"), ExpiresAt: exp, Shared: true})
	f.Store.CreateSession(ctx, store.NewSession{AccountID: o.Clients[1].AccountID, TokenHash: []byte("own"), ExpiresAt: exp})
	f.Clock.Add(11 * time.Minute)
	if res, err := f.Store.Sweep(ctx); err != nil || res.Sessions != 1 {
		t.Fatalf("after 11 minutes: %+v %v (want the shared-device session ended)", res, err)
	}
	f.Clock.Add(time.Hour)
	if res, err := f.Store.Sweep(ctx); err != nil || res.Sessions != 1 {
		t.Fatalf("after 71 minutes: %+v %v (want the staff session ended)", res, err)
	}
	for _, tc := range []struct {
		hash string
		live bool
	}{{"staff", false}, {"shared", false}, {"own", true}} {
		if _, _, err := f.Store.SessionByToken(ctx, []byte(tc.hash)); (err == nil) != tc.live {
			t.Errorf("session %s: %v", tc.hash, err)
		}
	}
}
