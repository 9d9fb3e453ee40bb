package server

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// The roles of the matrix, in the order of docs/security.md's columns.
var matrixRoles = []string{"anonymous", "client", "counselor", "admin", "registrar"}

// readMatrix reads the permission matrix from docs/security.md: the
// document is the specification this test holds the server to.
func readMatrix(t *testing.T) map[string][]bool {
	t.Helper()
	doc, err := os.ReadFile("../../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- matrix:begin -->")
	table, _, ok2 := strings.Cut(rest, "<!-- matrix:end -->")
	if !ok || !ok2 {
		t.Fatal("docs/security.md has no matrix markers")
	}
	m := map[string][]bool{}
	for _, line := range strings.Split(strings.TrimSpace(table), "\n")[2:] {
		cells := strings.Split(strings.Trim(line, "| "), "|")
		if len(cells) != 1+len(matrixRoles) {
			t.Fatalf("matrix row %q: %d cells", line, len(cells))
		}
		action := strings.Trim(strings.TrimSpace(cells[0]), "`")
		for _, c := range cells[1:] {
			switch strings.TrimSpace(c) {
			case "yes":
				m[action] = append(m[action], true)
			case "no":
				m[action] = append(m[action], false)
			default:
				t.Fatalf("matrix row %q: cell %q is neither yes nor no", line, c)
			}
		}
	}
	return m
}

// matrixActor is one column: a token (empty for the anonymous) and the
// credentials to open a second session with.
type matrixActor struct {
	role  string
	token string
	cred  protocol.Credentials
}

type matrixFixture struct {
	ts   *testServer
	o    testOrg
	conv int64 // the fixture client's conversation: the client opened it, the fixture counselor has it
	cl   protocol.Credentials
	// colleague is a counselor who is none of the actors.
	colleague *client.Client
	// assignee is the fixture counselor, who has conv.
	assignee *int64
	// otherGroup is a group the registrar does not register clients of.
	otherGroup protocol.Group
}

// otherGroupsClient is a client of a group that is not the registrar's.
func (f *matrixFixture) otherGroupsClient(t *testing.T) int64 {
	t.Helper()
	c, err := f.o.admin.CreateClient(context.Background(), protocol.CreateClientRequest{Nickname: "other", GroupID: f.otherGroup.ID})
	if err != nil {
		t.Fatal(err)
	}
	return c.Account.ID
}

