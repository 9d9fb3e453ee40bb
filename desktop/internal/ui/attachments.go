package ui

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// FileAPI is what the screen asks of the app about attachments (issue
// 14): photos and PDFs in a conversation. The app keeps what it fetches in
// its encrypted cache, deleted with the message; nothing is written in
// the clear anywhere unless the counselor saves a copy, after being told
// Taiwa will not delete it.
type FileAPI interface {
	// Thumb returns an image's thumbnail if the app has it; otherwise nil
	// and the reason it will not come ("" while it is being made: the app
	// calls Main.FileReady when it is).
	Thumb(a protocol.Attachment) (image.Image, string)
	// Image fetches and decodes a whole image for the viewer; done runs on
	// the UI goroutine.
	Image(a protocol.Attachment, done func(image.Image, error))
	// Save writes a copy of the file to w, which it closes; done runs on
	// the UI goroutine.
	Save(a protocol.Attachment, w io.WriteCloser, done func(error))
	// Send uploads r (closed after) to a conversation and queues a
	// message that carries it, with caption as its words (may be empty);
	// done runs on the UI goroutine once the upload is done or refused.
	Send(conversationID int64, r io.ReadCloser, caption string, done func(error))
	// Limit is the organisation's largest file.
	Limit() int64
	// Window opens a window of the session (closed when it ends).
	Window(title string) fyne.Window
}

// Sizes of a file's block in a history bubble.
const (
	thumbW, thumbH = 200, 150
)

// sizeText says how large a file is.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d KB", max(1, (n+512)>>10))
	}
}

// fileKind names a file's kind for people.
func fileKind(typ string) string {
	switch typ {
	case protocol.TypePDF:
		return "PDF"
	case protocol.TypeHEIC:
		return T("file.heic", "Photo (HEIC)")
	}
	return T("file.photo", "Photo")
}

// shownAsImage reports whether the app draws a file as a picture (Go
// reads JPEG and PNG; HEIC and PDF are offered to save).
func shownAsImage(typ string) bool { return typ == protocol.TypeJPEG || typ == protocol.TypePNG }

// fileCardText is what a file that is not drawn shows in its bubble.
func fileCardText(a protocol.Attachment) string {
	return "📄 " + fileKind(a.Type) + " · " + sizeText(a.Size) + "  " + T("file.clickToSave", "(click to save a copy)")
}

// attachmentBlock is the size of a file's block in a bubble.
func (v *historyView) attachmentBlock(a *protocol.Attachment) (w, h float32) {
	if a == nil {
		return 0, 0
	}
	if shownAsImage(a.Type) {
		return thumbW, thumbH
	}
	return v.text.sum([]rune(fileCardText(*a))), v.m.lineH + v.m.pad
}

// bindAttachment draws a file's block at (x, y) in a bubble.
func (r *rowView) bindAttachment(a *protocol.Attachment, x, y float32) {
	v := r.v
	w, h := v.attachmentBlock(a)
	r.attAt = fyne.NewPos(x, y)
	r.attSize = fyne.NewSize(w, h)
	r.att = a
	if r.img == nil {
		r.img = canvas.NewImageFromImage(nil)
		r.img.FillMode = canvas.ImageFillContain
		r.img.ScaleMode = canvas.ImageScaleSmooth
		r.imgBg = canvas.NewRectangle(color.Transparent)
		r.card = canvas.NewText("", color.Black)
	}
	th := v.Theme()
	variant := fyne.CurrentApp().Settings().ThemeVariant()
	if !shownAsImage(a.Type) {
		r.setText(r.card, fileCardText(*a), v.m.textSize, th.Color(theme.ColorNameHyperlink, variant), fyne.TextStyle{}, fyne.NewPos(x, y+v.m.pad/2))
		r.objs = append(r.objs, r.card)
		return
	}
	r.imgBg.FillColor = th.Color(theme.ColorNameInputBackground, variant)
	r.imgBg.CornerRadius = th.Size(theme.SizeNameInputRadius)
	r.imgBg.Move(r.attAt)
	r.imgBg.Resize(r.attSize)
	r.objs = append(r.objs, r.imgBg)
	var (
		img  image.Image
		why  string
		note string
	)
	if v.thumb != nil {
		img, why = v.thumb(*a)
	}
	switch {
	case img != nil:
		r.img.Image = img
		r.img.Move(r.attAt)
		r.img.Resize(r.attSize)
		r.img.Refresh()
		r.objs = append(r.objs, r.img)
		return
	case why != "":
		note = why
	default:
		note = T("file.loading", "Loading the photo…")
	}
	r.setText(r.card, note, v.m.smallSize, th.Color(theme.ColorNamePlaceHolder, variant), fyne.TextStyle{Italic: true},
		fyne.NewPos(x+v.m.pad, y+(h-v.m.smallH)/2))
	r.objs = append(r.objs, r.card)
}

