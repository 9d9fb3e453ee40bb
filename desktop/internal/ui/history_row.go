package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// rowView draws one row of the history (a message in its bubble with the
// line above it saying when and who, a day separator, the head) and is
// reused for whichever row scrolls into view. Text is drawn line by line
// as laid out by the history, so what is measured is what is drawn.
type rowView struct {
	widget.BaseWidget
	v     *historyView
	key   rowKey
	width float32
	text  string // the message's text, for copying

	bg    *canvas.Rectangle
	meta  *canvas.Text
	lines []*canvas.Text
	objs  []fyne.CanvasObject

	// The message's file, if any (issue 14): its block in the bubble.
	att     *protocol.Attachment
	attAt   fyne.Position
	attSize fyne.Size
	img     *canvas.Image
	imgBg   *canvas.Rectangle
	card    *canvas.Text
}

func newRowView(v *historyView) *rowView {
	r := &rowView{v: v, bg: canvas.NewRectangle(color.Transparent), meta: canvas.NewText("", color.Black)}
	r.ExtendBaseWidget(r)
	return r
}

// CreateRenderer is Fyne's.
func (r *rowView) CreateRenderer() fyne.WidgetRenderer { return &rowRenderer{r: r} }

type rowRenderer struct{ r *rowView }

func (rr *rowRenderer) Layout(fyne.Size)             {}
func (rr *rowRenderer) MinSize() fyne.Size           { return fyne.Size{} }
func (rr *rowRenderer) Refresh()                     {}
func (rr *rowRenderer) Objects() []fyne.CanvasObject { return rr.r.objs }
func (rr *rowRenderer) Destroy()                     {}

// TappedSecondary offers to copy the message (a right click).
func (r *rowView) TappedSecondary(e *fyne.PointEvent) {
	k := r.key.kind
	if k != rowClient && k != rowStaff && k != rowPending && k != rowNote {
		return
	}
	c := fyne.CurrentApp().Driver().CanvasForObject(r)
	if c == nil {
		return
	}
	text := r.text
	copyItem := fyne.NewMenuItem(T("history.copy", "Copy"), func() { fyne.CurrentApp().Clipboard().SetContent(text) })
	items := append(r.fileItems(), copyItem)
	widget.ShowPopUpMenuAtPosition(fyne.NewMenu("", append(items, r.decideItems()...)...), c, e.AbsolutePosition)
}

// Text is what the row shows: its meta line, then its lines (for tests).
func (r *rowView) Text() []string {
	out := []string{r.meta.Text}
	for _, l := range r.objs {
		if t, ok := l.(*canvas.Text); ok && t != r.meta {
			out = append(out, t.Text)
		}
	}
	return out
}

func (r *rowView) line(i int) *canvas.Text {
	for len(r.lines) <= i {
		r.lines = append(r.lines, canvas.NewText("", color.Black))
	}
	return r.lines[i]
}

