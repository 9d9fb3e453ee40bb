// Package session runs the desktop app: sign-in, the live connection, the
// encrypted cache and the screens, and the wipe when a session ends.
package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/taiwa-chat/taiwa/desktop/internal/cache"
	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/desktop/internal/ui"
	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/keychain"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// Keychain entry names.
const (
	keyToken  = "session-token"
	keyServer = "server"
	keyCache  = "cache-key"
)

// Options configure the controller.
type Options struct {
	// Keys is the keychain; nil means there is none on this machine.
	Keys keychain.Store
	// DataDir holds the caches (one per server).
	DataDir string
	// Server pre-fills the sign-in form.
	Server string
	Logger *slog.Logger
	// Do runs a function on the UI goroutine (default fyne.Do). Tests
	// pass one that serialises with their own reads.
	Do func(func())
	// Icon is the app's icon, also shown in the system tray.
	Icon fyne.Resource
}

// Controller owns one signed-in session at a time.
type Controller struct {
	app  fyne.App
	win  fyne.Window
	opts Options
	log  *slog.Logger
	do   func(func())

	// Set while signed in; touched only on the UI goroutine, except cli,
	// live and cache, which are safe for concurrent use.
	cli    *client.Client
	server string
	live   *client.Live
	cache  *cache.Cache
	in     *inbox.Inbox
	main   *ui.Main
	cancel context.CancelFunc

	trayIcon, trayMenu bool
	trayUnread         int

	notice string // what the sign-in screen says (UI goroutine)
}

// New returns a controller for the window.
func New(a fyne.App, w fyne.Window, opts Options) *Controller {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Do == nil {
		opts.Do = fyne.Do
	}
	return &Controller{app: a, win: w, opts: opts, log: opts.Logger, do: opts.Do}
}

// Start resumes a stored session, or shows the sign-in screen.
func (c *Controller) Start() {
	if c.opts.Keys != nil {
		token, err1 := c.opts.Keys.Get(keyToken)
		server, err2 := c.opts.Keys.Get(keyServer)
		if err1 == nil && err2 == nil && token != "" {
			c.open(server, client.New(server, token))
			return
		}
	}
	c.showLogin("")
}

func (c *Controller) showLogin(notice string) {
	if c.opts.Keys == nil && notice == "" {
		notice = ui.T("login.noKeychain", "This computer has no keychain, so Taiwa cannot remember your sign-in safely: you will be asked for your password each time, and nothing is cached on disk.")
	}
	c.notice = notice
	server := c.opts.Server
	if c.opts.Keys != nil {
		if s, err := c.opts.Keys.Get(keyServer); err == nil {
			server = s
		}
	}
	l := ui.NewLogin(server, notice, c.login)
	c.win.SetMainMenu(nil)
	c.win.SetContent(l.Content())
}

// login runs on the sign-in screen's goroutine.
func (c *Controller) login(server, loginID, password, code string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	host, _ := os.Hostname()
	cli, resp, err := client.LoginTOTP(ctx, server, loginID, password, "desktop "+host, code)
	if err != nil {
		return err
	}
	if !resp.Account.Role.IsStaff() {
		_ = cli.Logout(ctx)
		return &protocol.Error{Code: protocol.CodeForbidden, Message: "this app is for counselors and admins"}
	}
	if c.opts.Keys != nil {
		if err := errors.Join(c.opts.Keys.Set(keyToken, cli.Token), c.opts.Keys.Set(keyServer, server)); err != nil {
			c.log.Warn("keychain refused the session; it will not survive a restart", "err", err)
		}
	}
	c.do(func() { c.open(server, cli) })
	return nil
}

// cacheDir is per server, so two servers never share a cache.
func (c *Controller) cacheDir(server string) string {
	h := sha256.Sum256([]byte(server))
	return filepath.Join(c.opts.DataDir, "cache-"+hex.EncodeToString(h[:6]))
}

