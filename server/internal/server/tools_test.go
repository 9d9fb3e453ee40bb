package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// TestProgressIsStaffOnly: a change of progress reaches every staff
// connection, live, with who set it; the client is sent nothing of it,
// neither the change nor the fields, in frames, welcome or listing.
func TestProgressIsStaffOnly(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "さくら")
	co := ts.newCounselor(t, o, "田中")
	clLive := goLive(t, cl, 0)
	adminLive := goLive(t, o.admin, 0)
	coLive := goLive(t, co, 0)
	ctx := context.Background()

	first, err := clLive.live.Send(ctx, 0, "相談があります")
	if err != nil {
		t.Fatal(err)
	}
	conv := first.ConversationID
	convFrames := func(evs []any, upTo func(any) bool) (n int, progress bool) {
		for _, e := range evs {
			if upTo != nil && upTo(e) {
				break
			}
			if f, ok := e.(*protocol.ConversationFrame); ok {
				n++
				progress = progress || f.Conversation.Progress != "" || f.Conversation.NextContact != "" || f.Conversation.ProgressBy != nil || len(f.Conversation.Decisions) > 0
			}
		}
		return n, progress
	}
	clLive.rec.waitFor(t, "the client's conversation after its message", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationFrame) bool { return f.Conversation.LastSeq == 1 })
	})
	before, _ := convFrames(clLive.rec.snapshot(), nil)

	// A counselor's reply through the live connection sets 返答待ち and
	// counts its template.
	tp, err := o.admin.CreateTemplate(ctx, protocol.TemplateRequest{Scope: protocol.ScopeOrg, Title: "受付", Body: "{nickname}さん、お待ちしています", Progress: protocol.ProgressAwaiting})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-coLive.live.EnqueueMessage(client.PendingMessage{Ref: client.NewRef(), ConversationID: conv, Body: "さくらさん、お待ちしています",
		Progress: tp.Progress, TemplateID: tp.ID, Decides: first.Seq}):
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	case <-ctx.Done():
	}
	me, _ := co.Me(ctx)
	adminLive.rec.waitFor(t, "返答待ち set by the counselor", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationFrame) bool {
			c := f.Conversation
			return c.Progress == protocol.ProgressAwaiting && c.ProgressBy != nil && *c.ProgressBy == me.ID && c.ProgressAt != nil &&
				len(c.Decisions) == 1 && c.Decisions[0].Seq == first.Seq
		})
	})
	if list, err := co.Templates(ctx); err != nil || len(list) != 1 || list[0].Uses != 1 {
		t.Fatalf("the template's use was not counted: %+v %v", list, err)
	}

	// Set by hand: every staff connection hears of it.
	got, err := o.admin.SetProgress(ctx, conv, protocol.ProgressRequest{Progress: protocol.ProgressNextContact, NextContact: "2026-12-03"})
	if err != nil || got.NextContact != "2026-12-03" {
		t.Fatalf("set progress: %+v %v", got, err)
	}
	coLive.rec.waitFor(t, "次回連絡予定 on the counselor's app", func(evs []any) bool {
		return hasEvent(evs, func(f *protocol.ConversationFrame) bool {
			return f.Conversation.Progress == protocol.ProgressNextContact && f.Conversation.NextContact == "2026-12-03"
		})
	})

	// The client writes again: frames reach a connection in commit order,
	// so a frame about the hand-made change would come before this message.
	second, err := clLive.live.Send(ctx, 0, "もう一つ")
	if err != nil {
		t.Fatal(err)
	}
	clLive.rec.waitFor(t, "the client's second message", func(evs []any) bool {
		return countMessages(evs, func(m protocol.Message) bool { return m.ID == second.ID }) == 1
	})
	n, leaked := convFrames(clLive.rec.snapshot(), func(e any) bool {
		f, ok := e.(*protocol.MessageFrame)
		return ok && f.Message.ID == second.ID
	})
	// One frame for the reply (its new state), none for the hand-made change.
	if n != before+1 || leaked {
		t.Fatalf("the client got %d conversation frames after its first message (want 1), progress leaked: %v", n-before, leaked)
	}
	if _, leaked := convFrames(clLive.rec.snapshot(), nil); leaked {
		t.Fatal("a conversation frame to the client carried staff's progress")
	}
	code, body := apiDo(t, "GET", ts.URL+"/api/v1/conversations", cl.Token, "")
	if code != http.StatusOK || strings.Contains(body, "progress") || strings.Contains(body, "next_contact") {
		t.Fatalf("the client's listing: %d %s", code, body)
	}
	again := goLive(t, cl, 0)
	if ok := hasEvent(again.rec.snapshot(), func(w *protocol.Welcome) bool {
		return len(w.Conversations) == 1 && w.Conversations[0].Progress == "" && w.Conversations[0].NextContact == ""
	}); !ok {
		t.Fatal("the client's welcome carries staff's progress")
	}
	// The staff listing has it.
	if cs, err := co.Conversations(ctx); err != nil || cs[0].Progress != protocol.ProgressNextContact {
		t.Fatalf("staff listing: %+v %v", cs, err)
	}
}

