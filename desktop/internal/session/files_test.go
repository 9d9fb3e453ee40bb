package session

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/taiwa-chat/taiwa/desktop/internal/cache"
	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/desktop/internal/ui"
	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/keychain"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/servertest"
)

// testPhoto is a real PNG of w×h.
func testPhoto(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{R: uint8(x * 7), G: uint8(y * 5), B: uint8(x ^ y), A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type bufCloser struct{ bytes.Buffer }

func (b *bufCloser) Close() error { return nil }

// Files through the app against a real server: a client's photo becomes
// a thumbnail (its file sealed in the cache), a copy saved is the file,
// the counselor's PDF reaches the client whole, and the client's deletion
// takes the cached file with it.
func TestFilesSession(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(ui.Theme{})
	w := a.NewWindow("test")
	srv := servertest.New(t)
	counselor := srv.Counselor(t, "田中")
	cl, cred := srv.Client(t, "さくら")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &harness{}
	dataDir := t.TempDir()
	ctrl := New(a, w, Options{Keys: &keychain.Memory{}, DataDir: dataDir, Do: h.do, DoWait: h.do})
	h.do(ctrl.Start)
	if err := ctrl.login(srv.URL, counselor.LoginID, counselor.Password, ""); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "connected", func() bool { return ctrl.live != nil && ctrl.live.Connected() })

	clLive := cl.Live(client.LiveOptions{MinBackoff: 20 * time.Millisecond})
	go clLive.Run(ctx)
	first, err := clLive.Send(ctx, 0, "写真を送ります")
	if err != nil {
		t.Fatal(err)
	}
	conv := first.ConversationID
	h.waitFor(t, "the conversation in the pool", func() bool { return len(ctrl.in.List(inbox.ViewPool, inbox.FilterAll, "")) == 1 })
	h.do(func() { ctrl.main.SetView(inbox.ViewPool); ctrl.main.Open(conv); ctrl.main.Claim() })
	h.waitFor(t, "taken", func() bool { f := ctrl.in.Focused(); return f != nil && len(f.Messages) == 1 })

	photo := testPhoto(t, 640, 480)
	up, err := cl.Upload(ctx, conv, bytes.NewReader(photo))
	if err != nil {
		t.Fatal(err)
	}
	if r := <-clLive.EnqueueMessage(client.PendingMessage{Ref: client.NewRef(), Attachment: up.ID}); r.Err != nil {
		t.Fatal(r.Err)
	}
	h.waitFor(t, "the photo's message", func() bool {
		f := ctrl.in.Focused()
		return f != nil && len(f.Messages) == 2 && f.Messages[1].Attachment != nil
	})
	f := ctrl.sess.files
	var att protocol.Attachment
	h.do(func() { att = *ctrl.in.Focused().Messages[1].Attachment })
	if att.ID != up.ID || att.Type != protocol.TypePNG {
		t.Fatalf("attachment %+v, uploaded %+v", att, up)
	}
	// The thumbnail is made in the background; the screen is told.
	h.waitFor(t, "the thumbnail", func() bool { img, why := f.Thumb(att); return img != nil || why != "" })
	img, why := f.Thumb(att)
	if img == nil || img.Bounds().Dx() != 400 || img.Bounds().Dy() != 300 {
		t.Fatalf("thumbnail %v (%q)", img, why)
	}
	// Held sealed: none of the photo's bytes are on disk as they are.
	cacheDir := ctrl.cacheDir(srv.URL)
	if entries, _ := os.ReadDir(filepath.Join(cacheDir, cache.FilesDir)); len(entries) < 2 {
		t.Fatalf("the cache holds %d files, want the photo and its thumbnail", len(entries))
	}
	if hits := dirContains(t, dataDir, photo[len(photo)/2:len(photo)/2+64]); len(hits) > 0 {
		t.Fatalf("the photo is on disk in the clear: %v", hits)
	}
	// A copy saved (after the screen's warning) is the file itself.
	var saved bufCloser
	done := make(chan error, 1)
	f.Save(att, &saved, func(err error) { done <- err })
	if err := <-done; err != nil || !bytes.Equal(saved.Bytes(), photo) {
		t.Fatalf("saved %d bytes, %v", saved.Len(), err)
	}
	// The viewer decodes the whole photo.
	got := make(chan image.Image, 1)
	f.Image(att, func(img image.Image, err error) { got <- img })
	if full := <-got; full == nil || full.Bounds().Dx() != 640 {
		t.Fatalf("viewer image %v", full)
	}

	// The counselor answers with a PDF and a caption; the client reads it whole.
	pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("資料 "), 20000)...)
	sent := make(chan error, 1)
	h.do(func() {
		f.Send(conv, io.NopCloser(bytes.NewReader(pdf)), "地図です", func(err error) { sent <- err })
	})
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the PDF's message acknowledged", func() bool {
		c := ctrl.in.Conv(conv)
		return len(c.Pending) == 0 && len(c.Messages) == 3 && c.Messages[2].Attachment != nil && c.Messages[2].Body == "地図です"
	})
	var pdfID int64
	h.do(func() { pdfID = ctrl.in.Conv(conv).Messages[2].Attachment.ID })
	rc, _, err := cl.Download(ctx, pdfID)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(back, pdf) {
		t.Fatalf("the client read %d bytes of the PDF", len(back))
	}
	// The client is deleted: its conversation goes, and the cached file
	// with it.
	if err := srv.Admin.DeleteClient(ctx, cred.Account.ID); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the conversation gone", func() bool { return ctrl.in.Conv(conv) == nil })
	h.waitFor(t, "the cached files gone", func() bool {
		entries, _ := os.ReadDir(filepath.Join(cacheDir, cache.FilesDir))
		return len(entries) == 0
	})
	h.do(ctrl.Close) // its goroutines stop before the next test's app
}
