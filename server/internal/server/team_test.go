package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// Ten counselors press 担当する on the same conversation at the same
// moment, over HTTP, round after round: exactly one wins each time, the
// others are told it is taken, and their apps are told to let it go.
func TestConcurrentClaimsOverTheServer(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "相談室")
	ctx := context.Background()
	const n, rounds = 10, 20
	var (
		counselors []*client.Client
		lives      []*liveConn2
		ids        = map[int64]int{}
	)
	for i := range n {
		c := ts.newCounselor(t, o, fmt.Sprintf("相談員%d", i))
		me, _ := c.Me(ctx)
		ids[me.ID] = i
		counselors = append(counselors, c)
		lives = append(lives, goLive(t, c, 0))
	}
	for round := range rounds {
		cl, _ := ts.newClient(t, o, fmt.Sprintf("c%d", round))
		conv := ts.write(t, cl, "誰か話を聞いてください").ConversationID
		for _, l := range lives {
			l.rec.waitFor(t, "the conversation in the pool", func(evs []any) bool {
				return hasEvent(evs, func(f *protocol.ConversationFrame) bool { return f.Conversation.ID == conv && f.Conversation.InPool() })
			})
		}
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []int
			taken   int
		)
		start := make(chan struct{})
		for i, c := range counselors {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := c.Claim(ctx, conv)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners = append(winners, i)
				case client.IsCode(err, protocol.CodeTaken):
					taken++
				default:
					t.Errorf("claim: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 || taken != n-1 {
			t.Fatalf("round %d: winners %v, %d told it was taken", round, winners, taken)
		}
		c, _ := o.admin.Conversations(ctx)
		for _, x := range c {
			if x.ID == conv && (x.AssigneeID == nil || ids[*x.AssigneeID] != winners[0]) {
				t.Fatalf("round %d: assignee %v, winner %d", round, x.AssigneeID, winners[0])
			}
		}
		for i, l := range lives {
			if i == winners[0] {
				l.rec.waitFor(t, "the winner's conversation", func(evs []any) bool {
					return hasEvent(evs, func(f *protocol.ConversationFrame) bool {
						return f.Conversation.ID == conv && f.Conversation.AssigneeID != nil
					})
				})
				continue
			}
			l.rec.waitFor(t, "the withdrawal", func(evs []any) bool {
				return hasEvent(evs, func(f *protocol.ConversationWithdrawnFrame) bool {
					return f.ConversationID == conv && f.Reason == protocol.WithdrawnTaken
				})
			})
		}
	}
}