// TestToolsBadInput: every malformed or out-of-range body is refused with
// a clear code, and nothing changes.
func TestToolsBadInput(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	cl, _ := ts.newClient(t, o, "c")
	if _, err := goLive(t, cl, 0).live.Send(context.Background(), 0, "hi"); err != nil {
		t.Fatal(err)
	}
	conv := convOf(t, cl)
	tp, err := o.admin.CreateTemplate(context.Background(), protocol.TemplateRequest{Scope: protocol.ScopeOrg, Title: "題", Body: "本文"})
	if err != nil {
		t.Fatal(err)
	}
	progress := fmt.Sprintf("/api/v1/conversations/%d/progress", conv)
	tmpl := fmt.Sprintf("/api/v1/templates/%d", tp.ID)
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     protocol.Code
	}{
		{"progress: unknown value", "PUT", progress, `{"progress":"soon"}`, 400, protocol.CodeInvalid},
		{"progress: wrong type", "PUT", progress, `{"progress":3}`, 400, protocol.CodeBadRequest},
		{"progress: unknown field", "PUT", progress, `{"progress":"done","by":1}`, 400, protocol.CodeBadRequest},
		{"progress: date with done", "PUT", progress, `{"progress":"done","next_contact":"2026-12-03"}`, 400, protocol.CodeInvalid},
		{"progress: no date", "PUT", progress, `{"progress":"next_contact"}`, 400, protocol.CodeInvalid},
		{"progress: a past date", "PUT", progress, `{"progress":"next_contact","next_contact":"2026-11-20"}`, 400, protocol.CodeInvalid},
		{"progress: a date in another form", "PUT", progress, `{"progress":"next_contact","next_contact":"12/3"}`, 400, protocol.CodeInvalid},
		{"progress: not JSON", "PUT", progress, `progress=done`, 400, protocol.CodeBadRequest},
		{"progress: no such conversation", "PUT", "/api/v1/conversations/99999/progress", `{"progress":"done"}`, 404, protocol.CodeNotFound},
		{"progress: bad id", "PUT", "/api/v1/conversations/x/progress", `{"progress":"done"}`, 400, protocol.CodeBadRequest},
		{"template: too large", "POST", "/api/v1/templates", `{"scope":"org","title":"t","body":"` + strings.Repeat("あ", 100000) + `"}`, 413, protocol.CodeTooLarge},
		{"template: body too long", "POST", "/api/v1/templates", `{"scope":"org","title":"t","body":"` + strings.Repeat("あ", 2001) + `"}`, 400, protocol.CodeInvalid},
		{"template: placeholder typo", "POST", "/api/v1/templates", `{"scope":"org","title":"t","body":"{nicknme}さん"}`, 400, protocol.CodeInvalid},
		{"template: no scope", "POST", "/api/v1/templates", `{"title":"t","body":"b"}`, 400, protocol.CodeInvalid},
		{"template: unknown field", "POST", "/api/v1/templates", `{"scope":"org","title":"t","body":"b","owner_id":1}`, 400, protocol.CodeBadRequest},
		{"template: lone surrogate", "POST", "/api/v1/templates", `{"scope":"org","title":"t","body":"\ud800"}`, 400, protocol.CodeInvalidBody},
		{"template: progress next_contact", "PUT", tmpl, `{"title":"t","body":"b","progress":"next_contact"}`, 400, protocol.CodeInvalid},
		{"template: empty title", "PUT", tmpl, `{"title":" ","body":"b"}`, 400, protocol.CodeInvalid},
		{"template: no such one", "PUT", "/api/v1/templates/99999", `{"title":"t","body":"b"}`, 404, protocol.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := apiDo(t, tt.method, ts.URL+tt.path, o.admin.Token, tt.body)
			if status != tt.status || !strings.Contains(body, `"code":"`+string(tt.code)+`"`) {
				t.Fatalf("%d %s, want %d %s", status, body, tt.status, tt.code)
			}
		})
	}
	list, err := o.admin.Templates(context.Background())
	if err != nil || len(list) != 1 || list[0].Title != "題" || list[0].Body != "本文" {
		t.Fatalf("refusals changed the templates: %+v %v", list, err)
	}
	if cs, _ := o.admin.Conversations(context.Background()); cs[0].Progress != protocol.ProgressNew {
		t.Fatalf("refusals changed the progress: %+v", cs[0])
	}
}

