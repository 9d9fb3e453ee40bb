// Package mobileweb holds the client PWA's files, embedded into the server
// binary so that one file runs the whole system.
package mobileweb

import (
	"embed"
	"io/fs"
	"net/http"
	"path"

	"github.com/klauspost/compress/gzhttp"
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

// Handler serves the app, compressed for browsers that accept it (a
// first load on a slow phone connection is what counts). The manifest
// gets its registered type (Go's table lacks it), and the service worker
// and page are revalidated on every load so that a fix reaches phones at
// once.
func Handler() http.Handler {
	fsrv := http.FileServerFS(FS())
	return gzhttp.GzipHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch path.Ext(r.URL.Path) {
		case ".webmanifest":
			w.Header().Set("Content-Type", "application/manifest+json")
		case ".js", ".html", "":
			w.Header().Set("Cache-Control", "no-cache")
		}
		fsrv.ServeHTTP(w, r)
	}))
}
