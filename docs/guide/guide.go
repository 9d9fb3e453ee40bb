// Package guide holds the guides for the people who use Taiwa (the
// counselor's and the admin's, in Japanese and English, as Markdown beside
// this file) with their pictures (img/, written by make screenshot), and
// serves them from the server at /guide/ rendered to HTML, so that a
// counselor's help menu and a client's footer never lead outside.
//
// Shots is the list of pictures the screenshot run produces; a test fails
// when a guide shows a picture that is not on it, and the screenshot run
// fails when it does not produce every picture on it.
package guide

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/taiwa-chat/taiwa/pkg/clientguide"
)

//go:embed *.md img style.css
var files embed.FS

// Shots are the pictures desktop/cmd/taiwa-screenshot writes, in the
// order it takes them: the desktop app under Xvfb, then the client app's
// phone pages and the printed slips in headless Chromium. The guides may
// show any of them as img/<name>.
var Shots = []string{
	// The counselor's desk (desktop app, 1280×800).
	"login.png", "main.png", "long.png", "attachments.png", "focus.png", "sent.png",
	"pool-arrived.png", "pool.png", "claimed.png", "all.png", "risk.png", "nominated.png",
	"offline.png", "reconnected.png",
	"templates.png", "templates-search.png", "template-inserted.png", "date.png",
	"progress.png", "note.png", "handover.png",
	// Admin settings.
	"admin.png", "credentials.png", "credentials-close.png",
	"bulk.png", "bulk-credentials.png", "devices.png",
	"settings.png", "settings-retention.png", "settings-team.png", "settings-texts.png",
	"staff.png", "audit.png", "supervise.png", "admin-templates.png",
	"admin-groups.png", "admin-news.png", "admin-keys.png", "admin-usage.png",
	// A counselor who is not an admin.
	"counselor.png", "counselor-pool.png",
	// A registrar (registration apart from counseling).
	"registrar.png",
	// The client's phone (Chromium, 390×844) and the printed sheet.
	"phone-login.png", "phone-chat.png", "phone-menu.png", "phone-offline.png", "phone-guide.png",
	"slips.png",
}

// PhoneShots are the Shots taken in Chromium by mobileweb/e2e/guide-shots.mjs.
var PhoneShots = []string{"phone-login.png", "phone-chat.png", "phone-menu.png", "phone-offline.png", "phone-guide.png", "slips.png"}

// Page is one guide.
type Page struct {
	Name  string // URL and file name without ".md": counselor.ja
	Lang  string // ja or en
	Title string // the first heading
}

// Pages are the Markdown guides, in the index's order.
var Pages = []Page{
	{Name: "counselor.ja", Lang: "ja"},
	{Name: "admin.ja", Lang: "ja"},
	{Name: "counselor.en", Lang: "en"},
	{Name: "admin.en", Lang: "en"},
}

// imageRef finds the pictures a guide shows: ![alt](img/name.png).
var imageRef = regexp.MustCompile(`!\[[^\]]*\]\(([^)\s]+)`)

// Images returns the picture paths a guide's Markdown shows, as written
// (img/name.png), in order.
func Images(markdown []byte) []string {
	var out []string
	for _, m := range imageRef.FindAllSubmatch(markdown, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

// Source returns a guide's Markdown.
func Source(name string) ([]byte, error) {
	return files.ReadFile(name + ".md")
}

// Referenced lists every picture some guide shows (file names, no
// duplicates): what the screenshot run copies into img/.
func Referenced() ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, p := range Pages {
		md, err := Source(p.Name)
		if err != nil {
			return nil, err
		}
		for _, ref := range Images(md) {
			if name := path.Base(ref); !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out, nil
}

// mdLinks makes links between guides (counselor.ja.md, written so that
// they also work when the Markdown is read in the repository) point at
// the served pages (counselor.ja).
type mdLinks struct{}

func (mdLinks) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if l, ok := n.(*ast.Link); ok && entering {
			dest := string(l.Destination)
			if file, frag, _ := strings.Cut(dest, "#"); strings.HasSuffix(file, ".md") && !strings.Contains(file, "/") {
				dest = strings.TrimSuffix(file, ".md")
				if frag != "" {
					dest += "#" + frag
				}
				l.Destination = []byte(dest)
			}
		}
		return ast.WalkContinue, nil
	})
}

