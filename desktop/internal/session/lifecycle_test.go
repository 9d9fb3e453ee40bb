package session

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/test"

	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/desktop/internal/ui"
	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/keychain"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/servertest"
)

// signedIn starts a controller signed in as a new staff member of role.
func signedIn(t *testing.T, srv *servertest.Server, role protocol.Role, opts Options) (*Controller, *harness, fyne.App, protocol.Credentials) {
	t.Helper()
	cred, err := srv.Admin.CreateStaff(context.Background(), protocol.CreateStaffRequest{Nickname: "スタッフ", Role: role})
	if err != nil {
		t.Fatal(err)
	}
	ctrl, h, a := signedInAs(t, srv, cred, opts)
	return ctrl, h, a, cred
}

// takeFromPool waits for the one conversation in the pool, opens it and
// takes it (担当する), as a counselor would, and waits until it is theirs
// and in front.
func takeFromPool(t *testing.T, ctrl *Controller, h *harness) int64 {
	t.Helper()
	var conv int64
	h.waitFor(t, "the conversation in the pool", func() bool {
		if cs := ctrl.in.List(inbox.ViewPool, inbox.FilterAll, ""); len(cs) == 1 {
			conv = cs[0].ID
		}
		return conv != 0
	})
	h.do(func() { ctrl.main.Open(conv); ctrl.main.Claim() })
	h.waitFor(t, "the conversation taken and in front", func() bool {
		f := ctrl.in.Focused()
		return f != nil && f.ID == conv && ctrl.in.Mine(f) && len(f.Messages) > 0
	})
	return conv
}

// signedInAs signs the app in with a staff member's credentials.
func signedInAs(t *testing.T, srv *servertest.Server, cred protocol.Credentials, opts Options) (*Controller, *harness, fyne.App) {
	t.Helper()
	return signedInWith(t, srv, cred, opts, &harness{})
}

// signedInWith is signedInAs with a given harness: apps of one test
// share one, as they would share the one UI goroutine (Fyne's caches are
// global, and two apps on two locks race in them).
func signedInWith(t *testing.T, srv *servertest.Server, cred protocol.Credentials, opts Options, h *harness) (*Controller, *harness, fyne.App) {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(ui.Theme{})
	opts.Do, opts.DoWait = h.do, h.do
	ctrl := New(a, a.NewWindow("main"), opts)
	h.do(ctrl.Start)
	if err := ctrl.login(srv.URL, cred.LoginID, cred.Password, ""); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "connected", func() bool { return ctrl.live != nil && ctrl.live.Connected() })
	t.Cleanup(func() { h.do(ctrl.Close) })
	return ctrl, h, a
}

// Every window that shows client data closes when the session ends,
// however it ends; so do dialogs over the conversation.
func TestWindowsCloseWhenTheSessionEnds(t *testing.T) {
	tests := []struct {
		name string
		end  func(t *testing.T, srv *servertest.Server, ctrl *Controller, h *harness, id int64)
	}{
		{"logout", func(t *testing.T, _ *servertest.Server, ctrl *Controller, h *harness, _ int64) { h.do(ctrl.Logout) }},
		{"forced logout", func(t *testing.T, srv *servertest.Server, _ *Controller, _ *harness, id int64) {
			if err := srv.Admin.ForceLogout(context.Background(), id); err != nil {
				t.Fatal(err)
			}
		}},
		{"account deleted", func(t *testing.T, srv *servertest.Server, _ *Controller, _ *harness, id int64) {
			if err := srv.Admin.DeleteStaff(context.Background(), id); err != nil {
				t.Fatal(err)
			}
		}},
		// Idle expiry reaches the app as the same revoked frame (tested on
		// the server); here its reason takes the same path.
		{"idle expiry", func(t *testing.T, _ *servertest.Server, ctrl *Controller, h *harness, _ int64) {
			h.do(func() { ctrl.end("idle") })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := servertest.New(t)
			ctrl, h, a, cred := signedIn(t, srv, protocol.RoleAdmin, Options{Keys: &keychain.Memory{}, DataDir: t.TempDir()})
			h.do(func() {
				ctrl.openAdmin(ctrl.server, ctrl.cli)
				ctrl.windows.New("supervisor's view").Show()
				dialog.ShowInformation("over the conversation", "client data", ctrl.win)
			})
			var before int
			h.do(func() { before = len(a.Driver().AllWindows()) })
			if before < 3 {
				t.Fatalf("%d windows open", before)
			}
			tt.end(t, srv, ctrl, h, cred.Account.ID)
			h.waitFor(t, "the session's windows closed", func() bool { return ctrl.main == nil && ctrl.windows.Count() == 0 })
			h.do(func() {
				if n := len(a.Driver().AllWindows()); n != before-2 {
					var titles []string
					for _, w := range a.Driver().AllWindows() {
						titles = append(titles, w.Title())
					}
					t.Errorf("windows open after the session ended: %q", titles)
				}
				if ctrl.win.Canvas().Overlays().Top() != nil {
					t.Error("a dialog over the conversation survived the session")
				}
			})
		})
	}
}

