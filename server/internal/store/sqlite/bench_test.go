package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// BenchmarkSendLogPages reports the pages one send writes to the
// write-ahead log (each later copied into the database and written again):
// clients of an organisation writing one after another, a commit each.
func BenchmarkSendLogPages(b *testing.B) {
	f := newFixture(b)
	o := f.Org(b, 200)
	body := strings.Repeat("眠れない夜が続いています。", 10)
	ctx := context.Background()
	for i, c := range o.Clients { // every conversation begun
		if _, _, err := f.db.Send(ctx, c, store.SendRequest{Ref: fmt.Sprint("w", i), Body: body}); err != nil {
			b.Fatal(err)
		}
	}
	var pageSize int64
	if err := (writerSQL{f.db}).QueryRow("PRAGMA page_size", &pageSize); err != nil {
		b.Fatal(err)
	}
	if _, err := (writerSQL{f.db}).Exec("PRAGMA wal_autocheckpoint = 0"); err != nil {
		b.Fatal(err)
	}
	if _, err := (writerSQL{f.db}).Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		c := o.Clients[(i*7)%len(o.Clients)]
		if _, _, err := f.db.Send(ctx, c, store.SendRequest{Ref: fmt.Sprint("r", i), Body: body}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	st, err := os.Stat(filepath.Join(f.dir, "taiwa.db-wal"))
	if err != nil {
		b.Fatal(err)
	}
	const walHeader, frameHeader = 32, 24
	b.ReportMetric(float64(st.Size()-walHeader)/float64(pageSize+frameHeader)/float64(b.N), "pages/send")
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
		page, err := f.db.History(context.Background(), o.Admin, conv, 0, 100)
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
			sealed := make([]byte, 180) // what a sealed ~130-character message takes
			now := ms(f.Clock.Now())
			if err := (writerSQL{f.db}).Tx(func(tx *sql.Tx) error {
				return insertMessages(tx, o.ID, conv, o.Clients[0].AccountID, n, now, now+86400000, sealed)
			}); err != nil {
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

// BenchmarkSweepUnderLoad deletes 1,000,000 expired messages while a
// client sends every 5 ms, and reports the sends' p50, p99 and longest
// time to durable, beside the same sends with no sweep running: a large
// deletion must not stall acks (it goes in batches of DefaultSweepBatch).
func BenchmarkSweepUnderLoad(b *testing.B) {
	const expired = 1_000_000
	f := newFixture(b)
	o := f.Org(b, 2)
	conv := f.Conversation(b, o.Clients[0]).ID
	sealed := make([]byte, 180)
	past := ms(f.Clock.Now().Add(-time.Hour))
	if err := (writerSQL{f.db}).Tx(func(tx *sql.Tx) error {
		if err := insertMessages(tx, o.ID, conv, o.Clients[0].AccountID, expired, past, past, sealed); err != nil {
			return err
		}
		_, err := tx.Exec("UPDATE conversations SET last_seq = ?, client_wrote = 1 WHERE id = ?", expired, conv)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	// A week's history comes in ordinary sends, checkpointed as it goes;
	// seeded in one transaction it leaves a 300 MB log that a real server
	// never has, and truncating that (190 ms) was the longest wait measured.
	if _, err := (writerSQL{f.db}).Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	sender := o.Clients[1]
	var n atomic.Int64
	measure := func(during func()) (lat []time.Duration) {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				t0 := time.Now()
				if _, _, err := f.db.Send(context.Background(), sender, store.SendRequest{Ref: fmt.Sprint("s", n.Add(1)), Body: "まだいますか"}); err != nil {
					b.Error(err)
					return
				}
				lat = append(lat, time.Since(t0))
			}
		}()
		during()
		close(stop)
		<-done
		slices.Sort(lat)
		return lat
	}
	report := func(name string, lat []time.Duration) {
		if len(lat) == 0 {
			b.Fatalf("%s: no sends", name)
		}
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, name+"-p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, name+"-p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, name+"-max-ms")
	}
	b.ResetTimer()
	for range b.N {
		quiet := measure(func() { time.Sleep(3 * time.Second) })
		var swept time.Duration
		busy := measure(func() {
			t0 := time.Now()
			res, err := f.db.Sweep(context.Background())
			if err != nil || res.Messages != expired {
				b.Fatalf("sweep: %+v %v", res, err)
			}
			swept = time.Since(t0)
		})
		report("quiet", quiet)
		report("sweeping", busy)
		b.ReportMetric(swept.Seconds(), "sweep-s")
	}
}

// insertMessages stores n client messages with seqs 1…n straight into a
// conversation, sealed bodies as given: a large history without n sends.
func insertMessages(tx *sql.Tx, orgID, convID, senderID int64, n int, createdAt, expiresAt int64, sealed []byte) error {
	ins, err := tx.Prepare(`INSERT INTO messages(org_id, conversation_id, seq, sender_id, sender_role, kind, body, created_at, expires_at, slice, sealed)
		VALUES (?, ?, ?, ?, 'client', 'text', '', ?, ?, 1, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for i := 1; i <= n; i++ {
		if _, err := ins.Exec(orgID, convID, i, senderID, createdAt, expiresAt, sealed); err != nil {
			return fmt.Errorf("insert message %d: %w", i, err)
		}
	}
	return nil
}

// BenchmarkSubscribeClient measures a client's subscription snapshot (what
// every connection and reconnection reads) in an organisation with a
// month's answers on record: the typical reply time comes from them.
func BenchmarkSubscribeClient(b *testing.B) {
	for _, answers := range []int{0, 10_000} {
		b.Run(fmt.Sprintf("answers=%d", answers), func(b *testing.B) {
			f := newFixture(b)
			o := f.Org(b, 1)
			now := ms(f.Clock.Now())
			if err := (writerSQL{f.db}).Tx(func(tx *sql.Tx) error {
				for i := range answers {
					if _, err := tx.Exec("INSERT INTO answer_waits(org_id, at, wait_ms) VALUES (?,?,?)", o.ID, now-int64(i)*1000, 60_000+i%600_000); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			for b.Loop() {
				if _, err := f.db.Subscribe(ctx, o.Clients[0], func() {}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
