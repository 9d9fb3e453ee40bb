package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

func testConversationFlow(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 1)
	cl := o.Clients[0]
	conv := f.Conversation(t, cl)
	if conv.Status != protocol.StatusNew {
		t.Fatalf("a new client's conversation: %+v", conv)
	}
	// Staff may not write first by default.
	if _, _, err := f.Store.Send(ctx, o.Staff, store.SendRequest{Ref: "s0", ConversationID: conv.ID, Body: "こんにちは"}); Code(err) != protocol.CodeClientFirst {
		t.Fatalf("staff first: %v", err)
	}
	m1 := f.Send(t, cl, 0, "c1", "聞いてほしいことがあります")
	if m1.Seq != 1 || m1.ConversationID != conv.ID || !m1.ExpiresAt.Equal(m1.CreatedAt.Add(7*24*time.Hour)) {
		t.Fatalf("m1 = %+v", m1)
	}
	// Idempotency: the same sender and ref is the same message.
	again, created, err := f.Store.Send(ctx, cl, store.SendRequest{Ref: "c1", Body: "聞いてほしいことがあります"})
	if err != nil || created || again.ID != m1.ID || again.Body != m1.Body {
		t.Fatalf("resend: %+v created=%v err=%v", again, created, err)
	}
	c, _ := f.Store.Conversation(ctx, o.Staff, conv.ID)
	if c.Status != protocol.StatusWaiting || c.WaitingSince == nil || c.LastSeq != 1 || c.AssigneeID != nil {
		t.Fatalf("after the client's message: %+v", c)
	}
	m2 := f.Send(t, o.Staff, conv.ID, "s1", "はい、どうぞ")
	if m2.Seq != 2 || m2.ID <= m1.ID {
		t.Fatalf("m2 = %+v", m2)
	}
	c, _ = f.Store.Conversation(ctx, o.Staff, conv.ID)
	if c.Status != protocol.StatusAnswered || c.WaitingSince != nil || c.AssigneeID == nil || *c.AssigneeID != o.Staff.AccountID {
		t.Fatalf("after the reply: %+v", c)
	}
	page, err := f.Store.History(ctx, o.Staff, conv.ID, 0, 1)
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Seq != 2 || page.NextBefore != 2 {
		t.Fatalf("history page 1 = %+v, %v", page, err)
	}
	page, err = f.Store.History(ctx, o.Staff, conv.ID, page.NextBefore, 1)
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Seq != 1 || page.NextBefore != 0 || page.Messages[0].Body != "聞いてほしいことがあります" {
		t.Fatalf("history page 2 = %+v, %v", page, err)
	}
	after, err := f.Store.MessagesAfter(ctx, cl, m1.ID, 0)
	if err != nil || len(after) != 1 || after[0].ID != m2.ID {
		t.Fatalf("after = %+v, %v", after, err)
	}
	if n := len(f.Published(store.ChangeMessage)); n != 2 {
		t.Fatalf("published %d message changes, want 2", n)
	}
}

func testIsolation(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	a, b := f.Org(t, 2), f.Org(t, 1)
	mA := f.Send(t, a.Clients[0], 0, "a", "A's secret")
	f.Send(t, a.Clients[1], 0, "a", "A2's secret") // same ref, other sender: a new message
	f.Send(t, b.Clients[0], 0, "b", "B's secret")
	tests := []struct {
		name string
		p    store.Principal
		want int // messages visible
	}{
		{"a client sees only its own", a.Clients[0], 1},
		{"another client of the same organisation", a.Clients[1], 1},
		{"admins of A see A", a.Admin, 2},
		{"admins of B see B", b.Admin, 1},
		{"a counselor of A reads none of what waits in A's pool", a.Staff, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := f.Store.MessagesAfter(ctx, tt.p, 0, 0)
			if err != nil || len(msgs) != tt.want {
				t.Fatalf("got %d messages (%v), want %d", len(msgs), err, tt.want)
			}
			convs, _ := f.Store.Conversations(ctx, tt.p)
			for _, m := range msgs {
				found := false
				for _, c := range convs {
					found = found || c.ID == m.ConversationID
				}
				if !found {
					t.Fatalf("message %d from a conversation not listed", m.ID)
				}
			}
		})
	}
	// Another tenant's conversation is not found, never forbidden.
	for _, p := range []store.Principal{b.Staff, a.Clients[1]} {
		if _, err := f.Store.Conversation(ctx, p, mA.ConversationID); Code(err) != protocol.CodeNotFound {
			t.Errorf("%+v read the conversation: %v", p, err)
		}
		if _, err := f.Store.History(ctx, p, mA.ConversationID, 0, 10); Code(err) != protocol.CodeNotFound {
			t.Errorf("%+v read the history: %v", p, err)
		}
		if err := f.Store.Receipt(ctx, p, mA.ConversationID, 1, 1); p.IsStaff() && Code(err) != protocol.CodeNotFound {
			t.Errorf("%+v receipt: %v", p, err)
		}
	}
	if _, _, err := f.Store.Send(ctx, b.Staff, store.SendRequest{Ref: "x", ConversationID: mA.ConversationID, Body: "hi"}); Code(err) != protocol.CodeNotFound {
		t.Fatalf("cross-organisation send: %v", err)
	}
	// A client names its own conversation or none; another's is not found.
	if _, _, err := f.Store.Send(ctx, a.Clients[1], store.SendRequest{Ref: "z", ConversationID: mA.ConversationID, Body: "mine"}); Code(err) != protocol.CodeNotFound {
		t.Fatalf("a client wrote into another client's conversation: %v", err)
	}
	if err := f.Store.DeleteAccount(ctx, b.Admin, a.Clients[0].AccountID); Code(err) != protocol.CodeNotFound {
		t.Fatalf("cross-organisation delete: %v", err)
	}
	if err := f.Store.DeleteAccount(ctx, a.Staff, a.Clients[0].AccountID); Code(err) != protocol.CodeForbidden {
		t.Fatalf("a counselor deleted: %v", err)
	}
	if _, err := f.Store.Account(ctx, b.Admin, a.Clients[0].AccountID); Code(err) != protocol.CodeNotFound {
		t.Fatalf("cross-organisation account: %v", err)
	}
	if _, err := f.Store.Devices(ctx, b.Admin, a.Clients[0].AccountID); Code(err) != protocol.CodeNotFound {
		t.Fatalf("cross-organisation devices: %v", err)
	}
	if _, err := f.Store.Assign(ctx, b.Staff, mA.ConversationID, &b.Staff.AccountID); Code(err) != protocol.CodeNotFound {
		t.Fatalf("cross-organisation assign: %v", err)
	}
}