var md = goldmark.New(
	// CJK: a line break inside a Japanese paragraph is no space.
	goldmark.WithExtensions(extension.Table, extension.CJK),
	goldmark.WithParserOptions(parser.WithAutoHeadingID(),
		parser.WithASTTransformers(util.Prioritized(mdLinks{}, 100))),
)

var layout = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<link rel="stylesheet" href="/guide/style.css">
</head>
<body>
{{if .Nav}}<nav><a href="/guide/">{{if eq .Lang "ja"}}ガイドの一覧{{else}}All guides{{end}}</a></nav>{{end}}
<main class="{{.Class}}">
{{.Body}}
</main>
</body>
</html>
`))

type view struct {
	Lang, Title, Class string
	Body               template.HTML
	// Nav links to the index of guides: staff's pages have it; the
	// client's page, opened from the client app, does not lead a client
	// to the staff's guides.
	Nav bool
}

// render turns a guide into a whole HTML page.
func render(p Page) ([]byte, string, error) {
	src, err := Source(p.Name)
	if err != nil {
		return nil, "", err
	}
	var body bytes.Buffer
	if err := md.Convert(src, &body); err != nil {
		return nil, "", fmt.Errorf("render %s: %w", p.Name, err)
	}
	title := p.Name
	if m := regexp.MustCompile(`(?m)^# (.+)$`).FindSubmatch(src); m != nil {
		title = string(m[1])
	}
	var out bytes.Buffer
	// goldmark leaves raw HTML out (its default), so the body is safe.
	err = layout.Execute(&out, view{Lang: p.Lang, Title: title, Class: "doc", Body: template.HTML(body.String()), Nav: true})
	return out.Bytes(), title, err
}

// Handler serves /guide/: the index, each guide, the client guide (the
// one printed with every slip; here without the organisation's settings,
// which the app shows after signing in) and the pictures. Pages are
// rendered once, here. The guides are embedded at build time and
// TestGuidesServe renders every one, so a failure here is a build that
// never passed its tests: it panics.
func Handler() http.Handler {
	h, err := handler()
	if err != nil {
		panic(fmt.Sprintf("guide: %v", err))
	}
	return h
}

func handler() (http.Handler, error) {
	pages := map[string][]byte{}
	var index bytes.Buffer
	index.WriteString("<ul class=\"index\">\n")
	for _, p := range Pages {
		html, title, err := render(p)
		if err != nil {
			return nil, err
		}
		pages[p.Name] = html
		fmt.Fprintf(&index, "<li lang=\"%s\"><a href=\"/guide/%s\">%s</a></li>\n", p.Lang, p.Name, template.HTMLEscapeString(title))
	}
	var cg bytes.Buffer
	if err := clientguide.Write(&cg, clientguide.Data{}); err != nil {
		return nil, err
	}
	index.WriteString("<li lang=\"ja\"><a href=\"/guide/client\">相談者向けの使い方（ログイン用紙の裏面）</a></li>\n</ul>\n")
	for name, v := range map[string]view{
		"":       {Lang: "ja", Title: "対話 Taiwa ガイド / Guides", Class: "doc", Body: template.HTML("<h1>対話 Taiwa ガイド / Guides</h1>\n" + index.String())},
		"client": {Lang: "ja", Title: "相談チャットの使い方", Class: "client", Body: template.HTML(cg.String())},
	} {
		var out bytes.Buffer
		if err := layout.Execute(&out, v); err != nil {
			return nil, err
		}
		pages[name] = out.Bytes()
	}
	img, err := fs.Sub(files, "img")
	if err != nil {
		return nil, err
	}
	pictures := http.StripPrefix("/guide/img/", http.FileServerFS(img))
	css := append(mustRead("style.css"), clientguide.CSS...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.Path, "/guide/")
		switch {
		case r.URL.Path == "/guide":
			http.Redirect(w, r, "/guide/", http.StatusMovedPermanently)
		case strings.HasPrefix(rest, "img/"):
			w.Header().Set("Cache-Control", "no-cache")
			pictures.ServeHTTP(w, r)
		case rest == "style.css":
			w.Header().Set("Content-Type", "text/css; charset=utf-8")
			w.Write(css)
		default:
			page, ok := pages[rest]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			w.Write(page)
		}
	}), nil
}

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}