func TestPlainHTTPRefused(t *testing.T) {
	a := test.NewTempApp(t)
	ctrl := New(a, a.NewWindow("t"), Options{Do: (&harness{}).do, DoWait: (&harness{}).do})
	err := ctrl.login("http://taiwa.example.org", "kanri", "password", "")
	var ae *ui.AddressError
	if !errors.As(err, &ae) {
		t.Fatalf("signed in over plain HTTP to another host: %v", err)
	}
}

// Drafts survive a restart (the encrypted cache keeps them).
func TestDraftsSurviveRestart(t *testing.T) {
	srv := servertest.New(t)
	cl, _ := srv.Client(t, "さくら")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clLive := cl.Live(client.LiveOptions{})
	go clLive.Run(ctx)
	if _, err := clLive.Send(ctx, 0, "こんにちは"); err != nil {
		t.Fatal(err)
	}
	opts := Options{Keys: &keychain.Memory{}, DataDir: t.TempDir()}
	ctrl, h, a, _ := signedIn(t, srv, protocol.RoleCounselor, opts)
	conv := takeFromPool(t, ctrl, h)
	h.do(func() { ctrl.drafts.Set(conv, "書きかけの返事です") })
	h.do(ctrl.Close)

	h2 := &harness{}
	opts.Do, opts.DoWait = h2.do, h2.do
	ctrl2 := New(a, a.NewWindow("again"), opts)
	h2.do(ctrl2.Start)
	defer h2.do(ctrl2.Close)
	h2.do(func() {
		if c := ctrl2.in.Conv(conv); c == nil || c.Draft != "書きかけの返事です" {
			t.Fatalf("draft lost across a restart: %+v", c)
		}
	})
}

// Quitting or signing out with replies not yet sent asks first; nothing
// is lost without a word.
func TestQuitAndSignOutAskWithUnsentReplies(t *testing.T) {
	srv := servertest.New(t)
	wire := newLink(t, strings.TrimPrefix(srv.URL, "http://"))
	cl, _ := srv.Client(t, "さくら")
	a := test.NewTempApp(t)
	h := &harness{}
	cred, _ := srv.Admin.CreateStaff(context.Background(), protocol.CreateStaffRequest{Nickname: "田中", Role: protocol.RoleCounselor})
	w := a.NewWindow("main")
	ctrl := New(a, w, Options{Do: h.do, DoWait: h.do}) // no keychain: nothing survives a quit
	h.do(ctrl.Start)
	if err := ctrl.login(wire.url(), cred.LoginID, cred.Password, ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clLive := cl.Live(client.LiveOptions{})
	go clLive.Run(ctx)
	if _, err := clLive.Send(ctx, 0, "聞いてください"); err != nil {
		t.Fatal(err)
	}
	conv := takeFromPool(t, ctrl, h)
	wire.cut()
	h.waitFor(t, "offline", func() bool { return !ctrl.live.Connected() })
	h.do(func() { ctrl.send(conv, "オフラインで書いた返事") })

	open := func() bool {
		for _, x := range a.Driver().AllWindows() {
			if x == w {
				return true
			}
		}
		return false
	}
	h.do(func() {
		ctrl.RequestQuit()
		if w.Canvas().Overlays().Top() == nil || !open() {
			t.Fatal("quit with an unsent reply and no keychain did not ask")
		}
		w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape}) // go back
		if w.Canvas().Overlays().Top() != nil || !open() {
			t.Fatal("Escape did not go back")
		}
		ctrl.RequestLogout()
		if w.Canvas().Overlays().Top() == nil || ctrl.main == nil {
			t.Fatal("sign-out with an unsent reply did not ask")
		}
		w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn}) // sign out and discard
		if ctrl.main != nil {
			t.Fatal("sign-out not done after confirming")
		}
		// Nothing left to lose: quitting does not ask.
		ctrl.RequestQuit()
		if open() {
			t.Fatal("quit asked or did not quit with nothing unsent")
		}
	})
}