func testClosedHours(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 1)
	cl := o.Clients[0]
	// Open 09:00–10:00 on weekdays only; the clock says 12:00 Monday.
	sched := hours.Schedule{TimeZone: "Asia/Tokyo"}
	for d := time.Monday; d <= time.Friday; d++ {
		sched.Spans = append(sched.Spans, hours.Span{Day: d, Start: 9 * 60, End: 10 * 60})
	}
	org, err := f.Store.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{Hours: &sched})
	if err != nil || org.Availability.State != hours.StateClosed {
		t.Fatalf("settings: %+v %v", org, err)
	}
	f.Send(t, cl, 0, "1", "夜分にすみません")
	f.Send(t, cl, 0, "2", "もう一つ")
	msgs, _ := f.Store.MessagesAfter(ctx, cl, 0, 0)
	if len(msgs) != 3 || msgs[1].Kind != protocol.KindClosedNotice || msgs[1].ReopensAt == nil {
		t.Fatalf("want text, one notice, text; got %+v", msgs)
	}
	want := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC) // Tuesday 09:00 JST
	if !msgs[1].ReopensAt.Equal(want) {
		t.Fatalf("reopens at %v, want %v", msgs[1].ReopensAt, want)
	}
	// Staff can still answer while closed.
	f.Send(t, o.Staff, msgs[0].ConversationID, "s", "明日お返事します")
	block := protocol.ClosedBlock
	if _, err := f.Store.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{ClosedBehavior: &block}); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.Store.Send(ctx, cl, store.SendRequest{Ref: "3", Body: "届きますか"})
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeClosed || pe.ReopensAt == nil || !pe.ReopensAt.Equal(want) {
		t.Fatalf("blocked send: %v", err)
	}
	// Next opening: a new closed stretch later gets a new notice.
	f.Clock.Add(21*time.Hour + 30*time.Minute) // Tuesday 09:30 JST
	accept := protocol.ClosedAccept
	if _, err := f.Store.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{ClosedBehavior: &accept}); err != nil {
		t.Fatal(err)
	}
	f.Send(t, cl, 0, "4", "おはようございます")
	f.Clock.Add(time.Hour) // 10:30: closed again
	f.Send(t, cl, 0, "5", "また閉まりました")
	msgs, _ = f.Store.MessagesAfter(ctx, cl, 0, 0)
	notices := 0
	for _, m := range msgs {
		if m.Kind == protocol.KindClosedNotice {
			notices++
		}
	}
	if notices != 2 {
		t.Fatalf("notices = %d, want 2", notices)
	}
}

func testRetention(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 2)
	old := f.Send(t, o.Clients[0], 0, "old", "消えるはずの言葉")
	f.Send(t, o.Staff, old.ConversationID, "r", "返事")
	f.Send(t, o.Clients[1], 0, "other", "別の人")
	f.Clock.Add(6 * 24 * time.Hour)
	keep := f.Send(t, o.Clients[0], 0, "new", "残る言葉")
	f.Clock.Add(24*time.Hour + time.Second)
	res, err := f.Store.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 3 || res.Conversations != 2 {
		t.Fatalf("sweep = %+v, want 3 messages in 2 conversations", res)
	}
	if msgs, err := f.Store.MessagesAfter(ctx, o.Staff, 0, 0); err != nil || len(msgs) != 1 || msgs[0].Body != "残る言葉" {
		t.Errorf("after the sweep: %+v %v", msgs, err)
	}
	dels := f.Published(store.ChangeDeleted)
	if len(dels) != 2 {
		t.Fatalf("deleted changes = %+v", dels)
	}
	for _, d := range dels {
		if d.ConversationID == old.ConversationID && (d.ThroughSeq != 2 || d.Count != 2 || d.At.IsZero()) {
			t.Fatalf("deletion of conversation %d = %+v, want through 2, count 2, with its time", d.ConversationID, d)
		}
	}
	c, _ := f.Store.Conversation(ctx, o.Staff, old.ConversationID)
	if c.FirstSeq != keep.Seq || c.LastSeq != keep.Seq {
		t.Fatalf("first/last seq = %d/%d, want %d", c.FirstSeq, c.LastSeq, keep.Seq)
	}
	if page, err := f.Store.History(ctx, o.Clients[0], old.ConversationID, 0, 100); err != nil || len(page.Messages) != 1 {
		t.Fatalf("history after the sweep: %+v %v", page, err)
	}
}

func testShorterRetention(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 1)
	f.Send(t, o.Clients[0], 0, "1", "one")
	day := int64(24 * 3600)
	if _, err := f.Store.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{RetentionSeconds: &day}); err != nil {
		t.Fatal(err)
	}
	msgs, _ := f.Store.MessagesAfter(ctx, o.Admin, 0, 0)
	if got := msgs[0].ExpiresAt.Sub(msgs[0].CreatedAt); got != 24*time.Hour || msgs[0].Body != "one" {
		t.Fatalf("expiry after shortening = %v (%q)", got, msgs[0].Body)
	}
	month := int64(30 * 24 * 3600)
	if _, err := f.Store.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{RetentionSeconds: &month}); err != nil {
		t.Fatal(err)
	}
	msgs, _ = f.Store.MessagesAfter(ctx, o.Admin, 0, 0)
	if got := msgs[0].ExpiresAt.Sub(msgs[0].CreatedAt); got != 24*time.Hour {
		t.Fatalf("lengthening extended a stored message to %v", got)
	}
	if _, err := f.Store.UpdateSettings(ctx, o.Staff, protocol.SettingsPatch{RetentionSeconds: &day}); Code(err) != protocol.CodeForbidden {
		t.Fatalf("a counselor changed settings: %v", err)
	}
}

