package mobileweb

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

func TestServesTheApp(t *testing.T) {
	srv := httptest.NewServer(Handler(nil))
	defer srv.Close()
	tests := []struct {
		path, ctype, contains string
	}{
		{"/", "text/html", `<script type="module" src="app.js">`},
		{"/app.js", "javascript", "hello"},
		{"/sw.js", "javascript", "caches"},
		{"/manifest.webmanifest", "application/manifest+json", `"display": "standalone"`},
		{"/icon-192.png", "image/png", ""},
		{"/offline.html", "text/html", "オフライン"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			buf := make([]byte, 1<<16)
			for {
				n, err := resp.Body.Read(buf)
				b.Write(buf[:n])
				if err != nil {
					break
				}
			}
			if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), tt.ctype) || !strings.Contains(b.String(), tt.contains) {
				t.Fatalf("%d %q, body has %q: %v", resp.StatusCode, resp.Header.Get("Content-Type"), tt.contains, strings.Contains(b.String(), tt.contains))
			}
		})
	}
}

// The CSP forbids inline script and style: the app must have none.
func TestNoInlineScriptOrStyle(t *testing.T) {
	for _, name := range []string{"index.html", "offline.html"} {
		b, err := files.ReadFile("static/" + name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if strings.Contains(s, "<style") || strings.Contains(s, " style=") || strings.Contains(s, " on") && strings.Contains(s, "onclick=") {
			t.Errorf("%s has inline style or handlers", name)
		}
		for _, tag := range strings.Split(s, "<script")[1:] {
			if !strings.Contains(strings.SplitN(tag, ">", 2)[0], "src=") {
				t.Errorf("%s has an inline script", name)
			}
		}
	}
}

// The service worker names the version of the files it caches, so that a
// changed file reaches phones through the browser's own update check.
func TestWorkerVersion(t *testing.T) {
	srv := httptest.NewServer(Handler(nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/sw.js")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v := shellHash(); len(v) != 16 || !strings.Contains(string(b), `"`+v+`"`) || strings.Contains(string(b), "@VERSION@") {
		t.Fatalf("sw.js does not carry the version %q", v)
	}
	if resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("sw.js may be cached: %v", resp.Header)
	}
}

// Files carry an ETag, so a revalidation costs no body.
func TestRevalidation(t *testing.T) {
	srv := httptest.NewServer(Handler(nil))
	defer srv.Close()
	for _, path := range []string{"/", "/app.js", "/style.css", "/icon-192.png"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tag := resp.Header.Get("ETag")
		if tag == "" {
			t.Fatalf("%s has no ETag", path)
		}
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("If-None-Match", tag)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			t.Fatalf("%s revalidated: %d", path, resp.StatusCode)
		}
	}
}

func TestCompressed(t *testing.T) {
	srv := httptest.NewServer(Handler(nil))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/app.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	// A bare transport: it does not add or undo compression by itself.
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("app.js not compressed: %v", resp.Header)
	}
}

func TestOrganisationApp(t *testing.T) {
	looks := map[string]protocol.AppLook{
		"0123456789abcdef": {Name: "メモ帳", Icon: "notes"},
		"00000000000000aa": {},
		"00000000000000bb": {Name: `<b>"A&B"</b>`, Icon: "weather"},
		"00000000000000cc": {ContactText: `用紙をなくしたら<保健室>へ`},
	}
	srv := httptest.NewServer(Handler(func(_ context.Context, code string) (protocol.AppLook, error) {
		if l, ok := looks[code]; ok {
			return l, nil
		}
		return protocol.AppLook{}, protocol.Errorf(protocol.CodeNotFound, "no such app")
	}))
	defer srv.Close()
	static := func(name string) string {
		t.Helper()
		b, err := fs.ReadFile(FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name, path string
		status     int
		check      func(t *testing.T, body string)
	}{
		{"page with the chosen name", "/a/0123456789abcdef/", 200, func(t *testing.T, body string) {
			if !strings.Contains(body, "<title>メモ帳</title>") || !strings.Contains(body, `<meta name="application-name" content="メモ帳">`) {
				t.Errorf("page does not carry the name:\n%s", body[:400])
			}
		}},
		{"manifest with the chosen name and own scope", "/a/0123456789abcdef/manifest.webmanifest", 200, func(t *testing.T, body string) {
			var m struct {
				Name      string
				ShortName string `json:"short_name"`
				StartURL  string `json:"start_url"`
				Scope     string
				Icons     []struct{ Src string }
			}
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatal(err)
			}
			if m.Name != "メモ帳" || m.ShortName != "メモ帳" || m.StartURL != "./" || m.Scope != "./" || len(m.Icons) != 2 {
				t.Errorf("manifest %s", body)
			}
		}},
		{"chosen icon", "/a/0123456789abcdef/icon-192.png", 200, func(t *testing.T, body string) {
			if body != static("icons/notes-192.png") {
				t.Error("not the notes icon")
			}
		}},
		{"the app's own files", "/a/0123456789abcdef/app.js", 200, func(t *testing.T, body string) {
			if body != static("app.js") {
				t.Error("app.js differs")
			}
		}},
		{"no choice: the default look", "/a/00000000000000aa/manifest.webmanifest", 200, func(t *testing.T, body string) {
			if !strings.Contains(body, `"name": "`+DefaultName+`"`) {
				t.Errorf("manifest %s", body)
			}
		}},
		{"no choice: the default icon", "/a/00000000000000aa/icon-512.png", 200, func(t *testing.T, body string) {
			if body != static("icon-512.png") {
				t.Error("not the default icon")
			}
		}},
		{"no choice: the page as at /", "/a/00000000000000aa/", 200, func(t *testing.T, body string) {
			if body != static("index.html") {
				t.Error("page differs")
			}
		}},
		{"a name is text, never markup", "/a/00000000000000bb/", 200, func(t *testing.T, body string) {
			if strings.Contains(body, "<b>") || !strings.Contains(body, "&lt;b&gt;&#34;A&amp;B&#34;&lt;/b&gt;") {
				t.Errorf("name not escaped:\n%s", body[:400])
			}
		}},
		{"the contact text for the sign-in screen, as text", "/a/00000000000000cc/", 200, func(t *testing.T, body string) {
			if !strings.Contains(body, `<meta name="taiwa-contact" content="用紙をなくしたら&lt;保健室&gt;へ">`) || !strings.Contains(body, "<title>"+DefaultName+"</title>") {
				t.Errorf("no contact text:\n%s", body[:500])
			}
		}},
		{"the worker carries a version of the organisation's look", "/a/00000000000000cc/sw.js", 200, func(t *testing.T, body string) {
			if strings.Contains(body, "@VERSION@") || strings.Contains(body, shellHash()) {
				t.Errorf("worker version is not the look's: %s", body[:200])
			}
		}},
		{"unknown code", "/a/ffffffffffffffff/", 404, nil},
		{"malformed code", "/a/../etc/passwd", 404, nil},
		{"short code", "/a/abc/", 404, nil},
		{"no trailing slash", "/a/0123456789abcdef", 301, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := noRedirect.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.check != nil {
				tt.check(t, string(b))
			}
		})
	}
}
