package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// testUsage: the figures per group count registrations, clients who
// wrote (once a week however often), conversations that began and the
// median wait for an answer; counts of 1 to 4 are "<5" and a median of
// fewer than five answers is not given; only admins read them.
func testUsage(t *testing.T, open Opener) {
	ctx := context.Background()
	f := NewFixture(t, open)
	o := f.Org(t, 0)
	group := func(name string) int64 {
		t.Helper()
		g, err := f.Store.CreateGroup(ctx, o.Admin, protocol.GroupRequest{Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		return g.ID
	}
	a, b := group("A社"), group("B社")
	write := func(cl store.Principal, ref, body string) {
		t.Helper()
		if _, _, err := f.Store.Send(ctx, cl, store.SendRequest{Ref: ref, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	clients := func(g int64, n int) []store.Principal {
		t.Helper()
		var out []store.Principal
		for i := range n {
			acct, err := f.Store.CreateAccount(ctx, o.Admin, store.NewAccount{OrgID: o.ID, Role: protocol.RoleClient,
				LoginID: fmt.Sprintf("u-%d-%d", g, i), Nickname: "x", PasswordHash: "x", GroupID: g})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, store.Principal{AccountID: acct.ID, OrgID: o.ID, Role: protocol.RoleClient})
		}
		return out
	}
	inA, inB := clients(a, 6), clients(b, 2)
	for i, cl := range append(inA, inB...) {
		write(cl, fmt.Sprint("m1-", i), "相談があります")
		write(cl, fmt.Sprint("m2-", i), "続きです") // the same week: still one who wrote
	}
	f.Clock.Add(10 * time.Minute)
	convs, err := f.Store.Conversations(ctx, o.Admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range convs {
		if _, _, err := f.Store.Send(ctx, o.Admin, store.SendRequest{Ref: fmt.Sprint("r-", c.ID), ConversationID: c.ID, Body: "お返事します"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Store.Usage(ctx, o.Staff, 4); Code(err) != protocol.CodeForbidden {
		t.Errorf("a counselor read the figures: %v", err)
	}
	got, err := f.Store.Usage(ctx, o.Admin, 4)
	if err != nil {
		t.Fatal(err)
	}
	byGroup := map[int64]protocol.GroupUsage{}
	for _, u := range got {
		byGroup[u.GroupID] = u
	}
	ua, ub := byGroup[a], byGroup[b]
	if ua.Registered.String() != "6" || ua.Wrote.String() != "6" || ua.Conversations.String() != "6" || ua.MedianAnswerSeconds == nil || *ua.MedianAnswerSeconds != 600 {
		t.Errorf("A社: %+v", ua)
	}
	if ub.Registered.String() != "<5" || ub.Wrote.String() != "<5" || ub.Conversations.String() != "<5" || ub.MedianAnswerSeconds != nil {
		t.Errorf("B社: %+v", ub)
	}
	if ua.Week == "" || ua.GroupName != "A社" {
		t.Errorf("A社's week and name: %+v", ua)
	}
}