func testDeleteClient(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 1)
	cl := o.Clients[0]
	m := f.Send(t, cl, 0, "1", "消える相談")
	hash := []byte("hash-of-token-000000000000000000")
	sess, err := f.Store.CreateSession(ctx, store.NewSession{AccountID: cl.AccountID, TokenHash: hash, Device: "phone", ExpiresAt: f.Clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Store.DeleteAccount(ctx, o.Admin, cl.AccountID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Store.SessionByToken(ctx, hash); Code(err) != protocol.CodeUnauthorized {
		t.Fatalf("the session survived the deletion: %v", err)
	}
	rev := f.Published(store.ChangeRevoked)
	if len(rev) != 1 || rev[0].AccountID != cl.AccountID || len(rev[0].SessionIDs) != 1 || rev[0].SessionIDs[0] != sess.ID || rev[0].Reason != "deleted" {
		t.Fatalf("revocations = %+v", rev)
	}
	if d := f.Published(store.ChangeConversationDeleted); len(d) != 1 || d[0].ConversationID != m.ConversationID || d[0].At.IsZero() {
		t.Fatalf("conversation deletions = %+v", d)
	}
	if _, err := f.Store.Conversation(ctx, o.Staff, m.ConversationID); Code(err) != protocol.CodeNotFound {
		t.Fatalf("the conversation is still there: %v", err)
	}
	if msgs, _ := f.Store.MessagesAfter(ctx, o.Staff, 0, 0); len(msgs) != 0 {
		t.Fatalf("messages of a deleted client: %+v", msgs)
	}
	// Its device can still confirm that it wiped itself.
	if err := f.Store.RecordWipedEnded(ctx, hash); err != nil {
		t.Fatal(err)
	}
	devs, err := f.Store.Devices(ctx, o.Admin, cl.AccountID)
	if err != nil || len(devs) != 1 || devs[0].Active || devs[0].EndReason != "deleted" || devs[0].WipedAt == nil {
		t.Fatalf("the deleted client's device: %+v %v", devs, err)
	}
}

func testIDsNeverReused(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 1)
	old := o.Clients[0]
	oldConv := f.Conversation(t, old)
	oldSess, err := f.Store.CreateSession(ctx, store.NewSession{AccountID: old.AccountID, TokenHash: []byte("old-token-hash-0000000000000000"), ExpiresAt: f.Clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// The newest of everything is deleted; the next must not take its ID.
	if err := f.Store.DeleteAccount(ctx, o.Admin, old.AccountID); err != nil {
		t.Fatal(err)
	}
	next := f.Account(t, o.ID, protocol.RoleClient)
	nextConv := f.Conversation(t, next)
	nextSess, err := f.Store.CreateSession(ctx, store.NewSession{AccountID: next.AccountID, TokenHash: []byte("new-token-hash-0000000000000000"), ExpiresAt: f.Clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if next.AccountID <= old.AccountID || nextConv.ID <= oldConv.ID || nextSess.ID <= oldSess.ID {
		t.Fatalf("reused: account %d→%d, conversation %d→%d, session %d→%d",
			old.AccountID, next.AccountID, oldConv.ID, nextConv.ID, oldSess.ID, nextSess.ID)
	}
}

func testSessions(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 1)
	cl := o.Clients[0]
	hash := []byte("0123456789abcdef0123456789abcdef")
	if _, err := f.Store.CreateSession(ctx, store.NewSession{AccountID: cl.AccountID, TokenHash: hash, ExpiresAt: f.Clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, a, err := f.Store.SessionByToken(ctx, hash); err != nil || a.ID != cl.AccountID {
		t.Fatalf("lookup: %+v %v", a, err)
	}
	until := f.Clock.Now().Add(30 * time.Minute)
	if _, err := f.Store.UpdateClient(ctx, o.Admin, cl.AccountID, protocol.UpdateClientRequest{AccessUntil: &until}); err != nil {
		t.Fatal(err)
	}
	if c := f.Published(store.ChangeAccess); len(c) != 1 || !c[0].AccessUntil.Equal(until) {
		t.Fatalf("access change = %+v", c)
	}
	f.Clock.Add(31 * time.Minute)
	if _, _, err := f.Store.SessionByToken(ctx, hash); Code(err) != protocol.CodeUnauthorized {
		t.Fatalf("the access date passed but the session is valid: %v", err)
	}
	if _, err := f.Store.UpdateClient(ctx, o.Admin, cl.AccountID, protocol.UpdateClientRequest{ClearAccessUntil: true}); err != nil {
		t.Fatal(err)
	}
	f.Clock.Add(30 * time.Minute)
	if _, _, err := f.Store.SessionByToken(ctx, hash); Code(err) != protocol.CodeUnauthorized {
		t.Fatalf("an expired session is valid: %v", err)
	}
	res, err := f.Store.Sweep(ctx)
	if err != nil || res.Sessions != 1 {
		t.Fatalf("sweep sessions = %+v %v", res, err)
	}
	// Ending access now ends every session at once.
	other := []byte("fedcba9876543210fedcba9876543210")
	if _, err := f.Store.CreateSession(ctx, store.NewSession{AccountID: cl.AccountID, TokenHash: other, ExpiresAt: f.Clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	past := f.Clock.Now().Add(-time.Minute)
	if _, err := f.Store.UpdateClient(ctx, o.Admin, cl.AccountID, protocol.UpdateClientRequest{AccessUntil: &past}); err != nil {
		t.Fatal(err)
	}
	rev := f.Published(store.ChangeRevoked)
	if last := rev[len(rev)-1]; last.Reason != "access_ended" || last.AccountID != cl.AccountID {
		t.Fatalf("revocation = %+v", last)
	}
}

func testReceipts(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 1)
	cl := o.Clients[0]
	m := f.Send(t, cl, 0, "1", "一")
	f.Send(t, o.Staff, m.ConversationID, "2", "二")
	if err := f.Store.Receipt(ctx, cl, 0, 2, 2); err != nil {
		t.Fatal(err)
	}
	before := len(f.Published(store.ChangeConversation))
	if err := f.Store.Receipt(ctx, cl, 0, 99, 1); err != nil { // capped, never lowered
		t.Fatal(err)
	}
	c, _ := f.Store.Conversation(ctx, cl, m.ConversationID)
	if c.ClientReadSeq != 2 || c.ClientDeliveredSeq != 2 {
		t.Fatalf("receipts: %+v", c)
	}
	if after := len(f.Published(store.ChangeConversation)); after != before {
		t.Fatal("a receipt that changed nothing was announced")
	}
	if err := f.Store.Receipt(ctx, o.Staff, m.ConversationID, 2, 2); err != nil {
		t.Fatal(err)
	}
	// Deletion receipts, per device.
	hash := []byte("device-token-hash-0000000000000000")
	sess, err := f.Store.CreateSession(ctx, store.NewSession{AccountID: cl.AccountID, TokenHash: hash, Device: "phone", ExpiresAt: f.Clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	at := f.Clock.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	if err := f.Store.RecordWiped(ctx, sess.ID, at); err != nil {
		t.Fatal(err)
	}
	devs, err := f.Store.Devices(ctx, o.Admin, cl.AccountID)
	if err != nil || len(devs) != 1 || !devs[0].Active || devs[0].WipedAt == nil || !devs[0].WipedAt.Equal(at) {
		t.Fatalf("devices = %+v %v", devs, err)
	}
}

func testAudit(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	o := f.Org(t, 1) // org created; admin, counselor and client created
	ctx := context.Background()
	cl := o.Clients[0]
	conv := f.Send(t, cl, 0, "a", "秘密の相談内容").ConversationID
	note := "ノートの中身"
	if _, err := f.Store.UpdateClient(ctx, o.Admin, cl.AccountID, protocol.UpdateClientRequest{Note: &note}); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.SetPassword(ctx, o.Admin, cl.AccountID, "new-hash"); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.RevokeAccountSessions(ctx, o.Admin, o.Staff.AccountID, "forced"); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.RevokeAccountSessions(ctx, o.Staff, o.Staff.AccountID, "own"); err != nil {
		t.Fatal(err) // signing oneself out everywhere is not an admin action
	}
	days := 90
	if _, err := f.Store.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{AuditRetentionDays: &days}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.Supervise(ctx, o.Admin, conv, 0, 10); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.DeleteAccount(ctx, o.Admin, cl.AccountID); err != nil {
		t.Fatal(err)
	}
	page, err := f.Store.AuditLog(ctx, o.Admin, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(page.Entries) - 1; i >= 0; i-- {
		e := page.Entries[i]
		got = append(got, e.ActorRole+" "+string(e.Action)+" "+string(e.TargetRole)+" "+e.Detail)
	}
	want := []string{
		"operator org_created  ",
		"operator account_created admin admin", // the fixture creates accounts as the operator
		"operator account_created counselor counselor",
		"operator account_created client client",
		"admin client_updated client note",
		"admin password_reset client ",
		"admin forced_logout counselor ",
		"admin settings_changed  audit_retention_days",
		"admin supervisor_view client ",
		"admin account_deleted client client",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Who, what, when: never the words, the note or a client's nickname.
	raw, _ := json.Marshal(page)
	for _, secret := range []string{"秘密の相談内容", note, "client "} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the audit log holds %q", secret)
		}
	}
	if page.Entries[0].ActorName == "" || page.Entries[0].ActorID == nil || *page.Entries[0].ActorID != o.Admin.AccountID {
		t.Errorf("actor not named: %+v", page.Entries[0])
	}
	if _, err := f.Store.AuditLog(ctx, o.Staff, 0, 10); Code(err) != protocol.CodeForbidden {
		t.Fatalf("a counselor read the audit log: %v", err)
	}
	if _, err := f.Store.Supervise(ctx, o.Staff, conv, 0, 10); Code(err) != protocol.CodeForbidden {
		t.Fatalf("a counselor supervised: %v", err)
	}
	first, _ := f.Store.AuditLog(ctx, o.Admin, 0, 4)
	rest, _ := f.Store.AuditLog(ctx, o.Admin, first.Entries[3].ID, 100)
	if !first.More || rest.More || len(first.Entries)+len(rest.Entries) != len(want) {
		t.Fatalf("pages: %d (more %v) + %d (more %v)", len(first.Entries), first.More, len(rest.Entries), rest.More)
	}
}

func testAuditRetention(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	a, b := f.Org(t, 0), f.Org(t, 0)
	ctx := context.Background()
	days := 30
	if _, err := f.Store.UpdateSettings(ctx, a.Admin, protocol.SettingsPatch{AuditRetentionDays: &days}); err != nil {
		t.Fatal(err)
	}
	count := func(p store.Principal) int {
		t.Helper()
		page, err := f.Store.AuditLog(ctx, p, 0, 500)
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Entries)
	}
	before := count(b.Admin)
	f.Clock.Add(31 * 24 * time.Hour)
	res, err := f.Store.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A keeps 30 days: all gone. B keeps the default year: all kept.
	if count(a.Admin) != 0 || count(b.Admin) != before || res.AuditEntries == 0 {
		t.Fatalf("after 31 days: A %d, B %d (of %d), swept %d", count(a.Admin), count(b.Admin), before, res.AuditEntries)
	}
}

// Many clients and staff writing at once: every conversation's sequence
// numbers stay 1, 2, 3… without gaps, and message IDs rise in commit
// order.
func testConcurrentSends(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 8)
	const each = 20
	var wg sync.WaitGroup
	errs := make(chan error, len(o.Clients)*each*2)
	for _, cl := range o.Clients {
		conv := f.Conversation(t, cl).ID
		f.Send(t, cl, 0, "first", "はじめまして")
		for _, p := range []store.Principal{cl, o.Staff} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if _, _, err := f.Store.Send(ctx, p, store.SendRequest{Ref: fmt.Sprintf("%d-%d-%d", p.AccountID, conv, i), ConversationID: conv, Body: "x"}); err != nil {
						errs <- err
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	msgs, err := f.Store.MessagesAfter(ctx, o.Staff, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	last := map[int64]int64{}
	var lastID int64
	for _, m := range msgs {
		if m.Seq != last[m.ConversationID]+1 || m.ID <= lastID {
			t.Fatalf("conversation %d: seq %d after %d (id %d after %d)", m.ConversationID, m.Seq, last[m.ConversationID], m.ID, lastID)
		}
		last[m.ConversationID], lastID = m.Seq, m.ID
	}
	if len(msgs) != len(o.Clients)*(1+2*each) {
		t.Fatalf("%d messages stored, want %d", len(msgs), len(o.Clients)*(1+2*each))
	}
}

// Several counselors take the same pool conversation at the same moment,
// with the claim (担当する), by assigning it to themselves, or by
// replying: exactly one gets it, and the others are told.
func testConcurrentClaims(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 3)
	counselors := []store.Principal{o.Staff}
	for range 7 {
		counselors = append(counselors, f.Account(t, o.ID, protocol.RoleCounselor))
	}
	ways := map[string]func(p store.Principal, conv int64) error{
		"claim": func(p store.Principal, conv int64) error { _, err := f.Store.Claim(ctx, p, conv); return err },
		"assign": func(p store.Principal, conv int64) error {
			id := p.AccountID
			_, err := f.Store.Assign(ctx, p, conv, &id)
			return err
		},
		"reply": func(p store.Principal, conv int64) error {
			_, _, err := f.Store.Send(ctx, p, store.SendRequest{Ref: fmt.Sprint("reply-", p.AccountID), ConversationID: conv, Body: "お話を聞かせてください"})
			return err
		},
	}
	i := 0
	for way, take := range ways {
		conv := f.Send(t, o.Clients[i], 0, "1", "誰か").ConversationID
		i++
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins []int64
		)
		start := make(chan struct{})
		for _, p := range counselors {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				switch err := take(p, conv); Code(err) {
				case "":
					mu.Lock()
					wins = append(wins, p.AccountID)
					mu.Unlock()
				case protocol.CodeTaken, protocol.CodeForbidden:
				default:
					t.Errorf("%s: %v", way, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		c, _ := f.Store.Conversation(ctx, o.Admin, conv)
		if len(wins) != 1 || c.AssigneeID == nil || *c.AssigneeID != wins[0] || c.InPool() {
			t.Fatalf("%s: winners %v, assignee %v", way, wins, c.AssigneeID)
		}
		if way == "reply" {
			if msgs, _ := f.Store.MessagesAfter(ctx, o.Admin, 0, 1000); countFrom(msgs, conv, true) != 1 {
				t.Fatalf("reply: %d staff replies stored, want the winner's only", countFrom(msgs, conv, true))
			}
		}
	}
}

func countFrom(msgs []protocol.Message, conv int64, staff bool) int {
	n := 0
	for _, m := range msgs {
		if m.ConversationID == conv && m.SenderRole.IsStaff() == staff {
			n++
		}
	}
	return n
}

// The pool: what a counselor sees of a conversation nobody has, taking
// it, and what colleagues see afterwards.
func testPool(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 2)
	colleague := f.Account(t, o.ID, protocol.RoleCounselor)
	m := f.Send(t, o.Clients[0], 0, "1", "はじめまして。眠れない日が続いています。")
	f.Send(t, o.Clients[0], 0, "2", "誰かに聞いてほしくて。")
	conv := m.ConversationID
	fresh := f.Conversation(t, o.Clients[1]).ID // has not written: not in the pool

	// Waiting in the pool: counselors see its state, not its text.
	for _, p := range []store.Principal{o.Staff, colleague} {
		cs, err := f.Store.Conversations(ctx, p)
		if err != nil || len(cs) != 1 || cs[0].ID != conv || !cs[0].InPool() || !cs[0].PoolSince.Equal(m.CreatedAt) {
			t.Fatalf("a counselor's listing: %+v %v", cs, err)
		}
		if _, err := f.Store.History(ctx, p, conv, 0, 10); Code(err) != protocol.CodeForbidden {
			t.Fatalf("a counselor read the pool's text: %v", err)
		}
		if msgs, _ := f.Store.MessagesAfter(ctx, p, 0, 10); len(msgs) != 0 {
			t.Fatalf("a counselor's replay holds the pool's text: %+v", msgs)
		}
		if err := f.Store.Receipt(ctx, p, conv, 2, 2); Code(err) != protocol.CodeForbidden {
			t.Fatalf("a counselor marked the pool read: %v", err)
		}
	}
	if cs, _ := f.Store.Conversations(ctx, o.Admin); len(cs) != 2 {
		t.Fatalf("an admin sees %d conversations, want both", len(cs))
	}
	if _, err := f.Store.Preview(ctx, o.Staff, fresh); Code(err) != protocol.CodeForbidden {
		t.Fatalf("a preview of a client who has not written: %v", err)
	}
	// A preview: the waiting messages, recorded.
	pv, err := f.Store.Preview(ctx, o.Staff, conv)
	if err != nil || len(pv.Messages) != 2 || pv.Messages[0].Body != "はじめまして。眠れない日が続いています。" || pv.Conversation.ID != conv {
		t.Fatalf("preview: %+v %v", pv, err)
	}
	log, _ := f.Store.AuditLog(ctx, o.Admin, 0, 10)
	if e := log.Entries[0]; e.Action != protocol.AuditPoolPreview || *e.ActorID != o.Staff.AccountID || *e.TargetID != o.Clients[0].AccountID {
		t.Fatalf("the preview's record: %+v", e)
	}

	// Taken: the assignee reads everything, the colleague nothing.
	before := len(f.Published(store.ChangeConversation))
	c, err := f.Store.Claim(ctx, o.Staff, conv)
	if err != nil || c.AssigneeID == nil || *c.AssigneeID != o.Staff.AccountID || c.InPool() {
		t.Fatalf("claim: %+v %v", c, err)
	}
	if again, err := f.Store.Claim(ctx, o.Staff, conv); err != nil || *again.AssigneeID != o.Staff.AccountID {
		t.Fatalf("claiming one's own again: %+v %v", again, err)
	}
	if _, err := f.Store.Claim(ctx, colleague, conv); Code(err) != protocol.CodeTaken {
		t.Fatalf("a colleague's claim after: %v", err)
	}
	ch := f.Published(store.ChangeConversation)[before:]
	if len(ch) != 1 || ch[0].Before == nil || !ch[0].Before.InPool() || ch[0].Conversation.InPool() {
		t.Fatalf("the claim's change (one, with the pool before): %+v", ch)
	}
	if page, err := f.Store.History(ctx, o.Staff, conv, 0, 10); err != nil || len(page.Messages) != 2 {
		t.Fatalf("the assignee's history: %+v %v", page, err)
	}
	if msgs, _ := f.Store.MessagesAfter(ctx, o.Staff, 0, 10); len(msgs) != 2 {
		t.Fatalf("the assignee's replay: %d messages", len(msgs))
	}
	if cs, _ := f.Store.Conversations(ctx, colleague); len(cs) != 0 {
		t.Fatalf("a colleague still sees %+v", cs)
	}
	if _, err := f.Store.History(ctx, colleague, conv, 0, 10); Code(err) != protocol.CodeForbidden {
		t.Fatalf("a colleague read it: %v", err)
	}
	if _, err := f.Store.Preview(ctx, colleague, conv); Code(err) != protocol.CodeForbidden {
		t.Fatalf("a colleague previewed it: %v", err)
	}
	if _, _, err := f.Store.Send(ctx, colleague, store.SendRequest{Ref: "c", ConversationID: conv, Body: "x"}); Code(err) != protocol.CodeForbidden {
		t.Fatalf("a colleague wrote in it: %v", err)
	}
	if _, _, err := f.Store.Send(ctx, o.Admin, store.SendRequest{Ref: "a", ConversationID: conv, Body: "x"}); Code(err) != protocol.CodeForbidden {
		t.Fatalf("an admin wrote in a counselor's conversation: %v", err)
	}
	if page, err := f.Store.History(ctx, o.Admin, conv, 0, 10); err != nil || len(page.Messages) != 2 {
		t.Fatalf("an admin reads all: %+v %v", page, err)
	}
	f.Send(t, o.Staff, conv, "r", "お話しくださってありがとうございます。")

	// Released: back in the pool for everyone.
	if c, err = f.Store.Assign(ctx, o.Staff, conv, nil); err != nil || !c.InPool() {
		t.Fatalf("release: %+v %v", c, err)
	}
	if cs, _ := f.Store.Conversations(ctx, colleague); len(cs) != 1 {
		t.Fatalf("the colleague does not see the released conversation: %+v", cs)
	}
	if pv, err := f.Store.Preview(ctx, colleague, conv); err != nil || len(pv.Messages) != 1 || pv.Messages[0].Body != "誰かに聞いてほしくて。" {
		t.Fatalf("with nothing waiting, the preview is the client's last message: %+v %v", pv, err)
	}
}

// With claim_by_button, only the claim takes a conversation: a reply to
// the pool is refused until then.
func testClaimByButton(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 1)
	on := true
	if _, err := f.Store.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{ClaimByButton: &on}); err != nil {
		t.Fatal(err)
	}
	conv := f.Send(t, o.Clients[0], 0, "1", "相談です").ConversationID
	if _, _, err := f.Store.Send(ctx, o.Staff, store.SendRequest{Ref: "r", ConversationID: conv, Body: "はい"}); Code(err) != protocol.CodeClaimFirst {
		t.Fatalf("a reply before the claim: %v", err)
	}
	if _, err := f.Store.Claim(ctx, o.Staff, conv); err != nil {
		t.Fatal(err)
	}
	f.Send(t, o.Staff, conv, "r", "はい")
}

// Two admins deleting each other at the same moment leave one of them.
func testConcurrentAdminDeletes(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	for round := range 10 {
		o := f.Org(t, 0)
		second := f.Account(t, o.ID, protocol.RoleAdmin)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); f.Store.DeleteAccount(ctx, o.Admin, second.AccountID) }()
		go func() { defer wg.Done(); f.Store.DeleteAccount(ctx, second, o.Admin.AccountID) }()
		wg.Wait()
		admins, err := f.Store.Accounts(ctx, o.Staff, protocol.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if len(admins) != 1 {
			t.Fatalf("round %d: %d admins left", round, len(admins))
		}
	}
}

// A subscription's snapshot and its changes meet without a gap: every
// message is at or below the snapshot's high-water mark, or published
// after the registration (some may be both: the subscriber skips those).
func testSubscribe(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 4)
	var wg sync.WaitGroup
	for _, cl := range o.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if _, _, err := f.Store.Send(ctx, cl, store.SendRequest{Ref: fmt.Sprint(i), Body: "x"}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	var registeredAt int
	snap, err := f.Store.Subscribe(ctx, o.Admin, func() { registeredAt = len(f.Published(store.ChangeMessage)) })
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	reached := map[int64]bool{}
	for _, c := range f.Published(store.ChangeMessage)[registeredAt:] {
		reached[c.Message.ID] = true
	}
	msgs, _ := f.Store.MessagesAfter(ctx, o.Admin, 0, 10000)
	if len(msgs) != 100 {
		t.Fatalf("%d messages stored, want 100", len(msgs))
	}
	for _, m := range msgs {
		if m.ID > snap.HighWater && !reached[m.ID] {
			t.Fatalf("message %d is above the snapshot (%d) and was never published to the subscriber", m.ID, snap.HighWater)
		}
	}
}

// A staff-only note is kept in the conversation for staff, never for its
// client; a hand-over moves the conversation, its note with it, and says
// so to the client only where the organisation wants it.
func testNotesAndHandover(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 1)
	colleague := f.Account(t, o.ID, protocol.RoleCounselor)
	cl := o.Clients[0]
	conv := f.Send(t, cl, 0, "1", "眠れません").ConversationID
	f.Send(t, o.Staff, conv, "r", "お話を聞かせてください")
	if _, _, err := f.Store.Send(ctx, colleague, store.SendRequest{Ref: "n0", ConversationID: conv, Body: "x", Kind: protocol.KindNote}); Code(err) != protocol.CodeForbidden {
		t.Fatalf("a note in a colleague's conversation: %v", err)
	}
	if _, _, err := f.Store.Send(ctx, cl, store.SendRequest{Ref: "n1", Body: "x", Kind: protocol.KindNote}); Code(err) != protocol.CodeForbidden {
		t.Fatalf("a client's note: %v", err)
	}
	noted, _, err := f.Store.Send(ctx, o.Staff, store.SendRequest{Ref: "n2", ConversationID: conv, Body: "NOTE-MARKER 不眠が続く", Kind: protocol.KindNote})
	if err != nil || noted.Kind != protocol.KindNote || noted.Seq != 3 {
		t.Fatalf("a note: %+v %v", noted, err)
	}
	c, _ := f.Store.Conversation(ctx, o.Admin, conv)
	if c.Status != protocol.StatusAnswered || c.LastSeq != 3 {
		t.Fatalf("after the note: %+v", c)
	}
	staffHas := func(p store.Principal) bool {
		page, _ := f.Store.History(ctx, p, conv, 0, 10)
		for _, m := range page.Messages {
			if m.ID == noted.ID && m.Body == "NOTE-MARKER 不眠が続く" {
				return true
			}
		}
		return false
	}
	if !staffHas(o.Staff) || !staffHas(o.Admin) {
		t.Fatal("staff do not read the note")
	}
	page, _ := f.Store.History(ctx, cl, conv, 0, 10)
	after, _ := f.Store.MessagesAfter(ctx, cl, 0, 10)
	for _, m := range append(page.Messages, after...) {
		if m.Kind == protocol.KindNote {
			t.Fatalf("the client was given a note: %+v", m)
		}
	}
	if len(page.Messages) != 2 || len(after) != 2 {
		t.Fatalf("the client's history %d, replay %d: want its 2 messages", len(page.Messages), len(after))
	}

	// Handed to the colleague with a note, announced to the client.
	on := true
	if _, err := f.Store.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{AnnounceHandover: &on}); err != nil {
		t.Fatal(err)
	}
	before := len(f.Published(store.ChangeMessage))
	c, err = f.Store.Transfer(ctx, o.Staff, conv, &colleague.AccountID, "来週は仕事のことも")
	if err != nil || c.AssigneeID == nil || *c.AssigneeID != colleague.AccountID || c.LastSeq != 5 {
		t.Fatalf("transfer: %+v %v", c, err)
	}
	ms := f.Published(store.ChangeMessage)[before:]
	if len(ms) != 2 || ms[0].Message.Kind != protocol.KindNote || ms[1].Message.Kind != protocol.KindHandover || ms[0].Conversation == nil {
		t.Fatalf("the hand-over's messages: %+v", ms)
	}
	if _, err := f.Store.Transfer(ctx, o.Staff, conv, nil, ""); Code(err) != protocol.CodeForbidden {
		t.Fatalf("handing on what one no longer has: %v", err)
	}
	if page, err := f.Store.History(ctx, colleague, conv, 0, 10); err != nil || len(page.Messages) != 5 || page.Messages[3].Body != "来週は仕事のことも" {
		t.Fatalf("the colleague's history: %+v %v", page, err)
	}
	if _, err := f.Store.History(ctx, o.Staff, conv, 0, 10); Code(err) != protocol.CodeForbidden {
		t.Fatalf("the first counselor still reads it: %v", err)
	}
	after, _ = f.Store.MessagesAfter(ctx, cl, 0, 10)
	if len(after) != 3 || after[2].Kind != protocol.KindHandover {
		t.Fatalf("the client's replay: %+v", after)
	}
	// Back into the pool.
	if c, err = f.Store.Transfer(ctx, colleague, conv, nil, ""); err != nil || !c.InPool() {
		t.Fatalf("back into the pool: %+v %v", c, err)
	}
	// Deleted with the conversation.
	if err := f.Store.DeleteAccount(ctx, o.Admin, cl.AccountID); err != nil {
		t.Fatal(err)
	}
	if msgs, _ := f.Store.MessagesAfter(ctx, o.Admin, 0, 100); len(msgs) != 0 {
		t.Fatalf("left after the client's deletion: %+v", msgs)
	}
}

// Presence and capacity: the pool is offered to a counselor who is 受付中
// and under max_open, and only then; every change of it is published.
func testPresenceAndCapacity(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 3)
	co := o.Staff
	convs := make([]int64, 3)
	for i, cl := range o.Clients {
		convs[i] = f.Send(t, cl, 0, "1", "聞いてください").ConversationID
	}
	offers := func() []store.Change { return f.Published(store.ChangeOffered) }
	away := protocol.PresenceAway
	a, err := f.Store.UpdateMe(ctx, co, protocol.MePatch{Presence: &away})
	if err != nil || a.Presence != away {
		t.Fatalf("away: %+v %v", a, err)
	}
	if ch := offers(); len(ch) != 1 || ch[0].AccountID != co.AccountID || ch[0].Offered || len(ch[0].Pool) != 3 {
		t.Fatalf("going away: %+v", ch)
	}
	if ps := f.Published(store.ChangePresence); len(ps) != 1 || ps[0].Presence != away {
		t.Fatalf("presence changes: %+v", ps)
	}
	if cs, _ := f.Store.Conversations(ctx, co); len(cs) != 0 {
		t.Fatalf("away, the pool is listed: %+v", cs)
	}
	snap, err := f.Store.Subscribe(ctx, co, func() {})
	if err != nil || snap.Offered || len(snap.Conversations) != 0 {
		t.Fatalf("away, the snapshot: %+v %v", snap, err)
	}
	if _, err := f.Store.Preview(ctx, co, convs[0]); Code(err) != protocol.CodeForbidden {
		t.Fatalf("away, a preview: %v", err)
	}
	if _, err := f.Store.Claim(ctx, co, convs[0]); Code(err) != protocol.CodeForbidden {
		t.Fatalf("away, a claim: %v", err)
	}
	if _, _, err := f.Store.Send(ctx, co, store.SendRequest{Ref: "r", ConversationID: convs[0], Body: "x"}); Code(err) != protocol.CodeForbidden {
		t.Fatalf("away, a reply from the pool: %v", err)
	}
	back := protocol.PresenceAvailable
	if _, err := f.Store.UpdateMe(ctx, co, protocol.MePatch{Presence: &back}); err != nil {
		t.Fatal(err)
	}
	if ch := offers(); len(ch) != 2 || !ch[1].Offered || len(ch[1].Pool) != 3 {
		t.Fatalf("back: %+v", ch)
	}

	// max_open 2: two taken, the pool goes; a third neither by claim nor by reply.
	two := 2
	if _, err := f.Store.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{MaxOpen: &two}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.Claim(ctx, co, convs[0]); err != nil {
		t.Fatal(err)
	}
	f.Send(t, co, convs[1], "r1", "お話を聞かせてください")
	if ch := offers(); len(ch) != 3 || ch[2].Offered || len(ch[2].Pool) != 1 {
		t.Fatalf("at max_open: %+v", ch)
	}
	if ps := f.Published(store.ChangePresence); ps[len(ps)-1].Open != 2 {
		t.Fatalf("load: %+v", ps[len(ps)-1])
	}
	if _, err := f.Store.Claim(ctx, co, convs[2]); Code(err) != protocol.CodeAtCapacity {
		t.Fatalf("a claim at max_open: %v", err)
	}
	if _, _, err := f.Store.Send(ctx, co, store.SendRequest{Ref: "r2", ConversationID: convs[2], Body: "x"}); Code(err) != protocol.CodeAtCapacity {
		t.Fatalf("a reply at max_open: %v", err)
	}
	f.Send(t, co, convs[0], "r3", "自分の相談にはいつでも") // one's own, whatever the load
	colleague := f.Account(t, o.ID, protocol.RoleCounselor)
	if _, err := f.Store.Claim(ctx, colleague, convs[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.Transfer(ctx, colleague, convs[2], &co.AccountID, ""); Code(err) != protocol.CodeAtCapacity {
		t.Fatalf("handing to a colleague at max_open: %v", err)
	}
	if _, err := f.Store.Transfer(ctx, o.Admin, convs[2], &co.AccountID, ""); err != nil {
		t.Fatalf("an admin hands on regardless: %v", err)
	}

	// Ended: one fewer, and it waits in the pool again once its client writes.
	c, err := f.Store.End(ctx, co, convs[0])
	if err != nil || c.AssigneeID != nil || c.InPool() || c.Outcome != protocol.OutcomeEnded {
		t.Fatalf("end: %+v %v", c, err)
	}
	if _, err := f.Store.History(ctx, co, convs[0], 0, 10); Code(err) != protocol.CodeForbidden {
		t.Fatalf("an ended conversation still read by its counselor: %v", err)
	}
	f.Send(t, o.Clients[0], 0, "again", "また話を聞いてほしいです")
	if c, _ := f.Store.Conversation(ctx, o.Admin, convs[0]); !c.InPool() || c.Outcome != "" {
		t.Fatalf("written again: %+v", c)
	}
	// No limit: offered again.
	zero := 0
	if _, err := f.Store.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{MaxOpen: &zero}); err != nil {
		t.Fatal(err)
	}
	if ch := offers(); !ch[len(ch)-1].Offered || ch[len(ch)-1].AccountID != co.AccountID {
		t.Fatalf("no limit: %+v", ch[len(ch)-1])
	}
	// A counselor leaves: what they had waits in the pool.
	if err := f.Store.DeleteAccount(ctx, o.Admin, co.AccountID); err != nil {
		t.Fatal(err)
	}
	for _, id := range convs[1:] {
		if c, _ := f.Store.Conversation(ctx, o.Admin, id); !c.InPool() {
			t.Fatalf("conversation %d after its counselor left: %+v", id, c)
		}
	}
	staff, _ := f.Store.Accounts(ctx, o.Admin, protocol.RoleCounselor)
	if len(staff) != 1 || staff[0].Presence != protocol.PresenceAvailable || staff[0].OpenConversations != 0 {
		t.Fatalf("the staff list: %+v", staff)
	}
}

// Nomination (指名): clients see and nominate staff who take nominations;
// the nominee has the conversation at once, marked until taken; the sweep
// returns a nomination not taken in time to the pool with a word to the
// client, and turns off the switch of staff who stopped using Taiwa.
func testNomination(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 3)
	co, colleague := o.Staff, f.Account(t, o.ID, protocol.RoleCounselor)
	on := true
	if _, err := f.Store.UpdateMe(ctx, co, protocol.MePatch{AcceptNominations: &on}); Code(err) != protocol.CodeInvalid {
		t.Fatalf("nominations without a display name: %v", err)
	}
	for i, p := range []store.Principal{co, colleague} {
		name, intro := []string{"みどり", "そら"}[i], "話をじっくり聞きます"
		if _, err := f.Store.UpdateMe(ctx, p, protocol.MePatch{DisplayName: &name, Intro: &intro, AcceptNominations: &on}); err != nil {
			t.Fatal(err)
		}
	}
	ns, err := f.Store.Nominees(ctx, o.Clients[0])
	if err != nil || len(ns) != 2 || ns[0].DisplayName != "そら" || ns[1].ID != co.AccountID || ns[1].Intro != "話をじっくり聞きます" {
		t.Fatalf("nominees: %+v %v", ns, err)
	}

	// From the pool: the nominee has it, a colleague cannot take it.
	first := f.Send(t, o.Clients[0], 0, "1", "みどりさんに聞いてほしいです").ConversationID
	c, err := f.Store.Nominate(ctx, o.Clients[0], co.AccountID)
	if err != nil || c.ID != first || c.AssigneeID == nil || *c.AssigneeID != co.AccountID || c.NominatedAt == nil || c.InPool() {
		t.Fatalf("nominate: %+v %v", c, err)
	}
	if _, err := f.Store.Claim(ctx, colleague, first); Code(err) != protocol.CodeTaken {
		t.Fatalf("a colleague claims a nomination: %v", err)
	}
	if _, err := f.Store.Nominate(ctx, o.Clients[0], colleague.AccountID); Code(err) != protocol.CodeConflict {
		t.Fatalf("nominating again: %v", err)
	}
	if _, err := f.Store.History(ctx, co, first, 0, 10); err != nil {
		t.Fatalf("the nominee reads it: %v", err)
	}
	if _, err := f.Store.Nominate(ctx, co, co.AccountID); Code(err) != protocol.CodeForbidden {
		t.Fatalf("staff nominating: %v", err)
	}
	if _, err := f.Store.Nominate(ctx, o.Clients[1], o.Clients[2].AccountID); Code(err) != protocol.CodeNotFound {
		t.Fatalf("nominating a client: %v", err)
	}
	// Before writing; taken with 担当する at once.
	second, err := f.Store.Nominate(ctx, o.Clients[1], co.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := f.Store.Claim(ctx, co, second.ID); err != nil || c.NominatedAt != nil {
		t.Fatalf("担当する on a nomination: %+v %v", c, err)
	}

	// A day later the untaken one returns to the pool, and its client is told.
	f.Clock.Add(protocol.DefaultNominationTimeoutHours*time.Hour - time.Minute)
	if res, err := f.Store.Sweep(ctx); err != nil || res.NominationsReturned != 0 {
		t.Fatalf("before the timeout: %+v %v", res, err)
	}
	f.Clock.Add(time.Minute)
	res, err := f.Store.Sweep(ctx)
	if err != nil || res.NominationsReturned != 1 {
		t.Fatalf("at the timeout: %+v %v", res, err)
	}
	if c, _ := f.Store.Conversation(ctx, o.Admin, first); !c.InPool() || c.NominatedAt != nil {
		t.Fatalf("returned: %+v", c)
	}
	if c, _ := f.Store.Conversation(ctx, o.Admin, second.ID); c.AssigneeID == nil || *c.AssigneeID != co.AccountID {
		t.Fatalf("the taken nomination moved: %+v", c)
	}
	page, err := f.Store.History(ctx, o.Clients[0], first, 0, 10)
	if err != nil || len(page.Messages) != 2 || page.Messages[1].Kind != protocol.KindNominationReturned || page.Messages[1].Body != "" {
		t.Fatalf("the client's history: %+v %v", page, err)
	}
	if _, err := f.Store.History(ctx, co, first, 0, 10); Code(err) != protocol.CodeForbidden {
		t.Fatalf("the nominee still reads a returned nomination: %v", err)
	}

	// Three days without using Taiwa: the switch turns itself off; a
	// sign-in keeps the colleague's on.
	f.Clock.Add(36 * time.Hour)
	if _, err := f.Store.CreateSession(ctx, store.NewSession{AccountID: colleague.AccountID, TokenHash: []byte("nomination-token-0123456789abcdef"), Device: "desk", ExpiresAt: f.Clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f.Clock.Add(12 * time.Hour) // 3 days since co was created
	if ns, _ := f.Store.Nominees(ctx, o.Clients[2]); len(ns) != 1 || ns[0].ID != colleague.AccountID {
		t.Fatalf("lapsed, before the sweep: %+v", ns)
	}
	if _, err := f.Store.Nominate(ctx, o.Clients[2], co.AccountID); Code(err) != protocol.CodeNotFound {
		t.Fatalf("nominating a lapsed switch: %v", err)
	}
	if res, err := f.Store.Sweep(ctx); err != nil || res.NominationsLapsed != 1 {
		t.Fatalf("lapse: %+v %v", res, err)
	}
	staff, _ := f.Store.Accounts(ctx, o.Admin, protocol.RoleCounselor)
	for _, a := range staff {
		if lapsed := a.ID == co.AccountID; a.AcceptNominations == lapsed || (a.NominationLapsedAt != nil) != lapsed {
			t.Fatalf("after the lapse: %+v", a)
		}
	}
	a, err := f.Store.UpdateMe(ctx, co, protocol.MePatch{AcceptNominations: &on})
	if err != nil || !a.AcceptNominations || a.NominationLapsedAt != nil {
		t.Fatalf("on again: %+v %v", a, err)
	}
}

// No client left without an answer: answers feed the typical reply time;
// a conversation nobody takes in the organisation's time leaves the pool
// as 対応できず with the apology, counted per week for the admins.
func testUnanswered(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 7)
	apology := "お返事できず申し訳ありません。\n電話相談: 0120-000-000（平日10〜16時）"
	if _, err := f.Store.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{ApologyText: &apology}); err != nil {
		t.Fatal(err)
	}
	// Five clients answered after 10, 20, 30, 40 and 50 minutes.
	for i, cl := range o.Clients[:5] {
		conv := f.Send(t, cl, 0, "q", "聞いてください").ConversationID
		f.Clock.Add(time.Duration(10*(i+1)) * time.Minute)
		f.Send(t, o.Staff, conv, fmt.Sprintf("a%d", i), "お待たせしました") // refs are the sender's
		if i == 3 {
			if org, _ := f.Store.Org(ctx, o.ID); org.TypicalReplySeconds != 0 {
				t.Fatalf("a typical reply time from four answers: %d", org.TypicalReplySeconds)
			}
		}
	}
	org, err := f.Store.Org(ctx, o.ID)
	if err != nil || org.TypicalReplySeconds != 30*60 {
		t.Fatalf("typical reply: %d %v", org.TypicalReplySeconds, err)
	}
	snap, err := f.Store.Subscribe(ctx, o.Clients[0], func() {})
	if err != nil || snap.Org.TypicalReplySeconds != 30*60 {
		t.Fatalf("the client's welcome: %d %v", snap.Org.TypicalReplySeconds, err)
	}

	waiting := f.Send(t, o.Clients[5], 0, "w", "誰か話を聞いてください").ConversationID
	f.Clock.Add(time.Hour)
	late := f.Send(t, o.Clients[6], 0, "l", "相談したいです").ConversationID
	f.Clock.Add(protocol.DefaultUnansweredTimeoutHours*time.Hour - time.Hour - time.Second)
	if res, err := f.Store.Sweep(ctx); err != nil || res.Unanswered != 0 {
		t.Fatalf("just before three days: %+v %v", res, err)
	}
	f.Clock.Add(time.Second)
	res, err := f.Store.Sweep(ctx)
	if err != nil || res.Unanswered != 1 {
		t.Fatalf("at three days: %+v %v", res, err)
	}
	c, _ := f.Store.Conversation(ctx, o.Admin, waiting)
	if c.InPool() || c.AssigneeID != nil || c.Outcome != protocol.OutcomeUnanswered {
		t.Fatalf("given up: %+v", c)
	}
	if c, _ := f.Store.Conversation(ctx, o.Admin, late); !c.InPool() {
		t.Fatalf("the later one left the pool too: %+v", c)
	}
	page, err := f.Store.History(ctx, o.Clients[5], waiting, 0, 10)
	if err != nil || len(page.Messages) != 2 || page.Messages[1].Kind != protocol.KindApology || page.Messages[1].Body != apology {
		t.Fatalf("the client's history: %+v %v", page, err)
	}
	if cs, _ := f.Store.Conversations(ctx, o.Staff); slices.ContainsFunc(cs, func(c protocol.Conversation) bool { return c.ID == waiting }) {
		t.Fatal("a counselor still sees the given-up conversation")
	}
	weeks, err := f.Store.UnansweredWeeks(ctx, o.Admin, 4)
	if err != nil || len(weeks) != 4 || weeks[0].Count != 1 || weeks[1].Count+weeks[2].Count+weeks[3].Count != 0 {
		t.Fatalf("weeks: %+v %v", weeks, err)
	}
	if _, err := f.Store.UnansweredWeeks(ctx, o.Staff, 4); Code(err) != protocol.CodeForbidden {
		t.Fatalf("a counselor reads the count: %v", err)
	}
	// The client writes again: the pool anew.
	f.Send(t, o.Clients[5], 0, "again", "まだ話したいです")
	if c, _ := f.Store.Conversation(ctx, o.Admin, waiting); !c.InPool() || c.Outcome != "" {
		t.Fatalf("written again: %+v", c)
	}
}

// Risk first: a client message with a crisis phrase (the default set or
// the organisation's own) raises the conversation for staff, in the audit
// log without the words; the client never sees the marker.
func testRiskFirst(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 3)
	own := []string{"オーバードーズ"}
	if _, err := f.Store.UpdateSettings(ctx, o.Admin, protocol.SettingsPatch{CrisisPhrases: &own}); err != nil {
		t.Fatal(err)
	}
	calm := f.Send(t, o.Clients[0], 0, "1", "相談したいことがあります").ConversationID
	raised := f.Send(t, o.Clients[1], 0, "1", "もう　し に た い").ConversationID
	f.Send(t, o.Clients[2], 0, "1", "ｵｰﾊﾞｰﾄﾞｰｽﾞしそう")
	cs, err := f.Store.Conversations(ctx, o.Staff)
	if err != nil {
		t.Fatal(err)
	}
	risky := 0
	for _, c := range cs {
		if c.RiskAt != nil {
			risky++
		}
		if c.ID == calm && c.RiskAt != nil {
			t.Fatal("a calm message raised its conversation")
		}
	}
	if risky != 2 {
		t.Fatalf("raised %d, want 2: %+v", risky, cs)
	}
	for _, cl := range o.Clients[1:] {
		if cs, _ := f.Store.Conversations(ctx, cl); len(cs) != 1 || cs[0].RiskAt != nil {
			t.Fatalf("the client sees the marker: %+v", cs)
		}
	}
	if c, _ := f.Store.Conversation(ctx, o.Clients[1], raised); c.RiskAt != nil {
		t.Fatalf("the client reads the marker: %+v", c)
	}
	page, err := f.Store.AuditLog(ctx, o.Admin, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range page.Entries {
		if e.Action == protocol.AuditRiskRaised {
			n++
			if raw, _ := json.Marshal(e); strings.Contains(string(raw), "しにたい") || strings.Contains(string(raw), "し に た い") || strings.Contains(string(raw), "ｵｰﾊﾞｰ") {
				t.Fatalf("the audit entry carries the words: %s", raw)
			}
		}
	}
	if n != 2 {
		t.Fatalf("%d risk entries in the audit log, want 2", n)
	}
	// Ended: lowered; written again in crisis: raised again.
	if _, err := f.Store.Claim(ctx, o.Staff, raised); err != nil {
		t.Fatal(err)
	}
	if c, err := f.Store.End(ctx, o.Staff, raised); err != nil || c.RiskAt != nil {
		t.Fatalf("ended: %+v %v", c, err)
	}
	f.Send(t, o.Clients[1], 0, "2", "やっぱり消えたい")
	if c, _ := f.Store.Conversation(ctx, o.Admin, raised); c.RiskAt == nil || !c.InPool() {
		t.Fatalf("raised again: %+v", c)
	}
}