// TestTemplateLimitUnderConcurrentRequests: requests racing for the last
// places of a staff member's list, over the real server, never pass the
// limit (the count is taken in the inserting transaction).
func TestTemplateLimitUnderConcurrentRequests(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	co := ts.newCounselor(t, o, "田中")
	const free, racers = 3, 12
	for i := range protocol.MaxPersonalTemplates - free {
		if _, err := co.CreateTemplate(context.Background(), protocol.TemplateRequest{Scope: protocol.ScopePersonal, Title: fmt.Sprint("t", i), Body: "本文"}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		status = map[int]int{}
	)
	start := make(chan struct{})
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			code, _ := apiDo(t, "POST", ts.URL+"/api/v1/templates", co.Token, fmt.Sprintf(`{"scope":"personal","title":"race %d","body":"本文"}`, i))
			mu.Lock()
			status[code]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	list, err := co.Templates(context.Background())
	if err != nil || status[http.StatusCreated] != free || status[http.StatusConflict] != racers-free || len(list) != protocol.MaxPersonalTemplates {
		t.Fatalf("answers %v, listed %d (%v); want %d created, %d conflicts, %d listed", status, len(list), err, free, racers-free, protocol.MaxPersonalTemplates)
	}
}

// TestNoteEditsRaceOverTheServer: staff saving from the same note at
// once over the real server: one edit is stored and the others are told
// (409), none overwrites another silently.
func TestNoteEditsRaceOverTheServer(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	_, cred := ts.newClient(t, o, "さくら")
	// The admins, who read every client (a counselor edits only the notes
	// of their own clients).
	var staff []*client.Client
	for i := range 6 {
		cred, err := o.admin.CreateStaff(context.Background(), protocol.CreateStaffRequest{Nickname: fmt.Sprint("管理者", i), Role: protocol.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		staff = append(staff, ts.login(t, cred.LoginID, cred.Password))
	}
	base := "最初のメモ"
	if _, err := o.admin.SetClientNote(context.Background(), cred.Account.ID, protocol.NoteRequest{Note: base}); err != nil {
		t.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		status = map[int]int{}
	)
	start := make(chan struct{})
	for i, co := range staff {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			code, _ := apiDo(t, "PUT", fmt.Sprintf("%s/api/v1/clients/%d/note", ts.URL, cred.Account.ID), co.Token,
				fmt.Sprintf(`{"note":"メモ %d","expect":"最初のメモ"}`, i))
			mu.Lock()
			status[code]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if status[http.StatusOK] != 1 || status[http.StatusConflict] != len(staff)-1 {
		t.Fatalf("answers %v: want one 200 and %d 409", status, len(staff)-1)
	}
}