// platformKeys refuses what the tightest OS keychains refuse: Windows'
// Credential Manager 2,560 bytes a secret, macOS about 3,000 bytes for
// the service, the entry's name and the secret together (go-keyring's
// ErrSetDataTooBig).
type platformKeys struct {
	keychain.Memory
	largest int
}

func (k *platformKeys) Set(name, value string) error {
	if len(value) > 2560 || len(keychain.Service)+len(name)+len(value) > 3000 {
		return errors.New("data passed to Set was too big")
	}
	k.largest = max(k.largest, len(value))
	return k.Memory.Set(name, value)
}

// Everything the app keeps in the keychain fits every platform's, with
// the longest server address the sign-in screen accepts.
func TestKeychainEntriesFitEveryPlatform(t *testing.T) {
	srv := servertest.New(t)
	keys := &platformKeys{}
	long := srv.URL + "/" + strings.Repeat("x", ui.MaxServerBytes-len(srv.URL)-1)
	if err := ui.CheckServer(long); err != nil {
		t.Fatalf("the longest accepted address was refused: %v", err)
	}
	if err := ui.CheckServer(long + "x"); err == nil {
		t.Fatal("an address longer than the keychain's room was accepted")
	}
	ctrl, h, _, _ := signedIn(t, srv, protocol.RoleCounselor, Options{Keys: keys, DataDir: t.TempDir()})
	h.do(func() {
		for _, k := range []string{keyToken, keyServer, keyCache} {
			if v, err := keys.Get(k); err != nil || v == "" {
				t.Errorf("%s not kept: %v", k, err)
			}
		}
		if err := keys.Set(keyServer, long); err != nil {
			t.Errorf("the longest address does not fit: %v", err)
		}
	})
	_ = ctrl
}

// Typing crosses the wire both ways: the counselor's reaches the client
// (at most every protocol.TypingEvery), the client's shows in the app.
func TestTypingBothWays(t *testing.T) {
	srv := servertest.New(t)
	cl, _ := srv.Client(t, "さくら")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	frames := make(chan *protocol.TypingFrame, 8)
	clLive := cl.Live(client.LiveOptions{OnEvent: func(ev client.Event) {
		if f, ok := ev.Frame.(*protocol.TypingFrame); ok {
			frames <- f
		}
	}})
	go clLive.Run(ctx)
	if _, err := clLive.Send(ctx, 0, "こんにちは"); err != nil {
		t.Fatal(err)
	}
	ctrl, h, _, _ := signedIn(t, srv, protocol.RoleCounselor, Options{})
	conv := takeFromPool(t, ctrl, h)
	h.do(func() { ctrl.sess.typing(conv); ctrl.sess.typing(conv) }) // the second is throttled
	select {
	case f := <-frames:
		if f.SenderRole == protocol.RoleClient {
			t.Fatalf("the client heard its own typing: %+v", f)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the client never heard the counselor typing")
	}
	if err := clLive.Typing(ctx, 0); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the client's typing shown", func() bool {
		_, ok := ctrl.in.Conv(conv).Typing(time.Now())
		return ok
	})
}