// What a counselor's app is sent: the pool's state, never its text; their
// own conversations in full; a conversation handed to a colleague is
// withdrawn, and its later messages go to the colleague only.
func TestCounselorsAppSeesOnlyWhatIsTheirs(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "相談室")
	ctx := context.Background()
	a, b := ts.newCounselor(t, o, "A"), ts.newCounselor(t, o, "B")
	bMe, _ := b.Me(ctx)
	aLive, bLive, adminLive := goLive(t, a, 0), goLive(t, b, 0), goLive(t, o.admin, 0)
	cl, _ := ts.newClient(t, o, "さくら")
	clLive := goLive(t, cl, 0)

	first, err := clLive.live.Send(ctx, 0, "POOL-TEXT はじめまして")
	if err != nil {
		t.Fatal(err)
	}
	conv := first.ConversationID
	adminLive.rec.waitFor(t, "the admin reads the pool", func(evs []any) bool {
		return countMessages(evs, func(m protocol.Message) bool { return m.ID == first.ID }) == 1
	})
	bLive.rec.waitFor(t, "the pool's state at B", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationFrame) bool { return f.Conversation.ID == conv && f.Conversation.InPool() })
	})
	// A's reply takes it (organisation default: a first reply claims).
	reply, err := aLive.live.Send(ctx, conv, "お話を聞かせてください")
	if err != nil {
		t.Fatal(err)
	}
	if reply.ConversationID != conv {
		t.Fatal(reply)
	}
	bLive.rec.waitFor(t, "withdrawn from B", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationWithdrawnFrame) bool {
			return f.ConversationID == conv && f.Reason == protocol.WithdrawnTaken
		})
	})
	// A reads the history it did not receive live.
	page, err := a.History(ctx, conv, 0, 10)
	if err != nil || len(page.Messages) != 2 {
		t.Fatalf("A's history: %+v %v", page, err)
	}
	second, err := clLive.live.Send(ctx, 0, "A-ONLY 続きです")
	if err != nil {
		t.Fatal(err)
	}
	aLive.rec.waitFor(t, "the client's next message at A", func(evs []any) bool {
		return countMessages(evs, func(m protocol.Message) bool { return m.ID == second.ID }) == 1
	})

	// The admin hands it to B: A is told to forget it, B gets it.
	if _, err := o.admin.Assign(ctx, conv, &bMe.ID); err != nil {
		t.Fatal(err)
	}
	aLive.rec.waitFor(t, "withdrawn from A", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationWithdrawnFrame) bool {
			return f.ConversationID == conv && f.Reason == protocol.WithdrawnReassigned
		})
	})
	third, err := clLive.live.Send(ctx, 0, "B-ONLY 担当が変わりましたか")
	if err != nil {
		t.Fatal(err)
	}
	bLive.rec.waitFor(t, "the client's message at B", func(evs []any) bool {
		return countMessages(evs, func(m protocol.Message) bool { return m.ID == third.ID }) == 1
	})
	adminLive.rec.waitFor(t, "and at the admin", func(evs []any) bool {
		return countMessages(evs, func(m protocol.Message) bool { return m.ID == third.ID }) == 1
	})
	for who, rec := range map[string]*recorder{"A": aLive.rec, "B": bLive.rec} {
		for _, m := range rec.messages() {
			switch {
			case m.ID == first.ID:
				t.Errorf("%s was sent the pool's text", who)
			case who == "A" && m.ID == third.ID:
				t.Errorf("A was sent a message after handing the conversation on")
			case who == "B" && m.ID == second.ID:
				t.Errorf("B was sent a message from before it had the conversation")
			}
		}
	}
	if _, err := a.History(ctx, conv, 0, 10); !client.IsCode(err, protocol.CodeForbidden) {
		t.Fatalf("A reads a colleague's conversation: %v", err)
	}
	// A reconnecting is welcomed without it and replayed nothing of it.
	again := goLive(t, a, 0)
	for _, e := range again.rec.snapshot() {
		if w, ok := e.(*protocol.Welcome); ok && len(w.Conversations) != 0 {
			t.Fatalf("A's welcome lists %+v", w.Conversations)
		}
	}
	if n := len(again.rec.messages()); n != 0 {
		t.Fatalf("A's replay holds %d messages", n)
	}
}

// A preview is recorded in the audit log each time it is served.
func TestPreviewIsRecorded(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "相談室")
	ctx := context.Background()
	co := ts.newCounselor(t, o, "co")
	cl, cred := ts.newClient(t, o, "さくら")
	conv := ts.write(t, cl, "眠れません").ConversationID
	pv, err := co.Preview(ctx, conv)
	if err != nil || len(pv.Messages) != 1 || pv.Messages[0].Body != "眠れません" {
		t.Fatalf("preview: %+v %v", pv, err)
	}
	log, err := o.admin.AuditLog(ctx, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	e := log.Entries[0]
	if e.Action != protocol.AuditPoolPreview || e.ActorRole != "counselor" || e.TargetID == nil || *e.TargetID != cred.Account.ID {
		t.Fatalf("newest audit entry: %+v", e)
	}
	code, _ := apiDo(t, http.MethodGet, fmt.Sprintf("%s/api/v1/conversations/%d/preview", ts.URL, conv), cl.Token, "")
	if code != http.StatusForbidden {
		t.Fatalf("a client previewed: %d", code)
	}
}

