package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// provisionDo calls the provisioning API with an API key and, if given,
// an Idempotency-Key.
func provisionDo(t *testing.T, method, url, key, idem, body string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if idem != "" {
		req.Header.Set(protocol.HeaderIdempotencyKey, idem)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, "", nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestProvisioning: a booking system's key creates a client (login ID,
// one-time password, the app's address); twelve concurrent requests with
// one Idempotency-Key make one client and all get the same answer; a
// retry too; the same key with another body is a conflict; a key works
// in its groups only and not with a session token; an end of access in
// the past signs the client out at once; deletion erases; revoking ends
// the key; everything is in the audit log under the key's name.
func TestProvisioning(t *testing.T) {
	ts := newTestServer(t, nil)
	o := ts.org(t, "provider")
	ctx := context.Background()
	name := "みどり商事"
	g, err := o.admin.CreateGroup(ctx, protocol.GroupRequest{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	code, body := apiDo(t, "POST", ts.URL+"/api/v1/apikeys", o.admin.Token, fmt.Sprintf(`{"name":"予約システム","group_ids":[%d]}`, g.ID))
	var nk protocol.NewAPIKey
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &nk) != nil || !strings.HasPrefix(nk.Key, protocol.APIKeyPrefix) {
		t.Fatalf("make a key: %d %s", code, body)
	}
	if code, body := apiDo(t, "GET", ts.URL+"/api/v1/apikeys", o.admin.Token, ""); code != http.StatusOK || strings.Contains(body, nk.Key) {
		t.Fatalf("the key list shows the key, or fails: %d %s", code, body)
	}
	url := ts.URL + "/api/v1/provision/clients"
	create := fmt.Sprintf(`{"nickname":"予約客","group_id":%d}`, g.ID)

	const n = 12
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		answers []protocol.ProvisionedClient
		replays int
	)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			code, body, h := provisionDo(t, "POST", url, nk.Key, "order-1001", create)
			var pc protocol.ProvisionedClient
			if code != http.StatusCreated || json.Unmarshal([]byte(body), &pc) != nil {
				t.Errorf("create: %d %s", code, body)
				return
			}
			mu.Lock()
			answers = append(answers, pc)
			if h.Get("Idempotent-Replayed") == "true" {
				replays++
			}
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if len(answers) != n || replays != n-1 {
		t.Fatalf("%d answers, %d replays", len(answers), replays)
	}
	first := answers[0]
	for _, a := range answers {
		if a != first {
			t.Fatalf("answers differ: %+v and %+v", a, first)
		}
	}
	if first.LoginID == "" || first.Password == "" || !strings.Contains(first.AppURL, "/a/") || first.GroupID != g.ID {
		t.Fatalf("the answer: %+v", first)
	}
	clients, err := o.admin.Clients(ctx)
	if err != nil || len(clients) != 1 || clients[0].GroupID != g.ID {
		t.Fatalf("%d clients after %d requests: %v", len(clients), n, err)
	}
	cl := ts.login(t, first.LoginID, first.Password) // the one-time password works

	// A retry later: the same answer. The same key for another request: no.
	if code, body, _ := provisionDo(t, "POST", url, nk.Key, "order-1001", create); code != http.StatusCreated || !strings.Contains(body, first.Password) {
		t.Errorf("retry: %d %s", code, body)
	}
	if code, body, _ := provisionDo(t, "POST", url, nk.Key, "order-1001", fmt.Sprintf(`{"nickname":"別人","group_id":%d}`, g.ID)); code != http.StatusConflict {
		t.Errorf("the key reused for another request: %d %s", code, body)
	}
	if code, _, _ := provisionDo(t, "POST", url, nk.Key, "", create); code != http.StatusBadRequest {
		t.Errorf("no Idempotency-Key: %d", code)
	}
	groups, _ := o.admin.Groups(ctx)
	if code, body, _ := provisionDo(t, "POST", url, nk.Key, "order-1002", fmt.Sprintf(`{"nickname":"x","group_id":%d}`, groups[0].ID)); code != http.StatusForbidden {
		t.Errorf("a key created in another group: %d %s", code, body)
	}
	if code, _, _ := provisionDo(t, "POST", url, o.admin.Token, "order-1003", create); code != http.StatusUnauthorized {
		t.Errorf("a session token on the provisioning API: %d", code)
	}
	if code, _ := apiDo(t, "GET", ts.URL+"/api/v1/clients", nk.Key, ""); code != http.StatusUnauthorized {
		t.Errorf("an API key on a session route: %d", code)
	}

	// The end of access set in the past: signed out at once.
	clLive := goLive(t, cl, 0)
	past := ts.clock.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	if code, body, _ := provisionDo(t, "PATCH", fmt.Sprintf("%s/%d", url, first.ID), nk.Key, "", `{"access_until":"`+past+`"}`); code != http.StatusOK {
		t.Fatalf("set access_until: %d %s", code, body)
	}
	clLive.ended(t)
	if _, _, err := client.Login(ctx, ts.URL, first.LoginID, first.Password, ""); err == nil {
		t.Error("a client whose access ended signed in")
	}

	// Deleted: gone, and a repeated delete finds nothing.
	if code, body, _ := provisionDo(t, "DELETE", fmt.Sprintf("%s/%d", url, first.ID), nk.Key, "", ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, _, _ := provisionDo(t, "DELETE", fmt.Sprintf("%s/%d", url, first.ID), nk.Key, "", ""); code != http.StatusNotFound {
		t.Errorf("delete again: %d", code)
	}
	if clients, _ := o.admin.Clients(ctx); len(clients) != 0 {
		t.Errorf("%d clients after deletion", len(clients))
	}

	// Revoked: the key stops at once.
	keys, _ := o.admin.APIKeys(ctx)
	if err := o.admin.RevokeAPIKey(ctx, keys[0].ID); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := provisionDo(t, "POST", url, nk.Key, "order-2001", create); code != http.StatusUnauthorized {
		t.Errorf("a revoked key: %d", code)
	}
	page, err := o.admin.AuditLog(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[protocol.AuditAction]int{}
	for _, e := range page.Entries {
		if e.ActorRole == protocol.ActorAPIKey {
			seen[e.Action]++
		}
		if strings.Contains(e.Detail, nk.Key) || strings.Contains(e.Detail, first.Password) {
			t.Errorf("the audit log holds a secret: %+v", e)
		}
	}
	if seen[protocol.AuditAccountCreated] != 1 || seen[protocol.AuditClientUpdated] != 1 || seen[protocol.AuditAccountDeleted] != 1 {
		t.Errorf("the key's entries: %v", seen)
	}
}
