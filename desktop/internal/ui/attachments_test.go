package ui

import (
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// fakeFiles is a FileAPI whose thumbnails come when the test says.
type fakeFiles struct {
	mu      sync.Mutex
	ready   map[int64]bool
	opened  []int64
	windows []fyne.Window
	sent    []string
}

func (f *fakeFiles) Thumb(a protocol.Attachment) (image.Image, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.ready[a.ID] {
		return nil, ""
	}
	img := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for y := range 300 {
		for x := range 400 {
			img.Set(x, y, color.RGBA{R: uint8(120 + x/4), G: uint8(170 + y/6), B: 200, A: 255})
		}
	}
	return img, ""
}

func (f *fakeFiles) Image(a protocol.Attachment, done func(image.Image, error)) {
	f.mu.Lock()
	f.opened = append(f.opened, a.ID)
	f.mu.Unlock()
	img, _ := f.Thumb(a)
	done(img, nil)
}

func (f *fakeFiles) Save(a protocol.Attachment, w io.WriteCloser, done func(error)) { done(w.Close()) }

func (f *fakeFiles) Send(conv int64, r io.ReadCloser, caption string, done func(error)) {
	f.mu.Lock()
	f.sent = append(f.sent, caption)
	f.mu.Unlock()
	done(r.Close())
}

func (f *fakeFiles) Limit() int64 { return protocol.DefaultAttachmentBytes }

func (f *fakeFiles) Window(title string) fyne.Window {
	w := test.NewWindow(nil)
	w.SetTitle(title)
	f.mu.Lock()
	f.windows = append(f.windows, w)
	f.mu.Unlock()
	return w
}

// Files on the counselor's screen: a photo in a long history shows as a
// thumbnail once made (the row keeps its size meanwhile), a click opens
// it in a window of its own, a PDF asks before saving a copy and says
// Taiwa will not delete it, and no file goes with a staff-only note.
func TestFilesOnScreen(t *testing.T) {
	files := &fakeFiles{ready: map[int64]bool{}}
	m, in, _, _, w := newMainForTestWith(t, func(a *Actions) { a.Files = files })
	w.Resize(fyne.NewSize(1100, 760))
	for seq := int64(1); seq <= 200; seq++ {
		m.Apply(in.Apply(clientMsg(1, seq, strings.Repeat("長い相談の続きです。", int(seq%3)+1))))
	}
	photo := clientMsg(1, 201, "")
	photo.Message.Attachment = &protocol.Attachment{ID: 7, Type: protocol.TypeJPEG, Size: 812_000}
	m.Apply(in.Apply(photo))
	doc := clientMsg(1, 202, "診断書です。見てもらえますか")
	doc.Message.Attachment = &protocol.Attachment{ID: 8, Type: protocol.TypePDF, Size: 183_000}
	m.Apply(in.Apply(doc))
	m.pick(1)

	row := func(id int64) *rowView {
		for _, rv := range m.history.body.active {
			if rv.key.id == id {
				return rv
			}
		}
		t.Fatalf("row of message %d not in view", id)
		return nil
	}
	before := m.history.rows[len(m.history.rows)-2].h
	if !strings.Contains(strings.Join(row(photo.Message.ID).Text(), " "), T("file.loading", "Loading the photo…")) {
		t.Fatalf("a photo being fetched shows %q", row(photo.Message.ID).Text())
	}
	files.mu.Lock()
	files.ready[7] = true
	files.mu.Unlock()
	m.FileReady()
	if rv := row(photo.Message.ID); rv.img == nil || rv.img.Image == nil || !containsObj(rv.objs, rv.img) {
		t.Fatal("the thumbnail is not drawn")
	}
	if after := m.history.rows[len(m.history.rows)-2].h; after != before {
		t.Fatalf("the photo's row changed height from %v to %v: the history would jump", before, after)
	}
	if !strings.Contains(strings.Join(row(doc.Message.ID).Text(), " "), "PDF · 179 KB") {
		t.Fatalf("the PDF's row shows %q", row(doc.Message.ID).Text())
	}
	shoot(t, w, "desk-files.png")

	// A click on the photo opens it in a window of its own.
	rv := row(photo.Message.ID)
	test.TapAt(rv, fyne.NewPos(rv.attAt.X+10, rv.attAt.Y+10))
	if len(files.opened) != 1 || len(files.windows) != 1 || files.windows[0].Title() != T("file.viewerTitle", "Photo") {
		t.Fatalf("opened %v, windows %d", files.opened, len(files.windows))
	}
	// A click on the PDF asks before saving a copy, and says why.
	rv = row(doc.Message.ID)
	test.TapAt(rv, fyne.NewPos(rv.attAt.X+5, rv.attAt.Y+5))
	if text := overlayText(w); !strings.Contains(text, T("file.cannotShow", "Taiwa cannot show this file inside the app.")) || !strings.Contains(text, "Taiwa will not delete it") && !strings.Contains(text, "削除しません") {
		t.Fatalf("the save dialog says %q", text)
	}
	shoot(t, w, "desk-file-save.png")
	w.Canvas().Overlays().Remove(w.Canvas().Overlays().Top())

	// A note carries no file.
	if m.fileBtn.Disabled() {
		t.Fatal("the file button is off in one's own conversation")
	}
	m.noteMode.SetChecked(true)
	if !m.fileBtn.Disabled() {
		t.Fatal("a file could be sent with a staff-only note")
	}
}

func containsObj(objs []fyne.CanvasObject, o fyne.CanvasObject) bool {
	for _, x := range objs {
		if x == o {
			return true
		}
	}
	return false
}

// overlayText is every label's text in the window's top overlay.
func overlayText(w fyne.Window) string {
	top := w.Canvas().Overlays().Top()
	if top == nil {
		return ""
	}
	var out []string
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Label:
			out = append(out, x.Text)
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(x).Objects() {
				walk(c)
			}
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		}
	}
	walk(top)
	return strings.Join(out, " ")
}

// shoot writes what the window shows to $TAIWA_SHOTS, when set, to look at.
func shoot(t *testing.T, w fyne.Window, name string) {
	t.Helper()
	dir := os.Getenv("TAIWA_SHOTS")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, w.Canvas().Capture()); err != nil {
		t.Fatal(err)
	}
}