// A hand-over over the server: the note stays with staff, sealed; the
// receiving counselor's app is told the conversation is theirs; the
// client hears only the organisation's announcement, if any.
func TestHandOverAndNotes(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "相談室")
	ctx := context.Background()
	a, b := ts.newCounselor(t, o, "A"), ts.newCounselor(t, o, "B")
	bMe, _ := b.Me(ctx)
	cl, _ := ts.newClient(t, o, "さくら")
	aLive, bLive, clLive := goLive(t, a, 0), goLive(t, b, 0), goLive(t, cl, 0)
	m, err := clLive.live.Send(ctx, 0, "最近眠れません")
	if err != nil {
		t.Fatal(err)
	}
	conv := m.ConversationID
	if _, err := aLive.live.Send(ctx, conv, "お話を聞かせてください"); err != nil {
		t.Fatal(err)
	}
	ref := client.NewRef()
	note := <-aLive.live.EnqueueMessage(client.PendingMessage{Ref: ref, ConversationID: conv, Body: "NOTE-SECRET-7c1 睡眠について次回", Kind: protocol.KindNote})
	if note.Err != nil || note.Message.Kind != protocol.KindNote {
		t.Fatalf("the note: %+v", note)
	}
	on := true
	if _, err := o.admin.UpdateSettings(ctx, protocol.SettingsPatch{AnnounceHandover: &on}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Transfer(ctx, conv, &bMe.ID, "HANDOVER-SECRET-9d2 夜に書くことが多い方です"); err != nil {
		t.Fatal(err)
	}
	aLive.rec.waitFor(t, "withdrawn from A", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationWithdrawnFrame) bool { return f.ConversationID == conv })
	})
	bLive.rec.waitFor(t, "the conversation at B, theirs", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationFrame) bool {
			return f.Conversation.ID == conv && f.Conversation.AssigneeID != nil && *f.Conversation.AssigneeID == bMe.ID
		})
	})
	clLive.rec.waitFor(t, "the announcement at the client", func(evs []any) bool {
		return countMessages(evs, func(m protocol.Message) bool { return m.Kind == protocol.KindHandover }) == 1
	})
	page, err := b.History(ctx, conv, 0, 10)
	if err != nil || len(page.Messages) != 5 {
		t.Fatalf("B's history: %+v %v", page, err)
	}
	notes := 0
	for _, m := range page.Messages {
		if m.Kind == protocol.KindNote {
			notes++
		}
	}
	if notes != 2 {
		t.Fatalf("B reads %d notes, want the two", notes)
	}
	// The client: no note, live or in its history.
	cpage, _ := cl.History(ctx, conv, 0, 10)
	for _, m := range append(clLive.rec.messages(), cpage.Messages...) {
		if m.Kind == protocol.KindNote || strings.Contains(m.Body, "SECRET") {
			t.Fatalf("the client was given a note: %+v", m)
		}
	}
	// Sealed like messages: neither note is in the database's files.
	for _, marker := range []string{"NOTE-SECRET-7c1", "HANDOVER-SECRET-9d2"} {
		if hits := dbFilesContain(t, ts.dir, marker); len(hits) > 0 {
			t.Fatalf("%s stored in the clear in %v", marker, hits)
		}
	}
}

