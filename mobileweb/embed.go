// Package mobileweb holds the client PWA's files, embedded into the server
// binary so that one file runs the whole system.
package mobileweb

import (
	"embed"
	"io/fs"
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
