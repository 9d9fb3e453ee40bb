package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// benchPool fills an organisation's pool with n conversations (clients
// made and written through the store: the claims are what is measured).
func benchPool(b *testing.B, ts *testServer, orgID int64, n int) []int64 {
	b.Helper()
	ctx := context.Background()
	convs := make([]int64, n)
	for i := range convs {
		a, err := ts.store.CreateAccount(ctx, store.Principal{}, store.NewAccount{OrgID: orgID, Role: protocol.RoleClient,
			LoginID: fmt.Sprintf("pool-%d", i), Nickname: fmt.Sprintf("相談者%d", i), PasswordHash: "x"})
		if err != nil {
			b.Fatal(err)
		}
		m, _, err := ts.store.Send(ctx, store.Principal{AccountID: a.ID, OrgID: orgID, Role: protocol.RoleClient},
			store.SendRequest{Ref: "first", Body: "誰か話を聞いてください"})
		if err != nil {
			b.Fatal(err)
		}
		convs[i] = m.ConversationID
	}
	return convs
}

// BenchmarkClaimContention: 10 counselors empty a pool of 1,000 new
// conversations over the real loopback server, each going through the
// pool in its own random order and pressing 担当する on whatever it
// finds, as fast as answers come back. Every conversation must be taken
// exactly once (the store decides in its writing transaction). Reports
// the claim's p50/p99 (won or refused as taken) and claims per second.
func BenchmarkClaimContention(b *testing.B) {
	const counselors, pool = 10, 1000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ts := newTestServer(b, nil)
		o := ts.org(b, "bench")
		convs := benchPool(b, ts, o.id, pool)
		cs := make([]*client.Client, counselors)
		for j := range cs {
			cs[j] = ts.newCounselor(b, o, fmt.Sprintf("相談員%d", j))
		}
		b.StartTimer()
		var (
			mu   sync.Mutex
			lat  []time.Duration
			won  = map[int64]int{}
			fail error
			wg   sync.WaitGroup
		)
		start := time.Now()
		for j, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				order := slices.Clone(convs)
				r := rand.New(rand.NewPCG(uint64(j), 7))
				r.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
				for _, id := range order {
					t0 := time.Now()
					_, err := c.Claim(context.Background(), id)
					d := time.Since(t0)
					mu.Lock()
					lat = append(lat, d)
					switch {
					case err == nil:
						won[id]++
					case !client.IsCode(err, protocol.CodeTaken):
						fail = err
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		if fail != nil {
			b.Fatal(fail)
		}
		for _, id := range convs {
			if won[id] != 1 {
				b.Fatalf("conversation %d taken %d times", id, won[id])
			}
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(pool)/elapsed.Seconds(), "taken/s")
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "claims/s")
		b.StartTimer()
	}
}

// BenchmarkPoolFanOut: 50 counselors connected live; a new client's first
// message puts a conversation in the pool, and every one of the 50 apps
// must be sent it. Reports the time from the message's store call to the
// 50th app's receipt (p50/p99), one new conversation at a time.
func BenchmarkPoolFanOut(b *testing.B) {
	const counselors = 50
	ts := newTestServer(b, nil)
	ctx := context.Background()
	o := ts.org(b, "bench")
	type arrival struct {
		counselor int
		conv      int64
	}
	arrived := make(chan arrival, 4096)
	var wg sync.WaitGroup
	rctx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); wg.Wait() }()
	for j := range counselors {
		a, err := ts.store.CreateAccount(ctx, store.Principal{}, store.NewAccount{OrgID: o.id, Role: protocol.RoleCounselor,
			LoginID: fmt.Sprintf("co-%d", j), Nickname: "co", PasswordHash: "x"})
		if err != nil {
			b.Fatal(err)
		}
		token := credential.NewToken()
		if _, err := ts.store.CreateSession(ctx, store.NewSession{AccountID: a.ID, TokenHash: credential.TokenHash(token), ExpiresAt: ts.clock.Now().Add(1e15)}); err != nil {
			b.Fatal(err)
		}
		c := rawWS(b, ts.URL, token)
		wsWrite(b, c, `{"type":"hello","v":1,"cursor":0}`)
		wsReadType(b, c, "synced")
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.CloseNow()
			for {
				_, data, err := c.Read(rctx)
				if err != nil {
					return
				}
				var f struct {
					Type         string                `json:"type"`
					Conversation protocol.Conversation `json:"conversation"`
				}
				if json.Unmarshal(data, &f) == nil && f.Type == protocol.TypeConversation && f.Conversation.InPool() {
					arrived <- arrival{j, f.Conversation.ID}
				}
			}
		}()
	}
	clients := make([]store.Principal, b.N)
	for i := range clients {
		a, err := ts.store.CreateAccount(ctx, store.Principal{}, store.NewAccount{OrgID: o.id, Role: protocol.RoleClient,
			LoginID: fmt.Sprintf("fan-%d", i), Nickname: "c", PasswordHash: "x"})
		if err != nil {
			b.Fatal(err)
		}
		clients[i] = store.Principal{AccountID: a.ID, OrgID: o.id, Role: protocol.RoleClient}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		m, _, err := ts.store.Send(ctx, clients[i], store.SendRequest{Ref: "first", Body: "聞いてください"})
		if err != nil {
			b.Fatal(err)
		}
		got := map[int]bool{}
		for len(got) < counselors {
			select {
			case a := <-arrived:
				if a.conv == m.ConversationID {
					got[a.counselor] = true
				}
			case <-time.After(10 * time.Second):
				b.Fatalf("conversation %d reached %d of %d counselors", m.ConversationID, len(got), counselors)
			}
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