// Presence and capacity over the server: a counselor who steps away is
// told to let the pool go and is sent none of it until back; colleagues
// see presence, load and connection live.
func TestPresenceAndCapacityLive(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "相談室")
	ctx := context.Background()
	a, b := ts.newCounselor(t, o, "A"), ts.newCounselor(t, o, "B")
	aMe, _ := a.Me(ctx)
	bLive := goLive(t, b, 0)
	aLive := goLive(t, a, 0) // after B: B hears A come online
	cl1, _ := ts.newClient(t, o, "一")
	first := ts.write(t, cl1, "聞いてください").ConversationID
	aLive.rec.waitFor(t, "the pool at A", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationFrame) bool { return f.Conversation.ID == first })
	})
	bLive.rec.waitFor(t, "A online, seen by B", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.PresenceFrame) bool { return f.AccountID == aMe.ID && f.Online })
	})
	away := protocol.PresenceAway
	if _, err := a.UpdateMe(ctx, protocol.MePatch{Presence: &away}); err != nil {
		t.Fatal(err)
	}
	aLive.rec.waitFor(t, "the pool withdrawn from A", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationWithdrawnFrame) bool {
			return f.ConversationID == first && f.Reason == protocol.WithdrawnUnoffered
		})
	})
	bLive.rec.waitFor(t, "A away, seen by B", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.PresenceFrame) bool { return f.AccountID == aMe.ID && f.Presence == away })
	})
	// While away, a new client's conversation reaches B, not A.
	cl2, _ := ts.newClient(t, o, "二")
	second := ts.write(t, cl2, "相談です").ConversationID
	bLive.rec.waitFor(t, "the new one at B", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationFrame) bool { return f.Conversation.ID == second })
	})
	if hasEvent(aLive.rec.snapshot(), func(f *protocol.ConversationFrame) bool { return f.Conversation.ID == second }) {
		t.Fatal("A, away, was sent a new pool conversation")
	}
	staff, err := b.Staff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range staff {
		if s.ID == aMe.ID && (s.Presence != away || !s.Online) {
			t.Fatalf("the staff list: %+v", s)
		}
	}
	// Back: the pool again, both.
	back := protocol.PresenceAvailable
	if _, err := a.UpdateMe(ctx, protocol.MePatch{Presence: &back}); err != nil {
		t.Fatal(err)
	}
	aLive.rec.waitFor(t, "the pool offered again", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationFrame) bool { return f.Conversation.ID == second })
	})
	// At max_open 1: A takes one, and the pool goes.
	one := 1
	if _, err := o.admin.UpdateSettings(ctx, protocol.SettingsPatch{MaxOpen: &one}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Claim(ctx, first); err != nil {
		t.Fatal(err)
	}
	aLive.rec.waitFor(t, "the rest of the pool withdrawn at max_open", func(evs []any) bool {
		n := 0
		for _, e := range evs {
			if f, ok := e.(*protocol.ConversationWithdrawnFrame); ok && f.ConversationID == second && f.Reason == protocol.WithdrawnUnoffered {
				n++
			}
		}
		return n == 1
	})
	if _, err := a.Claim(ctx, second); !client.IsCode(err, protocol.CodeAtCapacity) {
		t.Fatalf("a claim at max_open: %v", err)
	}
	bLive.rec.waitFor(t, "A's load, seen by B", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.PresenceFrame) bool { return f.AccountID == aMe.ID && f.OpenConversations == 1 })
	})
	// A goes offline: B sees it.
	aLive.stop()
	aLive.ended(t)
	bLive.rec.waitFor(t, "A offline, seen by B", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.PresenceFrame) bool { return f.AccountID == aMe.ID && !f.Online })
	})
}

// Nomination over the server: a client reads who takes nominations and
// asks for one; the nominee's app gets the conversation at once and a
// colleague's never does; a nomination not taken in time returns to the
// pool, the client's app is told in a message it words itself, and the
// pool's counselors (the nominee among them) see it there.
func TestNominationLive(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "相談室")
	ctx := context.Background()
	mi, sora := ts.newCounselor(t, o, "みどり"), ts.newCounselor(t, o, "そら")
	name, intro, on := "みどり", "夜の相談を担当しています", true
	miMe, err := mi.UpdateMe(ctx, protocol.MePatch{DisplayName: &name, Intro: &intro, AcceptNominations: &on})
	if err != nil {
		t.Fatal(err)
	}
	miLive, soraLive := goLive(t, mi, 0), goLive(t, sora, 0)
	cl, _ := ts.newClient(t, o, "さくら")
	clLive := goLive(t, cl, 0)
	ns, err := cl.Nominees(ctx)
	if err != nil || len(ns) != 1 || ns[0] != (protocol.Nominee{ID: miMe.ID, DisplayName: "みどり", Intro: intro}) {
		t.Fatalf("nominees: %+v %v", ns, err)
	}
	conv, err := cl.Nominate(ctx, miMe.ID)
	if err != nil || conv.NominatedAt == nil {
		t.Fatalf("nominate: %+v %v", conv, err)
	}
	if _, err := clLive.live.Send(ctx, conv.ID, "みどりさんにお願いしたいです"); err != nil {
		t.Fatal(err)
	}
	miLive.rec.waitFor(t, "the nominated conversation and its message at the nominee", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.MessageFrame) bool { return f.Message.ConversationID == conv.ID })
	})
	if hasEvent(soraLive.rec.snapshot(), func(f *protocol.ConversationFrame) bool { return f.Conversation.ID == conv.ID }) {
		t.Fatal("a colleague's app was sent a nominated conversation")
	}
	ts.clock.Add(protocol.DefaultNominationTimeoutHours * time.Hour)
	ts.SweepOnce(ctx)
	clLive.rec.waitFor(t, "the client told", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.MessageFrame) bool {
			return f.Message.Kind == protocol.KindNominationReturned && f.Message.Body == ""
		})
	})
	miLive.rec.waitFor(t, "the nominee sees it in the pool, no longer theirs", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationFrame) bool {
			return f.Conversation.ID == conv.ID && f.Conversation.InPool()
		})
	})
	soraLive.rec.waitFor(t, "the colleague sees it in the pool", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationFrame) bool {
			return f.Conversation.ID == conv.ID && f.Conversation.InPool()
		})
	})
	if _, err := cl.Nominate(ctx, 999999); !client.IsCode(err, protocol.CodeNotFound) {
		t.Fatalf("nominating nobody: %v", err)
	}
}

