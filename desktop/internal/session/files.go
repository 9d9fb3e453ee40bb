package session

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"sync"

	_ "image/jpeg" // decoders for the photos the app draws
	_ "image/png"

	"fyne.io/fyne/v2"
	"golang.org/x/image/draw"

	"github.com/taiwa-chat/taiwa/desktop/internal/cache"
	"github.com/taiwa-chat/taiwa/desktop/internal/ui"
	"github.com/taiwa-chat/taiwa/pkg/client"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// maxPixels bounds the photos the app decodes: a file that claims more
// (a decompression bomb, or a panorama) is offered to save, never drawn.
const maxPixels = 50_000_000

// Thumbnails are made at twice the block's size, for sharp high-DPI
// screens; at most this many stay decoded in memory (the rest are in the
// cache, sealed).
const (
	thumbPixW, thumbPixH = 400, 300
	thumbsInMemory       = 300
	thumbWorkers         = 2
)

// files is the session's ui.FileAPI: it fetches attachments into the
// encrypted cache (where they are deleted with their message), makes
// thumbnails, decodes photos for the viewer, uploads what the counselor
// sends. Without a cache (no keychain) nothing is kept: each view
// downloads again.
type files struct {
	c    *Controller
	s    *session
	work chan struct{} // bounds concurrent thumbnail makers

	mu     sync.Mutex
	thumbs map[int64]image.Image
	why    map[int64]string // files that will not be drawn, and why
	making map[int64]bool
}

var _ ui.FileAPI = (*files)(nil)

func newFiles(c *Controller, s *session) *files {
	return &files{c: c, s: s, work: make(chan struct{}, thumbWorkers),
		thumbs: map[int64]image.Image{}, why: map[int64]string{}, making: map[int64]bool{}}
}

// Thumb returns a thumbnail, starting to make it if there is none.
func (f *files) Thumb(a protocol.Attachment) (image.Image, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if img, ok := f.thumbs[a.ID]; ok {
		return img, ""
	}
	if why, ok := f.why[a.ID]; ok {
		return nil, why
	}
	if !f.making[a.ID] {
		f.making[a.ID] = true
		go f.makeThumb(a)
	}
	return nil, ""
}

func (f *files) makeThumb(a protocol.Attachment) {
	select {
	case f.work <- struct{}{}:
	case <-f.s.ctx.Done():
		return
	}
	defer func() { <-f.work }()
	img, err := f.thumb(a)
	f.mu.Lock()
	delete(f.making, a.ID)
	switch {
	case err == nil:
		if len(f.thumbs) >= thumbsInMemory {
			clear(f.thumbs) // they are in the cache: made again cheaply
		}
		f.thumbs[a.ID] = img
	case f.s.ctx.Err() != nil:
	default:
		f.why[a.ID] = fileProblem(err)
		if !errors.Is(err, errUndrawable) {
			f.c.log.Warn("thumbnail not made", "attachment", a.ID, "err", err) // an ID, never a name
		}
	}
	f.mu.Unlock()
	if f.s.ctx.Err() == nil {
		f.c.do(func() {
			if f.c.main == f.s.scr {
				f.s.scr.FileReady()
			}
		})
	}
}

var errUndrawable = errors.New("too large to draw or not a picture")

// thumb returns a file's thumbnail: from the cache, or made now (and kept
// there).
func (f *files) thumb(a protocol.Attachment) (image.Image, error) {
	if cc := f.s.cache; cc != nil {
		if b, err := cc.Thumb(a.ID); err == nil {
			if img, err := png.Decode(bytes.NewReader(b)); err == nil {
				return img, nil
			}
		}
	}
	full, err := f.decode(a)
	if err != nil {
		return nil, err
	}
	small := scaleToFit(full, thumbPixW, thumbPixH)
	if cc := f.s.cache; cc != nil {
		var buf bytes.Buffer
		if err := png.Encode(&buf, small); err == nil {
			if err := cc.StoreThumb(a.ID, buf.Bytes()); err != nil && f.s.ctx.Err() == nil {
				f.c.log.Warn("thumbnail not cached", "attachment", a.ID, "err", err)
			}
		}
	}
	return small, nil
}

