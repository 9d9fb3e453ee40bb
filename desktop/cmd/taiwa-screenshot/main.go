// Command taiwa-screenshot photographs the real counselor app at a real
// desk's volume: it starts Xvfb and a real server, builds the
// walkthroughs' desk over the API (200 clients × 15 messages and one with
// 1,500), launches the app, signs in by typing into the window (xdotool)
// and saves a PNG at each step a counselor and an admin would take; then
// the client's phone pages and the printed slips in headless Chromium
// (mobileweb/e2e/guide-shots.mjs). The pictures are the ones the guides
// list (docs/guide.Shots): the run fails when it does not take one of them
// or takes one not listed, and with --guide it copies those the guides
// show into the guides' picture folder.
//
//	taiwa-screenshot --server bin/taiwa --desktop bin/taiwa-desktop --out var/screenshots --guide docs/guide/img
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/taiwa-chat/taiwa/desktop/internal/dataset"
	"github.com/taiwa-chat/taiwa/desktop/internal/slips"
	"github.com/taiwa-chat/taiwa/docs/guide"
	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "taiwa-screenshot:", err)
		os.Exit(1)
	}
}

// shooter drives the app on one X display.
type shooter struct {
	ctx     context.Context
	display string
	out     string
	// taken are the pictures written so far.
	taken map[string]bool
}

