package session

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/taiwa-chat/taiwa/desktop/internal/ui"
	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/keychain"
	"github.com/taiwa-chat/taiwa/server/servertest"
)

// link is a TCP proxy that the test can cut and restore, standing in for
// a counselor's network going away.
type link struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	up     bool
	conns  []net.Conn
}

func newLink(t *testing.T, target string) *link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &link{ln: ln, target: target, up: true}
	t.Cleanup(func() { ln.Close(); l.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.mu.Lock()
			up := l.up
			l.mu.Unlock()
			if !up {
				c.Close()
				continue
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			l.mu.Lock()
			l.conns = append(l.conns, c, s)
			l.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return l
}

func (l *link) url() string { return "http://" + l.ln.Addr().String() }

func (l *link) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.up = false
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

func (l *link) restore() { l.mu.Lock(); l.up = true; l.mu.Unlock() }

func TestOfflineRepliesSurviveRestart(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(ui.Theme{})
	srv := servertest.New(t)
	wire := newLink(t, strings.TrimPrefix(srv.URL, "http://"))
	counselor := srv.Counselor(t, "田中")
	cl, _ := srv.Client(t, "さくら")

	h := &harness{}
	opts := Options{Keys: &keychain.Memory{}, DataDir: t.TempDir(), Do: h.do, DoWait: h.do}
	ctrl := New(a, a.NewWindow("t"), opts)
	h.do(ctrl.Start)
	if err := ctrl.login(wire.url(), counselor.LoginID, counselor.Password, ""); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "connected", func() bool { return ctrl.live.Connected() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clLive := cl.Live(client.LiveOptions{MinBackoff: 20 * time.Millisecond})
	go clLive.Run(ctx)
	if _, err := clLive.Send(ctx, 0, "聞いてもらえますか"); err != nil {
		t.Fatal(err)
	}
	conv := takeFromPool(t, ctrl, h)

	wire.cut()
	h.waitFor(t, "offline", func() bool { return !ctrl.live.Connected() })
	h.do(func() { ctrl.send(conv, "オフラインで書いた返事") })
	h.do(func() {
		if p := ctrl.in.Conv(conv).Pending; len(p) != 1 {
			t.Fatalf("pending on screen: %d", len(p))
		}
	})

	// Quit and start again, still offline: the reply is still waiting.
	h.do(ctrl.Close)
	ctrl = New(a, a.NewWindow("t2"), opts)
	h.do(ctrl.Start)
	h.do(func() {
		if c := ctrl.in.Conv(conv); c == nil || len(c.Pending) != 1 || c.Pending[0].Body != "オフラインで書いた返事" {
			t.Fatalf("outbox lost across restart: %+v", c)
		}
	})

	wire.restore()
	h.waitFor(t, "reply delivered and outbox empty", func() bool {
		c := ctrl.in.Conv(conv)
		return ctrl.live.Connected() && len(c.Pending) == 0 && len(c.Messages) == 2
	})
	page, err := cl.History(ctx, conv, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range page.Messages {
		if m.Body == "オフラインで書いた返事" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("offline reply stored %d times", n)
	}
	h.do(ctrl.Close)
}
