// Command taiwa-screenshot photographs the real counselor app: it starts
// Xvfb, a real server with an organisation whose clients write in
// Japanese, launches the app, signs in by typing into the window
// (xdotool), and saves PNGs of the sign-in screen and the main window.
//
//	taiwa-screenshot --server bin/taiwa --desktop bin/taiwa-desktop --out var/screenshots
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "taiwa-screenshot:", err)
		os.Exit(1)
	}
}

func run() error {
	serverBin := flag.String("server", "bin/taiwa", "server binary")
	desktopBin := flag.String("desktop", "bin/taiwa-desktop", "desktop app binary")
	out := flag.String("out", "var/screenshots", "where to write the PNGs")
	display := new(string) // chosen by Xvfb
	flag.Parse()
	for _, tool := range []string{"Xvfb", "xdotool", "import"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is missing: apt-get install xvfb xauth xdotool imagemagick", tool)
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Xvfb picks a free display and says which (-displayfd): a display left
	// locked by an earlier run that was killed does not stop this one.
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	xvfb := exec.CommandContext(ctx, "Xvfb", "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	xvfb.ExtraFiles = []*os.File{pw}
	if err := xvfb.Start(); err != nil {
		return fmt.Errorf("start Xvfb: %w", err)
	}
	defer xvfb.Process.Kill()
	pw.Close()
	num, err := bufio.NewReader(pr).ReadString('\n')
	pr.Close()
	if err != nil {
		return fmt.Errorf("no display from Xvfb: %w", err)
	}
	*display = ":" + strings.TrimSpace(num)

	dir, err := os.MkdirTemp("", "taiwa-shot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	orgOut, err := exec.CommandContext(ctx, *serverBin, "org", "create", "--data", dir, "--name", "こころ相談室", "--admin", "kanri").CombinedOutput()
	if err != nil {
		return fmt.Errorf("org create: %v\n%s", err, orgOut)
	}
	adminPW := regexp.MustCompile(`password: (\S+)`).FindSubmatch(orgOut)
	if adminPW == nil {
		return fmt.Errorf("no admin password in:\n%s", orgOut)
	}
	srv := exec.CommandContext(ctx, *serverBin, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--log-level", "warn")
	stdout, _ := srv.StdoutPipe()
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	defer srv.Process.Kill()
	url, err := servingURL(stdout)
	if err != nil {
		return err
	}

	admin, _, err := client.Login(ctx, url, "kanri", string(adminPW[1]), "screenshot")
	if err != nil {
		return fmt.Errorf("admin login: %w", err)
	}
	if _, err := admin.CreateStaff(ctx, protocol.CreateStaffRequest{Nickname: "田中", Role: protocol.RoleCounselor}); err != nil {
		return err
	}
	// Sign in as the admin, who counsels too and can open admin settings.
	loginID, password := "kanri", string(adminPW[1])
	// Three clients; two have written and wait, one writes after sign-in.
	script := []struct {
		nick  string
		lines []string
	}{
		{"そら", []string{"こんばんは。職場の人間関係で少し疲れています。"}},
		{"ひなた", []string{"先週はありがとうございました。", "あれから少し眠れるようになりました。"}},
		{"さくら", nil},
	}
	lives := map[string]*client.Live{}
	for _, s := range script {
		cred, err := admin.CreateClient(ctx, protocol.CreateClientRequest{Nickname: s.nick})
		if err != nil {
			return err
		}
		c, _, err := client.Login(ctx, url, cred.LoginID, cred.Password, "phone")
		if err != nil {
			return err
		}
		l := c.Live(client.LiveOptions{})
		go l.Run(ctx)
		lives[s.nick] = l
		for _, line := range s.lines {
			if _, err := l.Send(ctx, 0, line); err != nil {
				return err
			}
		}
	}

	app := exec.CommandContext(ctx, *desktopBin)
	app.Env = append(os.Environ(), "DISPLAY="+*display, "TAIWA_SERVER="+url, "LANG=ja_JP.UTF-8", "LANGUAGE=ja")
	app.Stdout, app.Stderr = io.Discard, os.Stderr
	if err := app.Start(); err != nil {
		return fmt.Errorf("start the app: %w", err)
	}
	defer app.Process.Kill()
	xdo := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "xdotool", args...)
		cmd.Env = append(os.Environ(), "DISPLAY="+*display)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("xdotool %s: %v %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	shot := func(name string) error {
		cmd := exec.CommandContext(ctx, "import", "-display", *display, "-window", "root", filepath.Join(*out, name))
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("import: %v %s", err, out)
		}
		fmt.Println("wrote", filepath.Join(*out, name))
		return nil
	}
	if err := xdo("search", "--sync", "--name", "Taiwa"); err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // the first frame of a software-rendered window
	if err := shot("login.png"); err != nil {
		return err
	}
	// Server is pre-filled; Tab moves server → login ID → password.
	for _, step := range [][]string{
		{"key", "Tab"}, {"key", "Tab"}, {"type", "--delay", "30", loginID},
		{"key", "Tab"}, {"type", "--delay", "30", password}, {"key", "Return"},
	} {
		if err := xdo(step...); err != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	// さくら writes now: her conversation comes to the front.
	for _, line := range []string{"はじめまして。さくらです。", "最近、夜になると不安で眠れません。\n誰かに話を聞いてほしくて連絡しました。"} {
		if _, err := lives["さくら"].Send(ctx, 0, line); err != nil {
			return err
		}
	}
	time.Sleep(2 * time.Second)
	if err := shot("main.png"); err != nil {
		return err
	}
	// Open admin settings through the window's own menu: "Taiwa" at the
	// top left, its first item just below.
	for _, step := range [][]string{
		{"mousemove", "30", "16"}, {"click", "1"}, {"mousemove", "80", "52"}, {"click", "1"},
	} {
		if err := xdo(step...); err != nil {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	if err := shot("admin.png"); err != nil {
		return err
	}
	// The organisation's settings and the audit log: their tabs at the
	// top of the admin window.
	for _, tab := range []struct {
		x    string
		name string
	}{{"114", "settings.png"}, {"281", "audit.png"}} {
		if err := xdo("mousemove", tab.x, "24", "click", "1"); err != nil {
			return err
		}
		time.Sleep(2 * time.Second)
		if err := shot(tab.name); err != nil {
			return err
		}
	}
	return nil
}

func servingURL(r io.Reader) (string, error) {
	re := regexp.MustCompile(`serving on (http://\S+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		return u, nil
	case <-time.After(20 * time.Second):
		return "", errors.New("server did not start")
	}
}