// fresh makes an account to be changed, reset or deleted, so that each
// cell starts from the same state.
func (f *matrixFixture) fresh(t *testing.T, role protocol.Role) int64 {
	t.Helper()
	ctx := context.Background()
	if role == protocol.RoleClient {
		c, err := f.o.admin.CreateClient(ctx, protocol.CreateClientRequest{Nickname: "target"})
		if err != nil {
			t.Fatal(err)
		}
		return c.Account.ID
	}
	c, err := f.o.admin.CreateStaff(ctx, protocol.CreateStaffRequest{Nickname: "target", Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return c.Account.ID
}

// freshConv is a conversation whose client has not written.
func (f *matrixFixture) freshConv(t *testing.T) int64 {
	t.Helper()
	id := f.fresh(t, protocol.RoleClient)
	convs, err := f.o.admin.Conversations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range convs {
		if c.ClientID == id {
			return c.ID
		}
	}
	t.Fatal("new client has no conversation")
	return 0
}

// poolConv is a conversation whose client has written and that nobody
// has taken: it waits in the pool.
func (f *matrixFixture) poolConv(t *testing.T) int64 {
	t.Helper()
	id := f.fresh(t, protocol.RoleClient)
	m, _, err := f.ts.store.Send(context.Background(), store.Principal{AccountID: id, OrgID: f.o.id, Role: protocol.RoleClient},
		store.SendRequest{Ref: "matrix", Body: "聞いてください"})
	if err != nil {
		t.Fatal(err)
	}
	return m.ConversationID
}

// takenConv is a pool conversation that the actor (staff) has taken.
func (f *matrixFixture) takenConv(t *testing.T, a matrixActor) int64 {
	t.Helper()
	id := f.poolConv(t)
	if a.role == "counselor" || a.role == "admin" {
		if code, resp := apiDo(t, "POST", fmt.Sprintf("%s/api/v1/conversations/%d/claim", f.ts.URL, id), a.token, ""); code != http.StatusOK {
			t.Fatalf("claim: %d %s", code, resp)
		}
	}
	return id
}

// nominee is the colleague, taking nominations (指名).
func (f *matrixFixture) nominee(t *testing.T) int64 {
	t.Helper()
	name, on := "そら", true
	a, err := f.colleague.UpdateMe(context.Background(), protocol.MePatch{DisplayName: &name, AcceptNominations: &on})
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// colleaguesConv is a pool conversation that a counselor other than the
// actors has taken.
func (f *matrixFixture) colleaguesConv(t *testing.T) int64 {
	t.Helper()
	return f.takenConv(t, matrixActor{role: "counselor", token: f.colleague.Token})
}

// httpCell tries one HTTP call: nil if it succeeded, else the status.
func httpCell(method, path string, body func(t *testing.T, f *matrixFixture, a matrixActor) string) func(*testing.T, *matrixFixture, matrixActor) (bool, string) {
	return func(t *testing.T, f *matrixFixture, a matrixActor) (bool, string) {
		t.Helper()
		b := ""
		if body != nil {
			b = body(t, f, a)
		}
		p := strings.NewReplacer("{conv}", fmt.Sprint(f.conv),
			"{client}", fmt.Sprint(f.cl.Account.ID)).Replace(path)
		if strings.Contains(p, "{fresh-client}") {
			p = strings.ReplaceAll(p, "{fresh-client}", fmt.Sprint(f.fresh(t, protocol.RoleClient)))
		}
		if strings.Contains(p, "{other-group-client}") {
			p = strings.ReplaceAll(p, "{other-group-client}", fmt.Sprint(f.otherGroupsClient(t)))
		}
		if strings.Contains(p, "{other-group}") {
			p = strings.ReplaceAll(p, "{other-group}", fmt.Sprint(f.otherGroup.ID))
		}
		if strings.Contains(p, "{fresh-counselor}") {
			p = strings.ReplaceAll(p, "{fresh-counselor}", fmt.Sprint(f.fresh(t, protocol.RoleCounselor)))
		}
		if strings.Contains(p, "{pool}") {
			p = strings.ReplaceAll(p, "{pool}", fmt.Sprint(f.poolConv(t)))
		}
		if strings.Contains(p, "{mine}") {
			p = strings.ReplaceAll(p, "{mine}", fmt.Sprint(f.takenConv(t, a)))
		}
		if strings.Contains(p, "{colleague}") {
			p = strings.ReplaceAll(p, "{colleague}", fmt.Sprint(f.colleaguesConv(t)))
		}
		code, resp := apiDo(t, method, f.ts.URL+p, a.token, b)
		return code < 300, fmt.Sprintf("%d %s", code, resp)
	}
}

// liveCell opens the live connection and, if frame is given, sends it.
// Allowed means synced (and the frame acknowledged).
func liveCell(frame func(t *testing.T, f *matrixFixture, a matrixActor) string) func(*testing.T, *matrixFixture, matrixActor) (bool, string) {
	return func(t *testing.T, f *matrixFixture, a matrixActor) (bool, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h := http.Header{}
		if a.token != "" {
			h.Set("Authorization", "Bearer "+a.token)
		}
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.ts.URL, "http")+"/api/v1/live", &websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			if resp != nil {
				return false, fmt.Sprintf("handshake %d", resp.StatusCode)
			}
			t.Fatal(err)
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		wsWrite(t, c, `{"type":"hello","v":1,"cursor":0}`)
		sent := false
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return false, fmt.Sprintf("closed %v", websocket.CloseStatus(err))
			}
			var f0 struct {
				Type  string
				Error protocol.Error
			}
			json.Unmarshal(data, &f0)
			switch f0.Type {
			case protocol.TypeSynced:
				if frame == nil {
					return true, "synced"
				}
				if !sent {
					wsWrite(t, c, frame(t, f, a))
					sent = true
				}
			case protocol.TypeAck:
				return true, "ack"
			case protocol.TypeError:
				return false, string(f0.Error.Code)
			}
		}
	}
}