// Nobody takes a conversation in three days: the client's app receives
// the organisation's apology live, the pool's counselors let it go, and
// the admins' weekly count shows it.
func TestUnansweredLive(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "相談室")
	ctx := context.Background()
	apology := "お返事できず申し訳ありません。電話相談: 0120-000-000"
	if _, err := o.admin.UpdateSettings(ctx, protocol.SettingsPatch{ApologyText: &apology}); err != nil {
		t.Fatal(err)
	}
	co := goLive(t, ts.newCounselor(t, o, "みどり"), 0)
	cl, _ := ts.newClient(t, o, "さくら")
	clLive := goLive(t, cl, 0)
	conv := ts.write(t, cl, "誰か聞いてください").ConversationID
	co.rec.waitFor(t, "the pool", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationFrame) bool { return f.Conversation.ID == conv })
	})
	ts.clock.Add(protocol.DefaultUnansweredTimeoutHours * time.Hour)
	ts.SweepOnce(ctx)
	clLive.rec.waitFor(t, "the apology at the client", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.MessageFrame) bool {
			return f.Message.Kind == protocol.KindApology && f.Message.Body == apology
		})
	})
	co.rec.waitFor(t, "the pool lets it go", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationWithdrawnFrame) bool { return f.ConversationID == conv })
	})
	weeks, err := o.admin.UnansweredWeeks(ctx, 2)
	if err != nil || len(weeks) != 2 || weeks[0].Count != 1 {
		t.Fatalf("weeks: %+v %v", weeks, err)
	}
	if !strings.Contains(ts.logs.String(), "unanswered") {
		t.Fatalf("the sweep did not log it: %s", ts.logs.String())
	}
}

// Risk first over the server: the counselors on duty are sent the raised
// conversation with its marker; the client's app never is.
func TestRiskFirstLive(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "相談室")
	co := goLive(t, ts.newCounselor(t, o, "みどり"), 0)
	cl, _ := ts.newClient(t, o, "さくら")
	clLive := goLive(t, cl, 0)
	if _, err := clLive.live.Send(context.Background(), 0, "もう死にたい"); err != nil {
		t.Fatal(err)
	}
	co.rec.waitFor(t, "the raised conversation at the counselor", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationFrame) bool {
			return f.Conversation.RiskAt != nil && f.Conversation.InPool()
		})
	})
	clLive.rec.waitFor(t, "the client's own state", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationFrame) bool { return f.Conversation.Status == protocol.StatusWaiting })
	})
	if hasEvent(clLive.rec.snapshot(), func(f *protocol.ConversationFrame) bool { return f.Conversation.RiskAt != nil }) {
		t.Fatal("the client's app was sent the risk marker")
	}
	if strings.Contains(ts.logs.String(), "死にたい") {
		t.Fatal("the words reached the log")
	}
}
