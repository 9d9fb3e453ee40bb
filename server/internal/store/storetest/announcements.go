package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// testAnnouncements: an admin's announcement to a group reaches that
// group's clients only (the listing and ChangeNews), one to all reaches
// every client; a scheduled one shows from its start and publishes no
// news before; clients never see the groups; the sweep deletes them on
// the retention schedule; only admins send and delete; the audit log
// records both without the text.
func testAnnouncements(t *testing.T, open Opener) {
	ctx := context.Background()
	f := NewFixture(t, open)
	o := f.Org(t, 1) // the default group's client
	other := f.Org(t, 1)
	name := "A社"
	g, err := f.Store.CreateGroup(ctx, o.Admin, protocol.GroupRequest{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	inA, err := f.Store.CreateAccount(ctx, o.Admin, store.NewAccount{OrgID: o.ID, Role: protocol.RoleClient, LoginID: "ann-a", Nickname: "あおい", PasswordHash: "x", GroupID: g.ID})
	if err != nil {
		t.Fatal(err)
	}
	clientA := store.Principal{AccountID: inA.ID, OrgID: o.ID, Role: protocol.RoleClient}
	clientDefault := o.Clients[0]

	if _, err := f.Store.CreateAnnouncement(ctx, o.Staff, protocol.AnnouncementRequest{Body: "x"}); Code(err) != protocol.CodeForbidden {
		t.Errorf("a counselor announced: %v", err)
	}
	if _, err := f.Store.CreateAnnouncement(ctx, o.Admin, protocol.AnnouncementRequest{Body: "x", GroupIDs: []int64{mustGroup(t, f, other.Admin)}}); Code(err) != protocol.CodeInvalid {
		t.Errorf("announced to another organisation's group: %v", err)
	}
	before := len(f.Published(store.ChangeNews))
	toA, err := f.Store.CreateAnnouncement(ctx, o.Admin, protocol.AnnouncementRequest{Body: "12月29日から1月3日まで休業します。", GroupIDs: []int64{g.ID}})
	if err != nil {
		t.Fatal(err)
	}
	news := f.Published(store.ChangeNews)
	if len(news) != before+1 || !slices.Equal(news[len(news)-1].ClientIDs, []int64{inA.ID}) {
		t.Fatalf("news for A社: %+v", news[before:])
	}
	toAll, err := f.Store.CreateAnnouncement(ctx, o.Admin, protocol.AnnouncementRequest{Body: "受付時間が変わります。"})
	if err != nil {
		t.Fatal(err)
	}
	news = f.Published(store.ChangeNews)
	if got := news[len(news)-1].ClientIDs; len(got) != 2 {
		t.Errorf("news for everyone reached %v", got)
	}
	start := f.Clock.Now().Add(24 * time.Hour)
	later, err := f.Store.CreateAnnouncement(ctx, o.Admin, protocol.AnnouncementRequest{Body: "明日から", StartsAt: &start})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Published(store.ChangeNews)) != len(news) {
		t.Error("a scheduled announcement published news before its start")
	}

	ids := func(p store.Principal) []int64 {
		t.Helper()
		list, err := f.Store.Announcements(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, a := range list {
			if p.Role == protocol.RoleClient && len(a.GroupIDs) > 0 {
				t.Errorf("a client sees the groups of announcement %d", a.ID)
			}
			out = append(out, a.ID)
		}
		return out
	}
	if got := ids(clientA); !slices.Equal(got, []int64{toAll.ID, toA.ID}) {
		t.Errorf("A社's client sees %v", got)
	}
	if got := ids(clientDefault); !slices.Equal(got, []int64{toAll.ID}) {
		t.Errorf("the default group's client sees %v", got)
	}
	if got := ids(o.Admin); len(got) != 3 {
		t.Errorf("the admin sees %v", got)
	}
	if got := ids(other.Admin); len(got) != 0 {
		t.Errorf("another organisation sees %v", got)
	}
	if _, err := f.Store.Announcements(ctx, o.Staff); Code(err) != protocol.CodeForbidden {
		t.Errorf("a counselor listed announcements: %v", err)
	}
	f.Clock.Add(25 * time.Hour)
	if got := ids(clientDefault); !slices.Contains(got, later.ID) {
		t.Errorf("the scheduled one is not shown after its start: %v", got)
	}
	if err := f.Store.DeleteAnnouncement(ctx, o.Staff, toAll.ID); Code(err) != protocol.CodeForbidden {
		t.Errorf("a counselor deleted: %v", err)
	}
	if err := f.Store.DeleteAnnouncement(ctx, other.Admin, toAll.ID); Code(err) != protocol.CodeNotFound {
		t.Errorf("another organisation's admin deleted: %v", err)
	}
	if err := f.Store.DeleteAnnouncement(ctx, o.Admin, toAll.ID); err != nil {
		t.Fatal(err)
	}
	// The retention schedule (7 days by default) deletes the rest.
	f.Clock.Add(8 * 24 * time.Hour)
	res, err := f.Store.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Announcements != 2 {
		t.Errorf("the sweep deleted %d announcements, want 2", res.Announcements)
	}
	if got := ids(o.Admin); len(got) != 0 {
		t.Errorf("after the sweep the admin sees %v", got)
	}
	audit, err := f.Store.AuditLog(ctx, o.Admin, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[protocol.AuditAction]int{}
	for _, e := range audit.Entries {
		counts[e.Action]++
		if e.Detail == "12月29日から1月3日まで休業します。" {
			t.Error("the audit log holds an announcement's text")
		}
	}
	if counts[protocol.AuditAnnouncementSent] != 3 || counts[protocol.AuditAnnouncementDeleted] != 1 {
		t.Errorf("audit: %v", counts)
	}
}