func sendFrame(conv func(t *testing.T, f *matrixFixture, a matrixActor) int64) func(*testing.T, *matrixFixture, matrixActor) string {
	return func(t *testing.T, f *matrixFixture, a matrixActor) string {
		b, _ := json.Marshal(protocol.Send{Type: protocol.TypeSend, Ref: client.NewRef(), ConversationID: conv(t, f, a), Body: "matrix"})
		return string(b)
	}
}

// TestPermissionMatrix holds the server to every cell of the matrix in
// docs/security.md, over HTTP and the live connection.
func TestPermissionMatrix(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "org")
	clClient, clCred := ts.newClient(t, o, "c")
	coCred, err := o.admin.CreateStaff(context.Background(), protocol.CreateStaffRequest{Nickname: "co", Role: protocol.RoleCounselor})
	if err != nil {
		t.Fatal(err)
	}
	co := ts.login(t, coCred.LoginID, coCred.Password)
	f := &matrixFixture{ts: ts, o: o, cl: clCred, colleague: ts.newCounselor(t, o, "colleague")}
	// The client opens its conversation, and the fixture counselor takes it.
	m, err := goLive(t, clClient, 0).live.Send(context.Background(), 0, "hello")
	if err != nil {
		t.Fatal(err)
	}
	f.conv = m.ConversationID
	held, err := co.Claim(context.Background(), f.conv)
	if err != nil {
		t.Fatal(err)
	}
	f.assignee = held.AssigneeID
	me, err := o.admin.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	adminCred := protocol.Credentials{Account: me}
	// The admin's own login was made by the test server; a second admin
	// gives the logout cell credentials to sign in with.
	adminCred, err = o.admin.CreateStaff(context.Background(), protocol.CreateStaffRequest{Nickname: "admin2", Role: protocol.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	// A registrar of the default group, where the fixture's clients are
	// (issue 16); a second group holds clients that are not theirs.
	groups, err := o.admin.Groups(context.Background())
	if err != nil || len(groups) != 1 {
		t.Fatalf("groups: %+v %v", groups, err)
	}
	otherName := "他社"
	f.otherGroup, err = o.admin.CreateGroup(context.Background(), protocol.GroupRequest{Name: &otherName})
	if err != nil {
		t.Fatal(err)
	}
	regCred, err := o.admin.CreateStaff(context.Background(), protocol.CreateStaffRequest{Nickname: "受付", Role: protocol.RoleRegistrar, GroupIDs: []int64{groups[0].ID}})
	if err != nil {
		t.Fatal(err)
	}
	actors := []matrixActor{
		{role: "anonymous"},
		{role: "client", token: clClient.Token, cred: clCred},
		{role: "counselor", token: co.Token, cred: coCred},
		{role: "admin", token: ts.login(t, adminCred.LoginID, adminCred.Password).Token, cred: adminCred},
		{role: "registrar", token: ts.login(t, regCred.LoginID, regCred.Password).Token, cred: regCred},
	}
	jsonBody := func(s string) func(*testing.T, *matrixFixture, matrixActor) string {
		return func(*testing.T, *matrixFixture, matrixActor) string { return s }
	}
	poolConv := func(t *testing.T, f *matrixFixture, a matrixActor) int64 {
		if a.role == "client" {
			return 0 // a client's send goes to its own conversation
		}
		return f.poolConv(t)
	}
	cells := map[string]func(*testing.T, *matrixFixture, matrixActor) (bool, string){
		"GET /api/v1/me":                                       httpCell("GET", "/api/v1/me", nil),
		"GET /api/v1/org":                                      httpCell("GET", "/api/v1/org", nil),
		"PATCH /api/v1/org/settings":                           httpCell("PATCH", "/api/v1/org/settings", jsonBody(`{"staff_may_write_first":false}`)),
		"GET /api/v1/clients":                                  httpCell("GET", "/api/v1/clients", nil),
		"POST /api/v1/clients":                                 httpCell("POST", "/api/v1/clients", jsonBody(`{"nickname":"x"}`)),
		"POST /api/v1/clients/bulk":                            httpCell("POST", "/api/v1/clients/bulk", jsonBody(`{"prefix":"s","count":2}`)),
		"PATCH /api/v1/clients/{id}":                           httpCell("PATCH", "/api/v1/clients/{client}", jsonBody(`{"note":"x"}`)),
		"POST /api/v1/clients/{id}/password":                   httpCell("POST", "/api/v1/clients/{fresh-client}/password", nil),
		"DELETE /api/v1/clients/{id}":                          httpCell("DELETE", "/api/v1/clients/{fresh-client}", nil),
		"DELETE /api/v1/clients/{id} (another group's)":        httpCell("DELETE", "/api/v1/clients/{other-group-client}", nil),
		"POST /api/v1/clients/{id}/password (another group's)": httpCell("POST", "/api/v1/clients/{other-group-client}/password", nil),
		"POST /api/v1/clients (another group)": httpCell("POST", "/api/v1/clients", func(_ *testing.T, f *matrixFixture, _ matrixActor) string {
			return fmt.Sprintf(`{"nickname":"x","group_id":%d}`, f.otherGroup.ID)
		}),
		"GET /api/v1/groups":                   httpCell("GET", "/api/v1/groups", nil),
		"POST /api/v1/groups":                  groupCell(),
		"PATCH /api/v1/groups/{id}":            httpCell("PATCH", "/api/v1/groups/{other-group}", jsonBody(`{"access_until":"2099-01-01T00:00:00Z"}`)),
		"GET /api/v1/clients (with login IDs)": loginIDsCell,
		"GET /api/v1/apikeys":                  httpCell("GET", "/api/v1/apikeys", nil),
		"POST /api/v1/apikeys": httpCell("POST", "/api/v1/apikeys", func(_ *testing.T, f *matrixFixture, _ matrixActor) string {
			return fmt.Sprintf(`{"name":"予約システム","group_ids":[%d]}`, f.otherGroup.ID)
		}),
		"DELETE /api/v1/apikeys/{id}": func(t *testing.T, f *matrixFixture, a matrixActor) (bool, string) {
			k, err := f.o.admin.CreateAPIKey(context.Background(), protocol.APIKeyRequest{Name: "消す鍵", GroupIDs: []int64{f.otherGroup.ID}})
			if err != nil {
				t.Fatal(err)
			}
			return httpCell("DELETE", fmt.Sprintf("/api/v1/apikeys/%d", k.APIKey.ID), nil)(t, f, a)
		},
		"GET /api/v1/announcements":  httpCell("GET", "/api/v1/announcements", nil),
		"POST /api/v1/announcements": httpCell("POST", "/api/v1/announcements", jsonBody(`{"body":"年末年始の休業のお知らせ"}`)),
		"DELETE /api/v1/announcements/{id}": func(t *testing.T, f *matrixFixture, a matrixActor) (bool, string) {
			an, err := f.o.admin.CreateAnnouncement(context.Background(), protocol.AnnouncementRequest{Body: "消すお知らせ"})
			if err != nil {
				t.Fatal(err)
			}
			return httpCell("DELETE", fmt.Sprintf("/api/v1/announcements/%d", an.ID), nil)(t, f, a)
		},
		"PATCH /api/v1/me":                                         httpCell("PATCH", "/api/v1/me", jsonBody(`{"display_name":"担当A"}`)),
		"GET /api/v1/staff":                                        httpCell("GET", "/api/v1/staff", nil),
		"POST /api/v1/staff":                                       httpCell("POST", "/api/v1/staff", jsonBody(`{"nickname":"x","role":"counselor"}`)),
		"POST /api/v1/staff/{id}/password":                         httpCell("POST", "/api/v1/staff/{fresh-counselor}/password", nil),
		"DELETE /api/v1/staff/{id}":                                httpCell("DELETE", "/api/v1/staff/{fresh-counselor}", nil),
		"POST /api/v1/accounts/{id}/logout":                        httpCell("POST", "/api/v1/accounts/{fresh-client}/logout", nil),
		"GET /api/v1/accounts/{id}/devices":                        httpCell("GET", "/api/v1/accounts/{client}/devices", nil),
		"GET /api/v1/conversations":                                httpCell("GET", "/api/v1/conversations", nil),
		"GET /api/v1/conversations/{id}/messages":                  httpCell("GET", "/api/v1/conversations/{conv}/messages", nil),
		"GET /api/v1/conversations/{id}/messages (in the pool)":    httpCell("GET", "/api/v1/conversations/{pool}/messages", nil),
		"GET /api/v1/conversations/{id}/messages (a colleague's)":  httpCell("GET", "/api/v1/conversations/{colleague}/messages", nil),
		"POST /api/v1/conversations/{id}/assign":                   httpCell("POST", "/api/v1/conversations/{mine}/assign", jsonBody(`{"assignee_id":null}`)),
		"POST /api/v1/conversations/{id}/claim":                    httpCell("POST", "/api/v1/conversations/{pool}/claim", nil),
		"GET /api/v1/conversations/{id}/preview":                   httpCell("GET", "/api/v1/conversations/{pool}/preview", nil),
		"GET /api/v1/conversations/{id}/preview (a colleague's)":   httpCell("GET", "/api/v1/conversations/{colleague}/preview", nil),
		"POST /api/v1/conversations/{id}/transfer":                 httpCell("POST", "/api/v1/conversations/{mine}/transfer", jsonBody(`{"to":null,"note":"引き継ぎメモ"}`)),
		"POST /api/v1/conversations/{id}/transfer (a colleague's)": httpCell("POST", "/api/v1/conversations/{colleague}/transfer", jsonBody(`{"to":null}`)),
		"POST /api/v1/conversations/{id}/end":                      httpCell("POST", "/api/v1/conversations/{mine}/end", nil),
		"POST /api/v1/conversations/{id}/end (a colleague's)":      httpCell("POST", "/api/v1/conversations/{colleague}/end", nil),
		"GET /api/v1/conversations/{id}/supervise":                 httpCell("GET", "/api/v1/conversations/{conv}/supervise", nil),
		"GET /api/v1/nominees":                                     httpCell("GET", "/api/v1/nominees", nil),
		"GET /api/v1/stats/unanswered":                             httpCell("GET", "/api/v1/stats/unanswered?weeks=4", nil),
		"GET /api/v1/stats/groups":                                 httpCell("GET", "/api/v1/stats/groups?weeks=4", nil),
		// The client's conversation is released for the nomination and
		// given back to the fixture counselor after (other cells read it).
		"POST /api/v1/nominate": func(t *testing.T, f *matrixFixture, a matrixActor) (bool, string) {
			ctx := context.Background()
			nominee := f.nominee(t)
			if a.role != "client" {
				return httpCell("POST", "/api/v1/nominate", jsonBody(fmt.Sprintf(`{"counselor_id":%d}`, nominee)))(t, f, a)
			}
			if _, err := f.o.admin.Assign(ctx, f.conv, nil); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if _, err := f.o.admin.Assign(ctx, f.conv, f.assignee); err != nil {
					t.Fatal(err)
				}
			}()
			return httpCell("POST", "/api/v1/nominate", jsonBody(fmt.Sprintf(`{"counselor_id":%d}`, nominee)))(t, f, a)
		},
		"GET /api/v1/audit":                         httpCell("GET", "/api/v1/audit", nil),
		"GET /api/v1/push/config":                   httpCell("GET", "/api/v1/push/config", nil),
		"PUT /api/v1/push":                          httpCell("PUT", "/api/v1/push", jsonBody(`{"token":"matrix-token"}`)),
		"DELETE /api/v1/push":                       httpCell("DELETE", "/api/v1/push", jsonBody(`{"token":"matrix-token"}`)),
		"live: connect and sync":                    liveCell(nil),
		"live: answer a client waiting in the pool": liveCell(sendFrame(poolConv)),
		"live: write in a colleague's conversation": liveCell(sendFrame(func(t *testing.T, f *matrixFixture, _ matrixActor) int64 {
			return f.colleaguesConv(t)
		})),
		"live: leave a staff-only note in one's own conversation": liveCell(func(t *testing.T, f *matrixFixture, a matrixActor) string {
			b, _ := json.Marshal(protocol.Send{Type: protocol.TypeSend, Ref: client.NewRef(), ConversationID: f.takenConv(t, a), Body: "次回は睡眠のこと", Kind: protocol.KindNote})
			return string(b)
		}),
		"PUT /api/v1/conversations/{id}/progress":                 httpCell("PUT", "/api/v1/conversations/{conv}/progress", jsonBody(`{"progress":"in_progress"}`)),
		"PUT /api/v1/conversations/{id}/progress (a colleague's)": httpCell("PUT", "/api/v1/conversations/{colleague}/progress", jsonBody(`{"progress":"in_progress"}`)),
		"GET /api/v1/templates":                                   httpCell("GET", "/api/v1/templates", nil),
		"PUT /api/v1/clients/{id}/note":                           httpCell("PUT", "/api/v1/clients/{client}/note", jsonBody(`{"note":"睡眠の話が中心"}`)),
		"POST /api/v1/templates (own)":                            httpCell("POST", "/api/v1/templates", jsonBody(`{"scope":"personal","title":"自分用","body":"{nickname}さん"}`)),
		"POST /api/v1/templates (the organisation's)":             httpCell("POST", "/api/v1/templates", jsonBody(`{"scope":"org","title":"全体","body":"本文"}`)),
		"PUT /api/v1/templates/{id} (own)":                        ownTemplateCell("PUT", `{"title":"改","body":"改めて"}`),
		"DELETE /api/v1/templates/{id} (own)":                     ownTemplateCell("DELETE", ""),
		"PUT /api/v1/templates/{id} (the organisation's)":         orgTemplateCell("PUT", `{"title":"改","body":"改めて"}`),
		"DELETE /api/v1/templates/{id} (the organisation's)":      orgTemplateCell("DELETE", ""),
		"live: reply that sets the progress": liveCell(func(t *testing.T, f *matrixFixture, a matrixActor) string {
			b, _ := json.Marshal(protocol.Send{Type: protocol.TypeSend, Ref: client.NewRef(), ConversationID: poolConv(t, f, a), Body: "お返事お待ちしています",
				Progress: protocol.ProgressAwaiting})
			return string(b)
		}),
		"live: reply that records a decision": liveCell(func(t *testing.T, f *matrixFixture, a matrixActor) string {
			b, _ := json.Marshal(protocol.Send{Type: protocol.TypeSend, Ref: client.NewRef(), ConversationID: poolConv(t, f, a), Body: "#1 の内容で決定しました。",
				Decides: 1})
			return string(b)
		}),
		"live: write first to a client who has not written": liveCell(sendFrame(func(t *testing.T, f *matrixFixture, _ matrixActor) int64 {
			return f.freshConv(t)
		})),
		// A staff member's own password, changed and changed back (other
		// cells sign in with it).
		"POST /api/v1/me/password": func(t *testing.T, f *matrixFixture, a matrixActor) (bool, string) {
			const temp = "matrix: a long enough passphrase"
			ok, got := httpCell("POST", "/api/v1/me/password", func(*testing.T, *matrixFixture, matrixActor) string {
				b, _ := json.Marshal(protocol.ChangePasswordRequest{Current: a.cred.Password, New: temp})
				return string(b)
			})(t, f, a)
			if ok {
				b, _ := json.Marshal(protocol.ChangePasswordRequest{Current: temp, New: a.cred.Password})
				if code, resp := apiDo(t, "POST", f.ts.URL+"/api/v1/me/password", a.token, string(b)); code != http.StatusNoContent {
					t.Fatalf("changing the password back: %d %s", code, resp)
				}
			}
			return ok, got
		},
		"GET /api/v1/me/totp":                httpCell("GET", "/api/v1/me/totp", nil),
		"POST /api/v1/me/totp":               httpCell("POST", "/api/v1/me/totp", withPassword),
		"POST /api/v1/staff/{id}/totp/reset": httpCell("POST", "/api/v1/staff/{fresh-counselor}/totp/reset", nil),
		// Confirming needs an enrollment and a code from it; the second
		// factor is turned off again after (other cells sign in).
		"POST /api/v1/me/totp/confirm": func(t *testing.T, f *matrixFixture, a matrixActor) (bool, string) {
			body := f.enrollCode(t, a)
			ok, got := httpCell("POST", "/api/v1/me/totp/confirm", func(*testing.T, *matrixFixture, matrixActor) string { return body })(t, f, a)
			f.totpOff(t, a)
			return ok, got
		},
		"DELETE /api/v1/me/totp": func(t *testing.T, f *matrixFixture, a matrixActor) (bool, string) {
			body := f.enrollCode(t, a)
			if a.role == "counselor" || a.role == "admin" {
				if code, resp := apiDo(t, "POST", f.ts.URL+"/api/v1/me/totp/confirm", a.token, body); code != http.StatusNoContent {
					t.Fatalf("turning the second factor on: %d %s", code, resp)
				}
				f.ts.clock.Add(30 * time.Second) // the next code
				body = f.enrollCodeFor(t, a)
			}
			ok, got := httpCell("DELETE", "/api/v1/me/totp", func(*testing.T, *matrixFixture, matrixActor) string { return body })(t, f, a)
			f.totpOff(t, a)
			return ok, got
		},
		// Signing out ends the session used: a second session of the same
		// account is signed out, not the actor's.
		"POST /api/v1/logout": func(t *testing.T, f *matrixFixture, a matrixActor) (bool, string) {
			if a.token != "" {
				a.token = f.ts.login(t, a.cred.LoginID, a.cred.Password).Token
			}
			return httpCell("POST", "/api/v1/logout", nil)(t, f, a)
		},
	}

	maps.Copy(cells, attachmentCells())
	matrix := readMatrix(t)
	for action := range cells {
		if _, ok := matrix[action]; !ok {
			t.Errorf("the test knows %q but docs/security.md's matrix does not", action)
		}
	}
	for action, want := range matrix {
		try, ok := cells[action]
		if !ok {
			t.Errorf("docs/security.md lists %q, which the test cannot try", action)
			continue
		}
		for i, a := range actors {
			t.Run(action+"/"+matrixRoles[i], func(t *testing.T) {
				ok, got := try(t, f, a)
				switch {
				case want[i] && !ok:
					t.Errorf("refused (%s), the matrix says yes", got)
				case !want[i] && ok:
					t.Errorf("allowed (%s), the matrix says no", got)
				case !want[i] && strings.HasPrefix(action, "/api") && a.role == "anonymous" && !strings.HasPrefix(got, "401"):
					t.Errorf("anonymous refused with %s, want 401", got)
				case !want[i] && a.role == "client" && strings.Contains(action, "(") && strings.HasPrefix(got, "404"):
					// Another client's conversation is not found, never forbidden.
				case !want[i] && a.role == "registrar" && strings.Contains(action, "(another group's)") && strings.HasPrefix(got, "404"):
					// Nor is a client outside a registrar's groups.
				case !want[i] && strings.Contains(action, "(with login IDs)") && strings.HasPrefix(got, "200"):
					// The list, without the login IDs.
				case !want[i] && !strings.HasPrefix(action, "live:") && a.role != "anonymous" && !strings.HasPrefix(got, "403"):
					t.Errorf("refused with %s, want 403", got)
				}
			})
		}
	}
}

