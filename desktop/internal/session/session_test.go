package session

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/desktop/internal/ui"
	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/keychain"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/servertest"
)

// harness serialises the controller's UI work with the test's reads, as
// the real UI goroutine would.
type harness struct {
	mu sync.Mutex
}

func (h *harness) do(f func()) { h.mu.Lock(); defer h.mu.Unlock(); f() }

// waitFor polls cond (run under the UI lock) until it holds.
func (h *harness) waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ok bool
		h.do(func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dirContains(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, needle) {
			hits = append(hits, path)
		}
		return nil
	})
	return hits
}

// TestCounselorSession runs the desktop controller against a real server:
// sign in, receive a client's message, reply, restart from the encrypted
// cache, and be forced out by an admin, which wipes everything local.
func TestCounselorSession(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(ui.Theme{})
	w := a.NewWindow("test")
	srv := servertest.New(t)
	counselor := srv.Counselor(t, "田中")
	cl, _ := srv.Client(t, "さくら")

	h := &harness{}
	keys := &keychain.Memory{}
	data := t.TempDir()
	opts := Options{Keys: keys, DataDir: data, Do: h.do, DoWait: h.do}
	ctrl := New(a, w, opts)
	h.do(ctrl.Start)
	if err := ctrl.login(srv.URL, counselor.LoginID, counselor.Password, ""); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "connected", func() bool { return ctrl.live != nil && ctrl.live.Connected() })

	// The client writes first; the conversation comes to the front.
	clLive := cl.Live(client.LiveOptions{MinBackoff: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go clLive.Run(ctx)
	const secret = "CACHE-MARKER 眠れない日が続いています"
	if _, err := clLive.Send(ctx, 0, secret); err != nil {
		t.Fatal(err)
	}
	// It waits in the pool: announced, never brought to the front, and its
	// words are not sent to a counselor who has not taken it.
	var conv int64
	h.waitFor(t, "the conversation in the pool", func() bool {
		cs := ctrl.in.List(inbox.ViewPool, inbox.FilterAll, "")
		if len(cs) == 1 && cs[0].Nickname == "さくら" {
			conv = cs[0].ID
		}
		return conv != 0
	})
	h.do(func() {
		if ctrl.in.Focused() != nil || len(ctrl.in.Conv(conv).Messages) != 0 {
			t.Fatal("a pool conversation came to the front, or its words were sent")
		}
	})
	// The counselor opens it in 未対応: a preview (recorded), then 担当する.
	h.do(func() { ctrl.main.SetView(inbox.ViewPool); ctrl.main.Open(conv) })
	h.waitFor(t, "the preview", func() bool {
		f := ctrl.in.Focused()
		return f != nil && len(f.Preview) == 1 && f.Preview[0].Body == secret
	})
	h.do(func() { ctrl.main.Claim() })
	h.waitFor(t, "the client's message in front, now the counselor's", func() bool {
		f := ctrl.in.Focused()
		return f != nil && f.Nickname == "さくら" && ctrl.in.Mine(f) && len(f.Messages) == 1 && f.Messages[0].Body == secret &&
			ctrl.main.View() == inbox.ViewMine
	})

	// The counselor answers; the reply reaches the client and leaves the outbox.
	h.do(func() { ctrl.send(conv, "お話を聞かせてください") })
	h.waitFor(t, "reply acknowledged", func() bool {
		f := ctrl.in.Focused()
		return len(f.Pending) == 0 && len(f.Messages) == 2
	})
	if pending, _ := ctrl.cache.Pending(); len(pending) != 0 {
		t.Fatalf("outbox not cleared: %+v", pending)
	}
	if hits := dirContains(t, data, []byte("CACHE-MARKER")); len(hits) > 0 {
		t.Fatalf("client text in plaintext on disk: %v", hits)
	}
	if tok, err := keys.Get(keyToken); err != nil || tok == "" {
		t.Fatal("token not kept in the keychain")
	}

	// Quit and start again: the conversation is there before any network.
	h.do(ctrl.Close)
	ctrl2 := New(a, w, opts)
	h.do(ctrl2.Start)
	h.do(func() {
		convs := ctrl2.in.List(inbox.ViewAll, inbox.FilterAll, "")
		if len(convs) != 1 || len(convs[0].Messages) != 2 {
			t.Fatalf("not opened from the cache: %d conversations", len(convs))
		}
	})
	h.waitFor(t, "reconnected", func() bool { return ctrl2.live != nil && ctrl2.live.Connected() })

	// An admin forces the counselor out: the app wipes and asks again.
	staff, err := srv.Admin.Staff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	for _, s := range staff {
		if s.Role == protocol.RoleCounselor {
			id = s.ID
		}
	}
	if err := srv.Admin.ForceLogout(ctx, id); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "wiped after forced logout", func() bool { return ctrl2.main == nil })
	h.do(func() {
		if want := ui.T("devices.reason.forced", "forced"); !strings.Contains(ctrl2.notice, want) {
			t.Errorf("sign-in screen says %q, not why (%q)", ctrl2.notice, want)
		}
	})
	// The app confirms the wipe: the admin sees it per device.
	h.waitFor(t, "the wipe confirmed to the server", func() bool {
		ds, err := srv.Admin.Devices(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.EndReason == "forced" && d.WipedAt != nil {
				return true
			}
		}
		return false
	})
	// The window keeps gaining and losing focus on the sign-in screen.
	h.do(func() {
		lc := a.Lifecycle().(interface{ OnEnteredForeground() func() })
		if f := lc.OnEnteredForeground(); f != nil {
			f()
		}
	})
	if _, err := keys.Get(keyToken); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("token survived: %v", err)
	}
	if _, err := keys.Get(keyCache); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("cache key survived: %v", err)
	}
	entries, _ := os.ReadDir(ctrl2.cacheDir(srv.URL))
	if len(entries) != 0 {
		t.Fatalf("cache files survived: %v", entries)
	}
}