func (s *shooter) xdo(args ...string) error {
	cmd := exec.CommandContext(s.ctx, "xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+s.display)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("xdotool %s: %v %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// steps runs xdotool commands with a pause after each, as a person types.
func (s *shooter) steps(steps ...[]string) error {
	for _, st := range steps {
		if err := s.xdo(st...); err != nil {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
	return nil
}

// The windows' sizes: every window opens at the screen's top left, so a
// picture of one is the screen cut to its size.
const (
	mainW, mainH   = 1100, 720 // the app's window
	adminW, adminH = 1000, 680 // the admin settings' window
	// The supervisor's read-only window.
	superviseW, superviseH = 640, 720
)

// shot saves the screen cut to the main window.
func (s *shooter) shot(name string) error { return s.shotSize(name, mainW, mainH) }

// shotSize saves the top left w×h of the screen (w = 0: all of it), under
// a name the guides know (guide.Shots).
func (s *shooter) shotSize(name string, w, h int) error {
	if !slices.Contains(guide.Shots, name) || slices.Contains(guide.PhoneShots, name) {
		return fmt.Errorf("%s is not among the desktop's pictures in docs/guide (guide.Shots): add it there", name)
	}
	file := filepath.Join(s.out, name)
	args := []string{"-display", s.display, "-window", "root"}
	if w > 0 {
		args = append(args, "-crop", fmt.Sprintf("%dx%d+0+0", w, h), "+repage")
	}
	cmd := exec.CommandContext(s.ctx, "import", append(args, file)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("import: %v %s", err, out)
	}
	s.taken[name] = true
	fmt.Println("wrote", file)
	return nil
}

// click moves the pointer to x, y and clicks.
func (s *shooter) click(x, y int) error {
	return s.steps([]string{"mousemove", strconv.Itoa(x), strconv.Itoa(y)}, []string{"click", "1"})
}

// scroll turns the wheel over x, y: n notches, down when n > 0.
func (s *shooter) scroll(x, y, n int) error {
	button := "5"
	if n < 0 {
		button, n = "4", -n
	}
	return s.steps([]string{"mousemove", strconv.Itoa(x), strconv.Itoa(y)}, []string{"click", "--repeat", strconv.Itoa(n), "--delay", "30", button})
}

// typeText enters text as a person would: ASCII typed key by key,
// anything else pasted from the clipboard (xdotool drops kana it types:
// it remaps one spare key per character, faster than the app reads the
// keymap; a person's input method commits whole words anyway).
func (s *shooter) typeText(text string) error {
	ascii := true
	for _, r := range text {
		ascii = ascii && r < 0x80
	}
	if ascii {
		return s.xdo("type", "--delay", "60", text)
	}
	// xclip serves the clipboard from a background copy of itself, which
	// ends with the display; it must not hold our pipes open.
	cmd := exec.CommandContext(s.ctx, "xclip", "-selection", "clipboard")
	cmd.Env = append(os.Environ(), "DISPLAY="+s.display)
	cmd.Stdin = strings.NewReader(text)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("xclip: %w", err)
	}
	time.Sleep(200 * time.Millisecond)
	return s.xdo("key", "ctrl+v")
}

// find opens a conversation by nickname: Ctrl+F, the name, Enter.
func (s *shooter) find(nick string) error {
	if err := s.steps([]string{"key", "ctrl+f"}, []string{"key", "ctrl+a"}); err != nil {
		return err
	}
	if err := s.typeText(nick); err != nil {
		return err
	}
	return s.steps([]string{"key", "Return"})
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func run() error {
	serverBin := flag.String("server", "bin/taiwa", "server binary")
	desktopBin := flag.String("desktop", "bin/taiwa-desktop", "desktop app binary")
	out := flag.String("out", "var/screenshots", "where to write the PNGs")
	guideDir := flag.String("guide", "", "copy the pictures the guides show here (docs/guide/img)")
	e2eDir := flag.String("e2e", "mobileweb/e2e", "the client app's browser tests (playwright-core), for the phone pictures")
	small := flag.Bool("small", false, "a small desk (20 clients) for a quick look")
	flag.Parse()
	for _, tool := range []string{"Xvfb", "xdotool", "import", "xclip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is missing: apt-get install xvfb xauth xdotool imagemagick xclip", tool)
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
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
	s := &shooter{ctx: ctx, display: ":" + strings.TrimSpace(num), out: *out, taken: map[string]bool{}}

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
	addr, err := freePort()
	if err != nil {
		return err
	}
	serve := func() (*exec.Cmd, string, error) {
		srv := exec.CommandContext(ctx, *serverBin, "serve", "--data", dir, "--addr", addr, "--log-level", "warn")
		stdout, _ := srv.StdoutPipe()
		srv.Stderr = os.Stderr
		if err := srv.Start(); err != nil {
			return nil, "", fmt.Errorf("start server: %w", err)
		}
		url, err := servingURL(stdout)
		return srv, url, err
	}
	srv, url, err := serve()
	if err != nil {
		return err
	}
	defer func() { srv.Process.Kill() }()

	admin, _, err := client.Login(ctx, url, "kanri", string(adminPW[1]), "screenshot")
	if err != nil {
		return fmt.Errorf("admin login: %w", err)
	}
	// A colleague: half of the desk is theirs (the admin sees it in 全体),
	// and a few clients wait in the pool (未対応).
	tanakaCred, err := admin.CreateStaff(ctx, protocol.CreateStaffRequest{Nickname: "田中", Role: protocol.RoleCounselor})
	if err != nil {
		return err
	}
	tanaka, err := signIn(ctx, url, tanakaCred)
	if err != nil {
		return err
	}
	if _, err := tanaka.UpdateMe(ctx, protocol.MePatch{DisplayName: ptr("たなか")}); err != nil {
		return err
	}
	spec := dataset.Realistic
	if *small {
		spec = dataset.Spec{Clients: 20, Messages: 15, Long: 300, Workers: 4}
	}
	spec.Staff, spec.Pool = []*client.Client{admin, tanaka}, 6
	start := time.Now()
	desk, err := dataset.Build(ctx, url, admin, spec)
	if err != nil {
		return fmt.Errorf("build the desk: %w", err)
	}
	fmt.Printf("desk: %d clients, %d messages in %s\n", len(desk.Clients), desk.Sent, time.Since(start).Round(time.Second))
	if err := dataset.Tools(ctx, admin); err != nil {
		return err
	}
	// Issue 16: announcements, and the provider serves several companies; the desk's clients
	// are spread over three groups (the rest stay in the default group).
	var groups []protocol.Group
	for _, n := range []string{"みどり商事", "青葉工業", "春のセミナー"} {
		g, err := admin.CreateGroup(ctx, protocol.GroupRequest{Name: ptr(n)})
		if err != nil {
			return fmt.Errorf("group: %w", err)
		}
		groups = append(groups, g)
	}
	if _, err := admin.CreateAnnouncement(ctx, protocol.AnnouncementRequest{Body: "年末年始は12月29日から1月3日まで休業します。\n休業中に届いたメッセージには1月4日以降に返信します。",
		EndsAt: ptr(time.Now().AddDate(0, 1, 0))}); err != nil {
		return fmt.Errorf("announce: %w", err)
	}
	for i, c := range desk.Clients {
		if i%4 == 3 {
			continue
		}
		if _, err := admin.UpdateClient(ctx, c.Account.ID, protocol.UpdateClientRequest{GroupID: groups[i%4].ID}); err != nil {
			return fmt.Errorf("move to a group: %w", err)
		}
	}
	// This week's registrations straight into the groups (the usage
	// figures count a client in the group it was registered in), and a
	// seminar too small to show as more than "<5".
	for i, n := range []int{40, 25, 3} {
		if _, err := admin.BulkCreateClients(ctx, protocol.BulkCreateClientsRequest{Prefix: []string{"みどり", "青葉", "春"}[i], Count: n, GroupID: groups[i].ID}); err != nil {
			return fmt.Errorf("register into a group: %w", err)
		}
	}
	// The staff who hand out みどり商事's slips (a registrar).
	regCred, err := admin.CreateStaff(ctx, protocol.CreateStaffRequest{Nickname: "受付担当", Role: protocol.RoleRegistrar, GroupIDs: []int64{groups[0].ID}})
	if err != nil {
		return fmt.Errorf("registrar: %w", err)
	}
	// 青葉工業's contract ends in two months; clients are deleted 30 days
	// after their access ends; a booking system has a key for 春のセミナー.
	if _, err := admin.UpdateGroup(ctx, groups[1].ID, protocol.GroupRequest{AccessUntil: ptr(time.Now().AddDate(0, 2, 0))}); err != nil {
		return fmt.Errorf("group end: %w", err)
	}
	if _, err := admin.UpdateSettings(ctx, protocol.SettingsPatch{DeleteAfterAccessDays: ptr(30)}); err != nil {
		return fmt.Errorf("deletion setting: %w", err)
	}
	if _, err := admin.CreateAPIKey(ctx, protocol.APIKeyRequest{Name: "セミナー申込システム", GroupIDs: []int64{groups[2].ID}}); err != nil {
		return fmt.Errorf("api key: %w", err)
	}
	if _, err := admin.CreateAnnouncement(ctx, protocol.AnnouncementRequest{Body: "みどり商事の皆さまへ：4月から契約が更新されます。引き続きご利用いただけます。",
		GroupIDs: []int64{groups[0].ID}}); err != nil {
		return fmt.Errorf("announce to a group: %w", err)
	}

	// Three clients who write while the counselor works.
	lives := map[string]*client.Live{}
	clis := map[string]*client.Client{}
	creds := map[string]protocol.Credentials{} // ひなた signs in on a phone too
	for _, nick := range []string{"そら", "ひなた", "さくら"} {
		cred, err := admin.CreateClient(ctx, protocol.CreateClientRequest{Nickname: nick})
		if err != nil {
			return err
		}
		creds[nick] = cred
		c, err := signIn(ctx, url, cred)
		if err != nil {
			return err
		}
		l := c.Live(client.LiveOptions{})
		go l.Run(ctx)
		lives[nick], clis[nick] = l, c
	}
	say := func(nick string, lines ...string) error {
		for _, line := range lines {
			if _, err := lives[nick].Send(ctx, 0, line); err != nil {
				return err
			}
		}
		return nil
	}
	if err := say("ひなた", "先週はありがとうございました。", "あれから少し眠れるようになりました。"); err != nil {
		return err
	}
	// Issue 14: ひなた sends a photo of a letter and a PDF.
	if err := sendFiles(ctx, admin, clis["ひなた"], lives["ひなた"], "ひなた"); err != nil {
		return err
	}
	if err := say("そら", "こんにちは。先日はありがとうございました。"); err != nil {
		return err
	}
	// The admin has taken ひなた and そら; さくら has not written yet.
	for _, nick := range []string{"ひなた", "そら"} {
		convs, err := admin.Conversations(ctx)
		if err != nil {
			return err
		}
		for _, c := range convs {
			if c.Nickname == nick {
				if _, err := admin.Claim(ctx, c.ID); err != nil {
					return fmt.Errorf("take %s: %w", nick, err)
				}
			}
		}
	}

	// Nomination (指名): the admin takes nominations; みなと asks for them
	// and writes. A client who will write crisis words later (かい).
	on, name := true, "すずき"
	if _, err := admin.UpdateMe(ctx, protocol.MePatch{DisplayName: &name, AcceptNominations: &on,
		Intro: ptr("夜の相談を多く受けています。")}); err != nil {
		return fmt.Errorf("take nominations: %w", err)
	}
	for _, nick := range []string{"みなと", "かい"} {
		cred, err := admin.CreateClient(ctx, protocol.CreateClientRequest{Nickname: nick})
		if err != nil {
			return err
		}
		c, err := signIn(ctx, url, cred)
		if err != nil {
			return err
		}
		if nick == "みなと" {
			me, err := admin.Me(ctx)
			if err != nil {
				return err
			}
			if _, err := c.Nominate(ctx, me.ID); err != nil {
				return fmt.Errorf("nominate: %w", err)
			}
		}
		l := c.Live(client.LiveOptions{})
		go l.Run(ctx)
		lives[nick] = l
	}
	if err := say("みなと", "すずきさんにお願いしたくて書きました。"); err != nil {
		return err
	}

	launch := func() (*exec.Cmd, error) {
		app := exec.CommandContext(ctx, *desktopBin)
		app.Env = append(os.Environ(), "DISPLAY="+s.display, "TAIWA_SERVER="+url, "LANG=ja_JP.UTF-8", "LANGUAGE=ja")
		app.Stdout, app.Stderr = io.Discard, os.Stderr
		if err := app.Start(); err != nil {
			return nil, fmt.Errorf("start the app: %w", err)
		}
		return app, s.xdo("search", "--sync", "--name", "Taiwa")
	}
	app, err := launch()
	if err != nil {
		return err
	}
	defer func() { app.Process.Kill() }()
	time.Sleep(2 * time.Second) // the first frame of a software-rendered window
	if err := s.shot("login.png"); err != nil {
		return err
	}
	// The server address is filled in and the cursor is in the login ID.
	signedIn := time.Now()
	if err := s.steps([]string{"type", "--delay", "30", "kanri"}, []string{"key", "Tab"},
		[]string{"type", "--delay", "30", string(adminPW[1])}, []string{"key", "Return"}); err != nil {
		return err
	}
	time.Sleep(8 * time.Second) // sign-in hashes the password; the replay of 4,500 messages follows
	fmt.Printf("signed in and replayed within %s\n", time.Since(signedIn).Round(time.Second))
	if err := s.shot("main.png"); err != nil {
		return err
	}

	// The long conversation, open at its newest message.
	if err := s.find(dataset.LongNickname); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if err := s.shot("long.png"); err != nil {
		return err
	}

	// The walkthrough's sequence: the cursor in ひなた's empty reply box,
	// そら writes, the counselor goes on typing. The words stay in ひなた's
	// box; そら waits in the list with a banner.
	if err := s.find("ひなた"); err != nil {
		return err
	}
	time.Sleep(3 * time.Second) // the photo is fetched into the cache and made a thumbnail
	if err := s.shot("attachments.png"); err != nil {
		return err
	}
	if err := say("そら", "こんばんは。職場の人間関係で少し疲れています。"); err != nil {
		return err
	}
	if err := s.typeText("ひなたさん、お返事ありがとうございます。"); err != nil {
		return err
	}
	time.Sleep(time.Second)
	if err := s.shot("focus.png"); err != nil {
		return err
	}
	// Send it (Ctrl+Enter): it shows as sending, then as delivered.
	if err := s.typeText("少し眠れるようになって、よかったです。"); err != nil {
		return err
	}
	if err := s.steps([]string{"key", "ctrl+Return"}); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if err := s.shot("sent.png"); err != nil {
		return err
	}

	// Someone new writes: the pool (未対応) announces it; it never takes the
	// front. The counselor shows the pool (Ctrl+2), opens さくら: a
	// preview (recorded), then 担当する.
	if err := say("さくら", "はじめまして。夜になると不安で眠れません。", "誰かに話を聞いてほしくて書きました。"); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if err := s.shot("pool-arrived.png"); err != nil {
		return err
	}
	if err := s.steps([]string{"key", "ctrl+2"}); err != nil {
		return err
	}
	if err := s.find("さくら"); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if err := s.shot("pool.png"); err != nil {
		return err
	}
	// 担当する: the button at the right of the conversation's title.
	if err := s.steps([]string{"mousemove", claimX, claimY}, []string{"click", "1"}); err != nil {
		return err
	}
	time.Sleep(3 * time.Second)
	if err := s.shot("claimed.png"); err != nil {
		return err
	}
	// The conversation's progress (進行状況), a note about the client and
	// handing it over: the title row's controls, each closed with Escape.
	for _, c := range []struct {
		x, y int
		name string
	}{{441, 141, "progress.png"}, {637, 141, "note.png"}, {1038, 96, "handover.png"}} {
		if err := s.click(c.x, c.y); err != nil {
			return err
		}
		time.Sleep(2 * time.Second)
		if err := s.shot(c.name); err != nil {
			return err
		}
		if err := s.steps([]string{"key", "Escape"}); err != nil {
			return err
		}
		time.Sleep(time.Second)
	}
	// 全体: every conversation, with who has it (admins); 田中's are read,
	// not answered.
	if err := s.steps([]string{"key", "ctrl+f"}, []string{"key", "ctrl+a"}, []string{"key", "BackSpace"}, []string{"key", "Escape"}, []string{"key", "ctrl+3"}); err != nil {
		return err
	}
	if err := s.find(dataset.Prefix(spec) + "002"); err != nil {
		return err
	}
	if err := s.steps([]string{"key", "ctrl+f"}, []string{"key", "ctrl+a"}, []string{"key", "BackSpace"}); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if err := s.shot("all.png"); err != nil {
		return err
	}
	// Risk first: かい's words raise the conversation above every other,
	// with a marker (the text is never in the alert).
	if err := say("かい", "もう消えたい"); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if err := s.find("かい"); err != nil {
		return err
	}
	if err := s.steps([]string{"key", "ctrl+f"}, []string{"key", "ctrl+a"}, []string{"key", "BackSpace"}, []string{"key", "Escape"}); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if err := s.shot("risk.png"); err != nil {
		return err
	}
	// 指名: みなと asked for this admin, who has not taken it yet.
	if err := s.steps([]string{"key", "ctrl+1"}); err != nil {
		return err
	}
	if err := s.find("みなと"); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if err := s.shot("nominated.png"); err != nil {
		return err
	}
	if err := s.steps([]string{"key", "Escape"}); err != nil {
		return err
	}
	if err := s.steps([]string{"key", "ctrl+1"}); err != nil {
		return err
	}

	// The server goes away: the status line counts down to the next try,
	// and a reply waits in the outbox.
	srv.Process.Kill()
	srv.Wait()
	if err := s.typeText("また明日お話ししましょう。"); err != nil {
		return err
	}
	if err := s.steps([]string{"key", "ctrl+Return"}); err != nil {
		return err
	}
	time.Sleep(3 * time.Second)
	if err := s.shot("offline.png"); err != nil {
		return err
	}
	if srv, url, err = serve(); err != nil {
		return err
	}
	_ = url
	time.Sleep(8 * time.Second)
	if err := s.shot("reconnected.png"); err != nil {
		return err
	}

	// Issue 14: the canned replies (Ctrl+T), searched, one inserted for
	// editing; the next-contact date picker (Ctrl+D).
	if err := s.steps([]string{"key", "ctrl+t"}); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if err := s.shot("templates.png"); err != nil {
		return err
	}
	if err := s.typeText("お返事"); err != nil {
		return err
	}
	time.Sleep(time.Second)
	if err := s.shot("templates-search.png"); err != nil {
		return err
	}
	if err := s.steps([]string{"key", "Return"}); err != nil {
		return err
	}
	time.Sleep(time.Second)
	if err := s.shot("template-inserted.png"); err != nil {
		return err
	}
	if err := s.steps([]string{"key", "ctrl+d"}); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if err := s.shot("date.png"); err != nil {
		return err
	}
	if err := s.steps([]string{"key", "Escape"}); err != nil {
		return err
	}
	time.Sleep(time.Second)

	// An office's settings, as an admin sets them up: business hours on
	// weekdays and Saturday, two weeks' retention, whom clients ask.
	week := []hours.Span{}
	for d := time.Monday; d <= time.Friday; d++ {
		week = append(week, hours.Span{Day: d, Start: 9 * 60, End: 21 * 60})
	}
	week = append(week, hours.Span{Day: time.Saturday, Start: 10 * 60, End: 17 * 60})
	keep := int64(14 * 86400)
	org, err := admin.UpdateSettings(ctx, protocol.SettingsPatch{
		Hours:            &hours.Schedule{TimeZone: "Asia/Tokyo", Spans: week},
		RetentionSeconds: &keep,
		WelcomeText:      ptr("ここでは、相談員と1対1でやりとりできます。書いた内容は、この相談室の相談員だけが読みます。"),
		ContactText:      ptr("ログイン用紙をなくしたときや、ログインできないときは、学生相談室（内線 2345）にお問い合わせください。"),
	})
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}

	// Admin settings through the window's own menu: "Taiwa" at the top
	// left, its first item just below.
	if err := s.steps([]string{"mousemove", "30", "16"}, []string{"click", "1"}, []string{"mousemove", "80", "52"}, []string{"click", "1"}); err != nil {
		return err
	}
	time.Sleep(3 * time.Second)
	if err := s.shotSize("admin.png", adminW, adminH); err != nil {
		return err
	}
	// Register a client: the one-time password in its table.
	if err := s.steps([]string{"mousemove", "820", "106"}, []string{"click", "1"}); err != nil {
		return err
	}
	if err := s.typeText("はるか"); err != nil {
		return err
	}
	if err := s.steps([]string{"key", "Return"}); err != nil {
		return err
	}
	time.Sleep(3 * time.Second)
	if err := s.shotSize("credentials.png", adminW, adminH); err != nil {
		return err
	}
	if err := s.steps([]string{"key", "Escape"}); err != nil {
		return err
	}
	time.Sleep(time.Second)
	if err := s.shotSize("credentials-close.png", adminW, adminH); err != nil {
		return err
	}
	if err := s.steps([]string{"key", "Return"}); err != nil {
		return err
	}
	// まとめて登録: five for a seminar, the sheet to print.
	time.Sleep(time.Second)
	if err := s.click(684, 279); err != nil {
		return err
	}
	if err := s.typeText("セミナー"); err != nil {
		return err
	}
	if err := s.click(893, 279); err != nil {
		return err
	}
	if err := s.typeText("5"); err != nil {
		return err
	}
	if err := s.shotSize("bulk.png", adminW, adminH); err != nil {
		return err
	}
	if err := s.click(789, 321); err != nil {
		return err
	}
	time.Sleep(4 * time.Second)
	if err := s.shotSize("bulk-credentials.png", adminW, adminH); err != nil {
		return err
	}
	if err := s.steps([]string{"key", "Escape"}, []string{"key", "Return"}); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	// The organisation's settings (scrolled down step by step), the staff,
	// the audit log and the canned replies: their tabs at the top of the
	// admin window.
	if err := s.click(114, 24); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if err := s.shotSize("settings.png", adminW, adminH); err != nil {
		return err
	}
	for _, step := range []struct {
		notches int
		name    string
	}{{12, "settings-retention.png"}, {16, "settings-team.png"}, {60, "settings-texts.png"}} {
		// At the left edge: labels and ticks, which pass the wheel to the
		// page (an entry keeps it for its own scroller). A notch is 25 px.
		if err := s.scroll(60, 420, step.notches); err != nil {
			return err
		}
		time.Sleep(time.Second)
		if err := s.shotSize(step.name, adminW, adminH); err != nil {
			return err
		}
	}
	for _, tab := range []struct {
		x    int
		name string
	}{{210, "staff.png"}, {281, "audit.png"}, {360, "admin-templates.png"},
		{450, "admin-groups.png"}, {505, "admin-news.png"}, {578, "admin-keys.png"}, {650, "admin-usage.png"}} {
		if err := s.click(tab.x, 24); err != nil {
			return err
		}
		time.Sleep(2 * time.Second)
		if err := s.shotSize(tab.name, adminW, adminH); err != nil {
			return err
		}
		if tab.name != "staff.png" {
			continue
		}
		// Devices and deletion receipts: the admin's own, first in the
		// staff list: this desktop app (which confirms the deletions it
		// applies) and the session this tool signed in with (which never
		// does).
		if err := s.click(200, 66); err != nil {
			return err
		}
		time.Sleep(time.Second)
		if err := s.click(789, 363); err != nil {
			return err
		}
		time.Sleep(2 * time.Second)
		if err := s.shotSize("devices.png", adminW, adminH); err != nil {
			return err
		}
		if err := s.steps([]string{"key", "Escape"}); err != nil {
			return err
		}
		time.Sleep(time.Second)
	}
	// Supervision: the audit tab's conversation picker, its first entry,
	// 閲覧する; the read-only window opens over the others.
	if err := s.click(281, 24); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if err := s.click(470, 128); err != nil {
		return err
	}
	time.Sleep(time.Second)
	if err := s.click(470, 214); err != nil { // the second: さくら (かい wrote one line)
		return err
	}
	time.Sleep(time.Second)
	if err := s.click(897, 128); err != nil {
		return err
	}
	time.Sleep(3 * time.Second)
	if err := s.shotSize("supervise.png", superviseW, superviseH); err != nil {
		return err
	}

	// 田中, a counselor, at the same desk: the app again (no keychain
	// here, so it asks for the password). Their own conversations, the
	// pool's state, and a preview (recorded) of what waits.
	app.Process.Kill()
	app.Wait()
	if app, err = launch(); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if err := s.steps([]string{"type", "--delay", "30", tanakaCred.LoginID}, []string{"key", "Tab"},
		[]string{"type", "--delay", "30", tanakaCred.Password}, []string{"key", "Return"}); err != nil {
		return err
	}
	time.Sleep(8 * time.Second)
	if err := s.shot("counselor.png"); err != nil {
		return err
	}
	if err := s.steps([]string{"key", "ctrl+2"}); err != nil {
		return err
	}
	if err := s.find(dataset.PoolNickname + "01"); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if err := s.shot("counselor-pool.png"); err != nil {
		return err
	}

	// みどり商事's registrar: the clients of their group with login IDs,
	// and nothing of any conversation.
	app.Process.Kill()
	app.Wait()
	if app, err = launch(); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if err := s.steps([]string{"type", "--delay", "30", regCred.LoginID}, []string{"key", "Tab"},
		[]string{"type", "--delay", "30", regCred.Password}, []string{"key", "Return"}); err != nil {
		return err
	}
	time.Sleep(6 * time.Second)
	if err := s.shot("registrar.png"); err != nil {
		return err
	}

	// The client's side: a seminar's printed sheet (the slips with the
	// client guide, the organisation's real settings), and ひなた's phone.
	seminar, err := admin.BulkCreateClients(ctx, protocol.BulkCreateClientsRequest{Prefix: "説明会", Count: 2})
	if err != nil {
		return fmt.Errorf("seminar: %w", err)
	}
	sheet := filepath.Join(dir, "slips.html")
	f, err := os.Create(sheet)
	if err != nil {
		return err
	}
	err = slips.WriteHTML(f, slips.Sheet{OrgName: org.Settings.DisplayName, AppURL: url + org.AppPath, Server: url, Slips: seminar,
		RetentionSeconds: org.Settings.RetentionSeconds, Contact: org.Settings.ContactText})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := phoneShots(ctx, *e2eDir, url, org.AppPath, creds["ひなた"], sheet, s.out); err != nil {
		return err
	}
	for _, name := range guide.PhoneShots {
		if _, err := os.Stat(filepath.Join(s.out, name)); err != nil {
			return fmt.Errorf("the phone pictures: %w", err)
		}
		s.taken[name] = true
	}

	for _, name := range guide.Shots {
		if !s.taken[name] {
			return fmt.Errorf("%s (listed in docs/guide.Shots) was not taken", name)
		}
	}
	if *guideDir != "" {
		return copyShown(s.out, *guideDir)
	}
	return nil
}

// phoneShots runs mobileweb/e2e/guide-shots.mjs: the client's phone in
// headless Chromium (Debian's, through playwright-core) against the same
// server, and the printed sheet.
func phoneShots(ctx context.Context, e2eDir, url, appPath string, cred protocol.Credentials, sheet, out string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "node", "guide-shots.mjs")
	cmd.Dir = e2eDir
	cmd.Env = append(os.Environ(), "TAIWA_URL="+url, "TAIWA_APP_PATH="+appPath, "TAIWA_LOGIN="+cred.LoginID,
		"TAIWA_PASSWORD="+cred.Password, "TAIWA_SLIPS="+sheet, "TAIWA_SHOTS="+abs, "TAIWA_NAMES="+strings.Join(guide.PhoneShots, ","))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("phone pictures (node guide-shots.mjs in %s): %w", e2eDir, err)
	}
	return nil
}

// copyShown copies the pictures the guides show into dir (docs/guide/img)
// and removes the ones they no longer show, so that what is committed is
// this run's.
func copyShown(from, dir string) error {
	shown, err := guide.Referenced()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	for _, f := range old {
		if !slices.Contains(shown, filepath.Base(f)) {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	for _, name := range shown {
		src := filepath.Join(from, name)
		if _, err := os.Stat(src); err != nil {
			return fmt.Errorf("a guide shows %s: %w", name, err)
		}
		// 256 colours: the pictures of a flat UI lose nothing a reader
		// sees and half their bytes (they are committed, and embedded in
		// the server).
		if out, err := exec.Command("convert", src, "-colors", "256", "PNG8:"+filepath.Join(dir, name)).CombinedOutput(); err != nil {
			return fmt.Errorf("convert %s: %v %s", name, err, out)
		}
	}
	fmt.Printf("copied %d pictures the guides show into %s\n", len(shown), dir)
	return nil
}

// Where 担当する is in the app's window at its first size (the right end of the
// conversation's title row).
const claimX, claimY = "1045", "96"

func ptr[T any](v T) *T { return &v }

// sendFiles has a client send a photo (a JPEG drawn here) and a PDF.
func sendFiles(ctx context.Context, admin, cl *client.Client, l *client.Live, nick string) error {
	convs, err := admin.Conversations(ctx)
	if err != nil {
		return err
	}
	var conv int64
	for _, c := range convs {
		if c.Nickname == nick {
			conv = c.ID
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, 1200, 900))
	for y := range 900 {
		for x := range 1200 {
			c := color.RGBA{R: uint8(200 - y/8), G: uint8(180 + x/20), B: uint8(150 + y/10), A: 255}
			if x > 200 && x < 1000 && y > 150 && y < 750 { // a sheet of paper
				c = color.RGBA{R: 250, G: 248, B: 240, A: 255}
				if (y-200)%60 < 3 && y < 700 && x > 260 && x < 940 { // lines of writing
					c = color.RGBA{R: 60, G: 70, B: 90, A: 255}
				}
			}
			img.Set(x, y, c)
		}
	}
	var photo bytes.Buffer
	if err := jpeg.Encode(&photo, img, &jpeg.Options{Quality: 85}); err != nil {
		return err
	}
	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte(" "), 120_000)...)
	for _, f := range []struct {
		body    []byte
		caption string
	}{{photo.Bytes(), "手紙を書いてみました"}, {pdf, ""}} {
		a, err := cl.Upload(ctx, conv, bytes.NewReader(f.body))
		if err != nil {
			return fmt.Errorf("upload: %w", err)
		}
		if r := <-l.EnqueueMessage(client.PendingMessage{Ref: client.NewRef(), Body: f.caption, Attachment: a.ID}); r.Err != nil {
			return r.Err
		}
	}
	return nil
}

// signIn signs a client in, waiting while the server is busy hashing.
func signIn(ctx context.Context, url string, cred protocol.Credentials) (*client.Client, error) {
	for {
		c, _, err := client.Login(ctx, url, cred.LoginID, cred.Password, "phone")
		var pe *protocol.Error
		if err == nil || !errors.As(err, &pe) || (pe.Code != protocol.CodeRateLimited && pe.Code != protocol.CodeUnavailable) {
			return c, err
		}
		time.Sleep(time.Duration(max(pe.RetryAfter, 1)) * time.Second)
	}
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
