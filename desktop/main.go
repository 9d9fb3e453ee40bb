// Command taiwa-desktop is the counselor and admin app.
//
//	taiwa-desktop            run the app
//	taiwa-desktop --version  print the version
//	taiwa-desktop --check    print the version, whether the OS keychain works and where data goes; run nothing
package main

import (
	_ "embed"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/taiwa-chat/taiwa/desktop/internal/session"
	"github.com/taiwa-chat/taiwa/desktop/internal/ui"
	"github.com/taiwa-chat/taiwa/pkg/keychain"
)

var (
	//go:embed Icon.png
	icon []byte
	//go:embed FyneApp.toml
	metadata string
	// commit may be set at build time (-ldflags "-X main.commit=…").
	commit = ""
)

// version is the app's version and build from FyneApp.toml, which the
// packages' metadata comes from too, and the commit if known.
func version() string {
	v, b := tomlValue("Version"), tomlValue("Build")
	out := v + "." + b
	if commit != "" {
		out += " (" + commit + ")"
	}
	return out
}

func tomlValue(key string) string {
	for _, line := range strings.Split(metadata, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == key {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return "?"
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("taiwa-desktop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	check := fs.Bool("check", false, "print the version, the keychain's state and the data directory, and exit (for support and smoke tests)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "taiwa-desktop", version())
		return 0
	}
	keys, keysErr := osKeychain()
	if *check {
		fmt.Fprintln(stdout, "taiwa-desktop", version())
		if keysErr != nil {
			fmt.Fprintln(stdout, "keychain: unavailable:", keysErr)
		} else {
			fmt.Fprintln(stdout, "keychain: ok")
		}
		fmt.Fprintln(stdout, "data:", dataDir())
		return 0
	}

	a := app.NewWithID("org.taiwa.desktop")
	res := fyne.NewStaticResource("Icon.png", icon)
	a.SetIcon(res)
	a.Settings().SetTheme(ui.Theme{})
	ui.LoadTranslations()
	w := a.NewWindow("対話 Taiwa")
	w.Resize(fyne.NewSize(1100, 720))

	opts := session.Options{Server: os.Getenv("TAIWA_SERVER"), Logger: slog.Default(), Icon: res, DataDir: dataDir()}
	// The keychain holds the token and the cache key; without one the app
	// keeps nothing on disk and asks for the password at each start.
	if keysErr != nil {
		slog.Warn("no usable keychain", "err", keysErr)
	} else {
		opts.Keys = keys
	}
	ctrl := session.New(a, w, opts)
	ctrl.Start()
	w.SetOnClosed(ctrl.Close)
	w.ShowAndRun()
	return 0
}

func osKeychain() (keychain.Store, error) {
	k := keychain.OS{}
	if err := keychain.Probe(k); err != nil {
		return nil, err
	}
	return k, nil
}

func dataDir() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "Taiwa")
}
