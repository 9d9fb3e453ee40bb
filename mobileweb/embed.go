// Package mobileweb holds the client PWA's files, embedded into the server
// binary so that one file runs the whole system, and serves them: at / as
// the product's app, and at /a/<code>/ as an organisation's own app with
// the name and icon it chose for its clients' home screens.
package mobileweb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzhttp"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

//go:embed static
var files embed.FS

// FS returns the app's files, rooted at the app's top folder.
func FS() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the folder is embedded at build time; this cannot fail
	}
	return sub
}

// Looks finds the look an organisation chose by its app code; an unknown
// code is an error with protocol.CodeNotFound.
type Looks func(ctx context.Context, appCode string) (protocol.AppLook, error)

// DefaultName is the app's name where an organisation chose none.
const DefaultName = "対話"

// Handler serves the app, compressed for browsers that accept it (a
// first load on a slow phone connection is what counts). The manifest
// gets its registered type (Go's table lacks it), and the service worker
// and page are revalidated on every load so that a fix reaches phones at
// once. looks may be nil: then only / is served.
func Handler(looks Looks) http.Handler {
	static := http.FileServerFS(FS())
	return gzhttp.GzipHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch path.Ext(r.URL.Path) {
		case ".webmanifest":
			w.Header().Set("Content-Type", "application/manifest+json")
		case ".js", ".html", "":
			w.Header().Set("Cache-Control", "no-cache")
		}
		rest, ok := strings.CutPrefix(r.URL.Path, "/a/")
		if !ok {
			if r.URL.Path == "/sw.js" {
				serveWorker(w, protocol.AppLook{})
				return
			}
			setETag(w, r.URL.Path)
			static.ServeHTTP(w, r)
			return
		}
		code, file, _ := strings.Cut(rest, "/")
		if looks == nil || !validCode(code) {
			http.NotFound(w, r)
			return
		}
		if file == "" && !strings.HasSuffix(rest, "/") {
			http.Redirect(w, r, "/a/"+code+"/", http.StatusMovedPermanently)
			return
		}
		look, err := looks(r.Context(), code)
		var perr *protocol.Error
		if errors.As(err, &perr) && perr.Code == protocol.CodeNotFound {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		serveOrgFile(w, r, static, look, file)
	}))
}

// validCode accepts what the store generates: 16 lowercase hex digits.
func validCode(c string) bool {
	if len(c) != 16 {
		return false
	}
	for _, r := range c {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}

// serveOrgFile serves one file of an organisation's app: the page, the
// manifest and the icons as it chose, everything else as at /.
func serveOrgFile(w http.ResponseWriter, r *http.Request, static http.Handler, look protocol.AppLook, file string) {
	switch file {
	case "", "index.html":
		page, err := fs.ReadFile(FS(), "index.html")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(namedPage(page, look))
	case "sw.js":
		serveWorker(w, look)
	case "manifest.webmanifest":
		w.Write(manifest(look))
	case "icon-192.png", "icon-512.png":
		name := file
		if look.Icon != "" {
			name = "icons/" + look.Icon + strings.TrimPrefix(file, "icon")
		}
		http.ServeFileFS(w, r, FS(), name)
	default:
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + file
		setETag(w, r2.URL.Path)
		static.ServeHTTP(w, r2)
	}
}

// namedPage gives the page the organisation's app name: in the title (the
// task switcher shows it before any script runs) and in a meta element
// that the app reads for its header; and the contact text the sign-in
// screen shows (whom to ask about a lost slip), in another.
func namedPage(page []byte, look protocol.AppLook) []byte {
	head := "<title>" + DefaultName + "</title>"
	if look.Name != "" {
		esc := html.EscapeString(look.Name)
		head = `<title>` + esc + `</title>` + "\n" + `<meta name="application-name" content="` + esc + `">`
	}
	if look.ContactText != "" {
		head += "\n" + `<meta name="taiwa-contact" content="` + html.EscapeString(look.ContactText) + `">`
	}
	return bytes.Replace(page, []byte("<title>"+DefaultName+"</title>"), []byte(head), 1)
}

// etags are the files' content hashes: with one, a revalidation (the
// service worker's install right after the page loaded the same files)
// is answered 304 without the body. Embedded files have no modification
// time to offer instead.
var etags = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	err := fs.WalkDir(FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(FS(), name)
		sum := sha256.Sum256(b)
		m["/"+name] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return err
	})
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	m["/"] = m["/index.html"]
	return m
})

func setETag(w http.ResponseWriter, urlPath string) {
	if tag, ok := etags()[urlPath]; ok {
		w.Header().Set("ETag", tag)
	}
}

// shellHash digests every file of the app once: the service worker
// carries it, so that the browser's own update check (it compares the
// worker's bytes on each visit) finds a new version exactly when a file
// changed, and the shell can be served from the cache first.
var shellHash = sync.OnceValue(func() string {
	h := sha256.New()
	err := fs.WalkDir(FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(FS(), name)
		h.Write([]byte(name + "\x00"))
		h.Write(b)
		return err
	})
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
})

// serveWorker serves sw.js with the version of what it caches: the app's
// files and, for an organisation's own address, the look it chose (its
// page carries the name and contact text).
func serveWorker(w http.ResponseWriter, look protocol.AppLook) {
	src, err := fs.ReadFile(FS(), "sw.js")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	version := shellHash()
	if look != (protocol.AppLook{}) {
		sum := sha256.Sum256([]byte(version + "\x00" + look.Name + "\x00" + look.Icon + "\x00" + look.ContactText))
		version = hex.EncodeToString(sum[:8])
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(bytes.Replace(src, []byte("@VERSION@"), []byte(version), 1))
}

// manifest is the organisation's web app manifest: its name and icon, its
// own start URL and scope (so that it installs as an app of its own).
func manifest(look protocol.AppLook) []byte {
	name := look.Name
	if name == "" {
		name = DefaultName
	}
	icon := func(size string) map[string]string {
		return map[string]string{"src": "icon-" + size + ".png", "sizes": size + "x" + size, "type": "image/png", "purpose": "any maskable"}
	}
	m := map[string]any{
		"name": name, "short_name": name, "id": "./", "start_url": "./", "scope": "./",
		"display": "standalone", "background_color": "#f6f8f7", "theme_color": "#2e7d74", "lang": "ja",
		"icons": []any{icon("192"), icon("512")},
	}
	b, _ := json.MarshalIndent(m, "", "  ") // a map of strings cannot fail
	return b
}
