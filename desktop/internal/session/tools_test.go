package session

import (
	"context"
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

// The working tools through the app against a real server: a reply made
// from a template with a promised date sets the date with it, the
// template's use is counted, and a progress set by hand comes back live.
func TestWorkingToolsSession(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(ui.Theme{})
	w := a.NewWindow("test")
	srv := servertest.New(t)
	counselor := srv.Counselor(t, "田中")
	cl, _ := srv.Client(t, "さくら")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tp, err := srv.Admin.CreateTemplate(ctx, protocol.TemplateRequest{Scope: protocol.ScopeOrg, Title: "次回", Body: "{next_contact}にご連絡します。"})
	if err != nil {
		t.Fatal(err)
	}
	org, err := srv.Admin.Org(ctx)
	if err != nil {
		t.Fatal(err)
	}
	date := hours.Today(org.Settings.Hours, time.Now()).AddDate(0, 0, 3).Format(protocol.DateLayout)

	h := &harness{}
	ctrl := New(a, w, Options{Keys: &keychain.Memory{}, DataDir: t.TempDir(), Do: h.do, DoWait: h.do})
	h.do(ctrl.Start)
	if err := ctrl.login(srv.URL, counselor.LoginID, counselor.Password, ""); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "connected", func() bool { return ctrl.live != nil && ctrl.live.Connected() })
	clLive := cl.Live(client.LiveOptions{MinBackoff: 20 * time.Millisecond})
	go clLive.Run(ctx)
	if _, err := clLive.Send(ctx, 0, "いつ頃わかりますか"); err != nil {
		t.Fatal(err)
	}
	// It waits in the pool (未対応) until the counselor takes it.
	var pooled int64
	h.waitFor(t, "the conversation in the pool", func() bool {
		for _, c := range ctrl.in.List(inbox.ViewPool, inbox.FilterAll, "") {
			pooled = c.ID
			return true
		}
		return false
	})
	h.do(func() { ctrl.main.SetView(inbox.ViewPool); ctrl.main.Open(pooled); ctrl.main.Claim() })
	h.waitFor(t, "the client's message in front", func() bool { f := ctrl.in.Focused(); return f != nil && len(f.Messages) == 1 })

	var conv int64
	h.do(func() {
		conv = ctrl.in.FocusedID()
		ctrl.sendWith(conv, "確認してご連絡します。", ui.SendExtras{Progress: protocol.ProgressNextContact, NextContact: date, TemplateID: tp.ID})
	})
	h.waitFor(t, "the promised date, live", func() bool {
		c := ctrl.in.Conv(conv)
		return len(c.Pending) == 0 && c.Progress() == protocol.ProgressNextContact && c.NextContact == date
	})
	var list []protocol.Template
	done := make(chan error, 1)
	h.do(func() {
		ctrl.templateAPI(ctrl.sess).List(func(l []protocol.Template, err error) { list = l; done <- err })
	})
	if err := <-done; err != nil || len(list) != 1 || list[0].Uses != 1 {
		t.Fatalf("templates %+v %v", list, err)
	}
	h.do(func() {
		ctrl.setProgress(ctrl.sess)(conv, protocol.ProgressRequest{Progress: protocol.ProgressDone}, func(err error) { done <- err })
	})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "完了, live", func() bool { return ctrl.in.Conv(conv).Progress() == protocol.ProgressDone })
	// A refusal comes back as an error, and nothing changes.
	h.do(func() {
		ctrl.setProgress(ctrl.sess)(conv, protocol.ProgressRequest{Progress: protocol.ProgressNextContact, NextContact: "2020-01-01"}, func(err error) { done <- err })
	})
	if err := <-done; !client.IsCode(err, protocol.CodeInvalid) {
		t.Fatalf("a past date: %v", err)
	}
	// The note about the client, saved and back live.
	h.do(func() {
		ctrl.setNote(ctrl.sess)(ctrl.in.Conv(conv).ClientID, protocol.NoteRequest{Note: "睡眠の話が中心", Expect: new(string)}, func(err error) { done <- err })
	})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the note, live", func() bool { c := ctrl.in.Conv(conv); return c.Note == "睡眠の話が中心" && c.NoteAt != nil })
	h.do(ctrl.Close)
}
