package ui

import (
	"image"
	"slices"
	"sort"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/desktop/internal/inbox"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// rowKind is what a row of the history shows.
type rowKind uint8

const (
	// rowUnbound is no row: a widget waiting to be bound (so it differs
	// from every real row's key, the head's included).
	rowUnbound rowKind = iota
	rowHead            // older messages load here, or the history begins
	rowDay             // a day separator
	rowClient          // the client's message, on the left
	rowStaff           // a staff reply, on the right
	rowNotice          // an automatic closed-hours notice, centred
	rowPending         // a reply waiting to be sent
	rowNote            // a staff-only note, centred and marked: never sent to the client
)

// rowKey identifies a row across changes, so that a row still in view
// keeps its widget (and the GPU its text) while the history scrolls.
type rowKey struct {
	kind rowKind
	id   int64 // message ID, or the day's Unix time
	ref  string
}

// histRow is one row of the history with its layout at the current width.
type histRow struct {
	key  rowKey
	msg  protocol.Message // messages and notices
	text string           // what the body shows
	// Laid out for the history's width:
	lines []string
	textW float32
	h     float32
}

// historyView shows one conversation in a virtualised list: every row's
// height is known from its laid-out lines, but only the rows in view
// exist as widgets. Opening a 2,000-message conversation lays out text;
// it builds about twenty widgets. New messages append one row; older
// pages, loaded as the counselor scrolls up, are put in front without
// moving what is on screen.
type historyView struct {
	widget.BaseWidget

	scroll *container.Scroll
	body   *historyBody
	text   *lineBreaker
	small  *lineBreaker
	m      metrics

	rows  []histRow
	tops  []float32 // tops[i] is row i's y; tops[len(rows)] the total height
	width float32   // the width rows are laid out for

	// What is shown, to find what changed.
	conv              int64
	firstSeq, lastSeq int64
	nMsgs             int
	pending           []string
	readSeq           int64
	head              string

	stick     bool // follow the newest message (the view is at the bottom)
	adjusting bool // the view moves itself: not the counselor scrolling

	// onOlder asks for older messages: the head came into view.
	onOlder func()
	// meta says who wrote a message and whether the client read it.
	meta func(r *histRow) string
	// headText says what the head row shows.
	headText func() string
	// onCopy copies a message's text.
	onCopy func(text string, at fyne.Position, from fyne.CanvasObject)
	// onDecide confirms a client's message as decided (決定, issue 14).
	onDecide func(seq int64)
	// Files (issue 14): a thumbnail when the app has one (or why not),
	// and what a click on a file or its menu does.
	thumb  func(a protocol.Attachment) (image.Image, string)
	onOpen func(a protocol.Attachment)
	onSave func(a protocol.Attachment)
}

// metrics are the history's sizes, from the theme.
type metrics struct {
	textSize, smallSize float32
	lineH, smallH       float32
	pad, gap            float32
	maxText             float32 // readable line length
}

func newHistoryView() *historyView {
	v := &historyView{stick: true}
	v.body = &historyBody{v: v}
	v.body.ExtendBaseWidget(v.body)
	v.scroll = container.NewVScroll(v.body)
	v.scroll.OnScrolled = v.scrolled
	v.ExtendBaseWidget(v)
	return v
}

func (v *historyView) setupMetrics() {
	th := v.Theme()
	text := th.Size(theme.SizeNameText)
	small := th.Size(theme.SizeNameCaptionText)
	pad := th.Size(theme.SizeNamePadding)
	v.m = metrics{
		textSize: text, smallSize: small,
		lineH:   fyne.MeasureText("あAg", text, fyne.TextStyle{}).Height,
		smallH:  fyne.MeasureText("あAg", small, fyne.TextStyle{}).Height,
		pad:     pad,
		gap:     pad * 2,
		maxText: text * 36, // about 36 full-width characters a line
	}
	v.text = newLineBreaker(text, fyne.TextStyle{})
	v.small = newLineBreaker(small, fyne.TextStyle{})
}

// CreateRenderer is Fyne's.
func (v *historyView) CreateRenderer() fyne.WidgetRenderer {
	return &historyRenderer{v: v}
}

type historyRenderer struct{ v *historyView }

func (r *historyRenderer) Layout(size fyne.Size) {
	v := r.v
	if size.Width != v.width {
		v.relayout(size.Width)
	}
	v.scroll.Resize(size)
	v.settle(0)
}

func (r *historyRenderer) MinSize() fyne.Size           { return fyne.NewSize(120, 120) }
func (r *historyRenderer) Refresh()                     { r.v.body.place() }
func (r *historyRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.v.scroll} }
func (r *historyRenderer) Destroy()                     {}

