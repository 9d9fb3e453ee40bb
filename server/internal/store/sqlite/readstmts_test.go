package sqlite

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Many apps connecting at once, before any of their statements is
// prepared, each holding a pooled read connection for its snapshot: none
// may wait for another connection of the pool to prepare a statement (the
// first version did, and a server restarted under twelve reconnecting
// apps served none of them). The deadline only detects the deadlock.
func TestSnapshotsAtOnceOnAColdPool(t *testing.T) {
	f := newFixture(t)
	o := f.Org(t, 64)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(o.Clients)+2)
	for _, p := range append(o.Clients, o.Admin, o.Staff) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.db.Subscribe(ctx, p, func() {}); err != nil {
				errs <- err
			}
			if _, err := f.db.MessagesAfter(ctx, p, 0, 500); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
