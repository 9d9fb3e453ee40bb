package push

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	firebase "firebase.google.com/go/v4"
	"google.golang.org/api/option"
)

// fakeFCM answers like Google's FCM v1 endpoint. It must not answer 5xx:
// the SDK would retry with back-off.
type fakeFCM struct {
	mu           sync.Mutex
	bodies       []string
	unregistered map[string]bool
}

func (f *fakeFCM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, string(b))
	f.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/projects/test/messages:send" {
		http.Error(w, `{"error":{"status":"NOT_FOUND"}}`, http.StatusNotFound)
		return
	}
	var req struct {
		Message struct{ Token string } `json:"message"`
	}
	json.Unmarshal(b, &req)
	if f.unregistered[req.Message.Token] {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":{"code":404,"status":"NOT_FOUND","message":"Requested entity was not found.",
			"details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}`))
		return
	}
	w.Write([]byte(`{"name":"projects/test/messages/1"}`))
}

func newTestFCM(t *testing.T, fake *fakeFCM) *FCM {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	f, err := newFCM(context.Background(), &firebase.Config{ProjectID: "test"}, option.WithEndpoint(srv.URL), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFCMSendsNoText(t *testing.T) {
	fake := &fakeFCM{unregistered: map[string]bool{"gone-token": true}}
	f := newTestFCM(t, fake)
	if err := f.Send(context.Background(), "device-token-1", KindReply); err != nil {
		t.Fatal(err)
	}
	if err := f.Send(context.Background(), "device-token-2", KindNews); err != nil {
		t.Fatal(err)
	}
	if err := f.Send(context.Background(), "gone-token", KindReply); !errors.Is(err, ErrUnregistered) {
		t.Fatalf("unregistered token: %v", err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	var sent struct {
		Message map[string]any `json:"message"`
	}
	if err := json.Unmarshal([]byte(fake.bodies[0]), &sent); err != nil {
		t.Fatal(err)
	}
	m := sent.Message
	if m["token"] != "device-token-1" || m["data"].(map[string]any)["kind"] != "reply" {
		t.Fatalf("sent %s", fake.bodies[0])
	}
	// News (an announcement) says only that: the text stays on the server.
	if !strings.Contains(fake.bodies[1], `"kind":"news"`) || strings.Contains(fake.bodies[1], "body") {
		t.Fatalf("news push: %s", fake.bodies[1])
	}
	// Nothing that could be shown: no notification block, no body, no title.
	if _, ok := m["notification"]; ok || strings.Contains(fake.bodies[0], "body") || strings.Contains(fake.bodies[0], "title") {
		t.Fatalf("push carries displayable content: %s", fake.bodies[0])
	}
}

type fakeSender struct {
	mu   sync.Mutex
	sent []string
	gone map[string]bool
}

func (s *fakeSender) Send(_ context.Context, tok, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, tok)
	if s.gone[tok] {
		return ErrUnregistered
	}
	return nil
}

type fakeTokens struct {
	mu      sync.Mutex
	byAcct  map[int64][]string
	dropped []string
}

func (f *fakeTokens) PushTokens(_ context.Context, id int64) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.byAcct[id]...), nil
}

func (f *fakeTokens) DropPushToken(_ context.Context, tok string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropped = append(f.dropped, tok)
	return nil
}

func TestNotifierSendsToEveryDeviceAndPrunes(t *testing.T) {
	s := &fakeSender{gone: map[string]bool{"old-phone": true}}
	tokens := &fakeTokens{byAcct: map[int64][]string{7: {"phone", "old-phone"}}}
	n := NewNotifier(s, tokens, slog.New(slog.NewTextHandler(io.Discard, nil)), 1)
	if !n.Notify(7) {
		t.Fatal("queue refused")
	}
	if n.Notify(7) {
		t.Fatal("a full queue accepted: Notify must never block or grow")
	}
	ctx, cancel := context.WithCancel(context.Background())
	j := <-n.queue
	n.send(ctx, j.clientID, j.kind) // what Run does for one entry
	cancel()
	n.Run(ctx) // returns at once on a cancelled context
	if strings.Join(s.sent, ",") != "phone,old-phone" || strings.Join(tokens.dropped, ",") != "old-phone" {
		t.Fatalf("sent %v, dropped %v", s.sent, tokens.dropped)
	}
}

func TestLoadWebConfig(t *testing.T) {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	vapid := base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes())
	valid := `{"apiKey":"AIzaExample","authDomain":"x.firebaseapp.com","projectId":"x","messagingSenderId":"123","appId":"1:123:web:abc","vapidKey":"` + vapid + `"}`
	tests := []struct {
		name, file, wantErr string
	}{
		{"console snippet with the key", valid, ""},
		{"padded key", strings.Replace(valid, vapid, vapid+"=", 1), ""},
		{"not JSON", "const firebaseConfig = {}", "parse web push config"},
		{"no app ID", strings.Replace(valid, `"appId":"1:123:web:abc"`, `"appId":""`, 1), "appId"},
		{"space in API key", strings.Replace(valid, "AIzaExample", "AIza Example", 1), "apiKey"},
		{"private key instead of public", strings.Replace(valid, vapid, base64.RawURLEncoding.EncodeToString(priv.Bytes()), 1), "vapidKey"},
		{"no key", strings.Replace(valid, vapid, "", 1), "vapidKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "web.json")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := LoadWebConfig(path)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.ProjectID != "x" || c.MessagingSenderID != "123" {
					t.Fatalf("loaded %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}