func (v *historyView) total() float32 {
	if len(v.tops) == 0 {
		return 0
	}
	return v.tops[len(v.rows)]
}

func (v *historyView) viewHeight() float32 { return v.scroll.Size().Height }

// Len is the number of rows (for tests and benchmarks).
func (v *historyView) Len() int { return len(v.rows) }

// textWidth is the widest a message's line may be at width w.
func (v *historyView) textWidth(w float32) float32 {
	return max(min(v.m.maxText, w*0.75-4*v.m.pad), 4*v.m.textSize)
}

// layoutRow breaks a row's text into lines for the current width.
func (v *historyView) layoutRow(r *histRow) {
	switch r.key.kind {
	case rowHead, rowDay:
		r.lines, r.textW = []string{r.text}, v.small.sum([]rune(r.text))
		r.h = v.m.smallH + 2*v.m.gap
	case rowNotice:
		r.lines, r.textW = v.small.Lines(r.text, v.textWidth(v.width))
		r.h = float32(len(r.lines))*v.m.smallH + 2*v.m.gap
	default:
		r.lines, r.textW = v.text.Lines(r.text, v.textWidth(v.width))
		if a := r.msg.Attachment; a != nil {
			// A file above its caption (or alone: no empty line).
			if r.text == "" {
				r.lines, r.textW = nil, 0
			}
			w, h := v.attachmentBlock(a)
			if len(r.lines) > 0 {
				h += v.m.pad
			}
			r.textW = max(r.textW, w)
			r.h = v.m.gap + v.m.smallH + v.m.pad/2 + float32(len(r.lines))*v.m.lineH + 2*v.m.pad + h
			return
		}
		r.h = v.m.gap + v.m.smallH + v.m.pad/2 + float32(len(r.lines))*v.m.lineH + 2*v.m.pad
	}
}

// relayout lays every row out again for a new width.
func (v *historyView) relayout(w float32) {
	if v.text == nil {
		v.setupMetrics()
	}
	v.width = w
	for i := range v.rows {
		v.layoutRow(&v.rows[i])
	}
	v.retop(0)
}

// retop recomputes row positions from row i on.
func (v *historyView) retop(i int) {
	need := len(v.rows) + 1
	if cap(v.tops) < need {
		grown := make([]float32, need, need+need/2)
		copy(grown, v.tops)
		v.tops = grown
	}
	v.tops = v.tops[:need]
	if i == 0 {
		v.tops[0] = 0
	}
	for j := max(i, 0); j < len(v.rows); j++ {
		v.tops[j+1] = v.tops[j] + v.rows[j].h
	}
}

