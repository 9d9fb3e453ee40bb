package ui

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"golang.org/x/image/font/sfnt"

	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// Every character of the Japanese translation, and of typical
// conversation text, has a glyph in both bundled weights: no tofu.
func TestFontCoversJapanese(t *testing.T) {
	raw, err := translations.ReadFile("translation/ja.json")
	if err != nil {
		t.Fatal(err)
	}
	var ja map[string]any
	if err := json.Unmarshal(raw, &ja); err != nil {
		t.Fatal(err)
	}
	text := "眠れない日が続いています。相談できますか？ひらがなカタカナ漢字ー「」…①"
	for _, v := range ja {
		text += fmt.Sprint(v)
	}
	for name, data := range map[string][]byte{"regular": fontRegular, "bold": fontBold} {
		f, err := sfnt.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var buf sfnt.Buffer
		for _, r := range text {
			if r < 0x80 {
				continue // ASCII: trivially covered
			}
			if strings.ContainsRune("{}.", r) {
				continue
			}
			if gi, err := f.GlyphIndex(&buf, r); err != nil || gi == 0 {
				t.Errorf("%s font has no glyph for %q (U+%04X)", name, r, r)
			}
		}
	}
	if (Theme{}).Font(fyne.TextStyle{}) != regularFont || (Theme{}).Font(fyne.TextStyle{Bold: true}) != boldFont {
		t.Fatal("theme does not return the bundled fonts")
	}
	// Login IDs and passwords are shown in the monospace font: it has
	// every character they can hold, the dash included.
	mono, err := sfnt.Parse((Theme{}).Font(fyne.TextStyle{Monospace: true}).Content())
	if err != nil {
		t.Fatal(err)
	}
	var buf sfnt.Buffer
	for _, r := range "abcdefghjkmnpqrstuvwxyz23456789-" {
		if gi, err := mono.GlyphIndex(&buf, r); err != nil || gi == 0 {
			t.Errorf("monospace font has no glyph for %q", r)
		}
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type recorder struct {
	mu     sync.Mutex
	sent   []string
	alerts int
}

func (r *recorder) actions() Actions {
	return Actions{
		Send: func(conv int64, body string) {
			r.mu.Lock()
			r.sent = append(r.sent, body)
			r.mu.Unlock()
		},
		Alert: func() { r.mu.Lock(); r.alerts++; r.mu.Unlock() },
	}
}

var msgID int64

func clientMsg(conv, seq int64, body string) *protocol.MessageFrame {
	msgID++
	return &protocol.MessageFrame{Message: protocol.Message{ID: msgID, ConversationID: conv, Seq: seq,
		SenderRole: protocol.RoleClient, Kind: protocol.KindText, Body: body, CreatedAt: time.Now()}}
}

func newMainForTest(t *testing.T) (*Main, *inbox.Inbox, *clock, *recorder, fyne.Window) {
	t.Helper()
	return newMainForTestWith(t, nil)
}

// newMainForTestWith is newMainForTest with actions changed by tweak.
func newMainForTestWith(t *testing.T, tweak func(*Actions)) (*Main, *inbox.Inbox, *clock, *recorder, fyne.Window) {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(Theme{})
	w := a.NewWindow("test")
	w.Resize(fyne.NewSize(1000, 700))
	clk := &clock{t: time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)}
	in := inbox.New(clk.now)
	me := int64(1) // the signed-in counselor has these three
	in.Apply(&protocol.Welcome{Account: protocol.Account{ID: me, Role: protocol.RoleCounselor}, Conversations: []protocol.Conversation{
		{ID: 1, ClientID: 11, Nickname: "さくら", Status: protocol.StatusNew, FirstSeq: 1, AssigneeID: &me},
		{ID: 2, ClientID: 12, Nickname: "ひなた", Status: protocol.StatusNew, FirstSeq: 1, AssigneeID: &me},
		{ID: 3, ClientID: 13, Nickname: "そら", Status: protocol.StatusNew, FirstSeq: 1, AssigneeID: &me},
	}})
	in.Apply(&protocol.Synced{})
	rec := &recorder{}
	acts := rec.actions()
	if tweak != nil {
		tweak(&acts)
	}
	m := NewMain(in, w, acts)
	w.SetContent(m.Content())
	return m, in, clk, rec, w
}

func ctrlEnter() fyne.Shortcut {
	return &desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault}
}

func ctrlKey(k fyne.KeyName) fyne.Shortcut {
	return &desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault}
}

