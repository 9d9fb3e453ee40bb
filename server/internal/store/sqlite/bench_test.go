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
	o := f.org(b, 8)
	body := strings.Repeat("眠れない夜が続いています。", 10) // ~130 characters
	var n atomic.Int64
	b.SetParallelism(1)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := n.Add(1)
		p := o.clients[int(i)%len(o.clients)]
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
	o := f.org(b, 1)
	var conv int64
	for i := 0; i < 100; i++ {
		m, _, err := f.db.Send(context.Background(), o.clients[0], store.SendRequest{Ref: fmt.Sprint(i), Body: strings.Repeat("あ", 200)})
		if err != nil {
			b.Fatal(err)
		}
		conv = m.ConversationID
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		page, err := f.db.History(context.Background(), o.staff, conv, 0, 100)
		if err != nil || len(page.Messages) != 100 {
			b.Fatal(len(page.Messages), err)
		}
	}
}
