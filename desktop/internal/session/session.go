// Package session runs the desktop app: sign-in, the live connection, the
// encrypted cache and the screens, and the wipe when a session ends. Every
// window that shows client data belongs to the session and closes with it.
package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
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

// Paging: how many messages of each conversation are read at start, and
// how many more each time the counselor scrolls to the top.
const (
	startPage = 60
	olderPage = 100
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
	// Do runs a function on the UI goroutine without waiting (default
	// fyne.Do); DoWait runs it and waits (default fyne.DoAndWait), which
	// paces the live connection's batches to what the screen can take.
	// Tests pass functions that serialise with their own reads.
	Do, DoWait func(func())
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
	wait func(func())

	// Set while signed in; touched only on the UI goroutine, except cli,
	// live and cache, which are safe for concurrent use.
	cli     *client.Client
	server  string
	live    *client.Live
	cache   *cache.Cache
	in      *inbox.Inbox
	main    *ui.Main
	drafts  *drafts
	cancel  context.CancelFunc
	sess    *session
	windows *windows

	trayIcon, trayMenu bool
	trayUnread         int
	trayUnhandled      int // conversations with no reply after the client's message (issue 14)

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
	if opts.DoWait == nil {
		opts.DoWait = fyne.DoAndWait
	}
	c := &Controller{app: a, win: w, opts: opts, log: opts.Logger, do: opts.Do, wait: opts.DoWait, windows: &windows{app: a}}
	w.SetCloseIntercept(c.RequestQuit)
	return c
}