func TestFocusRuleOnScreen(t *testing.T) {
	m, in, _, rec, _ := newMainForTest(t)
	if !m.compose.Disabled() {
		t.Fatal("reply box enabled with no conversation: staff would write first")
	}
	m.Apply(in.Apply(clientMsg(1, 1, "こんにちは")))
	if m.title.Text != "さくら" || !strings.Contains(m.sendBtn.Text, "さくら") {
		t.Fatalf("title %q, button %q", m.title.Text, m.sendBtn.Text)
	}
	// Away from the reply box: the next client's message takes the front.
	m.Apply(in.Apply(clientMsg(2, 1, "相談があります")))
	if m.title.Text != "ひなた" {
		t.Fatalf("title %q after second client wrote", m.title.Text)
	}
	// Composing: the reply stays, the newcomer waits and the app alerts.
	test.Type(m.compose, "書きかけの返事")
	alerts := rec.alerts
	m.Apply(in.Apply(clientMsg(1, 2, "まだいますか")))
	if m.title.Text != "ひなた" || m.compose.Text != "書きかけの返事" {
		t.Fatalf("a half-written reply was torn away: title %q, text %q", m.title.Text, m.compose.Text)
	}
	if rec.alerts != alerts+1 {
		t.Fatal("no alert for the waiting client")
	}
	if !strings.Contains(m.BannerText(), "さくら") {
		t.Fatalf("no visible signal for the waiting client: banner %q", m.BannerText())
	}
	// Each conversation keeps its own draft.
	m.pick(1)
	if m.compose.Text != "" || m.title.Text != "さくら" || m.BannerText() != "" {
		t.Fatalf("draft leaked: %q (banner %q)", m.compose.Text, m.BannerText())
	}
	m.pick(2)
	if m.compose.Text != "書きかけの返事" {
		t.Fatalf("draft lost: %q", m.compose.Text)
	}
}

// The sequence from the walkthrough: the cursor sits in ひなた's empty
// reply box; そら writes; the counselor keeps typing. Every word goes to
// ひなた's box, the front does not change, and そら waits with a signal.
func TestTypingNeverLandsInAnotherClientsBox(t *testing.T) {
	m, in, clk, _, w := newMainForTest(t)
	m.Apply(in.Apply(clientMsg(2, 1, "ひなたです")))
	clk.t = clk.t.Add(time.Minute) // long after any earlier typing
	w.Canvas().Focus(m.compose)
	if m.compose.Text != "" || m.title.Text != "ひなた" {
		t.Fatalf("setup: box %q, front %q", m.compose.Text, m.title.Text)
	}
	m.Apply(in.Apply(clientMsg(3, 1, "そらです。聞いてください")))
	for _, word := range []string{"hinata-san, ", "thank ", "you ", "for"} {
		test.Type(m.compose, word)
		clk.t = clk.t.Add(3 * time.Second) // typing takes longer than any confirmation window
		m.Apply(in.Apply(clientMsg(3, in.Conv(3).LastSeq+1, "まだですか")))
	}
	if m.title.Text != "ひなた" || in.FocusedID() != 2 || m.list.SelectedID() != 2 {
		t.Fatalf("the front changed: title %q, focused %d, list selection %d", m.title.Text, in.FocusedID(), m.list.SelectedID())
	}
	if got := in.Conv(2).Draft; got != "hinata-san, thank you for" {
		t.Fatalf("ひなた's box holds %q", got)
	}
	if got := in.Conv(3).Draft; got != "" {
		t.Fatalf("そら's box holds %q", got)
	}
	if !strings.Contains(m.BannerText(), "そら") {
		t.Fatalf("そら waits without a visible signal: banner %q", m.BannerText())
	}
	if w.Canvas().Overlays().Top() != nil {
		t.Fatal("the signal is modal")
	}
}

func TestEnterIsNewlineCtrlEnterSends(t *testing.T) {
	m, in, clk, rec, _ := newMainForTest(t)
	m.Apply(in.Apply(clientMsg(1, 1, "こんにちは")))
	clk.t = clk.t.Add(inbox.ConfirmWindow + time.Second)
	test.Type(m.compose, "一行目")
	m.compose.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	test.Type(m.compose, "二行目")
	if len(rec.sent) != 0 || m.compose.Text != "一行目\n二行目" {
		t.Fatalf("Enter sent or lost text: sent %v, text %q", rec.sent, m.compose.Text)
	}
	m.compose.TypedShortcut(ctrlEnter())
	if len(rec.sent) != 1 || rec.sent[0] != "一行目\n二行目" {
		t.Fatalf("Ctrl+Enter sent %v", rec.sent)
	}
	if m.compose.Text != "" || in.Conv(1).Draft != "" {
		t.Fatal("reply box not cleared after sending")
	}
	// Blank text is not sent.
	test.Type(m.compose, "   ")
	m.compose.TypedShortcut(ctrlEnter())
	if len(rec.sent) != 1 {
		t.Fatal("blank reply sent")
	}
}

// Ctrl+Up/Down walk the conversations even with the cursor in the reply
// box, where the entry would otherwise swallow them.
func TestCtrlUpDownFromTheReplyBox(t *testing.T) {
	m, in, clk, _, w := newMainForTest(t)
	for id := int64(1); id <= 3; id++ {
		since := clk.t.Add(-time.Duration(10-id) * time.Minute)
		c := in.Conv(id).Conversation
		c.Status, c.WaitingSince = protocol.StatusWaiting, &since
		m.Apply(in.Apply(&protocol.ConversationFrame{Conversation: c}))
	}
	m.pick(1)
	w.Canvas().Focus(m.compose)
	m.compose.TypedShortcut(ctrlKey(fyne.KeyDown))
	if in.FocusedID() != 2 || m.title.Text != "ひなた" {
		t.Fatalf("Ctrl+Down in the reply box: focused %d", in.FocusedID())
	}
	m.compose.TypedShortcut(ctrlKey(fyne.KeyUp))
	if in.FocusedID() != 1 {
		t.Fatalf("Ctrl+Up in the reply box: focused %d", in.FocusedID())
	}
}

