package cache

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func openTest(t *testing.T, dir string, now func() time.Time) *Cache {
	t.Helper()
	c, err := Open(dir, key(7), now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func msg(id, conv, seq int64, body string, exp time.Time) *protocol.MessageFrame {
	return &protocol.MessageFrame{Type: protocol.TypeMessage, Message: protocol.Message{
		ID: id, ConversationID: conv, Seq: seq, SenderRole: protocol.RoleClient, Kind: protocol.KindText,
		Body: body, CreatedAt: exp.Add(-time.Hour), ExpiresAt: exp}}
}

func welcome(acct int64, convs ...protocol.Conversation) *protocol.Welcome {
	return &protocol.Welcome{Type: protocol.TypeWelcome, V: 1, Account: protocol.Account{ID: acct}, Conversations: convs}
}

// filesContain reports which cache files contain b.
func filesContain(t *testing.T, dir string, b []byte) []string {
	t.Helper()
	var hits []string
	for _, n := range []string{FileName, FileName + "-wal", FileName + "-shm"} {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, b) {
			hits = append(hits, n)
		}
	}
	return hits
}

func TestTextIsEncryptedAtRest(t *testing.T) {
	dir := t.TempDir()
	c := openTest(t, dir, nil)
	exp := time.Now().Add(time.Hour)
	if err := c.Apply(welcome(1, protocol.Conversation{ID: 3, Nickname: "NICKNAME-さくら-x1", FirstSeq: 1})); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(msg(10, 3, 1, "BODY-眠れない-x2", exp)); err != nil {
		t.Fatal(err)
	}
	if err := c.AddPending(client.PendingMessage{Ref: "r1", ConversationID: 3, Body: "OUTBOX-返信-x3"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"NICKNAME-さくら-x1", "BODY-眠れない-x2", "OUTBOX-返信-x3"} {
		if hits := filesContain(t, dir, []byte(s)); len(hits) > 0 {
			t.Errorf("%q in plaintext in %v", s, hits)
		}
	}
	// Readable through the cache with the key.
	msgs, err := c.Messages(3)
	if err != nil || len(msgs) != 1 || msgs[0].Body != "BODY-眠れない-x2" {
		t.Fatalf("messages = %+v, %v", msgs, err)
	}
	convs, _ := c.Conversations()
	if len(convs) != 1 || convs[0].Nickname != "NICKNAME-さくら-x1" {
		t.Fatalf("conversations = %+v", convs)
	}
	c.Close()
	if _, err := Open(dir, key(8), nil); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("open with another key: %v", err)
	}
	c2 := openTest(t, dir, nil)
	if cur, _ := c2.Cursor(); cur != 10 {
		t.Fatalf("cursor after reopen = %d", cur)
	}
	pending, _ := c2.Pending()
	if len(pending) != 1 || pending[0].Body != "OUTBOX-返信-x3" {
		t.Fatalf("outbox after reopen = %+v", pending)
	}
}

func TestServerDeletionsApplyAtOnce(t *testing.T) {
	dir := t.TempDir()
	c := openTest(t, dir, nil)
	exp := time.Now().Add(time.Hour)
	c.Apply(welcome(1, protocol.Conversation{ID: 3, FirstSeq: 1}, protocol.Conversation{ID: 4, FirstSeq: 1}, protocol.Conversation{ID: 5, FirstSeq: 1}))
	c.Apply(msg(1, 3, 1, "a", exp))
	c.Apply(msg(2, 3, 2, "b", exp))
	c.Apply(msg(3, 3, 3, "c", exp))
	c.Apply(msg(4, 4, 1, "d", exp))
	c.Apply(msg(5, 5, 1, "e", exp))

	if err := c.Apply(&protocol.DeletedFrame{ConversationID: 3, ThroughSeq: 2}); err != nil {
		t.Fatal(err)
	}
	if m, _ := c.Messages(3); len(m) != 1 || m[0].Seq != 3 {
		t.Fatalf("after retention deletion: %+v", m)
	}
	if err := c.Apply(&protocol.ConversationDeletedFrame{ConversationID: 4}); err != nil {
		t.Fatal(err)
	}
	if m, _ := c.Messages(4); len(m) != 0 {
		t.Fatalf("deleted conversation's messages remain: %+v", m)
	}
	// A later welcome drops what the server no longer has: conversation 5
	// is gone, and 3 now starts at seq 4.
	if err := c.Apply(welcome(1, protocol.Conversation{ID: 3, FirstSeq: 4})); err != nil {
		t.Fatal(err)
	}
	convs, _ := c.Conversations()
	if len(convs) != 1 || convs[0].ID != 3 {
		t.Fatalf("conversations after welcome = %+v", convs)
	}
	if m, _ := c.Messages(3); len(m) != 0 {
		t.Fatalf("messages below first_seq remain: %+v", m)
	}
	if m, _ := c.Messages(5); len(m) != 0 {
		t.Fatal("unlisted conversation's messages remain")
	}
}

func TestOtherAccountStartsClean(t *testing.T) {
	c := openTest(t, t.TempDir(), nil)
	c.Apply(welcome(1, protocol.Conversation{ID: 3, FirstSeq: 1}))
	c.Apply(msg(1, 3, 1, "a", time.Now().Add(time.Hour)))
	c.AddPending(client.PendingMessage{Ref: "r", ConversationID: 3, Body: "x"})
	c.Apply(welcome(2, protocol.Conversation{ID: 3, FirstSeq: 1}))
	if m, _ := c.Messages(3); len(m) != 0 {
		t.Fatal("another account's messages survived")
	}
	if p, _ := c.Pending(); len(p) != 0 {
		t.Fatal("another account's outbox survived")
	}
	if cur, _ := c.Cursor(); cur != 0 {
		t.Fatalf("cursor = %d", cur)
	}
}

func TestAckClearsOutbox(t *testing.T) {
	c := openTest(t, t.TempDir(), nil)
	c.AddPending(client.PendingMessage{Ref: "r1", ConversationID: 3, Body: "one"})
	c.AddPending(client.PendingMessage{Ref: "r2", ConversationID: 3, Body: "two"})
	if p, _ := c.Pending(); len(p) != 2 || p[0].Ref != "r1" {
		t.Fatalf("outbox order = %+v", p)
	}
	m := msg(9, 3, 1, "one", time.Now().Add(time.Hour)).Message
	if err := c.Apply(&protocol.Ack{Type: protocol.TypeAck, Ref: "r1", Message: m}); err != nil {
		t.Fatal(err)
	}
	if p, _ := c.Pending(); len(p) != 1 || p[0].Ref != "r2" {
		t.Fatalf("outbox after ack = %+v", p)
	}
	if ms, _ := c.Messages(3); len(ms) != 1 || ms[0].ID != 9 {
		t.Fatalf("acked message not cached: %+v", ms)
	}
}

// The timer fires at each message's own expiry, in order, and what it
// deletes leaves nothing behind in the files.
func TestTimedWipe(t *testing.T) {
	dir := t.TempDir()
	c := openTest(t, dir, nil)
	now := time.Now()
	c.Apply(welcome(1, protocol.Conversation{ID: 3, FirstSeq: 1}))
	c.Apply(msg(1, 3, 1, "first", now.Add(300*time.Millisecond)))
	c.Apply(msg(2, 3, 2, "second", now.Add(900*time.Millisecond)))
	c.Apply(msg(3, 3, 3, "third", now.Add(time.Hour)))
	var ciphertext []byte
	if err := c.db.QueryRow("SELECT data FROM messages WHERE id = 1").Scan(&ciphertext); err != nil {
		t.Fatal(err)
	}
	if len(filesContain(t, dir, ciphertext)) == 0 {
		t.Fatal("ciphertext not found before expiry: the check below could not fail")
	}

	var (
		mu   sync.Mutex
		gone []Expired
		at   []time.Time
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.RunExpiry(ctx, func(e []Expired) {
			mu.Lock()
			gone = append(gone, e...)
			at = append(at, time.Now())
			mu.Unlock()
		})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(gone)
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired %d of 2", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunExpiry = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if gone[0].ID != 1 || gone[1].ID != 2 {
		t.Fatalf("expired %+v, want 1 then 2", gone)
	}
	// Each went at its own time, not in one batch: a timer per expiry.
	if at[0].Before(now.Add(300*time.Millisecond)) || at[1].Before(now.Add(900*time.Millisecond)) {
		t.Fatalf("deleted early: %v, %v", at[0].Sub(now), at[1].Sub(now))
	}
	if ms, _ := c.Messages(3); len(ms) != 1 || ms[0].ID != 3 {
		t.Fatalf("left %+v", ms)
	}
	if hits := filesContain(t, dir, ciphertext); len(hits) > 0 {
		t.Fatalf("expired message's ciphertext remains in %v", hits)
	}
}

// A message arriving with an earlier expiry than the timer's resets it.
func TestEarlierExpiryResetsTimer(t *testing.T) {
	c := openTest(t, t.TempDir(), nil)
	c.Apply(welcome(1, protocol.Conversation{ID: 3, FirstSeq: 1}))
	c.Apply(msg(1, 3, 1, "late", time.Now().Add(time.Hour)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan []Expired, 1)
	go c.RunExpiry(ctx, func(e []Expired) { got <- e })
	time.Sleep(50 * time.Millisecond) // let the timer settle on the hour
	c.Apply(msg(2, 3, 2, "soon", time.Now().Add(200*time.Millisecond)))
	select {
	case e := <-got:
		if len(e) != 1 || e[0].ID != 2 {
			t.Fatalf("expired %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the earlier expiry did not reset the timer")
	}
}

func TestWipeRemovesFiles(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir, key(7), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Apply(msg(1, 3, 1, "x", time.Now().Add(time.Hour)))
	if err := c.Wipe(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("files left after wipe: %v", entries)
	}
}

// The account's role is kept for offline access-hours checks.
func TestRoleKept(t *testing.T) {
	dir := t.TempDir()
	c := openTest(t, dir, nil)
	if r, err := c.Role(); err != nil || r != "" {
		t.Fatalf("before any welcome: %q %v", r, err)
	}
	w := welcome(1)
	w.Account.Role = protocol.RoleCounselor
	if err := c.Apply(w); err != nil {
		t.Fatal(err)
	}
	if r, err := c.Role(); err != nil || r != protocol.RoleCounselor {
		t.Fatalf("role %q %v", r, err)
	}
}

// A burst of frames is one transaction; paging reads the newest first,
// then page by page before a seq.
func TestBatchAndPages(t *testing.T) {
	c := openTest(t, t.TempDir(), nil)
	exp := time.Now().Add(time.Hour)
	frames := []protocol.ServerFrame{welcome(1, protocol.Conversation{ID: 3, ClientID: 30, FirstSeq: 1})}
	for s := int64(1); s <= 250; s++ {
		frames = append(frames, msg(100+s, 3, s, "本文", exp))
	}
	if err := c.ApplyAll(frames); err != nil {
		t.Fatal(err)
	}
	if cur, _ := c.Cursor(); cur != 350 {
		t.Fatalf("cursor %d", cur)
	}
	seqs := func(ms []protocol.Message) (int64, int64, int) {
		if len(ms) == 0 {
			return 0, 0, 0
		}
		return ms[0].Seq, ms[len(ms)-1].Seq, len(ms)
	}
	newest, err := c.Newest(3, 100)
	if first, last, n := seqs(newest); err != nil || first != 151 || last != 250 || n != 100 {
		t.Fatalf("newest: %d..%d (%d), %v", first, last, n, err)
	}
	page, err := c.Before(3, 151, 100)
	if first, last, n := seqs(page); err != nil || first != 51 || last != 150 || n != 100 {
		t.Fatalf("page before 151: %d..%d (%d), %v", first, last, n, err)
	}
	page, _ = c.Before(3, 51, 100)
	if first, last, n := seqs(page); first != 1 || last != 50 || n != 50 {
		t.Fatalf("last page: %d..%d (%d)", first, last, n)
	}
	// A lower cursor in a later batch never lowers the cursor.
	if err := c.ApplyAll([]protocol.ServerFrame{msg(5, 3, 251, "x", exp)}); err != nil {
		t.Fatal(err)
	}
	if cur, _ := c.Cursor(); cur != 350 {
		t.Fatalf("cursor went down to %d", cur)
	}
}

// Drafts survive a restart, encrypted, and go with their conversation.
func TestDrafts(t *testing.T) {
	dir := t.TempDir()
	c := openTest(t, dir, nil)
	if err := c.Apply(welcome(1, protocol.Conversation{ID: 3, ClientID: 30, FirstSeq: 1}, protocol.Conversation{ID: 4, ClientID: 40, FirstSeq: 1})); err != nil {
		t.Fatal(err)
	}
	if err := c.SetDraft(3, "DRAFT-書きかけ-x9"); err != nil {
		t.Fatal(err)
	}
	c.SetDraft(4, "four")
	c.SetDraft(4, "") // cleared
	if hits := filesContain(t, dir, []byte("DRAFT-書きかけ-x9")); len(hits) > 0 {
		t.Fatalf("draft in plaintext in %v", hits)
	}
	c.Close()
	c = openTest(t, dir, nil)
	d, err := c.Drafts()
	if err != nil || len(d) != 1 || d[3] != "DRAFT-書きかけ-x9" {
		t.Fatalf("drafts after restart: %v, %v", d, err)
	}
	if err := c.Apply(&protocol.ConversationDeletedFrame{ConversationID: 3}); err != nil {
		t.Fatal(err)
	}
	if d, _ := c.Drafts(); len(d) != 0 {
		t.Fatalf("draft of a deleted conversation kept: %v", d)
	}
}

// A conversation number that names another client after a welcome (the
// old client deleted while this app was offline) keeps nothing of the old
// one: not its messages, not the draft, not the unsent reply to them.
func TestConversationOfAnotherClientStartsClean(t *testing.T) {
	c := openTest(t, t.TempDir(), nil)
	exp := time.Now().Add(time.Hour)
	c.Apply(welcome(1, protocol.Conversation{ID: 3, ClientID: 30, FirstSeq: 1}))
	c.Apply(msg(10, 3, 1, "old client's words", exp))
	c.SetDraft(3, "to the old client")
	c.AddPending(client.PendingMessage{Ref: "r-old", ConversationID: 3, Body: "reply to the old client"})
	c.AddPending(client.PendingMessage{Ref: "r-other", ConversationID: 4, Body: "reply elsewhere"})
	if err := c.Apply(welcome(1, protocol.Conversation{ID: 3, ClientID: 99, FirstSeq: 1}, protocol.Conversation{ID: 4, ClientID: 40, FirstSeq: 1})); err != nil {
		t.Fatal(err)
	}
	if ms, _ := c.Messages(3); len(ms) != 0 {
		t.Fatalf("kept %d messages of the old client", len(ms))
	}
	if d, _ := c.Drafts(); len(d) != 0 {
		t.Fatalf("kept the draft: %v", d)
	}
	p, _ := c.Pending()
	if len(p) != 1 || p[0].Ref != "r-other" {
		t.Fatalf("outbox after the identity changed: %+v", p)
	}
}
