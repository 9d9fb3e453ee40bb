package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// The guides are served with the client app (issue 18): a page, the client
// guide and a picture, under the same security headers as the rest (the
// pages need no inline style or script); without the web app, not at all.
func TestGuidesServed(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Web = true })
	tests := []struct {
		path, ctype, contains string
	}{
		{"/guide/counselor.ja", "text/html", "相談員ガイド"},
		{"/guide/admin.en", "text/html", "Admin's guide"},
		{"/guide/client", "text/html", "すぐに閉じる"},
		{"/guide/style.css", "text/css", ".guide"},
		{"/guide/img/login.png", "image/png", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r, err := http.Get(ts.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Body.Close()
			body, _ := io.ReadAll(r.Body)
			if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), tt.ctype) {
				t.Fatalf("%d %s", r.StatusCode, r.Header.Get("Content-Type"))
			}
			if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self'") || !strings.Contains(csp, "script-src 'self'") {
				t.Fatalf("CSP %q", csp)
			}
			if !strings.Contains(string(body), tt.contains) {
				t.Fatalf("%s lacks %q", tt.path, tt.contains)
			}
			if strings.Contains(string(body), "<script") || strings.Contains(string(body), "style=") {
				t.Fatalf("%s has inline script or style, which the CSP blocks", tt.path)
			}
		})
	}
	bare := newTestServer(t, nil)
	r, err := http.Get(bare.URL + "/guide/counselor.ja")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusNotFound {
		t.Fatalf("without the web app: %d", r.StatusCode)
	}
}