func TestSendRightAfterFocusChangeAsks(t *testing.T) {
	m, in, _, rec, w := newMainForTest(t)
	m.Apply(in.Apply(clientMsg(1, 1, "こんにちは"))) // came to the front just now
	test.Type(m.compose, "はい")
	test.Tap(m.sendBtn)
	if len(rec.sent) != 0 {
		t.Fatal("sent without confirmation right after the focus changed")
	}
	if w.Canvas().Overlays().Top() == nil {
		t.Fatal("no confirmation dialog shown")
	}
	// Enter answers the dialog: the reply goes to さくら.
	w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if len(rec.sent) != 1 || w.Canvas().Overlays().Top() != nil {
		t.Fatalf("Enter did not confirm: sent %v", rec.sent)
	}
}

func TestListRowsAndWaitTimesTick(t *testing.T) {
	m, in, clk, _, _ := newMainForTest(t)
	since := clk.t.Add(-12 * time.Minute)
	c := in.Conv(1).Conversation
	c.Status, c.WaitingSince = protocol.StatusWaiting, &since
	m.Apply(in.Apply(&protocol.ConversationFrame{Conversation: c}))
	m.Apply(in.Apply(clientMsg(1, 1, "a")))
	m.Apply(in.Apply(clientMsg(1, 2, "b")))
	var total int
	m.actions.Unread = func(n int) { total = n }
	m.Apply(inbox.Effect{All: true})
	if total != 2 {
		t.Fatalf("tray unread total = %d, want 2", total)
	}
	row := listRow(t, m, "さくら")
	// The unread count and "not answered" are markers of their own: an
	// icon and a word each, not colour alone.
	if !strings.Contains(row.when.Text, "12") || !row.unread.box.Visible() || !strings.Contains(row.unread.label.Text, "2") ||
		!row.unhandled.box.Visible() || row.unhandled.label.Text == "" {
		t.Fatalf("row %q / unread %q / unhandled %q lacks the wait, the unread count or the marker", row.when.Text, row.unread.label.Text, row.unhandled.label.Text)
	}
	clk.t = clk.t.Add(5*time.Minute + 30*time.Second)
	m.Tick()
	if row := listRow(t, m, "さくら"); !strings.Contains(row.when.Text, "17") {
		t.Fatalf("wait time did not move on: %q", row.when.Text)
	}
}

// listRow finds the list's row showing a nickname among the widgets drawn.
func listRow(t *testing.T, m *Main, nick string) *convRow {
	t.Helper()
	for _, o := range test.LaidOutObjects(m.list.list) {
		if r, ok := o.(*convRow); ok && r.Visible() && r.name.Text == nick {
			return r
		}
	}
	t.Fatalf("no row for %s in the list", nick)
	return nil
}

func TestLoginValidation(t *testing.T) {
	test.NewTempApp(t)
	var (
		mu    sync.Mutex // the UI goroutine: every touch of the form under it
		calls []string
	)
	ui := func(f func()) { mu.Lock(); defer mu.Unlock(); f() }
	l := NewLogin("", "", func(server, id, pw, code string) error {
		ui(func() { calls = append(calls, server+"|"+id+"|"+pw) })
		return &protocol.Error{Code: protocol.CodeBadCredentials}
	})
	l.do = ui
	ui(func() {
		l.Submit()
		if l.message.source == "" {
			t.Error("no message for a missing server")
		}
		test.Type(l.server, "https://taiwa.example.org/")
		l.Submit()
		if l.message.source == "" {
			t.Error("no message for a missing login ID")
		}
		test.Type(l.loginID, "kanri")
		test.Type(l.password, "pass word")
		l.Submit()
	})
	// Wait for the refusal to reach the form, so that nothing of this test
	// still runs when the next begins.
	waitForUI(t, ui, "the refusal shown", func() bool { return len(calls) == 1 && l.message.source != "" && l.password.Text == "" })
	if calls[0] != "https://taiwa.example.org|kanri|pass word" {
		t.Fatalf("called with %q", calls[0])
	}
}

// With two-step sign-in on, the form asks for the code after the password
// and sends both.
func TestLoginAsksForCode(t *testing.T) {
	test.NewTempApp(t)
	got := make(chan string, 2)
	var mu sync.Mutex // the UI goroutine: every touch of the form under it
	ui := func(f func()) { mu.Lock(); defer mu.Unlock(); f() }
	var l *Login
	ui(func() {
		l = NewLogin("https://taiwa.example.org", "", func(server, id, pw, code string) error {
			got <- pw + "|" + code
			if code == "" {
				return &protocol.Error{Code: protocol.CodeTOTPRequired}
			}
			return nil
		})
		l.do = ui
		test.Type(l.loginID, "tanaka")
		test.Type(l.password, "a long passphrase")
		l.Submit()
	})
	if s := <-got; s != "a long passphrase|" {
		t.Fatalf("first attempt sent %q", s)
	}
	waitForUI(t, ui, "the code field", func() bool { return l.CodeAsked() })
	ui(func() {
		if l.password.Text == "" {
			t.Error("the password was cleared: the person would type it again")
		}
		test.Type(l.code, "123456")
		l.Submit()
	})
	if s := <-got; s != "a long passphrase|123456" {
		t.Fatalf("second attempt sent %q", s)
	}
	// Nothing of this test may still run when the next begins.
	waitForUI(t, ui, "the form done", func() bool { return !l.submit.Disabled() })
}