// groupCell makes a group of a fresh name.
func groupCell() func(*testing.T, *matrixFixture, matrixActor) (bool, string) {
	n := 0
	return func(t *testing.T, f *matrixFixture, a matrixActor) (bool, string) {
		n++
		return httpCell("POST", "/api/v1/groups", func(*testing.T, *matrixFixture, matrixActor) string {
			return fmt.Sprintf(`{"name":"グループ%d"}`, n)
		})(t, f, a)
	}
}

// loginIDsCell lists the clients and is allowed only if the fixture
// client's login ID is in the answer: counselors get the list without
// any (who received which slip is not theirs to know).
func loginIDsCell(t *testing.T, f *matrixFixture, a matrixActor) (bool, string) {
	t.Helper()
	code, resp := apiDo(t, "GET", f.ts.URL+"/api/v1/clients", a.token, "")
	return code == http.StatusOK && strings.Contains(resp, `"login_id":"`+f.cl.LoginID+`"`), fmt.Sprintf("%d %s", code, resp)
}

// ownTemplateCell changes a personal template of the actor's own (staff
// make one first; for the others a template of the organisation's
// stands in, which they may not touch either).
func ownTemplateCell(method, body string) func(*testing.T, *matrixFixture, matrixActor) (bool, string) {
	return func(t *testing.T, f *matrixFixture, a matrixActor) (bool, string) {
		t.Helper()
		id := f.orgTemplate(t)
		if a.role == "counselor" || a.role == "admin" {
			code, resp := apiDo(t, "POST", f.ts.URL+"/api/v1/templates", a.token, `{"scope":"personal","title":"自分用","body":"本文"}`)
			var tp protocol.Template
			if code != http.StatusCreated || json.Unmarshal([]byte(resp), &tp) != nil {
				t.Fatalf("making a personal template: %d %s", code, resp)
			}
			id = tp.ID
		}
		code, resp := apiDo(t, method, fmt.Sprintf("%s/api/v1/templates/%d", f.ts.URL, id), a.token, body)
		return code < 300, fmt.Sprintf("%d %s", code, resp)
	}
}