// Without a keychain nothing is written to disk.
func TestNoKeychainKeepsNothing(t *testing.T) {
	a := test.NewTempApp(t)
	w := a.NewWindow("test")
	srv := servertest.New(t)
	counselor := srv.Counselor(t, "田中")
	h := &harness{}
	data := t.TempDir()
	ctrl := New(a, w, Options{DataDir: data, Do: h.do, DoWait: h.do})
	h.do(ctrl.Start)
	if err := ctrl.login(srv.URL, counselor.LoginID, counselor.Password, ""); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "connected", func() bool { return ctrl.live != nil && ctrl.live.Connected() })
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Fatalf("wrote to disk without a keychain: %v", entries)
	}
	h.do(ctrl.Close)
}

func TestClientsCannotUseTheDesktopApp(t *testing.T) {
	a := test.NewTempApp(t)
	srv := servertest.New(t)
	_, cred := srv.Client(t, "さくら")
	ctrl := New(a, a.NewWindow("t"), Options{Do: (&harness{}).do, DoWait: (&harness{}).do})
	err := ctrl.login(srv.URL, cred.LoginID, cred.Password, "")
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeForbidden {
		t.Fatalf("client signed in to the counselor app: %v", err)
	}
}

// Outside the organisation's access hours a counselor's app shows the lock
// notice and no client data; the server refuses it anyway.
func TestOutsideAccessHoursLocks(t *testing.T) {
	a := test.NewTempApp(t)
	w := a.NewWindow("test")
	srv := servertest.New(t)
	counselor := srv.Counselor(t, "田中")
	cl, _ := srv.Client(t, "さくら")
	ctx := context.Background()
	clLive := cl.Live(client.LiveOptions{})
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go clLive.Run(lctx)
	if _, err := clLive.Send(ctx, 0, "夜中に書いています"); err != nil {
		t.Fatal(err)
	}
	// Open one hour, three days from now: now is outside, whatever the day.
	day := (time.Now().UTC().Weekday() + 3) % 7
	on := true
	if _, err := srv.Admin.UpdateSettings(ctx, protocol.SettingsPatch{
		Hours:              &hours.Schedule{TimeZone: "UTC", Spans: []hours.Span{{Day: day, Start: 9 * 60, End: 10 * 60}}},
		CounselorHoursOnly: &on,
	}); err != nil {
		t.Fatal(err)
	}

	h := &harness{}
	ctrl := New(a, w, Options{Keys: &keychain.Memory{}, DataDir: t.TempDir(), Do: h.do, DoWait: h.do})
	h.do(ctrl.Start)
	if err := ctrl.login(srv.URL, counselor.LoginID, counselor.Password, ""); err != nil {
		t.Fatal(err)
	}
	// Its goroutines (the clock) stop with the test: the next one's screen
	// shares Fyne's font cache.
	defer h.do(ctrl.Close)
	h.waitFor(t, "the lock notice", func() bool { return ctrl.main != nil && ctrl.main.Locked() })
	h.do(func() {
		if n := len(ctrl.in.List(inbox.ViewAll, inbox.FilterAll, "")); n != 0 {
			t.Errorf("%d conversations reached the app outside hours", n)
		}
	})
}

// Offline, the app applies the access hours it last heard of: a counselor
// whose window has closed sees the lock; an admin does not.
func TestLockFromKnownRules(t *testing.T) {
	a := test.NewTempApp(t)
	w := a.NewWindow("test")
	day := (time.Now().UTC().Weekday() + 3) % 7 // one hour, three days away: closed now
	org := protocol.Org{ID: 1, Settings: protocol.Settings{
		Hours:              hours.Schedule{TimeZone: "UTC", Spans: []hours.Span{{Day: day, Start: 9 * 60, End: 10 * 60}}},
		CounselorHoursOnly: true,
	}}
	for _, tt := range []struct {
		role protocol.Role
		lock bool
	}{{protocol.RoleCounselor, true}, {protocol.RoleAdmin, false}} {
		t.Run(string(tt.role), func(t *testing.T) {
			ctrl := New(a, w, Options{Keys: &keychain.Memory{}, DataDir: t.TempDir()})
			in := inbox.New(nil)
			in.Apply(&protocol.Welcome{Account: protocol.Account{ID: 1, Role: tt.role}, Org: org})
			scr := ui.NewMain(in, w, ui.Actions{Send: func(int64, string) {}, Read: func(int64, int64) {}, Alert: func() {}, Unread: func(int) {}})
			ctrl.lockIfOutsideHours(in, scr, nil)
			if scr.Locked() != tt.lock {
				t.Fatalf("locked = %v, want %v", scr.Locked(), tt.lock)
			}
		})
	}
}
