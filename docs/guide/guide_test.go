package guide

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every picture a guide shows is one the screenshot run produces
// (Shots), and is committed in img/ (embedded, served); every picture in
// img/ is shown by some guide (no stale picture ships).
func TestGuidePicturesAreProduced(t *testing.T) {
	onDisk := map[string]bool{}
	entries, err := fs.ReadDir(files, "img")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		onDisk[e.Name()] = true
	}
	shown := map[string]bool{}
	for _, p := range Pages {
		src, err := Source(p.Name)
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		refs := Images(src)
		if len(refs) == 0 {
			t.Errorf("%s.md shows no picture", p.Name)
		}
		for _, ref := range refs {
			name := path.Base(ref)
			if ref != "img/"+name {
				t.Errorf("%s.md shows %q: pictures are img/<name> (written by make screenshot)", p.Name, ref)
			}
			if !slices.Contains(Shots, name) {
				t.Errorf("%s.md shows %q, which the screenshot run does not produce (guide.Shots)", p.Name, ref)
			}
			if !onDisk[name] {
				t.Errorf("%s.md shows %q, which is not in docs/guide/img (run make screenshot)", p.Name, ref)
			}
			shown[name] = true
		}
	}
	for name := range onDisk {
		if !shown[name] {
			t.Errorf("docs/guide/img/%s is shown by no guide", name)
		}
	}
}

// The lists themselves: no name twice, phone shots among the shots.
func TestShotLists(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Shots {
		if seen[s] || !strings.HasSuffix(s, ".png") || strings.Contains(s, "/") {
			t.Errorf("shot %q is repeated or not a plain .png name", s)
		}
		seen[s] = true
	}
	for _, s := range PhoneShots {
		if !seen[s] {
			t.Errorf("phone shot %q is not in Shots", s)
		}
	}
}

// Images finds what Markdown shows, and only that.
func TestImages(t *testing.T) {
	tests := []struct {
		md   string
		want []string
	}{
		{"![サインイン](img/login.png)", []string{"img/login.png"}},
		{"text [a link](admin.ja.md) ![](img/a.png \"t\") and ![x](img/b.png)", []string{"img/a.png", "img/b.png"}},
		{"no pictures", nil},
	}
	for _, tt := range tests {
		if got := Images([]byte(tt.md)); !slices.Equal(got, tt.want) {
			t.Errorf("Images(%q) = %v, want %v", tt.md, got, tt.want)
		}
	}
}

// The server's /guide/: every page renders, its links between guides
// and its pictures resolve to served paths, raw HTML in Markdown is not
// passed through, and nothing links outside.
func TestGuidesServe(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	get := func(p string) (int, string, string) {
		t.Helper()
		r, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, r.Header.Get("Content-Type"), string(b)
	}
	paths := []string{"/guide/", "/guide/client"}
	for _, p := range Pages {
		paths = append(paths, "/guide/"+p.Name)
	}
	ref := regexp.MustCompile(`(?:href|src)="([^"]+)"`)
	for _, p := range paths {
		code, ctype, body := get(p)
		if code != 200 || !strings.HasPrefix(ctype, "text/html") {
			t.Fatalf("%s: %d %s", p, code, ctype)
		}
		for _, m := range ref.FindAllStringSubmatch(body, -1) {
			link := m[1]
			if strings.HasPrefix(link, "#") {
				continue
			}
			if strings.Contains(link, "://") || strings.HasPrefix(link, "//") {
				t.Errorf("%s links outside: %s", p, link)
				continue
			}
			if !strings.HasPrefix(link, "/") {
				link = path.Join(path.Dir(p+"x"), link)
			}
			link, _, _ = strings.Cut(link, "#")
			if c, _, _ := get(link); c != 200 {
				t.Errorf("%s links to %s: %d", p, m[1], c)
			}
		}
	}
	if code, _, _ := get("/guide/nothing"); code != 404 {
		t.Errorf("unknown guide: %d", code)
	}
	if code, _, _ := get("/guide/counselor.ja.md"); code != 404 {
		t.Errorf("the Markdown itself is served: %d", code)
	}
	_, _, client := get("/guide/client")
	if strings.Contains(client, `href="/guide/"`) {
		t.Error("the client's page leads to the staff's guides")
	}
	for _, want := range []string{"すぐに閉じる", "ホーム画面に追加", "最初の画面"} {
		if !strings.Contains(client, want) {
			t.Errorf("the client guide lacks %q", want)
		}
	}
}

// Links between guides, written as file.md so they work in the
// repository, point at the served pages.
func TestLinksBetweenGuides(t *testing.T) {
	var b strings.Builder
	if err := md.Convert([]byte("[a](admin.ja.md#x) [b](https://example.org/a.md) <script>x</script>"), &b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, `href="admin.ja#x"`) || !strings.Contains(out, `href="https://example.org/a.md"`) {
		t.Fatalf("links: %s", out)
	}
	if strings.Contains(out, "<script>") {
		t.Fatalf("raw HTML passed through: %s", out)
	}
}