// orgTemplateCell changes a fresh template of the organisation's.
func orgTemplateCell(method, body string) func(*testing.T, *matrixFixture, matrixActor) (bool, string) {
	return func(t *testing.T, f *matrixFixture, a matrixActor) (bool, string) {
		t.Helper()
		code, resp := apiDo(t, method, fmt.Sprintf("%s/api/v1/templates/%d", f.ts.URL, f.orgTemplate(t)), a.token, body)
		return code < 300, fmt.Sprintf("%d %s", code, resp)
	}
}

// orgTemplate makes a template of the organisation's, as its admin.
func (f *matrixFixture) orgTemplate(t *testing.T) int64 {
	t.Helper()
	tp, err := f.o.admin.CreateTemplate(context.Background(), protocol.TemplateRequest{Scope: protocol.ScopeOrg, Title: "全体", Body: "本文"})
	if err != nil {
		t.Fatal(err)
	}
	return tp.ID
}

// enrollCode starts a second factor for a staff actor and returns a
// confirming body with a current code (a made-up one for the others).
func (f *matrixFixture) enrollCode(t *testing.T, a matrixActor) string {
	t.Helper()
	if a.role != "counselor" && a.role != "admin" {
		return `{"code":"123456"}`
	}
	code, resp := apiDo(t, "POST", f.ts.URL+"/api/v1/me/totp", a.token, withPassword(t, f, a))
	if code != http.StatusOK {
		t.Fatalf("enroll: %d %s", code, resp)
	}
	return f.enrollCodeFor(t, a)
}