// Sync shows conversation c (nil: none), changing only what differs from
// what is shown: appended messages, an older page, pending replies,
// receipts. Anything else (a deletion, another conversation) rebuilds.
func (v *historyView) Sync(c *inbox.Conv) {
	if v.text == nil {
		v.setupMetrics()
	}
	if c == nil {
		v.reset(nil)
		return
	}
	if c.ID != v.conv {
		v.reset(c)
		return
	}
	msgs := c.Messages
	n := len(msgs)
	switch {
	case n == 0 && v.nMsgs == 0:
	case n == 0 || v.nMsgs == 0 || msgs[0].Seq > v.firstSeq || msgs[n-1].Seq < v.lastSeq:
		v.reset(c) // deleted or replaced: rare
		return
	default:
		var added float32
		if msgs[0].Seq < v.firstSeq { // an older page
			k := sort.Search(n, func(i int) bool { return msgs[i].Seq >= v.firstSeq })
			added = v.prepend(msgs[:k])
		}
		if msgs[n-1].Seq > v.lastSeq {
			k := sort.Search(n, func(i int) bool { return msgs[i].Seq > v.lastSeq })
			v.appendMessages(msgs[k:])
		}
		if v.nMsgs != n {
			v.reset(c) // a gap was filled or a message dropped in between
			return
		}
		if added > 0 {
			v.syncPending(c)
			v.syncHead()
			v.settle(added)
			v.readSeq = c.ClientReadSeq
			return
		}
	}
	v.syncPending(c)
	v.syncHead()
	if c.ClientReadSeq != v.readSeq {
		v.readSeq = c.ClientReadSeq
		v.body.rebind() // "read" marks: meta lines only, heights unchanged
	}
	v.settle(0)
}

// Refresh rebinds the rows in view (names or marks changed elsewhere).
func (v *historyView) Refresh() {
	v.syncHead()
	v.body.rebind()
}

func (v *historyView) reset(c *inbox.Conv) {
	v.rows = v.rows[:0]
	v.conv, v.nMsgs, v.firstSeq, v.lastSeq, v.pending, v.readSeq = 0, 0, 0, 0, nil, 0
	v.stick = true
	v.body.forget()
	if c != nil {
		v.conv, v.readSeq = c.ID, c.ClientReadSeq
		v.rows = append(v.rows, histRow{key: rowKey{kind: rowHead}})
		v.head = ""
		v.rows = v.messageRows(v.rows, c.Messages, time.Time{})
		if n := len(c.Messages); n > 0 {
			v.firstSeq, v.lastSeq, v.nMsgs = c.Messages[0].Seq, c.Messages[n-1].Seq, n
		}
		v.rows = v.pendingRows(v.rows, c)
		for i := range v.rows {
			if v.width > 0 {
				v.layoutRow(&v.rows[i])
			}
		}
		v.syncHead()
	}
	v.retop(0)
	v.scroll.Offset = fyne.Position{}
	v.settle(0)
}

// messageRows appends rows for msgs, with a day separator at each new day
// after prev (the day of the message before them, zero for none).
func (v *historyView) messageRows(rows []histRow, msgs []protocol.Message, prev time.Time) []histRow {
	rows = slices.Grow(rows, len(msgs)+8)
	for _, m := range msgs {
		day := localDay(m.CreatedAt)
		if !day.Equal(prev) {
			rows = append(rows, histRow{key: rowKey{kind: rowDay, id: day.Unix()}, text: dayText(day)})
			prev = day
		}
		rows = append(rows, messageHistRow(m))
	}
	return rows
}

func messageHistRow(m protocol.Message) histRow {
	switch {
	case m.Kind == protocol.KindClosedNotice, m.Kind == protocol.KindHandover, m.Kind == protocol.KindNominationReturned, m.Kind == protocol.KindApology:
		return histRow{key: rowKey{kind: rowNotice, id: m.ID}, msg: m, text: noticeText(m)}
	case m.Kind == protocol.KindNote:
		return histRow{key: rowKey{kind: rowNote, id: m.ID}, msg: m, text: m.Body}
	case m.SenderRole == protocol.RoleClient:
		return histRow{key: rowKey{kind: rowClient, id: m.ID}, msg: m, text: m.Body}
	}
	return histRow{key: rowKey{kind: rowStaff, id: m.ID}, msg: m, text: m.Body}
}