// openCache opens the encrypted cache, or returns nil where there is no
// keychain to hold its key: then nothing is written to disk.
func (c *Controller) openCache(server string) *cache.Cache {
	if c.opts.Keys == nil {
		return nil
	}
	key, err := keychain.CacheKey(c.opts.Keys, keyCache)
	if err != nil {
		c.log.Warn("no cache key; running without a local cache", "err", err)
		return nil
	}
	dir := c.cacheDir(server)
	cc, err := cache.Open(dir, key, nil)
	if errors.Is(err, cache.ErrWrongKey) {
		// Written under a key that no longer exists: unreadable, so useless.
		_ = os.RemoveAll(dir)
		cc, err = cache.Open(dir, key, nil)
	}
	if err != nil {
		c.log.Error("open cache; running without one", "err", err)
		return nil
	}
	return cc
}

// open shows the main screen from the cache at once and connects.
func (c *Controller) open(server string, cli *client.Client) {
	c.cli = cli
	c.cache = c.openCache(server)
	c.in = inbox.New(nil)
	var (
		cursor  int64
		pending []client.PendingMessage
	)
	if c.cache != nil {
		pending = c.loadFromCache()
		cursor, _ = c.cache.Cursor()
	}
	c.main = ui.NewMain(c.in, c.win, ui.Actions{Send: c.send, Read: c.read, Alert: c.alert, Unread: c.tray})
	c.main.Shortcuts(c.win.Canvas())
	c.server = server
	c.setMenu("")
	c.win.SetContent(c.main.Content())
	c.main.Refresh()
	// Bound to this screen, not to c.main, which end() clears: the window
	// can gain and lose focus on the sign-in screen too.
	scrFG := c.main
	c.app.Lifecycle().SetOnEnteredForeground(func() { scrFG.SetForeground(true) })
	c.app.Lifecycle().SetOnExitedForeground(func() { scrFG.SetForeground(false) })

	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	// Callbacks from other goroutines are bound to this session's objects,
	// never to the controller's fields, which end() clears.
	in, scr, cc := c.in, c.main, c.cache
	var (
		live   *client.Live
		reason atomic.Value // why the server ended the session, from its revoked frame
	)
	c.live = cli.Live(client.LiveOptions{Cursor: cursor, Outbox: pending, OnEvent: func(ev any) {
		if f, ok := ev.(*protocol.RevokedFrame); ok {
			reason.Store(f.Reason)
		}
		c.onEvent(ev, in, scr, cc, live)
	}})
	live = c.live
	go func() {
		err := live.Run(ctx)
		// Not after a local logout, which cancelled ctx and already wiped.
		if errors.Is(err, client.ErrRevoked) && ctx.Err() == nil {
			why, _ := reason.Load().(string)
			if why == "" {
				why = "revoked"
			}
			c.do(func() { c.end(why) })
		}
	}()
	// Access hours hold offline too: the cache knows the organisation's
	// rules and this account's role; the server enforces them when online.
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			c.do(func() { c.lockIfOutsideHours(in, scr, cc) })
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	if cc != nil {
		go func() {
			err := cc.RunExpiry(ctx, func(gone []cache.Expired) {
				c.do(func() {
					for _, g := range gone {
						in.Expire(g.ConversationID, g.ID)
					}
					scr.Refresh()
				})
			})
			if err != nil && ctx.Err() == nil {
				c.log.Error("cache expiry stopped", "err", err)
			}
		}()
	}
}

// loadFromCache fills the inbox from the cache and returns the outbox,
// which the live connection resends.
func (c *Controller) loadFromCache() []client.PendingMessage {
	convs, err := c.cache.Conversations()
	if err != nil {
		c.log.Error("read cache", "err", err)
		return nil
	}
	for _, conv := range convs {
		c.in.Apply(&protocol.ConversationFrame{Conversation: conv})
		msgs, err := c.cache.Messages(conv.ID)
		if err != nil {
			c.log.Error("read cache", "err", err)
			continue
		}
		c.in.Load(conv.ID, msgs)
	}
	if org, ok, _ := c.cache.Org(); ok {
		c.in.Apply(&protocol.SettingsFrame{Org: org})
	}
	pending, err := c.cache.Pending()
	if err != nil {
		c.log.Error("read cache outbox", "err", err)
	}
	for _, p := range pending {
		c.in.AddPending(p)
	}
	return pending
}