// enrollCodeFor is a body with the current code of the actor's enrolled or
// active second factor.
func (f *matrixFixture) enrollCodeFor(t *testing.T, a matrixActor) string {
	t.Helper()
	ctx := context.Background()
	me, err := f.ts.store.AccountByLogin(ctx, a.cred.LoginID)
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := f.ts.store.TOTP(ctx, me.ID)
	if err != nil {
		t.Fatal(err)
	}
	if secret == "" {
		if secret, err = f.ts.store.PendingTOTP(ctx, me.ID); err != nil {
			t.Fatal(err)
		}
	}
	c, err := credential.TOTPCode(secret, f.ts.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(protocol.TOTPRequest{Code: c, Password: a.cred.Password})
	return string(b)
}

// withPassword is a body with the actor's current password (what turning
// the second factor on or off asks for).
func withPassword(_ *testing.T, _ *matrixFixture, a matrixActor) string {
	b, _ := json.Marshal(protocol.TOTPRequest{Password: a.cred.Password})
	return string(b)
}

// totpOff turns a staff actor's second factor off, as an admin would.
func (f *matrixFixture) totpOff(t *testing.T, a matrixActor) {
	t.Helper()
	if a.role != "counselor" && a.role != "admin" {
		return
	}
	ctx := context.Background()
	me, err := f.ts.store.AccountByLogin(ctx, a.cred.LoginID)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ts.store.DisableTOTP(ctx, me.Principal(), me.ID); err != nil {
		t.Fatal(err)
	}
}
