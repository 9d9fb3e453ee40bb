package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/pkg/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	db      *DB
	dir     string
	clock   *clock
	mu      sync.Mutex
	changes []store.Change
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), clock: &clock{t: time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)}} // 12:00 in Tokyo, a Monday
	db, err := Open(f.dir, Options{Now: f.clock.Now, Publish: func(c []store.Change) {
		f.mu.Lock()
		f.changes = append(f.changes, c...)
		f.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	return f
}

func (f *fixture) published(kind store.ChangeKind) []store.Change {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.Change
	for _, c := range f.changes {
		if c.Kind == kind {
			out = append(out, c)
		}
	}
	return out
}

// org makes an organisation with an admin, a counselor and n clients.
type testOrg struct {
	id      int64
	admin   store.Principal
	staff   store.Principal
	clients []store.Principal
}

var loginSeq int

func (f *fixture) org(t testing.TB, n int) testOrg {
	t.Helper()
	ctx := context.Background()
	o, err := f.db.CreateOrg(ctx, "相談室")
	if err != nil {
		t.Fatal(err)
	}
	mk := func(role protocol.Role) store.Principal {
		loginSeq++
		a, err := f.db.CreateAccount(ctx, store.Principal{}, store.NewAccount{OrgID: o.ID, Role: role,
			LoginID: fmt.Sprintf("login-%d", loginSeq), Nickname: fmt.Sprintf("%s %d", role, loginSeq), PasswordHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		return store.Principal{AccountID: a.ID, OrgID: o.ID, Role: role}
	}
	to := testOrg{id: o.ID, admin: mk(protocol.RoleAdmin), staff: mk(protocol.RoleCounselor)}
	for i := 0; i < n; i++ {
		to.clients = append(to.clients, mk(protocol.RoleClient))
	}
	return to
}

func send(t *testing.T, db *DB, p store.Principal, conv int64, ref, body string) protocol.Message {
	t.Helper()
	m, _, err := db.Send(context.Background(), p, store.SendRequest{Ref: ref, ConversationID: conv, Body: body})
	if err != nil {
		t.Fatalf("send %q: %v", ref, err)
	}
	return m
}

func code(err error) protocol.Code {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func TestConversationFlow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o := f.org(t, 1)
	cl := o.clients[0]

	convs, err := f.db.Conversations(ctx, cl)
	if err != nil || len(convs) != 1 || convs[0].Status != protocol.StatusNew {
		t.Fatalf("client conversations = %+v, %v", convs, err)
	}
	conv := convs[0].ID

	// Staff may not write first by default.
	_, _, err = f.db.Send(ctx, o.staff, store.SendRequest{Ref: "s0", ConversationID: conv, Body: "こんにちは"})
	if code(err) != protocol.CodeClientFirst {
		t.Fatalf("staff first: err = %v", err)
	}

	m1 := send(t, f.db, cl, 0, "c1", "聞いてほしいことがあります")
	if m1.Seq != 1 || m1.ConversationID != conv || !m1.ExpiresAt.Equal(m1.CreatedAt.Add(7*24*time.Hour)) {
		t.Fatalf("m1 = %+v", m1)
	}
	again, created, err := f.db.Send(ctx, cl, store.SendRequest{Ref: "c1", Body: "聞いてほしいことがあります"})
	if err != nil || created || again.ID != m1.ID {
		t.Fatalf("resend: %+v created=%v err=%v", again, created, err)
	}
	c, _ := f.db.Conversation(ctx, o.staff, conv)
	if c.Status != protocol.StatusWaiting || c.WaitingSince == nil || c.LastSeq != 1 || c.AssigneeID != nil {
		t.Fatalf("after client message: %+v", c)
	}

	m2 := send(t, f.db, o.staff, conv, "s1", "はい、どうぞ")
	if m2.Seq != 2 || m2.ID <= m1.ID {
		t.Fatalf("m2 = %+v", m2)
	}
	c, _ = f.db.Conversation(ctx, o.staff, conv)
	if c.Status != protocol.StatusAnswered || c.WaitingSince != nil || c.AssigneeID == nil || *c.AssigneeID != o.staff.AccountID {
		t.Fatalf("after reply: %+v", c)
	}

	if err := f.db.Receipt(ctx, cl, 0, 2, 2); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Receipt(ctx, cl, 0, 99, 1); err != nil { // capped, never lowered
		t.Fatal(err)
	}
	c, _ = f.db.Conversation(ctx, cl, conv)
	if c.ClientReadSeq != 2 || c.ClientDeliveredSeq != 2 {
		t.Fatalf("receipts: %+v", c)
	}

	page, err := f.db.History(ctx, o.staff, conv, 0, 1)
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Seq != 2 || page.NextBefore != 2 {
		t.Fatalf("history page 1 = %+v, %v", page, err)
	}
	page, err = f.db.History(ctx, o.staff, conv, page.NextBefore, 1)
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Seq != 1 || page.NextBefore != 0 {
		t.Fatalf("history page 2 = %+v, %v", page, err)
	}

	after, err := f.db.MessagesAfter(ctx, cl, m1.ID, 0)
	if err != nil || len(after) != 1 || after[0].ID != m2.ID {
		t.Fatalf("after = %+v, %v", after, err)
	}
	if n := len(f.published(store.ChangeMessage)); n != 2 {
		t.Fatalf("published %d message changes, want 2", n)
	}
}

func TestIsolation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.org(t, 2), f.org(t, 1)
	mA := send(t, f.db, a.clients[0], 0, "a", "A's secret")
	send(t, f.db, a.clients[1], 0, "a", "A2's secret") // same ref, other sender: a new message
	send(t, f.db, b.clients[0], 0, "b", "B's secret")

	tests := []struct {
		name string
		p    store.Principal
		want int // messages visible
	}{
		{"client sees only own", a.clients[0], 1},
		{"other client of same org", a.clients[1], 1},
		{"staff of A sees A", a.staff, 2},
		{"staff of B sees B", b.staff, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := f.db.MessagesAfter(ctx, tt.p, 0, 0)
			if err != nil || len(msgs) != tt.want {
				t.Fatalf("got %d messages (%v), want %d", len(msgs), err, tt.want)
			}
			convs, _ := f.db.Conversations(ctx, tt.p)
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
	// Direct reads of another tenant's conversation are refused as not found.
	for _, p := range []store.Principal{b.staff, a.clients[1]} {
		if _, err := f.db.Conversation(ctx, p, mA.ConversationID); code(err) != protocol.CodeNotFound {
			t.Errorf("%+v read conversation: %v", p, err)
		}
		if _, err := f.db.History(ctx, p, mA.ConversationID, 0, 10); code(err) != protocol.CodeNotFound {
			t.Errorf("%+v read history: %v", p, err)
		}
		if err := f.db.Receipt(ctx, p, mA.ConversationID, 1, 1); p.IsStaff() && code(err) != protocol.CodeNotFound {
			t.Errorf("%+v receipt: %v", p, err)
		}
	}
	if _, _, err := f.db.Send(ctx, b.staff, store.SendRequest{Ref: "x", ConversationID: mA.ConversationID, Body: "hi"}); code(err) != protocol.CodeNotFound {
		t.Fatalf("cross-org send: %v", err)
	}
	// A client names its own conversation or none; another's is not found.
	if _, _, err := f.db.Send(ctx, a.clients[1], store.SendRequest{Ref: "z", ConversationID: mA.ConversationID, Body: "mine"}); code(err) != protocol.CodeNotFound {
		t.Fatalf("client wrote into another client's conversation: %v", err)
	}
	if err := f.db.DeleteAccount(ctx, b.admin, a.clients[0].AccountID); code(err) != protocol.CodeNotFound {
		t.Fatalf("cross-org delete: %v", err)
	}
	if err := f.db.DeleteAccount(ctx, a.staff, a.clients[0].AccountID); code(err) != protocol.CodeForbidden {
		t.Fatalf("counselor delete: %v", err)
	}
}

func TestClosedHours(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o := f.org(t, 1)
	cl := o.clients[0]
	// Open 09:00–10:00 on weekdays only; the clock says 12:00 Monday.
	sched := hours.Schedule{TimeZone: "Asia/Tokyo"}
	for d := time.Monday; d <= time.Friday; d++ {
		sched.Spans = append(sched.Spans, hours.Span{Day: d, Start: 9 * 60, End: 10 * 60})
	}
	org, err := f.db.UpdateSettings(ctx, o.admin, protocol.SettingsPatch{Hours: &sched})
	if err != nil || org.Availability.State != hours.StateClosed {
		t.Fatalf("settings: %+v %v", org, err)
	}
	send(t, f.db, cl, 0, "1", "夜分にすみません")
	send(t, f.db, cl, 0, "2", "もう一つ")
	msgs, _ := f.db.MessagesAfter(ctx, cl, 0, 0)
	if len(msgs) != 3 || msgs[1].Kind != protocol.KindClosedNotice || msgs[1].ReopensAt == nil {
		t.Fatalf("want text, one notice, text; got %+v", msgs)
	}
	want := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC) // Tuesday 09:00 JST
	if !msgs[1].ReopensAt.Equal(want) {
		t.Fatalf("reopens at %v, want %v", msgs[1].ReopensAt, want)
	}
	// Staff can still answer while closed.
	send(t, f.db, o.staff, msgs[0].ConversationID, "s", "明日お返事します")

	block := protocol.ClosedBlock
	if _, err := f.db.UpdateSettings(ctx, o.admin, protocol.SettingsPatch{ClosedBehavior: &block}); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.db.Send(ctx, cl, store.SendRequest{Ref: "3", Body: "届きますか"})
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeClosed || pe.ReopensAt == nil || !pe.ReopensAt.Equal(want) {
		t.Fatalf("blocked send: %v", err)
	}

	// Next opening: a new closed stretch later gets a new notice.
	f.clock.Add(21*time.Hour + 30*time.Minute) // Tuesday 09:30 JST
	accept := protocol.ClosedAccept
	if _, err := f.db.UpdateSettings(ctx, o.admin, protocol.SettingsPatch{ClosedBehavior: &accept}); err != nil {
		t.Fatal(err)
	}
	send(t, f.db, cl, 0, "4", "おはようございます")
	f.clock.Add(time.Hour) // 10:30: closed again
	send(t, f.db, cl, 0, "5", "また閉まりました")
	msgs, _ = f.db.MessagesAfter(ctx, cl, 0, 0)
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

// fileContains reports which of the database's files contain marker.
func fileContains(t *testing.T, dir, marker string) []string {
	t.Helper()
	var hits []string
	for _, name := range []string{FileName, FileName + "-wal", FileName + "-shm"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(marker)) {
			hits = append(hits, name)
		}
	}
	return hits
}

func TestRetentionSweepScrubsFiles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o := f.org(t, 2)
	old := send(t, f.db, o.clients[0], 0, "old", "MARKER-old-7f3a 消えるはずの言葉")
	send(t, f.db, o.staff, old.ConversationID, "r", "MARKER-reply-19c2")
	send(t, f.db, o.clients[1], 0, "other", "MARKER-other-44d1")
	f.clock.Add(6 * 24 * time.Hour)
	keep := send(t, f.db, o.clients[0], 0, "new", "MARKER-new-kept")
	if hits := fileContains(t, f.dir, "MARKER-old-7f3a"); len(hits) > 0 {
		t.Fatalf("body stored in the clear in %v", hits)
	}
	// What is stored is the sealed body: it must go from the files too.
	sealed := sealedBody(t, f.db, old.ID)
	if len(fileContains(t, f.dir, string(sealed))) == 0 {
		t.Fatal("sealed body not found before deletion: the check cannot fail")
	}

	f.clock.Add(24*time.Hour + time.Second)
	res, err := f.db.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 3 || res.Conversations != 2 {
		t.Fatalf("sweep = %+v, want 3 messages in 2 conversations", res)
	}
	if hits := fileContains(t, f.dir, string(sealed)); len(hits) > 0 {
		t.Errorf("sealed body still in %v", hits)
	}
	if msgs, err := f.db.MessagesAfter(ctx, o.staff, 0, 0); err != nil || len(msgs) != 1 || msgs[0].Body != "MARKER-new-kept" {
		t.Errorf("after the sweep: %+v %v", msgs, err)
	}
	dels := f.published(store.ChangeDeleted)
	if len(dels) != 2 {
		t.Fatalf("deleted changes = %+v", dels)
	}
	for _, d := range dels {
		if d.ConversationID == old.ConversationID && (d.ThroughSeq != 2 || d.Count != 2) {
			t.Fatalf("deletion of conversation %d = %+v, want through 2, count 2", d.ConversationID, d)
		}
	}
	c, _ := f.db.Conversation(ctx, o.staff, old.ConversationID)
	if c.FirstSeq != keep.Seq || c.LastSeq != keep.Seq {
		t.Fatalf("first/last seq = %d/%d, want %d", c.FirstSeq, c.LastSeq, keep.Seq)
	}
}

func TestShorterRetentionAppliesToStoredMessages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o := f.org(t, 1)
	send(t, f.db, o.clients[0], 0, "1", "one")
	day := int64(24 * 3600)
	if _, err := f.db.UpdateSettings(ctx, o.admin, protocol.SettingsPatch{RetentionSeconds: &day}); err != nil {
		t.Fatal(err)
	}
	msgs, _ := f.db.MessagesAfter(ctx, o.staff, 0, 0)
	if got := msgs[0].ExpiresAt.Sub(msgs[0].CreatedAt); got != 24*time.Hour {
		t.Fatalf("expiry after shortening = %v", got)
	}
	if _, err := f.db.UpdateSettings(ctx, o.staff, protocol.SettingsPatch{RetentionSeconds: &day}); code(err) != protocol.CodeForbidden {
		t.Fatalf("counselor changed settings: %v", err)
	}
	tooShort := int64(60)
	if _, err := f.db.UpdateSettings(ctx, o.admin, protocol.SettingsPatch{RetentionSeconds: &tooShort}); code(err) != protocol.CodeInvalid {
		t.Fatalf("1-minute retention accepted: %v", err)
	}
}

func TestDeleteClientScrubsAndRevokes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o := f.org(t, 1)
	cl := o.clients[0]
	m := send(t, f.db, cl, 0, "1", "MARKER-deleted-client-aa91")
	sess, err := f.db.CreateSession(ctx, store.NewSession{AccountID: cl.AccountID, TokenHash: []byte("hash-of-token-000000000000000000"), Device: "phone", ExpiresAt: f.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.DeleteAccount(ctx, o.admin, cl.AccountID); err != nil {
		t.Fatal(err)
	}
	if hits := fileContains(t, f.dir, "MARKER-deleted-client-aa91"); len(hits) > 0 {
		t.Fatalf("deleted client's text readable in %v", hits)
	}
	if _, _, err := f.db.SessionByToken(ctx, []byte("hash-of-token-000000000000000000")); code(err) != protocol.CodeUnauthorized {
		t.Fatalf("session survived deletion: %v", err)
	}
	rev := f.published(store.ChangeRevoked)
	if len(rev) != 1 || rev[0].AccountID != cl.AccountID || len(rev[0].SessionIDs) != 1 || rev[0].SessionIDs[0] != sess.ID {
		t.Fatalf("revocations = %+v", rev)
	}
	if d := f.published(store.ChangeConversationDeleted); len(d) != 1 || d[0].ConversationID != m.ConversationID {
		t.Fatalf("conversation deletions = %+v", d)
	}
	if _, err := f.db.Conversation(ctx, o.staff, m.ConversationID); code(err) != protocol.CodeNotFound {
		t.Fatalf("conversation still there: %v", err)
	}
}

func TestSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o := f.org(t, 1)
	cl := o.clients[0]
	hash := []byte("0123456789abcdef0123456789abcdef")
	if _, err := f.db.CreateSession(ctx, store.NewSession{AccountID: cl.AccountID, TokenHash: hash, ExpiresAt: f.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, a, err := f.db.SessionByToken(ctx, hash); err != nil || a.ID != cl.AccountID {
		t.Fatalf("lookup: %+v %v", a, err)
	}
	until := f.clock.Now().Add(30 * time.Minute)
	if _, err := f.db.UpdateClient(ctx, o.admin, cl.AccountID, protocol.UpdateClientRequest{AccessUntil: &until}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(31 * time.Minute)
	if _, _, err := f.db.SessionByToken(ctx, hash); code(err) != protocol.CodeUnauthorized {
		t.Fatalf("access date passed but session valid: %v", err)
	}
	if _, err := f.db.UpdateClient(ctx, o.admin, cl.AccountID, protocol.UpdateClientRequest{ClearAccessUntil: true}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(30 * time.Minute)
	if _, _, err := f.db.SessionByToken(ctx, hash); code(err) != protocol.CodeUnauthorized {
		t.Fatalf("expired session valid: %v", err)
	}
	res, err := f.db.Sweep(ctx)
	if err != nil || res.Sessions != 1 {
		t.Fatalf("sweep sessions = %+v %v", res, err)
	}
}

func TestGroupCommit(t *testing.T) {
	f := newFixture(t)
	o := f.org(t, 50)
	var (
		mu      sync.Mutex
		batches []int
	)
	f.db.onBatch = func(n int, _ time.Duration) { mu.Lock(); batches = append(batches, n); mu.Unlock() }
	var wg sync.WaitGroup
	errs := make(chan error, 50*20)
	for _, cl := range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if _, _, err := f.db.Send(context.Background(), cl, store.SendRequest{Ref: fmt.Sprint(i), Body: "x"}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	msgs, _ := f.db.MessagesAfter(context.Background(), o.staff, 0, 5000)
	if len(msgs) != 1000 {
		t.Fatalf("stored %d, want 1000", len(msgs))
	}
	mu.Lock()
	defer mu.Unlock()
	maxBatch := 0
	for _, b := range batches {
		maxBatch = max(maxBatch, b)
	}
	if maxBatch < 2 {
		t.Fatalf("50 concurrent senders never shared a commit (batches %v)", batches)
	}
	// Published in commit order: message IDs strictly increase.
	var last int64
	for _, c := range f.published(store.ChangeMessage) {
		if c.Message.ID <= last {
			t.Fatalf("published out of order: %d after %d", c.Message.ID, last)
		}
		last = c.Message.ID
	}
}

func TestFailedWriteDoesNotSpoilBatch(t *testing.T) {
	f := newFixture(t)
	o := f.org(t, 1)
	var wg sync.WaitGroup
	results := make([]error, 40)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := o.clients[0]
			if i%2 == 1 {
				p = o.staff // staff may not write first: refused inside the batch
			}
			_, _, results[i] = f.db.Send(context.Background(), p, store.SendRequest{Ref: fmt.Sprint(i), ConversationID: 1, Body: "x"})
		}()
	}
	wg.Wait()
	for i, err := range results {
		if i%2 == 0 && err != nil {
			t.Fatalf("client send %d failed: %v", i, err)
		}
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("opened a database from the future")
	}
}

func TestReopenKeepsData(t *testing.T) {
	f := newFixture(t)
	o := f.org(t, 1)
	send(t, f.db, o.clients[0], 0, "1", "durable")
	f.db.Close()
	db, err := Open(f.dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	msgs, err := db.MessagesAfter(context.Background(), o.staff, 0, 0)
	if err != nil || len(msgs) != 1 || msgs[0].Body != "durable" {
		t.Fatalf("after reopen: %+v %v", msgs, err)
	}
	if _, _, err := f.db.Send(context.Background(), o.clients[0], store.SendRequest{Ref: "x", Body: "y"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
}

// A client's conversation listing must find its one row by index, not walk
// the organisation: every client's connection runs it, so a walk makes a
// mass reconnect quadratic.
func TestClientListingUsesIndex(t *testing.T) {
	f := newFixture(t)
	o := f.org(t, 1)
	query, args := conversationsQuery(o.clients[0])
	rows, err := f.db.read.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	joined := strings.Join(plan, "; ")
	if !strings.Contains(joined, "(client_id=?)") || strings.Contains(joined, "conversations_org") {
		t.Fatalf("client listing plan: %s", joined)
	}
}

// A database from the first release (schema 2) upgrades in place: its
// organisations get app codes, its push tokens (which belonged to no
// session) are dropped for the apps to register again.
func TestUpgradeFromSchema2(t *testing.T) {
	dir := t.TempDir()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:2] {
		if _, err := raw.Exec(m); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`PRAGMA user_version = 2`,
		`INSERT INTO orgs(id, name, settings, created_at) VALUES (1, 'a', '{"display_name":"a","retention_seconds":604800,"hours":{"time_zone":"Asia/Tokyo"},"closed_behavior":"accept"}', 0),
			(2, 'b', '{"display_name":"b","retention_seconds":604800,"hours":{"time_zone":"Asia/Tokyo"},"closed_behavior":"accept"}', 0)`,
		`INSERT INTO accounts(id, org_id, role, login_id, nickname, password_hash, created_at) VALUES (1, 1, 'client', 'c', 'c', 'x', 0)`,
		`INSERT INTO push_tokens(token, account_id, created_at) VALUES ('old-token', 1, 0)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	a, err := db.Org(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := db.Org(ctx, 2)
	if !regexp.MustCompile(`^/a/[0-9a-f]{16}/$`).MatchString(a.AppPath) || a.AppPath == b.AppPath {
		t.Fatalf("app paths %q %q", a.AppPath, b.AppPath)
	}
	if _, err := db.AppLook(ctx, strings.Trim(strings.TrimPrefix(a.AppPath, "/a/"), "/")); err != nil {
		t.Fatalf("look up the upgraded org's app: %v", err)
	}
	if toks, err := db.PushTokens(ctx, 1); err != nil || len(toks) != 0 {
		t.Fatalf("tokens after upgrade: %v %v", toks, err)
	}
}

func TestAppLook(t *testing.T) {
	f := newFixture(t)
	o := f.org(t, 0)
	ctx := context.Background()
	org, err := f.db.Org(ctx, o.id)
	if err != nil {
		t.Fatal(err)
	}
	appCode := strings.Trim(strings.TrimPrefix(org.AppPath, "/a/"), "/")
	str := func(s string) *string { return &s }
	tests := []struct {
		name  string
		patch protocol.SettingsPatch
		want  protocol.AppLook
		code  protocol.Code
	}{
		{"neutral name and icon", protocol.SettingsPatch{AppName: str(" メモ "), AppIcon: str("notes")}, protocol.AppLook{Name: "メモ", Icon: "notes"}, ""},
		{"back to the default", protocol.SettingsPatch{AppName: str(""), AppIcon: str("")}, protocol.AppLook{}, ""},
		{"unknown icon", protocol.SettingsPatch{AppIcon: str("../../etc/passwd")}, protocol.AppLook{}, protocol.CodeInvalid},
		{"name too long", protocol.SettingsPatch{AppName: str(strings.Repeat("あ", protocol.MaxAppNameRunes+1))}, protocol.AppLook{}, protocol.CodeInvalid},
		{"name on two lines", protocol.SettingsPatch{AppName: str("a\nb")}, protocol.AppLook{}, protocol.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.db.UpdateSettings(ctx, o.admin, tt.patch)
			if code(err) != tt.code {
				t.Fatalf("update: %v, want code %q", err, tt.code)
			}
			got, err := f.db.AppLook(ctx, appCode)
			if err != nil || got != tt.want {
				t.Fatalf("look %+v %v, want %+v", got, err, tt.want)
			}
		})
	}
	if _, err := f.db.AppLook(ctx, "ffffffffffffffff"); code(err) != protocol.CodeNotFound {
		t.Fatalf("unknown code: %v", err)
	}
}

// sealedBody reads a message's sealed body as stored.
func sealedBody(t *testing.T, db *DB, id int64) []byte {
	t.Helper()
	var b []byte
	if err := db.read.QueryRow("SELECT sealed FROM messages WHERE id = ?", id).Scan(&b); err != nil || len(b) == 0 {
		t.Fatalf("sealed body of %d: %v", id, err)
	}
	return b
}
