package server

import (
	"strings"
	"sync"
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

// A version 2 connection's own message is held for its ack. The ack is
// answered on the connection's goroutine while the writer publishes the
// next batch on its own: a message of that batch must never reach the
// connection before the ack (or the held message's own frame), or the
// app, which takes an ack below its cursor as already seen, would never
// show its own words. Run many times: the two race.
func TestAckIsNotOvertaken(t *testing.T) {
	h := newHub(newMetrics(), time.Now)
	p := store.Principal{AccountID: 7, OrgID: 1, Role: protocol.RoleClient}
	for i := range 20000 {
		sub := newSubscriber(p, 1, 16)
		sub.v2 = true
		own := protocol.Message{ID: 1, ConversationID: 3, Seq: 1}
		if !sub.hold(heldAck{msg: own}) {
			t.Fatal("could not hold")
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; h.ack(sub, "r1", own) })
		wg.Go(func() {
			<-start
			h.deliver(sub, outFrame{id: 2, data: protocol.Encode(protocol.MessageFrame{Type: protocol.TypeMessage, Message: protocol.Message{ID: 2, ConversationID: 3, Seq: 2}})})
		})
		close(start)
		wg.Wait()
		var ownAt, nextAt int = -1, -1
		for j, f := range sub.q.Take(nil) {
			switch {
			case f.id == 2:
				nextAt = j
			case ownAt < 0 && (f.id == 1 || strings.Contains(string(f.data), `"type":"ack"`)):
				ownAt = j
			}
		}
		if ownAt < 0 || nextAt < 0 || nextAt < ownAt {
			t.Fatalf("round %d: the next message went at %d, the own message or its ack at %d", i, nextAt, ownAt)
		}
	}
}