func (v *historyView) pendingRows(rows []histRow, c *inbox.Conv) []histRow {
	v.pending = v.pending[:0]
	for _, p := range c.Pending {
		text := p.Body
		if p.Attachment != 0 && text == "" {
			text = T("file.pending", "(a file)")
		}
		rows = append(rows, histRow{key: rowKey{kind: rowPending, ref: p.Ref}, text: text, msg: protocol.Message{Kind: p.Kind}})
		v.pending = append(v.pending, p.Ref)
	}
	return rows
}

func localDay(t time.Time) time.Time {
	y, m, d := t.Local().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.Local)
}

// firstMessageRow is the index of the first row after the head and
// before the pending replies.
func (v *historyView) pendingStart() int { return len(v.rows) - len(v.pending) }

func (v *historyView) appendMessages(msgs []protocol.Message) {
	at := v.pendingStart()
	prev := time.Time{}
	for i := at - 1; i > 0; i-- {
		if k := v.rows[i].key.kind; k != rowDay && k != rowHead {
			prev = localDay(v.rows[i].msg.CreatedAt)
			break
		}
	}
	tail := append([]histRow(nil), v.rows[at:]...)
	v.rows = v.messageRows(v.rows[:at], msgs, prev)
	for i := at; i < len(v.rows); i++ {
		v.layoutRow(&v.rows[i])
	}
	v.rows = append(v.rows, tail...)
	v.lastSeq = msgs[len(msgs)-1].Seq
	v.nMsgs += len(msgs)
	v.retop(at)
	v.body.place()
}

// prepend puts an older page in front and returns the height it added.
func (v *historyView) prepend(msgs []protocol.Message) float32 {
	if len(msgs) == 0 {
		return 0
	}
	before := v.total()
	rows := v.messageRows([]histRow{v.rows[0]}, msgs, time.Time{})
	for i := 1; i < len(rows); i++ {
		v.layoutRow(&rows[i])
	}
	rest := v.rows[1:]
	// The day that the held history began with may continue the page.
	if len(rest) > 0 && rest[0].key.kind == rowDay && rest[0].key.id == localDay(msgs[len(msgs)-1].CreatedAt).Unix() {
		rest = rest[1:]
	}
	v.rows = append(rows, rest...)
	v.firstSeq = msgs[0].Seq
	v.nMsgs += len(msgs)
	v.retop(0)
	v.body.place()
	return v.total() - before
}

func (v *historyView) syncPending(c *inbox.Conv) {
	same := len(c.Pending) == len(v.pending)
	for i := 0; same && i < len(c.Pending); i++ {
		same = c.Pending[i].Ref == v.pending[i]
	}
	if same {
		return
	}
	at := v.pendingStart()
	v.rows = v.pendingRows(v.rows[:at], c)
	for i := at; i < len(v.rows); i++ {
		v.layoutRow(&v.rows[i])
	}
	v.retop(at)
	v.body.place()
}

// syncHead updates the head row's text (loading, begins here, deleted).
func (v *historyView) syncHead() {
	if len(v.rows) == 0 || v.headText == nil {
		return
	}
	t := v.headText()
	if t == v.head && v.rows[0].text == t {
		return
	}
	v.head = t
	v.rows[0].text = t
	if v.width > 0 {
		v.layoutRow(&v.rows[0])
	}
	v.retop(0)
	if rv := v.body.active[v.rows[0].key]; rv != nil {
		rv.key = rowKey{} // draw the head again
	}
	v.body.place()
}

// settle fixes the scroll position after a change: at the newest message
// if the view follows it, else where it was, moved down by added (the
// height put in front), so that what the counselor reads stays put.
func (v *historyView) settle(added float32) {
	if v.width == 0 {
		return
	}
	view := v.viewHeight()
	total := v.total()
	v.adjusting = true
	v.body.Resize(fyne.NewSize(v.width, max(total, view)))
	v.scroll.Refresh()
	off := v.scroll.Offset.Y + added
	if v.stick {
		off = total - view
	}
	off = max(min(off, total-view), 0)
	v.scroll.Offset = fyne.NewPos(0, off)
	v.scroll.Refresh()
	v.adjusting = false
	v.body.place()
	v.askOlder()
}