// lockIfOutsideHours locks the screen of a counselor whose organisation's
// access hours have ended, from what the app knows (the last welcome, or
// the cache before one). Only a welcome unlocks: the server decides that.
func (c *Controller) lockIfOutsideHours(in *inbox.Inbox, scr *ui.Main, cc *cache.Cache) {
	role, org := in.Me().Role, in.Org()
	if role == "" && cc != nil {
		var err error
		if role, err = cc.Role(); err != nil {
			c.log.Error("read cache", "err", err)
		}
	}
	if role != protocol.RoleCounselor || scr.Locked() {
		return
	}
	if open, opens := org.Settings.CounselorWindow(time.Now()); !open {
		scr.Lock(opens)
	}
}

// onEvent runs on the live connection's goroutine: the cache is written
// there, the inbox and screen on the UI goroutine.
func (c *Controller) onEvent(ev any, in *inbox.Inbox, scr *ui.Main, cc *cache.Cache, live *client.Live) {
	if cc != nil {
		if err := cc.Apply(ev); err != nil {
			c.log.Error("cache write failed", "err", err)
		}
	}
	// Deletions the server ordered, once applied to the cache and the
	// screen, are confirmed: admins see per device when the last one was.
	var wipedAt time.Time
	switch f := ev.(type) {
	case *protocol.Welcome:
		wipedAt = f.ServerTime // the snapshot drops what was deleted meanwhile
	case *protocol.DeletedFrame:
		wipedAt = f.At
	case *protocol.ConversationDeletedFrame:
		wipedAt = f.At
	}
	if !wipedAt.IsZero() {
		defer c.do(func() {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := live.Wiped(ctx, wipedAt); err != nil && !errors.Is(err, client.ErrOffline) {
					c.log.Warn("deletion receipt not sent", "err", err)
				}
			}()
		})
	}
	switch f := ev.(type) {
	case client.StateEvent:
		var outside *client.OutsideHoursError
		c.do(func() {
			scr.SetConnection(f.Connected, f.RetryIn)
			if errors.As(f.Err, &outside) {
				scr.Lock(outside.Opens)
			}
		})
	case *protocol.RevokedFrame:
		// Run returns ErrRevoked next; end() wipes.
	case *protocol.Welcome:
		c.do(func() {
			if c.main == scr { // still this session
				c.setMenu(f.Account.Role)
			}
			scr.Unlock() // a welcome means the server shows us client data
			scr.Apply(in.Apply(ev))
		})
	default:
		c.do(func() { scr.Apply(in.Apply(ev)) })
	}
}

func (c *Controller) send(conversationID int64, body string) {
	p := client.PendingMessage{Ref: client.NewRef(), ConversationID: conversationID, Body: body}
	if c.cache != nil {
		if err := c.cache.AddPending(p); err != nil {
			c.log.Error("outbox write failed", "err", err)
		}
	}
	c.in.AddPending(p)
	c.live.EnqueueRef(p.Ref, p.ConversationID, p.Body)
}

func (c *Controller) read(conversationID, seq int64) {
	live := c.live
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := live.Receipt(ctx, conversationID, seq, seq); err != nil && !errors.Is(err, client.ErrOffline) {
			c.log.Warn("read receipt failed", "err", err)
		}
	}()
}

// tray shows the unread count in the system tray's menu, where there is
// one. The icon itself stays the same: no client text, no names.
func (c *Controller) tray(unread int) {
	desk, ok := c.app.(desktop.App)
	if !ok {
		return
	}
	if c.opts.Icon != nil && !c.trayIcon {
		desk.SetSystemTrayIcon(c.opts.Icon)
		c.trayIcon = true
	}
	if unread == c.trayUnread && c.trayMenu {
		return
	}
	c.trayUnread, c.trayMenu = unread, true
	count := fyne.NewMenuItem(ui.T("tray.unread", "Unread: {{.Count}}", map[string]any{"Count": unread}), nil)
	count.Disabled = true
	show := fyne.NewMenuItem(ui.T("tray.show", "Show Taiwa"), func() { c.win.Show(); c.win.RequestFocus() })
	desk.SetSystemTrayMenu(fyne.NewMenu("Taiwa", count, show))
}

