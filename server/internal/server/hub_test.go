package server

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// A client's connection ends when its access period does, to the moment;
// an admin moving the date re-arms it, clearing it disarms it. (In a
// synctest bubble: the hours pass at once, and exactly.)
func TestAccessPeriodEndsTheConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := store.Principal{AccountID: 7, OrgID: 1, Role: protocol.RoleClient}
		h := newHub(newMetrics(), time.Now)
		sub := newSubscriber(p, 1, 8)
		h.add(sub)
		defer h.remove(sub)
		start := time.Now()
		later := func(d time.Duration) *time.Time { t := start.Add(d); return &t }

		sub.setAccessUntil(later(time.Hour), time.Now())
		// An admin extends it before it ends, then sets it again over the hub.
		time.Sleep(30 * time.Minute)
		h.publish([]store.Change{{Kind: store.ChangeAccess, OrgID: 1, AccountID: 7, AccessUntil: later(3 * time.Hour)}})
		time.Sleep(150*time.Minute - time.Millisecond) // just before the new end
		synctest.Wait()
		if sub.ended.Load() {
			t.Fatal("ended at the old date, or before the new one")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if !sub.ended.Load() {
			t.Fatal("still open when the access period ended")
		}
		if e := <-sub.end; e.code != protocol.CloseRevoked || e.reason != "access_ended" {
			t.Fatalf("ended with %+v", e)
		}
		if time.Since(start) != 3*time.Hour {
			t.Fatalf("ended after %v, want 3h", time.Since(start))
		}

		// Cleared: never ends by the clock.
		other := newSubscriber(store.Principal{AccountID: 8, OrgID: 1, Role: protocol.RoleClient}, 2, 8)
		h.add(other)
		defer h.remove(other)
		other.setAccessUntil(later(4*time.Hour), time.Now())
		h.publish([]store.Change{{Kind: store.ChangeAccess, OrgID: 1, AccountID: 8}})
		time.Sleep(24 * time.Hour)
		synctest.Wait()
		if other.ended.Load() {
			t.Fatal("ended although its access period was cleared")
		}
	})
}
