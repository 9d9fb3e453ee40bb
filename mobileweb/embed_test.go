package mobileweb

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestServesTheApp(t *testing.T) {
	srv := httptest.NewServer(Handler())
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

func TestCompressed(t *testing.T) {
	srv := httptest.NewServer(Handler())
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