func waitForUI(t *testing.T, ui func(func()), what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ok bool
		ui(func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Passwords and tokens never cross a network unencrypted: plain http://
// only to this computer.
func TestCheckServer(t *testing.T) {
	tests := []struct {
		server string
		ok     bool
	}{
		{"https://taiwa.example.org", true},
		{"https://192.0.2.7:8443", true},
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080", true},
		{"http://[::1]:8080", true},
		{"http://taiwa.example.org", false},
		{"http://192.168.1.5:8080", false},
		{"http://127.0.0.1.example.org", false},
		{"ftp://taiwa.example.org", false},
		{"taiwa.example.org", false},
	}
	for _, tt := range tests {
		t.Run(tt.server, func(t *testing.T) {
			err := CheckServer(tt.server)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckServer(%q) = %v", tt.server, err)
			}
		})
	}
	test.NewTempApp(t)
	l := NewLogin("http://taiwa.example.org", "", func(string, string, string, string) error {
		t.Fatal("signed in over plain HTTP")
		return nil
	})
	test.Type(l.loginID, "kanri")
	test.Type(l.password, "password")
	l.Submit()
	if !strings.Contains(l.message.source, "https://") {
		t.Fatalf("no clear message: %q", l.message.source)
	}
}

// Ctrl+F finds a client by nickname from the reply box; Enter opens the
// first match with the cursor in its reply box; Escape goes back.
func TestFindByNickname(t *testing.T) {
	m, in, _, _, w := newMainForTest(t)
	m.Apply(in.Apply(clientMsg(1, 1, "こんにちは")))
	w.Canvas().Focus(m.compose)
	m.compose.TypedShortcut(ctrlKey(fyne.KeyF))
	if w.Canvas().Focused() != m.list.search {
		t.Fatal("Ctrl+F did not go to the search box")
	}
	test.Type(m.list.search, "そら")
	if len(m.list.shown) != 1 {
		t.Fatalf("search shows %d", len(m.list.shown))
	}
	m.list.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if in.FocusedID() != 3 || w.Canvas().Focused() != m.compose {
		t.Fatalf("Enter opened %d, focus on %T", in.FocusedID(), w.Canvas().Focused())
	}
	w.Canvas().Focus(m.list.search)
	m.list.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if m.list.search.Text != "" || w.Canvas().Focused() != m.compose {
		t.Fatal("Escape did not clear the search and go back to the reply box")
	}
}

// The banner takes its own room above the history, over no message.
func TestBannerDoesNotCoverTheHistory(t *testing.T) {
	m, in, _, _, w := newMainForTest(t)
	m.Apply(in.Apply(clientMsg(2, 1, "ひなたです")))
	w.Canvas().Focus(m.compose)
	m.Apply(in.Apply(clientMsg(3, 1, "そらです")))
	if m.BannerText() == "" {
		t.Fatal("no banner")
	}
	bannerBottom := m.banner.Position().Y + m.banner.Size().Height
	if top := m.history.Position().Y; top < bannerBottom {
		t.Fatalf("the history starts at %v, under the banner ending at %v", top, bannerBottom)
	}
}

// The client's typing shows under the name in front and in the list,
// and goes when it runs out.
func TestTypingShows(t *testing.T) {
	m, in, clk, _, _ := newMainForTest(t)
	m.Apply(in.Apply(clientMsg(1, 1, "こんにちは")))
	var typed []int64
	m.actions.Typing = func(conv int64) { typed = append(typed, conv) }
	m.Apply(in.Apply(&protocol.TypingFrame{ConversationID: 1, SenderID: 11, SenderRole: protocol.RoleClient}))
	if !strings.Contains(m.subtitle.Text, "さくら") {
		t.Fatalf("subtitle %q does not say さくら is writing", m.subtitle.Text)
	}
	if row := listRow(t, m, "さくら"); !strings.Contains(row.state.Text, typingText(&protocol.TypingFrame{SenderRole: protocol.RoleClient}, "さくら")) {
		t.Fatalf("list row %q", row.state.Text)
	}
	clk.t = clk.t.Add(protocol.TypingShowFor)
	m.Tick()
	if strings.Contains(m.subtitle.Text, "さくら") {
		t.Fatalf("typing still shown: %q", m.subtitle.Text)
	}
	// The counselor's typing is reported (the app throttles it).
	test.Type(m.compose, "はい")
	if len(typed) == 0 || typed[0] != 1 {
		t.Fatalf("typing reported for %v", typed)
	}
}

// Offline is not "Online": the status says so and counts down each second.
func TestOfflineCountdown(t *testing.T) {
	m, _, clk, _, _ := newMainForTest(t)
	m.SetConnection(true, 0)
	online := m.status.Text
	m.SetConnection(false, 10*time.Second)
	first := m.status.Text
	clk.t = clk.t.Add(3 * time.Second)
	m.Tick()
	if first == online || !strings.Contains(first, "10") || !strings.Contains(m.status.Text, "7") || m.status.Importance != widget.DangerImportance {
		t.Fatalf("offline status %q then %q (online %q)", first, m.status.Text, online)
	}
}

// One OS notification per burst: quiet for BurstQuiet, or looked at since.
func TestOneNotificationPerBurst(t *testing.T) {
	m, in, clk, rec, w := newMainForTest(t)
	m.Apply(in.Apply(clientMsg(1, 1, "最初")))
	w.Canvas().Focus(m.compose) // writing to さくら: others wait
	m.SetForeground(false)
	before := rec.alerts
	seq := int64(0)
	for i := 0; i < 5; i++ {
		seq++
		clk.t = clk.t.Add(10 * time.Second)
		m.Apply(in.Apply(clientMsg(2, seq, "続けて書きます")))
	}
	if got := rec.alerts - before; got != 1 {
		t.Fatalf("%d notifications for one burst", got)
	}
	clk.t = clk.t.Add(BurstQuiet)
	seq++
	m.Apply(in.Apply(clientMsg(3, 1, "別の人です")))
	if got := rec.alerts - before; got != 2 {
		t.Fatalf("%d notifications after a quiet minute, want 2", got)
	}
}

// The reply box grows with its text, up to ten lines.
func TestReplyBoxGrows(t *testing.T) {
	m, in, _, _, _ := newMainForTest(t)
	m.Apply(in.Apply(clientMsg(1, 1, "こんにちは")))
	small := m.compose.MinSize().Height
	test.Type(m.compose, strings.Repeat("一行\n", 5))
	grown := m.compose.MinSize().Height
	test.Type(m.compose, strings.Repeat("もっと\n", 30))
	if grown <= small || m.compose.rows != 10 {
		t.Fatalf("heights %v → %v, rows %d", small, grown, m.compose.rows)
	}
}

// Errors say what happened and what to do, in words, never raw requests.
func TestErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"server down", &url.Error{Op: "Post", URL: "http://127.0.0.1:9/api/v1/clients", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}},
			T("error.unreachable", "")},
		{"last admin", &protocol.Error{Code: protocol.CodeConflict, Message: "the last admin cannot be deleted"}, T("error.lastAdmin", "")},
		{"forbidden", &protocol.Error{Code: protocol.CodeForbidden, Message: "only admins change settings"}, T("error.forbidden", "")},
		{"busy", &protocol.Error{Code: protocol.CodeUnavailable}, T("error.unavailable", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ErrorText(tt.err)
			if got != tt.want || strings.Contains(got, "POST") || strings.Contains(got, "127.0.0.1") {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// After a reconnection reorders the list, the selection still names the
// conversation in front: the inbox is the one source of truth.
func TestListSelectionFollowsTheFrontAfterReconnect(t *testing.T) {
	m, in, clk, _, _ := newMainForTest(t)
	m.Apply(in.Apply(clientMsg(2, 1, "ひなたです")))
	m.pick(2)
	if m.list.SelectedID() != 2 {
		t.Fatalf("selected %d", m.list.SelectedID())
	}
	// The reconnection's welcome: さくら and そら now wait, longer than ひなた.
	since := clk.t.Add(-time.Hour)
	me := in.Me().ID
	convs := []protocol.Conversation{
		{ID: 1, ClientID: 11, Nickname: "さくら", Status: protocol.StatusWaiting, WaitingSince: &since, FirstSeq: 1, AssigneeID: &me},
		{ID: 2, ClientID: 12, Nickname: "ひなた", Status: protocol.StatusAnswered, FirstSeq: 1, LastSeq: 1, AssigneeID: &me},
		{ID: 3, ClientID: 13, Nickname: "そら", Status: protocol.StatusWaiting, WaitingSince: &since, FirstSeq: 1, AssigneeID: &me},
	}
	var eff inbox.Effect
	eff.Merge(in.Apply(&protocol.Welcome{Account: in.Me(), Conversations: convs}))
	eff.Merge(in.Apply(&protocol.Synced{}))
	m.Apply(eff)
	if in.FocusedID() != 2 || m.list.SelectedID() != 2 || m.title.Text != "ひなた" {
		t.Fatalf("front %d, list selection %d, title %q", in.FocusedID(), m.list.SelectedID(), m.title.Text)
	}
	// Filtered out of the list, the front is selected nowhere, not elsewhere.
	m.list.filter.SetSelectedIndex(1) // waiting only
	if m.list.SelectedID() != 0 {
		t.Fatalf("list selects %d while ひなた (filtered out) is in front", m.list.SelectedID())
	}
}

// The pool on screen: a conversation that comes into the pool is
// announced (an OS notice without words, a banner) and never taken to the
// front; opened, it shows a preview (asked for once) and 担当する; the
// reply box says whether a reply takes it.
func TestPoolOnScreen(t *testing.T) {
	m, in, clk, rec, _ := newMainForTest(t)
	var previews, claims []int64
	poolAlerts := 0
	m.actions.Preview = func(id int64) { previews = append(previews, id) }
	m.actions.Claim = func(id int64) { claims = append(claims, id) }
	m.actions.AlertPool = func() { poolAlerts++ }
	m.SetForeground(false)
	since := clk.t.Add(-20 * time.Minute)
	pool := protocol.Conversation{ID: 9, ClientID: 19, Nickname: "はじめて", Status: protocol.StatusWaiting, FirstSeq: 1, LastSeq: 1,
		WaitingSince: &since, PoolSince: &since}
	m.Apply(in.Apply(&protocol.ConversationFrame{Conversation: pool}))
	if in.Focused() != nil || poolAlerts != 1 || rec.alerts != 0 {
		t.Fatalf("a pool arrival: front %v, %d pool alerts, %d client alerts", in.Focused(), poolAlerts, rec.alerts)
	}
	if !strings.Contains(m.BannerText(), "はじめて") || m.View() != inbox.ViewMine {
		t.Fatalf("banner %q, view %d", m.BannerText(), m.View())
	}
	if !strings.Contains(m.list.viewBtns[1].Text, "1") {
		t.Fatalf("the pool's button %q does not count it", m.list.viewBtns[1].Text)
	}
	// The banner's button shows the pool; the counselor opens it.
	m.bannerDo()
	if m.View() != inbox.ViewPool || len(m.list.shown) != 1 || m.list.shown[0].ID != 9 {
		t.Fatalf("view %d shows %d", m.View(), len(m.list.shown))
	}
	m.Open(9)
	m.Open(9)
	if len(previews) != 1 || !m.claimBtn.Visible() || m.compose.Disabled() {
		t.Fatalf("previews asked %v, claim shown %v, reply box disabled %v", previews, m.claimBtn.Visible(), m.compose.Disabled())
	}
	if !strings.Contains(m.compose.PlaceHolder, T("compose.replyTakes", "Your reply takes this conversation from the pool. Enter starts a new line; Ctrl+Enter sends.")) {
		t.Fatalf("placeholder %q", m.compose.PlaceHolder)
	}
	// Not the counselor's yet: its progress and the client's note are not
	// theirs to set (the server would refuse).
	if !m.progress.sel.Disabled() || !m.noteBtn.Disabled() {
		t.Fatalf("on a pool conversation: progress disabled %v, note disabled %v", m.progress.sel.Disabled(), m.noteBtn.Disabled())
	}
	m.PreviewLoaded(9, protocol.Preview{Messages: []protocol.Message{{ID: 900, ConversationID: 9, Seq: 1, SenderRole: protocol.RoleClient, Kind: protocol.KindText,
		Body: "はじめまして。眠れない日が続いています。", CreatedAt: clk.t}}}, nil)
	if n := len(m.history.rows); n < 2 || m.history.rows[len(m.history.rows)-1].text != "はじめまして。眠れない日が続いています。" {
		t.Fatalf("the preview is not shown: %d rows", n)
	}
	if len(in.Conv(9).Messages) != 0 {
		t.Fatal("the preview was kept as messages")
	}
	test.Tap(m.claimBtn)
	if len(claims) != 1 || claims[0] != 9 || !m.claimBtn.Disabled() {
		t.Fatalf("claims %v", claims)
	}
	// Taken: the conversation is the counselor's, in 自分の担当.
	taken := pool
	taken.AssigneeID, taken.PoolSince = ptr(in.Me().ID), nil
	m.Claimed(9, taken, nil)
	if m.View() != inbox.ViewMine || in.FocusedID() != 9 || !in.Mine(in.Focused()) || m.claimBtn.Visible() || in.Conv(9).Preview != nil {
		t.Fatalf("after the claim: view %d front %d", m.View(), in.FocusedID())
	}
	if m.progress.sel.Disabled() || m.noteBtn.Disabled() {
		t.Fatalf("after the claim: progress disabled %v, note disabled %v", m.progress.sel.Disabled(), m.noteBtn.Disabled())
	}
}

// With claim_by_button, a pool conversation's reply box waits for 担当する;
// a colleague's conversation (an admin's 全体) is read, not answered.
func TestReplyBoxFollowsWhoHasIt(t *testing.T) {
	m, in, clk, _, _ := newMainForTest(t)
	org := in.Org()
	org.Settings.ClaimByButton = true
	since := clk.t
	colleague := int64(7)
	in.Apply(&protocol.Welcome{Account: protocol.Account{ID: 1, Role: protocol.RoleAdmin}, Org: org, Conversations: []protocol.Conversation{
		{ID: 9, ClientID: 19, Nickname: "はじめて", Status: protocol.StatusWaiting, FirstSeq: 1, LastSeq: 1, WaitingSince: &since, PoolSince: &since},
		{ID: 8, ClientID: 18, Nickname: "あおい", Status: protocol.StatusWaiting, FirstSeq: 1, LastSeq: 1, WaitingSince: &since, AssigneeID: &colleague},
	}})
	m.Apply(in.Apply(&protocol.Synced{}))
	m.SetStaff(map[int64]protocol.Account{7: {ID: 7, Nickname: "佐藤"}})
	if !m.list.viewBtns[2].Visible() {
		t.Fatal("an admin is not offered 全体")
	}
	m.Open(9)
	if !m.compose.Disabled() || !m.claimBtn.Visible() {
		t.Fatal("with claim_by_button the reply box waits for the claim")
	}
	m.SetView(inbox.ViewAll)
	m.Open(8)
	if !m.compose.Disabled() || m.claimBtn.Visible() || !strings.Contains(m.subtitle.Text, "佐藤") {
		t.Fatalf("a colleague's conversation: subtitle %q", m.subtitle.Text)
	}
	found := false
	for _, r := range m.list.rows {
		if r.conv == 8 && strings.Contains(r.state.Text, "佐藤") {
			found = true
		}
	}
	if !found {
		t.Fatal("全体 does not name the assignee")
	}
}

func ptr[T any](v T) *T { return &v }

// A staff-only note is written from the reply box in note mode, goes
// through its own action (never the client's send), and shows in the
// history in the middle, marked; a hand-over asks to whom and with which
// note.
func TestNotesAndHandOverOnScreen(t *testing.T) {
	m, in, clk, rec, w := newMainForTest(t)
	var notes []string
	var transfers []*int64
	var transferNote string
	m.actions.Note = func(conv int64, body string) { notes = append(notes, body) }
	m.actions.Transfer = func(conv int64, to *int64, note string) { transfers = append(transfers, to); transferNote = note }
	m.SetStaff(map[int64]protocol.Account{1: {ID: 1, Nickname: "わたし"}, 7: {ID: 7, Nickname: "佐藤", DisplayName: "さとう"}})
	m.Apply(in.Apply(clientMsg(1, 1, "こんにちは")))
	m.pick(1)
	if !m.noteMode.Visible() || !m.handBtn.Visible() {
		t.Fatal("note mode or 引き継ぐ not offered in one's own conversation")
	}
	m.noteMode.SetChecked(true)
	if m.sendBtn.Text != T("compose.keepNote", "Keep the note") {
		t.Fatalf("send button in note mode: %q", m.sendBtn.Text)
	}
	test.Type(m.compose, "次回は睡眠のことを聞く")
	m.compose.TypedShortcut(ctrlEnter())
	if len(notes) != 1 || notes[0] != "次回は睡眠のことを聞く" || len(rec.sent) != 0 || m.noteMode.Checked {
		t.Fatalf("notes %v, replies %v, still in note mode %v", notes, rec.sent, m.noteMode.Checked)
	}
	// The note as stored: a row of its own, marked for staff only.
	m.Apply(in.Apply(&protocol.MessageFrame{Message: protocol.Message{ID: 77, ConversationID: 1, Seq: 2, SenderID: 1, SenderRole: protocol.RoleCounselor,
		Kind: protocol.KindNote, Body: "次回は睡眠のことを聞く", CreatedAt: clk.t}}))
	last := m.history.rows[len(m.history.rows)-1]
	if last.key.kind != rowNote || !strings.Contains(m.metaLine(&last), T("msg.note", "Staff note (the client never sees it)")) {
		t.Fatalf("the note's row: kind %d meta %q", last.key.kind, m.metaLine(&last))
	}
	// 引き継ぐ…: to 佐藤, with a note.
	m.ShowTransfer()
	var pick *widget.Select
	var note *widget.Entry
	for _, o := range overlayObjects(w) {
		switch x := o.(type) {
		case *widget.Select:
			pick = x
		case *widget.Entry:
			if x.MultiLine {
				note = x
			}
		}
	}
	if pick == nil || note == nil || len(pick.Options) != 2 || !strings.HasPrefix(pick.Options[1], "佐藤「さとう」 · ") {
		t.Fatalf("the hand-over dialog: %v", pick)
	}
	pick.SetSelectedIndex(1)
	note.SetText("夜に書くことが多い方です")
	w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if len(transfers) != 1 || transfers[0] == nil || *transfers[0] != 7 || transferNote != "夜に書くことが多い方です" {
		t.Fatalf("transfers %v %q", transfers, transferNote)
	}
}

// Presence and capacity on screen: the presence menu sets it; away (or at
// the organisation's limit) the pool's view says why it shows nothing;
// colleagues' presence shows in the hand-over list and the top bar; 対応終了
// asks first.
func TestPresenceAndCapacityOnScreen(t *testing.T) {
	m, in, _, _, _ := newMainForTest(t)
	var set []protocol.Presence
	var ended []int64
	m.actions.SetPresence = func(p protocol.Presence) { set = append(set, p) }
	m.actions.End = func(id int64) { ended = append(ended, id) }
	m.SetStaff(map[int64]protocol.Account{1: {ID: 1, Nickname: "わたし", Presence: protocol.PresenceAvailable, Online: true},
		7: {ID: 7, Nickname: "佐藤", Presence: protocol.PresenceAvailable, OpenConversations: 2, Online: true}})
	if !strings.Contains(m.team.Text, "2") {
		t.Fatalf("team line %q", m.team.Text)
	}
	m.presence.SetSelectedIndex(1) // 離席
	if len(set) != 1 || set[0] != protocol.PresenceAway {
		t.Fatalf("presence set %v", set)
	}
	me := in.Me()
	me.Presence = protocol.PresenceAway
	m.SetMe(me)
	m.SetView(inbox.ViewPool)
	if !m.list.hint.Visible() || !strings.Contains(m.list.hint.source, T("presence.available", "Taking conversations")) {
		t.Fatalf("away, the pool's hint: %q", m.list.hint.source)
	}
	// A colleague goes away: the top bar and the hand-over list say so.
	m.Apply(in.Apply(&protocol.PresenceFrame{AccountID: 7, Presence: protocol.PresenceAway, OpenConversations: 3, Online: true}))
	if !strings.Contains(m.team.Text, "0") || !strings.Contains(m.staffChoice(m.staff[7]), T("presence.away", "Away")) {
		t.Fatalf("team %q, choice %q", m.team.Text, m.staffChoice(m.staff[7]))
	}
	// At the organisation's limit.
	me.Presence = protocol.PresenceAvailable
	m.SetMe(me)
	org := in.Org()
	org.Settings.MaxOpen = 3
	m.Apply(in.Apply(&protocol.SettingsFrame{Org: org}))
	if !m.list.hint.Visible() || !strings.Contains(m.list.viewBtns[0].Text, "3/3") {
		t.Fatalf("at the limit: hint %v, mine %q", m.list.hint.Visible(), m.list.viewBtns[0].Text)
	}
	// 対応終了 asks, naming the client.
	m.SetView(inbox.ViewMine)
	m.pick(1)
	test.Tap(m.endBtn)
	if len(ended) != 0 || m.win.Canvas().Overlays().Top() == nil {
		t.Fatal("ended without asking")
	}
	m.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if len(ended) != 1 || ended[0] != 1 {
		t.Fatalf("ended %v", ended)
	}
}

// Nomination on screen: a nominated conversation says so in the list and
// the title, its button takes the nomination; a lapsed switch is
// explained once, and either answer settles it.
func TestNominationOnScreen(t *testing.T) {
	for _, tt := range []struct {
		name   string
		resume bool
	}{{"take nominations again", true}, {"leave them off", false}} {
		t.Run(tt.name, func(t *testing.T) {
			m, in, clk, _, w := newMainForTest(t)
			var claims []int64
			var switched []bool
			m.actions.Claim = func(id int64) { claims = append(claims, id) }
			m.actions.Nominations = func(on bool) { switched = append(switched, on) }
			me, at := int64(1), clk.t.Add(-2*time.Hour)
			m.Apply(in.Apply(&protocol.ConversationFrame{Conversation: protocol.Conversation{ID: 4, ClientID: 14, Nickname: "みなと",
				Status: protocol.StatusWaiting, FirstSeq: 1, LastSeq: 1, AssigneeID: &me, NominatedAt: &at}}))
			m.pick(4)
			if !m.claimBtn.Visible() || m.claimBtn.Text != T("pool.acceptNomination", "Take the nomination") ||
				!strings.Contains(m.subtitle.Text, "2") {
				t.Fatalf("button %v %q, subtitle %q", m.claimBtn.Visible(), m.claimBtn.Text, m.subtitle.Text)
			}
			if row := listRow(t, m, "みなと"); !strings.Contains(row.state.Text, T("list.nominated", "Nominated you")) {
				t.Fatalf("the list row: %q", row.state.Text)
			}
			test.Tap(m.claimBtn)
			if len(claims) != 1 || claims[0] != 4 {
				t.Fatalf("claims %v", claims)
			}
			m.Claimed(4, protocol.Conversation{ID: 4, ClientID: 14, Nickname: "みなと", Status: protocol.StatusWaiting, FirstSeq: 1, LastSeq: 1, AssigneeID: &me}, nil)
			if m.claimBtn.Visible() {
				t.Fatal("the button stays after the nomination was taken")
			}

			// The switch turned itself off: told once, at the welcome.
			lapsed := clk.t.Add(-time.Hour)
			m.Apply(in.Apply(&protocol.Welcome{Account: protocol.Account{ID: me, Role: protocol.RoleCounselor, DisplayName: "みどり", NominationLapsedAt: &lapsed}}))
			top := w.Canvas().Overlays().Top()
			if top == nil {
				t.Fatal("the lapse was not explained")
			}
			if tt.resume {
				w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
			} else {
				w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
			}
			if len(switched) != 1 || switched[0] != tt.resume {
				t.Fatalf("switched %v", switched)
			}
			m.Apply(in.Apply(&protocol.Welcome{Account: protocol.Account{ID: me, Role: protocol.RoleCounselor, DisplayName: "みどり", NominationLapsedAt: &lapsed}}))
			if w.Canvas().Overlays().Top() != nil || len(switched) != 1 {
				t.Fatal("told twice in one session")
			}
		})
	}
}

// Risk first on screen: a conversation raised by crisis words goes to the
// top of the list with a marker, and the alert (no name, no text) sounds
// once for it.
func TestRiskOnScreen(t *testing.T) {
	m, in, clk, _, _ := newMainForTest(t)
	alerts := 0
	m.actions.AlertRisk = func() { alerts++ }
	me := int64(1)
	// ひなた waited longest; そら's words raise them above everyone.
	w := clk.t.Add(-time.Hour)
	m.Apply(in.Apply(&protocol.ConversationFrame{Conversation: protocol.Conversation{ID: 2, ClientID: 12, Nickname: "ひなた",
		Status: protocol.StatusWaiting, FirstSeq: 1, LastSeq: 1, AssigneeID: &me, WaitingSince: &w}}))
	at := clk.t
	raised := protocol.Conversation{ID: 3, ClientID: 13, Nickname: "そら", Status: protocol.StatusWaiting, FirstSeq: 1, LastSeq: 1,
		AssigneeID: &me, WaitingSince: &at, RiskAt: &at}
	m.Apply(in.Apply(&protocol.ConversationFrame{Conversation: raised}))
	if alerts != 1 {
		t.Fatalf("%d risk alerts, want 1", alerts)
	}
	if first := m.list.shown[0]; first.ID != 3 {
		t.Fatalf("the top of the list is %s", first.Nickname)
	}
	if row := listRow(t, m, "⚠ そら"); !strings.Contains(row.state.Text, T("list.risk", "⚠ Crisis words: answer first")) {
		t.Fatalf("the row: %q", row.state.Text)
	}
	m.Apply(in.Apply(&protocol.ConversationFrame{Conversation: raised})) // the same state again
	if alerts != 1 {
		t.Fatal("alerted twice for one raise")
	}
}
