package ui

import (
	"errors"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// noteEditor edits staff's note about the client in front: for
// colleagues, never shown to the client, and no personal data (the
// dialog says so).
type noteEditor struct {
	dlg      dialog.Dialog
	entry    *widget.Entry
	errLabel *widget.Label
	save     func()
}

// notePreviewRunes is how much of the note the header's button shows.
const notePreviewRunes = 24

// showNote puts the note of the conversation in front on the header's
// button: its beginning, or an invitation to write one.
func (m *Main) showNote(c *protocol.Conversation) {
	if c == nil {
		m.noteBtn.Disable()
		m.noteBtn.SetText(T("note.button", "Note"))
		return
	}
	m.noteBtn.Enable()
	text := T("note.add", "Note about the client…")
	if c.Note != "" {
		preview := []rune(c.Note)
		for i, r := range preview {
			if r == '\n' {
				preview = preview[:i]
				break
			}
		}
		if len(preview) > notePreviewRunes {
			preview = append(preview[:notePreviewRunes], '…')
		}
		text = T("note.preview", "Note: {{.Text}}", map[string]any{"Text": string(preview)})
	}
	if m.noteBtn.Text != text {
		m.noteBtn.SetText(text)
	}
}

// editNote opens the note of the conversation in front.
func (m *Main) editNote() {
	f := m.in.Focused()
	if f == nil || m.actions.SetNote == nil {
		return
	}
	clientID, nick := f.ClientID, f.Nickname
	field := NewField(false)
	field.MultiLine = true
	e := &noteEditor{entry: &field.Entry, errLabel: widget.NewLabel("")}
	e.entry.SetText(f.Note)
	e.entry.Wrapping = fyne.TextWrapWord
	e.entry.SetMinRowsVisible(8)
	e.errLabel.Importance = widget.DangerImportance
	hint := newJALabel(T("note.hint", "For colleagues only: the client never sees it. Write no names, addresses, phone numbers or other personal data."))
	who := widget.NewLabel("")
	who.Importance = widget.LowImportance
	if f.NoteAt != nil {
		by := T("role.counselor", "counselor")
		if f.NoteBy != nil {
			if a, ok := m.staff[*f.NoteBy]; ok {
				by = staffLabel(a)
			}
			if *f.NoteBy == m.in.Me().ID {
				by = T("msg.you", "you")
			}
		}
		who.SetText(T("note.changed", "Last changed by {{.Who}}, {{.When}}", map[string]any{"Who": by, "When": whenText(*f.NoteAt, m.in.Now())}))
	}
	// The note as this editor found it: a colleague's change meanwhile
	// is refused rather than written over (the server compares).
	found := f.Note
	e.save = func() {
		text := e.entry.Text
		m.actions.SetNote(clientID, protocol.NoteRequest{Note: text, Expect: &found}, func(err error) {
			var pe *protocol.Error
			switch {
			case errors.As(err, &pe) && pe.Code == protocol.CodeConflict:
				e.errLabel.SetText(T("note.conflict", "A colleague changed this note meanwhile. Copy your text, then close and open the note again to see theirs."))
			case err != nil:
				e.errLabel.SetText(ErrorText(err))
			default:
				e.dlg.Hide()
			}
		})
	}
	box := container.New(&noteLayout{}, hint, e.entry, who, e.errLabel)
	d := dialog.NewCustomWithoutButtons(T("note.title", "Note about {{.Name}}", map[string]any{"Name": nick}), box, m.win)
	saveB := widget.NewButtonWithIcon(T("note.save", "Save"), theme.DocumentSaveIcon(), e.save)
	saveB.Importance = widget.HighImportance
	d.SetButtons([]fyne.CanvasObject{widget.NewButton(T("dialog.cancel", "Cancel"), d.Hide), saveB})
	e.dlg = d
	// Escape closes the note as the app's other dialogs do, but only while
	// nothing in it was changed: a stray key must not throw away what a
	// counselor wrote (Cancel does that, on purpose).
	escape := func() {
		if e.entry.Text == found {
			d.Hide()
		}
	}
	field.onEscape = escape
	keyed(m.win, d, func() {}, escape)
	d.Resize(fyne.NewSize(520, 0).Max(d.MinSize()))
	d.Show()
	m.win.Canvas().Focus(field)
	m.noteDlg = e
}

// noteLayout stacks the note dialog's parts at full width.
type noteLayout struct{}

func (noteLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	y := float32(0)
	for _, o := range objs {
		h := o.MinSize().Height
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, h))
		y += h + theme.Padding()
	}
}

func (noteLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		m := o.MinSize()
		s.Width = max(s.Width, m.Width)
		s.Height += m.Height + theme.Padding()
	}
	return s
}