func (v *historyView) scrolled(p fyne.Position) {
	if v.adjusting {
		return
	}
	v.stick = p.Y >= v.total()-v.viewHeight()-v.m.gap
	v.body.place()
	v.askOlder()
}

// askOlder asks for the previous page while the head is within a screen
// of the view.
func (v *historyView) askOlder() {
	if v.onOlder != nil && len(v.rows) > 0 && v.scroll.Offset.Y < v.viewHeight() {
		v.onOlder()
	}
}

// ScrollToBottom shows the newest message.
func (v *historyView) ScrollToBottom() {
	v.stick = true
	v.settle(0)
}

// visibleRange returns the rows that intersect the view.
func (v *historyView) visibleRange() (from, to int) {
	if len(v.rows) == 0 {
		return 0, 0
	}
	top := v.scroll.Offset.Y
	bottom := top + max(v.viewHeight(), 1)
	from = max(sort.Search(len(v.rows), func(i int) bool { return v.tops[i+1] > top }), 0)
	to = sort.Search(len(v.rows), func(i int) bool { return v.tops[i] >= bottom })
	return from, to
}

// historyBody is the scrolled content: as tall as every row together,
// holding widgets only for the rows in view.
type historyBody struct {
	widget.BaseWidget
	v      *historyView
	active map[rowKey]*rowView
	free   []*rowView
	objs   []fyne.CanvasObject
}

func (b *historyBody) CreateRenderer() fyne.WidgetRenderer { return &bodyRenderer{b: b} }

func (b *historyBody) MinSize() fyne.Size {
	if len(b.v.tops) == 0 {
		return fyne.Size{}
	}
	return fyne.NewSize(0, b.v.total())
}

// forget drops every bound row (another conversation).
func (b *historyBody) forget() {
	for k, rv := range b.active {
		rv.key = rowKey{}
		b.free = append(b.free, rv)
		delete(b.active, k)
	}
}

// rebind redraws the rows in view from their data.
func (b *historyBody) rebind() {
	for _, rv := range b.active {
		rv.key = rowKey{} // bind again on the next place
	}
	b.place()
}

// place binds widgets to the rows in view and positions them.
func (b *historyBody) place() {
	v := b.v
	if v.width == 0 {
		return
	}
	if b.active == nil {
		b.active = map[rowKey]*rowView{}
	}
	from, to := v.visibleRange()
	want := make(map[rowKey]int, to-from)
	for i := from; i < to; i++ {
		want[v.rows[i].key] = i
	}
	for k, rv := range b.active {
		if _, ok := want[k]; !ok {
			b.free = append(b.free, rv)
			delete(b.active, k)
		}
	}
	b.objs = b.objs[:0]
	for i := from; i < to; i++ {
		r := &v.rows[i]
		rv := b.active[r.key]
		if rv == nil {
			if n := len(b.free); n > 0 {
				rv, b.free = b.free[n-1], b.free[:n-1]
			} else {
				rv = newRowView(v)
			}
			b.active[r.key] = rv
		}
		if rv.key != r.key || rv.width != v.width {
			rv.bind(r, v.width)
		}
		rv.Move(fyne.NewPos(0, v.tops[i]))
		rv.Resize(fyne.NewSize(v.width, r.h))
		b.objs = append(b.objs, rv)
	}
	canvas.Refresh(b)
}

type bodyRenderer struct{ b *historyBody }

func (r *bodyRenderer) Layout(fyne.Size)             {}
func (r *bodyRenderer) MinSize() fyne.Size           { return r.b.MinSize() }
func (r *bodyRenderer) Refresh()                     {}
func (r *bodyRenderer) Objects() []fyne.CanvasObject { return r.b.objs }
func (r *bodyRenderer) Destroy()                     {}

// Refresh places the rows again.
func (b *historyBody) Refresh() { b.place() }