// bind draws row at width.
func (r *rowView) bind(row *histRow, width float32) {
	v := r.v
	m := v.m
	th := v.Theme()
	variant := fyne.CurrentApp().Settings().ThemeVariant()
	fg := th.Color(theme.ColorNameForeground, variant)
	dim := th.Color(theme.ColorNamePlaceHolder, variant)
	r.key, r.width, r.text = row.key, width, row.text
	r.objs = r.objs[:0]
	r.att = nil
	r.meta.Text = ""
	r.bg.CornerRadius = th.Size(theme.SizeNameInputRadius) * 2
	r.bg.StrokeWidth = 0

	switch row.key.kind {
	case rowHead, rowDay:
		w := row.textW + 4*m.pad
		x := (width - w) / 2
		r.bg.FillColor = color.Transparent
		if row.key.kind == rowDay {
			r.bg.FillColor = th.Color(theme.ColorNameInputBackground, variant)
		}
		r.bg.Move(fyne.NewPos(x, m.gap-m.pad/2))
		r.bg.Resize(fyne.NewSize(w, m.smallH+m.pad))
		r.setText(r.meta, row.text, m.smallSize, dim, fyne.TextStyle{}, fyne.NewPos(x+2*m.pad, m.gap))
		r.objs = append(r.objs, r.bg, r.meta)
	case rowNotice:
		r.setText(r.meta, "", m.smallSize, dim, fyne.TextStyle{}, fyne.Position{})
		for i, l := range row.lines {
			lw := v.small.sum([]rune(l))
			t := r.line(i)
			r.setText(t, l, m.smallSize, dim, fyne.TextStyle{Italic: true}, fyne.NewPos((width-lw)/2, m.gap+float32(i)*m.smallH))
			r.objs = append(r.objs, t)
		}
	default:
		bubbleW := row.textW + 4*m.pad
		x := 2 * m.pad
		fill := th.Color(theme.ColorNameInputBackground, variant)
		textColor := fg
		meta := ""
		if v.meta != nil {
			meta = v.meta(row)
		}
		note := row.key.kind == rowNote || row.msg.Kind == protocol.KindNote
		if row.key.kind != rowClient {
			// Replies sit on the right, clear of the scroll bar.
			x = width - bubbleW - 4*m.pad
			p := th.Color(theme.ColorNamePrimary, variant)
			if note {
				// Notes sit in the middle, in the warning colour with a
				// border: staff eyes only, never a reply.
				x = (width - bubbleW) / 2
				p = th.Color(theme.ColorNameWarning, variant)
				r.bg.StrokeWidth = 1
				r.bg.StrokeColor = p
			}
			pr, pg, pb, _ := p.RGBA()
			alpha := uint8(0x30)
			if row.key.kind == rowPending {
				alpha = 0x14
				textColor = dim
				r.bg.StrokeWidth = 1
				r.bg.StrokeColor = p
			}
			fill = color.NRGBA{R: uint8(pr >> 8), G: uint8(pg >> 8), B: uint8(pb >> 8), A: alpha}
		}
		metaW := fyne.MeasureText(meta, m.smallSize, fyne.TextStyle{}).Width
		metaX := x + m.pad
		if row.key.kind != rowClient {
			metaX = x + bubbleW - metaW - m.pad
		}
		if note {
			metaX = (width - metaW) / 2
		}
		r.setText(r.meta, meta, m.smallSize, dim, fyne.TextStyle{}, fyne.NewPos(metaX, m.gap))
		top := m.gap + m.smallH + m.pad/2
		r.bg.FillColor = fill
		r.bg.Move(fyne.NewPos(x, top))
		_, attH := v.attachmentBlock(row.msg.Attachment)
		if attH > 0 && len(row.lines) > 0 {
			attH += m.pad
		}
		r.bg.Resize(fyne.NewSize(bubbleW, float32(len(row.lines))*m.lineH+2*m.pad+attH))
		r.objs = append(r.objs, r.bg, r.meta)
		if row.msg.Attachment != nil {
			r.bindAttachment(row.msg.Attachment, x+2*m.pad, top+m.pad)
		}
		for i, l := range row.lines {
			t := r.line(i)
			r.setText(t, l, m.textSize, textColor, fyne.TextStyle{}, fyne.NewPos(x+2*m.pad, top+m.pad+attH+float32(i)*m.lineH))
			r.objs = append(r.objs, t)
		}
	}
	r.bg.Refresh()
	canvas.Refresh(r)
}

func (r *rowView) setText(t *canvas.Text, s string, size float32, c color.Color, style fyne.TextStyle, at fyne.Position) {
	t.Text, t.TextSize, t.Color, t.TextStyle = s, size, c, style
	t.Move(at)
	t.Resize(fyne.MeasureText(s, size, style))
	t.Refresh()
}

func colorNRGBA(r, g, b, a uint8) color.Color { return color.NRGBA{R: r, G: g, B: b, A: a} }