// Tapped opens the file a row shows, when the click is on it.
func (r *rowView) Tapped(e *fyne.PointEvent) {
	if r.att == nil || r.v.onOpen == nil {
		return
	}
	p := e.Position
	if p.X >= r.attAt.X && p.X <= r.attAt.X+r.attSize.Width && p.Y >= r.attAt.Y && p.Y <= r.attAt.Y+r.attSize.Height {
		r.v.onOpen(*r.att)
	}
}

// fileItems are a row's menu entries for its file.
func (r *rowView) fileItems() []*fyne.MenuItem {
	if r.att == nil || r.v.onOpen == nil {
		return nil
	}
	a := *r.att
	items := []*fyne.MenuItem{}
	if shownAsImage(a.Type) {
		items = append(items, fyne.NewMenuItem(T("file.open", "Open the photo"), func() { r.v.onOpen(a) }))
	}
	return append(items, fyne.NewMenuItem(T("file.save", "Save a copy…"), func() { r.v.onSave(a) }))
}

// FileReady redraws the rows once a thumbnail has been made (or could
// not be).
func (m *Main) FileReady() {
	m.history.body.rebind()
}

// openFile shows a photo in a window of its own; anything else is saved.
func (m *Main) openFile(a protocol.Attachment) {
	if m.actions.Files == nil {
		return
	}
	if !shownAsImage(a.Type) {
		m.saveFile(a)
		return
	}
	w := m.actions.Files.Window(T("file.viewerTitle", "Photo"))
	img := canvas.NewImageFromImage(nil)
	img.FillMode = canvas.ImageFillContain
	img.ScaleMode = canvas.ImageScaleSmooth
	status := widget.NewLabel(T("file.loading", "Loading the photo…"))
	save := widget.NewButtonWithIcon(T("file.save", "Save a copy…"), theme.DocumentSaveIcon(), func() { m.saveFileIn(a, w) })
	closeB := widget.NewButtonWithIcon(T("file.close", "Close"), theme.CancelIcon(), w.Close)
	w.SetContent(container.NewBorder(nil, container.NewHBox(status, layout.NewSpacer(), save, closeB), nil, nil, img))
	w.Resize(fyne.NewSize(900, 700))
	w.Show()
	m.actions.Files.Image(a, func(i image.Image, err error) {
		if err != nil {
			status.SetText(fileError(err))
			return
		}
		b := i.Bounds()
		status.SetText(fmt.Sprintf("%s · %d×%d · %s", fileKind(a.Type), b.Dx(), b.Dy(), sizeText(a.Size)))
		img.Image = i
		img.Refresh()
	})
}

// saveFile asks before writing a copy: Taiwa deletes what it keeps, not
// what the counselor saves.
func (m *Main) saveFile(a protocol.Attachment) { m.saveFileIn(a, m.win) }