// alert shows an OS notification without any client text.
func (c *Controller) alert() {
	c.app.SendNotification(fyne.NewNotification(ui.T("notify.title", "Taiwa"), ui.T("notify.body", "A client has written.")))
}

// setMenu offers admin settings to admins; the role is known from the
// welcome, which a session resumed from the keychain has not had yet.
func (c *Controller) setMenu(role protocol.Role) {
	items := []*fyne.MenuItem{fyne.NewMenuItem(ui.T("menu.logout", "Sign out"), c.Logout)}
	if cli := c.cli; cli != nil && role.IsStaff() {
		items = append([]*fyne.MenuItem{
			fyne.NewMenuItem(ui.T("menu.password", "Change password…"), func() { ui.ShowChangePassword(c.win, cli, c.do) }),
			fyne.NewMenuItem(ui.T("menu.totp", "Two-step sign-in…"), func() { ui.ShowTOTP(c.win, cli, c.do) }),
		}, items...)
	}
	if role == protocol.RoleAdmin {
		server, cli := c.server, c.cli
		items = append([]*fyne.MenuItem{fyne.NewMenuItem(ui.T("menu.admin", "Admin settings…"), func() { c.openAdmin(server, cli) })}, items...)
	}
	c.win.SetMainMenu(fyne.NewMainMenu(fyne.NewMenu("Taiwa", items...)))
}

// openAdmin shows the admin settings in a window of their own, so that the
// conversation stays in view.
func (c *Controller) openAdmin(server string, cli *client.Client) {
	w := c.app.NewWindow(ui.T("menu.admin", "Admin settings…"))
	a := ui.NewAdmin(cli, w, server+"/")
	w.SetContent(a.Content())
	w.Resize(fyne.NewSize(1000, 680))
	a.Reload()
	w.Show()
}

// Close stops the connection and closes the cache, keeping both the
// session and the cache for the next start (the app is quitting).
func (c *Controller) Close() {
	if c.cancel != nil {
		c.cancel()
	}
	if c.cache != nil {
		if err := c.cache.Close(); err != nil {
			c.log.Error("close cache", "err", err)
		}
	}
}

// Logout ends the session on the server and wipes this machine's copy.
func (c *Controller) Logout() {
	cli := c.cli
	c.end("logout") // the local wipe happens whatever the network says
	if cli != nil {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := cli.Logout(ctx); err != nil {
				return // best effort: the session expires on the server anyway
			}
			if err := cli.ConfirmWiped(ctx); err != nil {
				c.log.Warn("wipe confirmation not sent", "err", err)
			}
		}()
	}
}

// end stops the connection and wipes everything local: cache files, the
// cache key and the token. Without the key, any copy of the cache that
// escaped deletion stays unreadable.
func (c *Controller) end(reason string) {
	if c.cancel != nil {
		c.cancel()
	}
	cli := c.cli
	if c.cache != nil {
		if err := c.cache.Wipe(); err != nil {
			c.log.Error("cache wipe failed", "err", err)
		}
	}
	if c.opts.Keys != nil {
		for _, k := range []string{keyToken, keyCache} {
			if err := c.opts.Keys.Delete(k); err != nil {
				c.log.Error("keychain delete failed", "entry", k, "err", err)
			}
		}
	}
	c.cli, c.live, c.cache, c.in, c.main, c.cancel = nil, nil, nil, nil, nil, nil
	if cli != nil && reason != "logout" { // Logout confirms after signing out
		// Ended by the server and wiped: say so with the ended session's token.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := cli.ConfirmWiped(ctx); err != nil {
				c.log.Warn("wipe confirmation not sent", "err", err)
			}
		}()
	}
	notice := ""
	if reason != "logout" {
		notice = ui.T("login.ended", "Your session ended ({{.Reason}}). Local data has been wiped. Please sign in again.",
			map[string]any{"Reason": ui.T("devices.reason."+reason, reason)})
	}
	c.showLogin(notice)
}
