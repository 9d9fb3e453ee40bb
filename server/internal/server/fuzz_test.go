package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// FuzzAPIBodies sends arbitrary bodies to every route that decodes one,
// as a signed-in user allowed to call it. Whatever arrives, the answer is
// a client error or success with a JSON body: never a 5xx, never a panic,
// never an internal error code.
func FuzzAPIBodies(f *testing.F) {
	ts := newTestServer(f, nil)
	o := ts.org(f, "org")
	cl, clCred := ts.newClient(f, o, "c")
	h := ts.Server.Handler()
	conv := fmt.Sprint(convOf(f, cl))
	client := fmt.Sprint(clCred.Account.ID)
	routes := []struct {
		method, path, token string
	}{
		{"POST", "/api/v1/login", ""},
		{"PATCH", "/api/v1/org/settings", o.admin.Token},
		{"POST", "/api/v1/clients", o.admin.Token},
		{"POST", "/api/v1/clients/bulk", o.admin.Token},
		{"PATCH", "/api/v1/clients/" + client, o.admin.Token},
		{"POST", "/api/v1/staff", o.admin.Token},
		{"POST", "/api/v1/conversations/" + conv + "/assign", o.admin.Token},
		{"PUT", "/api/v1/push", cl.Token},
		{"DELETE", "/api/v1/push", cl.Token},
	}
	seeds := []string{
		`{"login_id":"x","password":"y"}`,
		`{"display_name":"新しい名前","retention_seconds":86400,"hours":{"time_zone":"Asia/Tokyo","spans":[{"day":1,"start":"09:00","end":"17:00"}]},"pause":{"on":true},"closed_behavior":"block","app_name":"メモ","app_icon":"notes","counselor_hours_only":true,"counselor_margin_minutes":30,"audit_retention_days":90}`,
		`{"nickname":"さくら","note":"メモ","access_until":"2027-03-31T00:00:00Z"}`,
		`{"prefix":"セミナー","count":3}`,
		`{"note":"x","clear_access_until":true}`,
		`{"nickname":"田中","role":"counselor"}`,
		`{"assignee_id":null}`,
		`{"token":"abc"}`,
		`{"hours":{"time_zone":"Mars/Olympus"}}`, `{"retention_seconds":-1}`, `{"count":100000}`,
		`null`, `[]`, `"x"`, `{`, "\xff\xfe", `{"a":1}{"b":2}`,
	}
	for i := range routes {
		for _, s := range seeds {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := routes[int(route)%len(routes)]
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(string(body)))
		req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1234", route, len(body)%256, len(body)/256%256)
		if r.token != "" {
			req.Header.Set("Authorization", "Bearer "+r.token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", r.method, r.path, body, rec.Code, rec.Body)
		}
		if rec.Code == http.StatusNoContent {
			return
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s %q: answer is not JSON: %s", r.method, r.path, body, rec.Body)
		}
		if rec.Code < 400 {
			return
		}
		var resp struct {
			Error *protocol.Error `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.Error == nil || resp.Error.Code == "" || resp.Error.Code == protocol.CodeInternal {
			t.Fatalf("%s %s %q: %d without a client error code: %s", r.method, r.path, body, rec.Code, rec.Body)
		}
	})
}