// Start resumes a stored session, or shows the sign-in screen.
func (c *Controller) Start() {
	if c.opts.Keys != nil {
		token, err1 := c.opts.Keys.Get(keyToken)
		server, err2 := c.opts.Keys.Get(keyServer)
		if err1 == nil && err2 == nil && token != "" && ui.CheckServer(server) == nil {
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
	l.FocusFirst(c.win)
}

// login runs on the sign-in screen's goroutine.
func (c *Controller) login(server, loginID, password, code string) error {
	if err := ui.CheckServer(server); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	host, _ := os.Hostname()
	cli, resp, err := client.LoginTOTP(ctx, server, loginID, password, "desktop "+host, code)
	if err != nil {
		return err
	}
	if resp.Account.Role == protocol.RoleRegistrar {
		// A registrar (issue 16) gets the registration screen alone. The
		// session is not kept in the keychain: a registrar signs in each
		// time, and nothing of theirs is cached.
		c.do(func() { c.openRegistrar(server, cli) })
		return nil
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

// session is what the goroutines of one signed-in session hold: never the
// controller's fields, which end() clears.
type session struct {
	in     *inbox.Inbox
	scr    *ui.Main
	cache  *cache.Cache
	live   *client.Live
	cli    *client.Client
	ctx    context.Context
	reason atomic.Value // why the server ended the session, from its revoked frame
	files  *files       // attachments: cache, thumbnails, uploads (issue 14)
	// clients maps each conversation to its client, to notice a number
	// that now names another client (see welcomed).
	mu      sync.Mutex
	clients map[int64]int64
	// typed is when each conversation's typing frame was last sent (UI
	// goroutine): at most one per protocol.TypingEvery.
	typed map[int64]time.Time
}

// typing tells the other side the counselor is writing, at most every
// protocol.TypingEvery; offline it says nothing.
func (s *session) typing(conv int64) {
	now := time.Now()
	if now.Sub(s.typed[conv]) < protocol.TypingEvery {
		return
	}
	s.typed[conv] = now
	go func() {
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		defer cancel()
		_ = s.live.Typing(ctx, conv) // best effort: a lost frame only hides a hint
	}()
}

// open shows the main screen from the cache at once and connects.
func (c *Controller) open(server string, cli *client.Client) {
	c.cli, c.server = cli, server
	c.cache = c.openCache(server)
	c.in = inbox.New(nil)
	c.drafts = newDrafts(c.cache, c.log)
	var (
		cursor  int64
		pending []client.PendingMessage
	)
	if c.cache != nil {
		pending = c.loadFromCache()
		cursor, _ = c.cache.Cursor()
		// Offline, the app is still usable: the longest wait in front.
		if q := c.in.Queue(); len(q) > 0 {
			c.in.Focus(q[0].ID)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	s := &session{in: c.in, cache: c.cache, cli: cli, ctx: ctx, clients: map[int64]int64{}, typed: map[int64]time.Time{}}
	c.sess = s
	s.files = newFiles(c, s)
	for _, conv := range c.in.List(inbox.ViewAll, inbox.FilterAll, "") {
		s.clients[conv.ID] = conv.ClientID
	}
	p := newPump()
	c.live = cli.Live(client.LiveOptions{Cursor: cursor, Outbox: pending, OnEvent: func(ev client.Event) {
		switch f := ev.Frame.(type) {
		case *protocol.RevokedFrame:
			s.reason.Store(f.Reason)
		case *protocol.Welcome:
			c.welcomed(s, f)
		case *protocol.ConversationWithdrawnFrame:
			// No longer ours: replies queued for it are never sent.
			if n := s.live.WithdrawConversation(f.ConversationID); n > 0 {
				c.log.Info("replies withdrawn with their conversation", "count", n)
			}
		}
		p.push(ev)
	}})
	s.live = c.live
	// The screen is built after the connection exists (not running yet):
	// showing a conversation reports it read over it.
	c.main = ui.NewMain(c.in, c.win, ui.Actions{
		Send: c.send, Read: c.read, Alert: c.alert, Unread: c.tray,
		Older:       func(conv, before int64) { go c.older(s, conv, before) },
		Draft:       c.drafts.Set,
		Typing:      s.typing,
		Claim:       func(conv int64) { go c.claim(s, conv) },
		Preview:     func(conv int64) { go c.preview(s, conv) },
		AlertPool:   c.alertPool,
		AlertRisk:   c.alertRisk,
		Note:        c.note,
		Transfer:    func(conv int64, to *int64, note string) { go c.transfer(s, conv, to, note) },
		End:         func(conv int64) { go c.endConversation(s, conv) },
		SetPresence: func(p protocol.Presence) { go c.setPresence(s, p) },
		Nominations: func(on bool) { go c.setNominations(s, on) },
		// Issue 14: replies that set progress, progress by hand, templates.
		SendWith:    c.sendWith,
		SetProgress: c.setProgress(s),
		Templates:   c.templateAPI(s),
		Unhandled:   c.trayUnhandledCount,
		Remind:      c.remind,
		SetNote:     c.setNote(s),
		Files:       s.files,
	})
	s.scr = c.main
	c.main.Shortcuts(c.win.Canvas())
	c.setMenu("")
	c.win.SetContent(c.main.Content())
	c.win.SetOnDropped(c.main.Dropped) // a photo or PDF dropped on the window goes to the conversation in front (asked first)
	// Bound to this screen, not to c.main, which end() clears: the window
	// can gain and lose focus on the sign-in screen too.
	scrFG := c.main
	c.app.Lifecycle().SetOnEnteredForeground(func() { scrFG.SetForeground(true) })
	c.app.Lifecycle().SetOnExitedForeground(func() { scrFG.SetForeground(false) })

	go c.run(s)
	go c.deliver(s, p)
	go c.tick(s)
	if s.cache != nil {
		go c.expire(s)
	}
}

// run drives the live connection until the session ends.
func (c *Controller) run(s *session) {
	err := s.live.Run(s.ctx)
	// Not after a local logout, which cancelled ctx and already wiped.
	if errors.Is(err, client.ErrRevoked) && s.ctx.Err() == nil {
		why, _ := s.reason.Load().(string)
		if why == "" {
			why = "revoked"
		}
		c.do(func() {
			if c.main == s.scr {
				c.end(why)
			}
		})
	}
}

// welcomed runs on the connection's goroutine before the replay and the
// outbox's resending: replies queued for a conversation whose number now
// names another client are withdrawn, never sent to the wrong person.
func (c *Controller) welcomed(s *session, w *protocol.Welcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, conv := range w.Conversations {
		if old, ok := s.clients[conv.ID]; ok && old != 0 && conv.ClientID != 0 && old != conv.ClientID {
			if n := s.live.WithdrawConversation(conv.ID); n > 0 {
				c.log.Warn("replies withdrawn: their conversation now belongs to another client", "conversation", conv.ID, "count", n)
			}
		}
		s.clients[conv.ID] = conv.ClientID
	}
}

// deliver takes the pump's batches: the cache first (on this goroutine),
// then the inbox and the screen (on the UI goroutine, one trip a batch).
func (c *Controller) deliver(s *session, p *pump) {
	for {
		batch := p.next(s.ctx)
		if batch == nil {
			return
		}
		if s.cache != nil {
			if err := s.cache.ApplyAll(frames(batch)); err != nil && s.ctx.Err() == nil {
				c.log.Error("cache write failed", "err", err)
			}
		}
		// Deletions the server ordered, once applied to the cache and the
		// screen, are confirmed: admins see per device when the last one was.
		var wipedAt time.Time
		c.wait(func() {
			if c.main != s.scr || s.ctx.Err() != nil {
				return // the session ended meanwhile
			}
			wipedAt = c.applyBatch(s, batch)
		})
		if !wipedAt.IsZero() {
			go func() {
				ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
				defer cancel()
				if err := s.live.Wiped(ctx, wipedAt); err != nil && !errors.Is(err, client.ErrOffline) && s.ctx.Err() == nil {
					c.log.Warn("deletion receipt not sent", "err", err)
				}
			}()
		}
	}
}

// frames picks the server's frames out of a batch, for the cache.
func frames(batch []client.Event) []protocol.ServerFrame {
	out := make([]protocol.ServerFrame, 0, len(batch))
	for _, ev := range batch {
		if ev.Frame != nil {
			out = append(out, ev.Frame)
		}
	}
	return out
}

// applyBatch applies a batch on the UI goroutine and returns the time of
// the latest deletion it applied (zero for none).
func (c *Controller) applyBatch(s *session, batch []client.Event) (wipedAt time.Time) {
	var eff inbox.Effect
	for _, ev := range batch {
		if st := ev.State; st != nil {
			var outside *client.OutsideHoursError
			s.scr.SetConnection(st.Connected, st.RetryIn)
			if errors.As(st.Err, &outside) {
				s.scr.Lock(outside.Opens)
			}
			continue
		}
		switch f := ev.Frame.(type) {
		case *protocol.Welcome:
			wipedAt = f.ServerTime // the snapshot drops what was deleted meanwhile
			c.setMenu(f.Account.Role)
			s.scr.Unlock() // a welcome means the server shows us client data
			go c.loadStaff(s)
		case *protocol.DeletedFrame:
			wipedAt = f.At
		case *protocol.ConversationDeletedFrame:
			wipedAt = f.At
		case *protocol.ConversationWithdrawnFrame:
			c.drafts.Forget(f.ConversationID)
		}
		eff.Merge(s.in.Apply(ev.Frame))
	}
	s.scr.Apply(eff)
	return wipedAt
}

// claim takes a pool conversation (担当する) and tells the screen.
func (c *Controller) claim(s *session, conv int64) {
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	got, err := s.cli.Claim(ctx, conv)
	c.do(func() {
		if c.main == s.scr {
			s.scr.Claimed(conv, got, err)
		}
	})
}

// preview reads a pool conversation's preview (the server records it); it
// is kept in memory only, never in the cache.
func (c *Controller) preview(s *session, conv int64) {
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	pv, err := s.cli.Preview(ctx, conv)
	if err != nil && s.ctx.Err() == nil {
		c.log.Warn("preview not loaded", "err", err)
	}
	c.do(func() {
		if c.main == s.scr {
			s.scr.PreviewLoaded(conv, pv, err)
		}
	})
}

// loadStaff names the organisation's staff for "who wrote" on replies.
func (c *Controller) loadStaff(s *session) {
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	staff, err := s.cli.Staff(ctx)
	if err != nil {
		if s.ctx.Err() == nil {
			c.log.Warn("staff names not loaded", "err", err)
		}
		return
	}
	names := make(map[int64]protocol.Account, len(staff))
	for _, a := range staff {
		names[a.ID] = a
	}
	c.do(func() {
		if c.main == s.scr {
			s.scr.SetStaff(names)
		}
	})
}

// tick moves the screen's clocks every second and applies the access
// hours the app knows every 30 seconds (they hold offline too).
func (c *Controller) tick(s *session) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for n := 0; ; n++ {
		c.do(func() {
			if c.main != s.scr {
				return
			}
			s.scr.Tick()
			if n%30 == 0 {
				c.lockIfOutsideHours(s.in, s.scr, s.cache)
			}
		})
		select {
		case <-t.C:
		case <-s.ctx.Done():
			return
		}
	}
}

// expire deletes cached messages as they expire, from the screen too.
func (c *Controller) expire(s *session) {
	err := s.cache.RunExpiry(s.ctx, func(gone []cache.Expired) {
		c.do(func() {
			if c.main != s.scr {
				return
			}
			var eff inbox.Effect
			for _, g := range gone {
				eff.Merge(s.in.Expire(g.ConversationID, g.ID))
			}
			s.scr.Apply(eff)
		})
	})
	if err != nil && s.ctx.Err() == nil {
		c.log.Error("cache expiry stopped", "err", err)
	}
}

// older reads the page before seq before: from the cache when it holds
// it, else from the server (and keeps it in the cache).
func (c *Controller) older(s *session, conv, before int64) {
	var (
		msgs []protocol.Message
		err  error
	)
	if s.cache != nil {
		msgs, err = s.cache.Before(conv, before, olderPage)
		if err != nil {
			c.log.Error("read cache", "err", err)
		}
		if n := len(msgs); n > 0 && msgs[n-1].Seq != before-1 {
			msgs = nil // a hole in the cache: ask the server
		}
	}
	if len(msgs) == 0 {
		ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
		var page protocol.MessagePage
		page, err = s.cli.History(ctx, conv, before, olderPage)
		cancel()
		msgs = page.Messages
		if err == nil && s.cache != nil && len(msgs) > 0 {
			if err := s.cache.PutMessages(msgs); err != nil {
				c.log.Error("cache write failed", "err", err)
			}
		}
	}
	c.do(func() {
		if c.main == s.scr {
			s.scr.OlderLoaded(conv, msgs, err)
		}
	})
}

// loadFromCache fills the inbox from the cache (each conversation's newest
// page; older pages load as the counselor scrolls) and returns the
// outbox, which the live connection resends.
func (c *Controller) loadFromCache() []client.PendingMessage {
	convs, err := c.cache.Conversations()
	if err != nil {
		c.log.Error("read cache", "err", err)
		return nil
	}
	// Who we are, as of the last welcome: which conversations are ours.
	if me, err := c.cache.Account(); err != nil {
		c.log.Error("read cache", "err", err)
	} else {
		c.in.SetMe(me)
	}
	for _, conv := range convs {
		c.in.Apply(&protocol.ConversationFrame{Conversation: conv})
		n := startPage
		if unread := int(conv.LastSeq - conv.StaffReadSeq); unread > n {
			n = unread // every unread message, for the counts
		}
		msgs, err := c.cache.Newest(conv.ID, n)
		if err != nil {
			c.log.Error("read cache", "err", err)
			continue
		}
		c.in.Load(conv.ID, msgs)
	}
	if org, ok, _ := c.cache.Org(); ok {
		c.in.Apply(&protocol.SettingsFrame{Org: org})
	}
	if d, err := c.cache.Drafts(); err != nil {
		c.log.Error("read drafts", "err", err)
	} else {
		c.in.SetDrafts(d)
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

func (c *Controller) send(conversationID int64, body string) {
	c.enqueue(client.PendingMessage{Ref: client.NewRef(), ConversationID: conversationID, Body: body})
}

// note queues a staff-only note, through the outbox like a reply.
func (c *Controller) note(conversationID int64, body string) {
	c.enqueue(client.PendingMessage{Ref: client.NewRef(), ConversationID: conversationID, Body: body, Kind: protocol.KindNote})
}

func (c *Controller) enqueue(p client.PendingMessage) {
	if c.cache != nil {
		if err := c.cache.AddPending(p); err != nil {
			c.log.Error("outbox write failed", "err", err)
		}
	}
	c.in.AddPending(p)
	c.live.EnqueueMessage(p)
}

// endConversation ends a conversation (対応終了) and tells the screen.
func (c *Controller) endConversation(s *session, conv int64) {
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	got, err := s.cli.End(ctx, conv)
	c.do(func() {
		if c.main == s.scr {
			s.scr.Ended(conv, got, err)
		}
	})
}

// setPresence sets 受付中, 離席 or 受付停止; the screen shows what the
// server kept.
func (c *Controller) setPresence(s *session, p protocol.Presence) {
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	a, err := s.cli.UpdateMe(ctx, protocol.MePatch{Presence: &p})
	c.do(func() {
		if c.main != s.scr {
			return
		}
		if err != nil {
			ui.ShowError(c.win, ui.T("presence.failed", "Presence not changed"), err)
			a = s.in.Me()
		}
		s.scr.SetMe(a)
	})
}

// setNominations sets the switch 指名を受け付ける.
func (c *Controller) setNominations(s *session, on bool) {
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	a, err := s.cli.UpdateMe(ctx, protocol.MePatch{AcceptNominations: &on})
	c.do(func() {
		if c.main != s.scr {
			return
		}
		if err != nil {
			ui.ShowError(c.win, ui.T("me.displayNameFailed", "The name was not changed"), err)
			return
		}
		s.scr.SetMe(a)
	})
}

// transfer hands a conversation on and tells the screen.
func (c *Controller) transfer(s *session, conv int64, to *int64, note string) {
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	got, err := s.cli.Transfer(ctx, conv, to, note)
	c.do(func() {
		if c.main == s.scr {
			s.scr.Transferred(conv, got, err)
		}
	})
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
	c.trayShow(desk)
}

// trayShow draws the tray menu: the counts, then Show. Fyne cannot put a
// number on the icon itself, so the counts are the menu's first lines.
func (c *Controller) trayShow(desk desktop.App) {
	count := fyne.NewMenuItem(ui.T("tray.unread", "Unread: {{.Count}}", map[string]any{"Count": c.trayUnread}), nil)
	count.Disabled = true
	unhandled := fyne.NewMenuItem(ui.T("tray.unhandled", "Not answered: {{.Count}}", map[string]any{"Count": c.trayUnhandled}), nil)
	unhandled.Disabled = true
	show := fyne.NewMenuItem(ui.T("tray.show", "Show Taiwa"), func() { c.win.Show(); c.win.RequestFocus() })
	desk.SetSystemTrayMenu(fyne.NewMenu("Taiwa", count, unhandled, show))
}

// alert shows an OS notification without any client text.
func (c *Controller) alert() {
	c.app.SendNotification(fyne.NewNotification(ui.T("notify.title", "Taiwa"), ui.T("notify.body", "A client has written.")))
}

// alertPool says, without names or text, that someone waits in the pool.
// alertRisk tells, without name or text, that a conversation was raised
// by a crisis phrase.
func (c *Controller) alertRisk() {
	c.app.SendNotification(fyne.NewNotification(ui.T("notify.title", "Taiwa"), ui.T("notify.risk", "A conversation with crisis words is waiting: please look first.")))
}

func (c *Controller) alertPool() {
	c.app.SendNotification(fyne.NewNotification(ui.T("notify.title", "Taiwa"), ui.T("notify.pool", "A new conversation waits for someone to take it.")))
}

// setMenu offers admin settings to admins; the role is known from the
// welcome, which a session resumed from the keychain has not had yet.
func (c *Controller) setMenu(role protocol.Role) {
	items := []*fyne.MenuItem{fyne.NewMenuItem(ui.T("menu.logout", "Sign out"), c.RequestLogout)}
	if cli := c.cli; cli != nil && role.IsStaff() {
		scr := c.main
		items = append([]*fyne.MenuItem{
			fyne.NewMenuItem(ui.T("menu.displayName", "Profile for clients (name, nominations)…"), func() {
				if c.main != scr || scr == nil {
					return
				}
				ui.ShowDisplayName(c.win, cli, c.in.Me(), c.do, func(a protocol.Account) {
					if c.main == scr {
						scr.SetMe(a)
					}
				})
			}),
			fyne.NewMenuItem(ui.T("menu.password", "Change password…"), func() { ui.ShowChangePassword(c.win, cli, c.do) }),
			fyne.NewMenuItem(ui.T("menu.totp", "Two-step sign-in…"), func() { ui.ShowTOTP(c.win, cli, c.do) }),
		}, items...)
	}
	if role == protocol.RoleAdmin {
		server, cli := c.server, c.cli
		items = append([]*fyne.MenuItem{fyne.NewMenuItem(ui.T("menu.admin", "Admin settings…"), func() { c.openAdmin(server, cli) })}, items...)
	}
	menus := []*fyne.Menu{fyne.NewMenu("Taiwa", items...)}
	if role.IsStaff() {
		// Help opens the guide the server serves, for this role, in the
		// app's language.
		menus = append(menus, ui.HelpMenu(c.server, role, c.app.OpenURL))
	}
	c.win.SetMainMenu(fyne.NewMainMenu(menus...))
}

// openRegistrar shows a registrar's screen (issue 16): the clients of
// their groups, with sign-out and their own password in the menu.
func (c *Controller) openRegistrar(server string, cli *client.Client) {
	c.cli, c.server = cli, server
	r := ui.NewRegistrar(cli, c.win, server+"/", c.do)
	c.win.SetMainMenu(fyne.NewMainMenu(fyne.NewMenu("Taiwa",
		fyne.NewMenuItem(ui.T("menu.password", "Change password…"), func() { ui.ShowChangePassword(c.win, cli, c.do) }),
		fyne.NewMenuItem(ui.T("menu.logout", "Sign out"), func() {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = cli.Logout(ctx) // best effort: the token is forgotten here either way
				c.do(func() { c.cli = nil; c.showLogin("") })
			}()
		}))))
	c.win.SetContent(r.Content())
	r.Reload()
}

// openAdmin shows the admin settings in a window of their own, so that the
// conversation stays in view. It belongs to the session.
func (c *Controller) openAdmin(server string, cli *client.Client) *ui.Admin {
	w := c.windows.New(ui.T("menu.admin", "Admin settings…"))
	a := ui.NewAdmin(cli, w, server+"/", ui.AdminOptions{NewWindow: c.windows.New, Do: c.do})
	w.SetContent(a.Content())
	w.Resize(fyne.NewSize(1000, 680))
	a.Reload()
	w.Show()
	return a
}

// unsent says what would be lost by quitting or signing out now: replies
// not yet delivered and drafts (that the cache cannot keep, or that a
// sign-out wipes).
func (c *Controller) unsent(signOut bool) (replies, drafts int) {
	if c.in == nil {
		return 0, 0
	}
	replies = c.in.PendingCount()
	if signOut || c.cache == nil {
		drafts = len(c.in.Drafts())
	}
	return replies, drafts
}

// RequestQuit quits, asking first if replies have not gone yet: without
// a keychain they would be lost; with one they would wait until the app
// runs again.
func (c *Controller) RequestQuit() {
	replies, drafts := c.unsent(false)
	if replies == 0 && drafts == 0 {
		c.win.Close()
		return
	}
	msg := ui.T("quit.kept", "{{.Replies}} replies have not been sent yet. They will be sent the next time Taiwa runs and is online; until then the client waits. Quit anyway?",
		map[string]any{"Replies": replies})
	if c.cache == nil {
		msg = ui.T("quit.lost", "{{.Replies}} unsent replies and {{.Drafts}} drafts will be lost: this computer has no keychain, so Taiwa keeps nothing on disk. Wait until they are sent (the status line says Online), or copy them elsewhere.",
			map[string]any{"Replies": replies, "Drafts": drafts})
	}
	ui.Confirm(c.win, ui.T("quit.title", "Quit Taiwa?"), msg, ui.T("quit.yes", "Quit"), ui.T("quit.no", "Go back"), c.win.Close)
}

// RequestLogout signs out, asking first if replies or drafts would be
// wiped with the session.
func (c *Controller) RequestLogout() {
	replies, drafts := c.unsent(true)
	if replies == 0 && drafts == 0 {
		c.Logout()
		return
	}
	ui.Confirm(c.win, ui.T("logout.title", "Sign out?"),
		ui.T("logout.unsent", "Signing out wipes this computer's copy: {{.Replies}} replies not yet sent and {{.Drafts}} drafts would be lost. Wait until they are sent (the status line says Online) or go back.",
			map[string]any{"Replies": replies, "Drafts": drafts}),
		ui.T("logout.yes", "Sign out and discard"), ui.T("quit.no", "Go back"), c.Logout)
}

// Close stops the connection and closes the cache, keeping both the
// session and the cache for the next start (the app is quitting).
func (c *Controller) Close() {
	if c.cancel != nil {
		c.cancel()
	}
	c.drafts.Stop(true)
	c.windows.CloseAll()
	if c.cache != nil {
		if err := c.cache.Close(); err != nil {
			c.log.Error("close cache", "err", err)
		}
	}
	c.main = nil // the session's goroutines stop touching the screen
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

// end stops the connection, closes every window and dialog that shows
// client data, and wipes everything local: cache files, the cache key and
// the token. Without the key, any copy of the cache that escaped deletion
// stays unreadable.
func (c *Controller) end(reason string) {
	if c.cancel != nil {
		c.cancel()
	}
	c.drafts.Stop(false)
	c.windows.CloseAll()
	c.win.SetOnDropped(nil) // nothing dropped reaches a screen that is gone
	for o := c.win.Canvas().Overlays(); o.Top() != nil; {
		o.Remove(o.Top()) // dialogs over the conversation
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
	c.cli, c.live, c.cache, c.in, c.main, c.cancel, c.drafts, c.sess = nil, nil, nil, nil, nil, nil, nil, nil
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