func (m *Main) saveFileIn(a protocol.Attachment, win fyne.Window) {
	if m.actions.Files == nil {
		return
	}
	why := T("file.saveWarning", "A saved copy is yours to look after: Taiwa will not delete it when the conversation is deleted. Save it only where your organisation allows, and delete it when you no longer need it.")
	if !shownAsImage(a.Type) {
		why = T("file.cannotShow", "Taiwa cannot show this file inside the app.") + "\n\n" + why
	}
	msg := widget.NewLabel(why)
	msg.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustomConfirm(T("file.saveTitle", "Save a copy of this file?"), T("file.saveChoose", "Choose where…"), T("dialog.cancel", "Cancel"),
		container.NewGridWrap(fyne.NewSize(420, 150), msg), func(ok bool) {
			if !ok {
				return
			}
			fd := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
				if err != nil || w == nil {
					return
				}
				m.actions.Files.Save(a, w, func(err error) {
					if err != nil {
						dialog.ShowError(fmt.Errorf("%s", fileError(err)), win)
					}
				})
			}, win)
			fd.SetFileName(fmt.Sprintf("taiwa-%d%s", a.ID, protocol.Extension(a.Type)))
			fd.Show()
		}, win)
	d.Show()
}

// chooseFile picks a photo or PDF to send to the conversation in front.
func (m *Main) chooseFile() {
	if m.actions.Files == nil || m.in.Focused() == nil {
		return
	}
	fd := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		m.sendFile(r)
	}, m.win)
	fd.SetFilter(storage.NewExtensionFileFilter([]string{".jpg", ".jpeg", ".png", ".heic", ".heif", ".pdf", ".JPG", ".JPEG", ".PNG", ".HEIC", ".PDF"}))
	fd.Show()
}

// Dropped sends files dropped on the window to the conversation in front
// (one at a time, each asked first).
func (m *Main) Dropped(_ fyne.Position, uris []fyne.URI) {
	if m.actions.Files == nil || m.in.Focused() == nil || !m.sendBtn.Visible() || m.sendBtn.Disabled() || len(uris) == 0 {
		return
	}
	r, err := storage.Reader(uris[0])
	if err != nil {
		dialog.ShowError(err, m.win)
		return
	}
	m.sendFile(r)
}

// sendFile asks before sending a file to the conversation in front: to
// whom, what, and that the client can keep it. The reply box's words go
// with it as its caption.
func (m *Main) sendFile(r fyne.URIReadCloser) {
	f := m.in.Focused()
	if f == nil {
		r.Close()
		return
	}
	conv, name := f.ID, f.Nickname
	msg := widget.NewLabel(T("file.sendConfirm", "Send this file to {{.Name}}? The client can keep a copy of it. Check that it shows nothing that identifies anyone.", map[string]any{"Name": name}))
	msg.Wrapping = fyne.TextWrapWord
	caption := strings.TrimSpace(m.compose.Text)
	if caption != "" {
		msg.SetText(msg.Text + "\n\n" + T("file.withCaption", "The words in the reply box go with it."))
	}
	dialog.NewCustomConfirm(T("file.sendTitle", "Send a file"), T("file.send", "Send"), T("dialog.cancel", "Cancel"),
		container.NewGridWrap(fyne.NewSize(420, 130), msg), func(ok bool) {
			if !ok {
				r.Close()
				return
			}
			m.status.SetText(T("file.uploading", "Sending the file…"))
			if caption != "" {
				m.setCompose("")
			}
			m.actions.Files.Send(conv, r, caption, func(err error) {
				if err != nil {
					if caption != "" && m.shown == conv && strings.TrimSpace(m.compose.Text) == "" {
						m.setCompose(caption) // the words stay
					}
					dialog.ShowError(fmt.Errorf("%s", fileError(err)), m.win)
				}
				m.showStatus()
			})
		}, m.win).Show()
}

// fileError says why a file could not be sent or fetched, in words.
func fileError(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case protocol.CodeTooLarge:
			return T("file.tooLarge", "The file is larger than your organisation allows.")
		case protocol.CodeUnsupportedMedia:
			return T("file.wrongType", "Only photos (JPEG, PNG, HEIC) and PDF files can be sent.")
		case protocol.CodeNotFound:
			return T("file.gone", "This file has been deleted.")
		case protocol.CodeOutsideHours:
			return T("lock.outside", "Outside access hours: client data cannot be shown now.")
		}
	}
	return T("file.failed", "The file could not be sent or fetched. Try again when connected.")
}