// open returns a file's content: from the cache, fetched into it first
// if needed; without a cache, straight from the server.
func (f *files) open(a protocol.Attachment) (io.ReadCloser, error) {
	cc := f.s.cache
	if cc != nil {
		if rc, err := cc.OpenFile(a.ID); err == nil {
			return rc, nil
		} else if !errors.Is(err, cache.ErrNoFile) {
			return nil, err
		}
	}
	body, _, err := f.s.cli.Download(f.s.ctx, a.ID)
	if err != nil {
		return nil, err
	}
	if cc == nil {
		return body, nil
	}
	err = cc.StoreFile(a.ID, body)
	body.Close()
	if err != nil {
		return nil, err
	}
	return cc.OpenFile(a.ID)
}

// decode reads a whole photo, refusing one too large to draw. The file is
// read twice (its header, then all of it) from the cache; without one,
// it is held in memory once.
func (f *files) decode(a protocol.Attachment) (image.Image, error) {
	if a.Type != protocol.TypeJPEG && a.Type != protocol.TypePNG {
		return nil, errUndrawable
	}
	rc, err := f.open(a)
	if err != nil {
		return nil, err
	}
	var src io.Reader = rc
	var held []byte
	if f.s.cache == nil {
		held, err = io.ReadAll(io.LimitReader(rc, protocol.MaxAttachmentBytes))
		rc.Close()
		if err != nil {
			return nil, err
		}
		src = bytes.NewReader(held)
	}
	cfg, _, err := image.DecodeConfig(src)
	if rc != nil && held == nil {
		rc.Close()
	}
	if err != nil || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, errUndrawable
	}
	if held != nil {
		src = bytes.NewReader(held)
	} else {
		if rc, err = f.open(a); err != nil {
			return nil, err
		}
		defer rc.Close()
		src = rc
	}
	img, _, err := image.Decode(src)
	if err != nil {
		return nil, errUndrawable
	}
	return img, nil
}

// scaleToFit makes a copy of img no larger than w×h, its shape kept.
func scaleToFit(img image.Image, w, h int) image.Image {
	b := img.Bounds()
	scale := min(float64(w)/float64(b.Dx()), float64(h)/float64(b.Dy()), 1)
	dw, dh := max(1, int(float64(b.Dx())*scale)), max(1, int(float64(b.Dy())*scale))
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

// Image decodes a photo for the viewer.
func (f *files) Image(a protocol.Attachment, done func(image.Image, error)) {
	go func() {
		img, err := f.decode(a)
		f.c.do(func() { done(img, err) })
	}()
}

// Save writes a copy where the counselor chose (after the screen said
// Taiwa will not delete it).
func (f *files) Save(a protocol.Attachment, w io.WriteCloser, done func(error)) {
	go func() {
		err := func() error {
			rc, err := f.open(a)
			if err != nil {
				w.Close()
				return err
			}
			defer rc.Close()
			if _, err := io.Copy(w, rc); err != nil {
				w.Close()
				return fmt.Errorf("save a copy: %w", err)
			}
			return w.Close()
		}()
		f.c.do(func() { done(err) })
	}()
}

// Send uploads a file, then queues the message that carries it through
// the outbox like any reply.
func (f *files) Send(conversationID int64, r io.ReadCloser, caption string, done func(error)) {
	go func() {
		a, err := f.s.cli.Upload(f.s.ctx, conversationID, r)
		r.Close()
		f.c.do(func() {
			if err == nil && f.c.main == f.s.scr {
				f.c.enqueue(client.PendingMessage{Ref: client.NewRef(), ConversationID: conversationID, Body: caption, Attachment: a.ID})
			}
			done(err)
		})
	}()
}

// Limit is the organisation's largest file.
func (f *files) Limit() int64 { return f.s.in.Org().Settings.AttachmentLimit() }

// Window opens a window that closes with the session.
func (f *files) Window(title string) fyne.Window { return f.c.windows.New(title) }

// fileProblem says in the screen's words why a file is not drawn.
func fileProblem(err error) string {
	var pe *protocol.Error
	switch {
	case errors.As(err, &pe) && pe.Code == protocol.CodeNotFound:
		return ui.T("file.gone", "This file has been deleted.")
	case errors.Is(err, errUndrawable):
		return ui.T("file.unreadable", "This photo cannot be read")
	}
	return ui.T("file.failed", "The file could not be sent or fetched. Try again when connected.")
}
