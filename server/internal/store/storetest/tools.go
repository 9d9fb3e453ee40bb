package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// testProgress: progress as stored, who and when, what clients are told,
// the automatic changes, and a reply refused with its progress.
func testProgress(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 1)
	cl := o.Clients[0]
	conv := f.Conversation(t, cl)
	// Before the client writes it is nobody's: an admin reads it.
	if c, _ := f.Store.Conversation(ctx, o.Admin, conv.ID); c.Progress != protocol.ProgressNew || c.ProgressBy != nil {
		t.Fatalf("a new conversation: %+v", c)
	}
	f.Send(t, cl, 0, "c1", "相談です")
	f.Send(t, o.Staff, conv.ID, "s1", "はい")
	c, _ := f.Store.Conversation(ctx, o.Staff, conv.ID)
	if c.Progress != protocol.ProgressInProgress || c.ProgressBy == nil || *c.ProgressBy != o.Staff.AccountID || c.ProgressAt == nil {
		t.Fatalf("after the first reply: %+v", c)
	}

	req := protocol.ProgressRequest{Progress: protocol.ProgressNextContact, NextContact: "2026-12-03"}
	got, err := f.Store.SetProgress(ctx, o.Admin, conv.ID, req)
	if err != nil || got.Progress != req.Progress || got.NextContact != req.NextContact || *got.ProgressBy != o.Admin.AccountID {
		t.Fatalf("set progress: %+v %v", got, err)
	}
	pub := f.Published(store.ChangeConversation)
	if last := pub[len(pub)-1].Conversation; last.Progress != req.Progress || last.NextContact != req.NextContact {
		t.Fatalf("published %+v", last)
	}
	// The client is never told.
	for _, c := range []protocol.Conversation{f.Conversation(t, cl), must(f.Store.Conversation(ctx, cl, conv.ID))} {
		if c.Progress != "" || c.NextContact != "" || c.ProgressBy != nil || c.ProgressAt != nil {
			t.Fatalf("the client sees staff's progress: %+v", c)
		}
	}
	snap, err := f.Store.Subscribe(ctx, cl, func() {})
	if err != nil || len(snap.Conversations) != 1 || snap.Conversations[0].Progress != "" || snap.Conversations[0].NextContact != "" {
		t.Fatalf("the client's snapshot: %+v %v", snap.Conversations, err)
	}

	tests := []struct {
		name string
		p    store.Principal
		conv int64
		req  protocol.ProgressRequest
		code protocol.Code
	}{
		{"client", cl, conv.ID, protocol.ProgressRequest{Progress: protocol.ProgressDone}, protocol.CodeForbidden},
		{"another organisation", f.Org(t, 0).Admin, conv.ID, protocol.ProgressRequest{Progress: protocol.ProgressDone}, protocol.CodeNotFound},
		{"no such conversation", o.Staff, conv.ID + 1000, protocol.ProgressRequest{Progress: protocol.ProgressDone}, protocol.CodeNotFound},
		{"a past date", o.Staff, conv.ID, protocol.ProgressRequest{Progress: protocol.ProgressNextContact, NextContact: "2026-11-22"}, protocol.CodeInvalid},
		{"unknown", o.Staff, conv.ID, protocol.ProgressRequest{Progress: "later"}, protocol.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.Store.SetProgress(ctx, tt.p, tt.conv, tt.req); Code(err) != tt.code {
				t.Fatalf("code %q, want %q (%v)", Code(err), tt.code, err)
			}
		})
	}
	if c, _ := f.Store.Conversation(ctx, o.Staff, conv.ID); c.Progress != req.Progress || c.NextContact != req.NextContact {
		t.Fatalf("refusals changed the progress: %+v", c)
	}

	// A reply sets 返答待ち; the client's answer puts it back in progress,
	// set by nobody.
	_, _, err = f.Store.Send(ctx, o.Staff, store.SendRequest{Ref: "s2", ConversationID: conv.ID, Body: "ご返信お待ちしています",
		Progress: protocol.ProgressRequest{Progress: protocol.ProgressAwaiting}})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := f.Store.Conversation(ctx, o.Staff, conv.ID); c.Progress != protocol.ProgressAwaiting || c.NextContact != "" {
		t.Fatalf("after a reply that waits for the client: %+v", c)
	}
	f.Send(t, cl, 0, "c2", "お返事です")
	if c, _ := f.Store.Conversation(ctx, o.Staff, conv.ID); c.Progress != protocol.ProgressInProgress || c.ProgressBy != nil {
		t.Fatalf("after the client answered: %+v", c)
	}

	// A reply whose progress is refused is not stored either.
	before, _ := f.Store.Conversation(ctx, o.Staff, conv.ID)
	_, _, err = f.Store.Send(ctx, o.Staff, store.SendRequest{Ref: "s3", ConversationID: conv.ID, Body: "11月1日にご連絡します",
		Progress: protocol.ProgressRequest{Progress: protocol.ProgressNextContact, NextContact: "2026-11-01"}})
	if Code(err) != protocol.CodeInvalid {
		t.Fatalf("a reply with a past date: %v", err)
	}
	if after, _ := f.Store.Conversation(ctx, o.Staff, conv.ID); after.LastSeq != before.LastSeq || after.Progress != before.Progress {
		t.Fatalf("a refused reply left a trace: %+v", after)
	}
	// A client may not set progress with its message.
	if _, _, err := f.Store.Send(ctx, cl, store.SendRequest{Ref: "c3", Body: "x", Progress: protocol.ProgressRequest{Progress: protocol.ProgressDone}}); Code(err) != protocol.CodeForbidden {
		t.Fatalf("client's progress: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// testTemplates: who sees and manages which templates, and the order by
// each staff member's use.
func testTemplates(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 1)
	colleague := f.Account(t, o.ID, protocol.RoleCounselor)
	other := f.Org(t, 0)
	mk := func(p store.Principal, scope, title string, prog protocol.Progress) protocol.Template {
		t.Helper()
		tp, err := f.Store.CreateTemplate(ctx, p, protocol.TemplateRequest{Scope: scope, Title: title, Body: title + "です、{nickname}さん", Progress: prog})
		if err != nil {
			t.Fatalf("create %q: %v", title, err)
		}
		return tp
	}
	welcome := mk(o.Admin, protocol.ScopeOrg, "受付", protocol.ProgressAwaiting)
	closing := mk(o.Admin, protocol.ScopeOrg, "締め", protocol.ProgressDone)
	mine := mk(o.Staff, protocol.ScopePersonal, "私の挨拶", "")
	foreign := mk(other.Admin, protocol.ScopeOrg, "よその", "")
	if welcome.Scope != protocol.ScopeOrg || mine.Scope != protocol.ScopePersonal || welcome.Progress != protocol.ProgressAwaiting {
		t.Fatalf("created %+v %+v", welcome, mine)
	}
	if _, err := f.Store.CreateTemplate(ctx, o.Staff, protocol.TemplateRequest{Scope: protocol.ScopeOrg, Title: "x", Body: "y"}); Code(err) != protocol.CodeForbidden {
		t.Fatalf("a counselor adding the organisation's: %v", err)
	}
	titles := func(p store.Principal) []string {
		t.Helper()
		list, err := f.Store.Templates(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tp := range list {
			out = append(out, tp.Title)
		}
		return out
	}
	if got := fmt.Sprint(titles(o.Staff)); got != "[受付 私の挨拶 締め]" {
		t.Fatalf("the counselor's list (by title before any use): %s", got)
	}
	if got := fmt.Sprint(titles(colleague)); got != "[受付 締め]" {
		t.Fatalf("a colleague sees another's personal template: %s", got)
	}
	if got := fmt.Sprint(titles(other.Admin)); got != "[よその]" {
		t.Fatalf("another organisation's list: %s", got)
	}
	if _, err := f.Store.Templates(ctx, o.Clients[0]); Code(err) != protocol.CodeForbidden {
		t.Fatalf("a client's list: %v", err)
	}

	// Use orders the list, per staff member; a template not theirs is not counted.
	conv := f.Send(t, o.Clients[0], 0, "c1", "こんにちは").ConversationID
	for i, id := range []int64{closing.ID, closing.ID, mine.ID, foreign.ID, foreign.ID, foreign.ID} {
		if _, _, err := f.Store.Send(ctx, o.Staff, store.SendRequest{Ref: fmt.Sprint("s", i), ConversationID: conv, Body: "返信", TemplateID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(titles(o.Staff)); got != "[締め 私の挨拶 受付]" {
		t.Fatalf("the counselor's list after use: %s", got)
	}
	if got := fmt.Sprint(titles(colleague)); got != "[受付 締め]" {
		t.Fatalf("another's use moved a colleague's list: %s", got)
	}
	if list, _ := f.Store.Templates(ctx, other.Admin); list[0].Uses != 0 {
		t.Fatalf("a foreign template was counted: %+v", list[0])
	}

	edits := []struct {
		name string
		p    store.Principal
		id   int64
		code protocol.Code
	}{
		{"counselor edits the organisation's", o.Staff, welcome.ID, protocol.CodeForbidden},
		{"colleague edits another's personal", colleague, mine.ID, protocol.CodeNotFound},
		{"admin edits a counselor's personal", o.Admin, mine.ID, protocol.CodeNotFound},
		{"another organisation", other.Admin, welcome.ID, protocol.CodeNotFound},
		{"owner edits their own", o.Staff, mine.ID, ""},
		{"admin edits the organisation's", o.Admin, welcome.ID, ""},
	}
	for _, tt := range edits {
		t.Run(tt.name, func(t *testing.T) {
			req := protocol.TemplateRequest{Title: "新しい題", Body: "新しい本文 {counselor}"}
			got, err := f.Store.UpdateTemplate(ctx, tt.p, tt.id, req)
			if Code(err) != tt.code {
				t.Fatalf("update: code %q, want %q (%v)", Code(err), tt.code, err)
			}
			if err == nil && (got.Title != req.Title || got.Body != req.Body || got.Progress != "") {
				t.Fatalf("updated %+v", got)
			}
			if tt.code != "" {
				if err := f.Store.DeleteTemplate(ctx, tt.p, tt.id); Code(err) != tt.code {
					t.Fatalf("delete: code %q, want %q", Code(err), tt.code)
				}
			}
		})
	}
	if err := f.Store.DeleteTemplate(ctx, o.Staff, mine.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.DeleteTemplate(ctx, o.Staff, mine.ID); Code(err) != protocol.CodeNotFound {
		t.Fatalf("delete twice: %v", err)
	}
	// A reply naming a deleted template is still stored.
	if _, _, err := f.Store.Send(ctx, o.Staff, store.SendRequest{Ref: "gone", ConversationID: conv, Body: "x", TemplateID: mine.ID}); err != nil {
		t.Fatalf("a reply from a deleted template: %v", err)
	}
	// A staff member's personal templates go with their account.
	gone := mk(colleague, protocol.ScopePersonal, "消える", "")
	if err := f.Store.DeleteAccount(ctx, o.Admin, colleague.AccountID); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.DeleteTemplate(ctx, o.Admin, gone.ID); Code(err) != protocol.CodeNotFound {
		t.Fatalf("a deleted account's template: %v", err)
	}
}

// testConcurrentTemplateLimit: creations racing for the last places of a
// list never pass its limit.
func testConcurrentTemplateLimit(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 0)
	const free = 3
	for i := range protocol.MaxPersonalTemplates - free {
		if _, err := f.Store.CreateTemplate(ctx, o.Staff, protocol.TemplateRequest{Scope: protocol.ScopePersonal, Title: fmt.Sprint("t", i), Body: "本文"}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg                sync.WaitGroup
		mu                sync.Mutex
		made, refusedFull int
	)
	start := make(chan struct{})
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := f.Store.CreateTemplate(ctx, o.Staff, protocol.TemplateRequest{Scope: protocol.ScopePersonal, Title: fmt.Sprint("race", i), Body: "本文"})
			mu.Lock()
			defer mu.Unlock()
			switch Code(err) {
			case "":
				made++
			case protocol.CodeConflict:
				refusedFull++
			default:
				t.Errorf("create: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	list, _ := f.Store.Templates(ctx, o.Staff)
	if made != free || refusedFull != 16-free || len(list) != protocol.MaxPersonalTemplates {
		t.Fatalf("made %d, refused %d, listed %d; want %d, %d, %d", made, refusedFull, len(list), free, 16-free, protocol.MaxPersonalTemplates)
	}
}

// testDecisions: a staff reply records the client's message it decides
// on, in its transaction; staff see the list, the client does not.
func testDecisions(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 1)
	cl := o.Clients[0]
	conv := f.Send(t, cl, 0, "c1", "AとBならAにします").ConversationID
	f.Send(t, o.Staff, conv, "s1", "Aですね")
	f.Send(t, cl, 0, "c2", "はい、Aでお願いします")
	reply, _, err := f.Store.Send(ctx, o.Staff, store.SendRequest{Ref: "s2", ConversationID: conv, Body: "#3 の内容で決定しました。",
		Decides: 3, Progress: protocol.ProgressRequest{Progress: protocol.ProgressDone}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := f.Store.Conversation(ctx, o.Staff, conv)
	if len(c.Decisions) != 1 || c.Decisions[0].Seq != 3 || c.Decisions[0].ReplySeq != reply.Seq || c.Decisions[0].By != o.Staff.AccountID || c.Progress != protocol.ProgressDone {
		t.Fatalf("after the decision: %+v %+v", c.Decisions, c.Progress)
	}
	pub := f.Published(store.ChangeConversation)
	if last := pub[len(pub)-1].Conversation; len(last.Decisions) != 1 {
		t.Fatalf("published without the decision: %+v", last)
	}
	if got := f.Conversation(t, cl); len(got.Decisions) != 0 {
		t.Fatalf("the client sees staff's decisions: %+v", got.Decisions)
	}
	tests := []struct {
		name    string
		p       store.Principal
		decides int64
		code    protocol.Code
	}{
		{"staff's own reply", o.Staff, 2, protocol.CodeInvalid},
		{"not written yet", o.Staff, 99, protocol.CodeInvalid},
		{"the client", cl, 1, protocol.CodeForbidden},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := f.Store.Conversation(ctx, o.Staff, conv)
			_, _, err := f.Store.Send(ctx, tt.p, store.SendRequest{Ref: fmt.Sprint("bad", i), ConversationID: conv, Body: "x", Decides: tt.decides})
			if Code(err) != tt.code {
				t.Fatalf("code %q, want %q (%v)", Code(err), tt.code, err)
			}
			if after, _ := f.Store.Conversation(ctx, o.Staff, conv); after.LastSeq != before.LastSeq || len(after.Decisions) != 1 {
				t.Fatalf("a refused decision left a trace: %+v", after)
			}
		})
	}
	// Decided again: the newer reply, still one entry; another one adds.
	// (The conversation is the counselor's since their first reply: only
	// they answer it.)
	f.Send(t, cl, 0, "c3", "やはり確認させてください")
	r2, _, err := f.Store.Send(ctx, o.Staff, store.SendRequest{Ref: "a1", ConversationID: conv, Body: "#3 の内容で、あらためて決定しました。", Decides: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Store.Send(ctx, o.Staff, store.SendRequest{Ref: "a2", ConversationID: conv, Body: "#1 も決定です。", Decides: 1}); err != nil {
		t.Fatal(err)
	}
	c, _ = f.Store.Conversation(ctx, o.Staff, conv)
	if len(c.Decisions) != 2 || c.Decisions[0].Seq != 1 || c.Decisions[1].Seq != 3 || c.Decisions[1].ReplySeq != r2.Seq || c.Decisions[1].By != o.Staff.AccountID {
		t.Fatalf("decisions %+v", c.Decisions)
	}
}

// testClientNotes: staff keep a note about a client, with who and when;
// the client is never told; it goes with the client.
func testClientNotes(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 1)
	cl := o.Clients[0]
	// A counselor keeps notes about the clients they have, not a
	// colleague's nor one waiting in the pool.
	waiting := f.Send(t, cl, 0, "c1", "相談です").ConversationID
	if _, err := f.Store.SetClientNote(ctx, o.Staff, cl.AccountID, protocol.NoteRequest{Note: "x"}); Code(err) != protocol.CodeForbidden {
		t.Fatalf("a note about a client in the pool: %v", err)
	}
	if _, err := f.Store.Claim(ctx, o.Staff, waiting); err != nil {
		t.Fatal(err)
	}
	conv, err := f.Store.SetClientNote(ctx, o.Staff, cl.AccountID, protocol.NoteRequest{Note: "睡眠の話が中心。次は週末の過ごし方"})
	if err != nil || conv.Note != "睡眠の話が中心。次は週末の過ごし方" || conv.NoteBy == nil || *conv.NoteBy != o.Staff.AccountID || conv.NoteAt == nil {
		t.Fatalf("set note: %+v %v", conv, err)
	}
	pub := f.Published(store.ChangeConversation)
	if last := pub[len(pub)-1]; !last.StaffOnly || last.Conversation.Note == "" {
		t.Fatalf("published %+v", last)
	}
	if got := f.Conversation(t, cl); got.Note != "" || got.NoteBy != nil || got.NoteAt != nil {
		t.Fatalf("the client sees the note: %+v", got)
	}
	if a, err := f.Store.Account(ctx, o.Admin, cl.AccountID); err != nil || a.Note != conv.Note {
		t.Fatalf("the account's note: %+v %v", a, err)
	}
	// An admin's change through the client's settings is recorded alike.
	note := "管理者のメモ"
	if _, err := f.Store.UpdateClient(ctx, o.Admin, cl.AccountID, protocol.UpdateClientRequest{Note: &note}); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.Store.Conversation(ctx, o.Staff, conv.ID); c.Note != note || *c.NoteBy != o.Admin.AccountID {
		t.Fatalf("after the admin's change: %+v", c)
	}
	tests := []struct {
		name   string
		p      store.Principal
		client int64
		note   string
		code   protocol.Code
	}{
		{"the client", cl, cl.AccountID, "x", protocol.CodeForbidden},
		{"another organisation", f.Org(t, 0).Admin, cl.AccountID, "x", protocol.CodeNotFound},
		{"a staff account", o.Admin, o.Staff.AccountID, "x", protocol.CodeNotFound},
		{"too long", o.Staff, cl.AccountID, string(make([]rune, protocol.MaxNoteRunes+1)), protocol.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.Store.SetClientNote(ctx, tt.p, tt.client, protocol.NoteRequest{Note: tt.note}); Code(err) != tt.code {
				t.Fatalf("code %q, want %q (%v)", Code(err), tt.code, err)
			}
		})
	}
	if c, _ := f.Store.Conversation(ctx, o.Staff, conv.ID); c.Note != note {
		t.Fatalf("refusals changed the note: %q", c.Note)
	}
	if err := f.Store.DeleteAccount(ctx, o.Admin, cl.AccountID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.SetClientNote(ctx, o.Staff, cl.AccountID, protocol.NoteRequest{Note: "x"}); Code(err) != protocol.CodeNotFound {
		t.Fatalf("a deleted client's note: %v", err)
	}
}

// testConcurrentNoteEdits: colleagues saving from the same note at once:
// one edit is stored, the others are refused, none is silently lost.
func testConcurrentNoteEdits(t *testing.T, open Opener) {
	f := NewFixture(t, open)
	ctx := context.Background()
	o := f.Org(t, 1)
	cl := o.Clients[0]
	base := "最初のメモ"
	// The client's counselor and the admins may edit it.
	if _, err := f.Store.Claim(ctx, o.Staff, f.Send(t, cl, 0, "c1", "相談です").ConversationID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.SetClientNote(ctx, o.Staff, cl.AccountID, protocol.NoteRequest{Note: base}); err != nil {
		t.Fatal(err)
	}
	staff := []store.Principal{o.Staff, o.Admin}
	for range 6 {
		staff = append(staff, f.Account(t, o.ID, protocol.RoleAdmin))
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins []string
	)
	start := make(chan struct{})
	for i, p := range staff {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			note := fmt.Sprint("メモ ", i)
			_, err := f.Store.SetClientNote(ctx, p, cl.AccountID, protocol.NoteRequest{Note: note, Expect: &base})
			switch Code(err) {
			case "":
				mu.Lock()
				wins = append(wins, note)
				mu.Unlock()
			case protocol.CodeConflict:
			default:
				t.Errorf("save: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	got, _ := f.Store.Account(ctx, o.Admin, cl.AccountID)
	if len(wins) != 1 || got.Note != wins[0] {
		t.Fatalf("stored edits %v, note now %q", wins, got.Note)
	}
}
