// Command taiwa-desktop is the counselor and admin app.
package main

import (
	_ "embed"
	"log/slog"
	"os"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/taiwa-chat/taiwa/desktop/internal/session"
	"github.com/taiwa-chat/taiwa/desktop/internal/ui"
	"github.com/taiwa-chat/taiwa/pkg/keychain"
)

//go:embed Icon.png
var icon []byte

func main() {
	a := app.NewWithID("org.taiwa.desktop")
	res := fyne.NewStaticResource("Icon.png", icon)
	a.SetIcon(res)
	a.Settings().SetTheme(ui.Theme{})
	ui.LoadTranslations()
	w := a.NewWindow("対話 Taiwa")
	w.Resize(fyne.NewSize(1100, 720))

	opts := session.Options{Server: os.Getenv("TAIWA_SERVER"), Logger: slog.Default(), Icon: res}
	// The keychain holds the token and the cache key; without one the app
	// keeps nothing on disk and asks for the password at each start.
	if err := keychain.Probe(keychain.OS{}); err != nil {
		slog.Warn("no usable keychain", "err", err)
	} else {
		opts.Keys = keychain.OS{}
	}
	if dir, err := os.UserConfigDir(); err == nil {
		opts.DataDir = filepath.Join(dir, "Taiwa")
	}
	ctrl := session.New(a, w, opts)
	ctrl.Start()
	w.SetOnClosed(ctrl.Close)
	w.ShowAndRun()
}
