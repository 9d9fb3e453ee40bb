package session

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/taiwa-chat/taiwa/desktop/internal/cache"
	"github.com/taiwa-chat/taiwa/desktop/internal/dataset"
	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/pkg/keychain"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/servertest"
)

// BenchmarkStartFromCache measures a cold start of a counselor's app with
// 200 conversations and 20,000 cached messages: open the encrypted cache,
// load the inbox and build the main window (Fyne's software driver), with
// the server unreachable so nothing but the cache is involved. It reports
// the Go heap in use afterwards.
func BenchmarkStartFromCache(b *testing.B) {
	const convs, perConv = 200, 100
	keys := &keychain.Memory{}
	const server = "http://127.0.0.1:9" // discard port: the connection fails, as offline
	keys.Set(keyToken, "token")
	keys.Set(keyServer, server)
	data := b.TempDir()
	key, err := keychain.CacheKey(keys, keyCache)
	if err != nil {
		b.Fatal(err)
	}
	probe := &Controller{opts: Options{DataDir: data}}
	cc, err := cache.Open(probe.cacheDir(server), key, nil)
	if err != nil {
		b.Fatal(err)
	}
	exp := time.Now().Add(24 * time.Hour)
	var list []protocol.Conversation
	for c := int64(1); c <= convs; c++ {
		list = append(list, protocol.Conversation{ID: c, Nickname: fmt.Sprintf("相談者%d", c), Status: protocol.StatusWaiting, FirstSeq: 1, LastSeq: perConv})
	}
	if err := cc.Apply(&protocol.Welcome{Account: protocol.Account{ID: 1, Role: protocol.RoleCounselor}, Conversations: list}); err != nil {
		b.Fatal(err)
	}
	id := int64(0)
	for c := int64(1); c <= convs; c++ {
		var batch []protocol.ServerFrame
		for s := int64(1); s <= perConv; s++ {
			id++
			role := protocol.RoleClient
			if s%2 == 0 {
				role = protocol.RoleCounselor
			}
			m := protocol.Message{ID: id, ConversationID: c, Seq: s, SenderRole: role, Kind: protocol.KindText,
				Body: "最近、夜になると不安で眠れません。誰かに話を聞いてほしくて連絡しました。", CreatedAt: time.Now(), ExpiresAt: exp}
			batch = append(batch, &protocol.MessageFrame{Message: m})
		}
		if err := cc.ApplyAll(batch); err != nil {
			b.Fatal(err)
		}
	}
	cc.Close()

	a := test.NewTempApp(b)
	b.ReportAllocs()
	b.ResetTimer()
	var heap uint64
	for i := 0; i < b.N; i++ {
		w := a.NewWindow("bench")
		h := &harness{}
		ctrl := New(a, w, Options{Keys: keys, DataDir: data, Do: h.do, DoWait: h.do})
		h.do(ctrl.Start)
		var n int
		var front *inbox.Conv
		h.do(func() { n, front = len(ctrl.in.List(inbox.ViewAll, inbox.FilterAll, "")), ctrl.in.Focused() })
		if n != convs || front == nil || len(front.Messages) == 0 {
			b.Fatalf("loaded %d conversations, nothing in front", n)
		}
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = ms.HeapInuse
		h.do(ctrl.Close)
		w.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(heap)/(1<<20), "heapMiB")
}

// BenchmarkSignInWithoutCache signs a counselor in on a new machine: the
// server replays the walkthroughs' desk (200 clients × 15 messages and
// one with 1,500) into an empty encrypted cache. Usable means every
// conversation and message is in and the longest wait is in front.
func BenchmarkSignInWithoutCache(b *testing.B) {
	srv := servertest.New(b)
	ctx := context.Background()
	desk, err := dataset.Build(ctx, srv.URL, srv.Admin, dataset.Realistic)
	if err != nil {
		b.Fatal(err)
	}
	cred, err := srv.Admin.CreateStaff(ctx, protocol.CreateStaffRequest{Nickname: "田中", Role: protocol.RoleCounselor})
	if err != nil {
		b.Fatal(err)
	}
	a := test.NewTempApp(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h := &harness{}
		w := a.NewWindow("bench")
		w.Resize(fyne.NewSize(1280, 800))
		ctrl := New(a, w, Options{Keys: &keychain.Memory{}, DataDir: b.TempDir(), Do: h.do, DoWait: h.do})
		h.do(ctrl.Start)
		if err := ctrl.login(srv.URL, cred.LoginID, cred.Password, ""); err != nil {
			b.Fatal(err)
		}
		h.waitFor(b, "the desk in", func() bool {
			if ctrl.in == nil || ctrl.in.Focused() == nil || ctrl.in.Len() != len(desk.Clients) {
				return false
			}
			n := 0
			for _, c := range ctrl.in.List(inbox.ViewAll, inbox.FilterAll, "") {
				n += len(c.Messages)
			}
			return n == desk.Sent
		})
		b.StopTimer()
		h.do(ctrl.Logout)
		w.Close()
		b.StartTimer()
	}
}
