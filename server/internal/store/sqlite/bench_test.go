package sqlite

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// BenchmarkSend measures a client's send (sealed, committed with
// synchronous=FULL) with 8 senders sharing group commits.
func BenchmarkSend(b *testing.B) {
	f := newFixture(b)
	o := f.Org(b, 8)
	body := strings.Repeat("眠れない夜が続いています。", 10) // ~130 characters
	var n atomic.Int64
	b.SetParallelism(1)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := n.Add(1)
		p := o.Clients[int(i)%len(o.Clients)]
		for pb.Next() {
			ref := fmt.Sprintf("r-%d-%d", i, n.Add(1))
			if _, _, err := f.db.Send(context.Background(), p, store.SendRequest{Ref: ref, Body: body}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkHistory measures reading a page of 100 sealed messages.
func BenchmarkHistory(b *testing.B) {
	f := newFixture(b)
	o := f.Org(b, 1)
	var conv int64
	for i := 0; i < 100; i++ {
		m, _, err := f.db.Send(context.Background(), o.Clients[0], store.SendRequest{Ref: fmt.Sprint(i), Body: strings.Repeat("あ", 200)})
		if err != nil {
			b.Fatal(err)
		}
		conv = m.ConversationID
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		page, err := f.db.History(context.Background(), o.Staff, conv, 0, 100)
		if err != nil || len(page.Messages) != 100 {
			b.Fatal(len(page.Messages), err)
		}
	}
}

// BenchmarkOpen measures a start (open, migrate, upgrades, keys ready) of
// a store holding 1,000 and 1,000,000 messages: start-up must not grow
// with what is stored.
func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("messages=%d", n), func(b *testing.B) {
			f := newFixture(b)
			o := f.Org(b, 1)
			conv := f.Conversation(b, o.Clients[0]).ID
			tx, err := f.db.write.Begin()
			if err != nil {
				b.Fatal(err)
			}
			ins, err := tx.Prepare(`INSERT INTO messages(org_id, conversation_id, seq, sender_id, sender_role, kind, body, created_at, expires_at, slice, sealed)
				VALUES (?, ?, ?, ?, 'client', 'text', '', ?, ?, 1, ?)`)
			if err != nil {
				b.Fatal(err)
			}
			sealed := make([]byte, 180) // what a sealed ~130-character message takes
			now := ms(f.Clock.Now())
			for i := 1; i <= n; i++ {
				if _, err := ins.Exec(o.ID, conv, i, o.Clients[0].AccountID, now, now+86400000, sealed); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			f.db.Close()
			// The first start after an upgrade pays once; what is measured is
			// every start after it.
			db, err := Open(f.dir, Options{Now: f.Clock.Now})
			if err != nil {
				b.Fatal(err)
			}
			db.Close()
			b.ResetTimer()
			for range b.N {
				db, err := Open(f.dir, Options{Now: f.Clock.Now})
				if err != nil {
					b.Fatal(err)
				}
				db.Close()
			}
		})
	}
}
