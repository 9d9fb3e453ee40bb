package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// composeEntry is the reply box: multi-line, where Enter inserts a
// newline (input methods confirm conversions with Enter), Ctrl+Enter or
// Cmd+Enter sends, Ctrl/Cmd+1, 2 and 3 show 自分の担当, 未対応 and 全体,
// and Ctrl/Cmd+Up and Down walk the conversations, as
// they do elsewhere in the window (the box has the keyboard nearly
// always, and a focused entry keeps every shortcut to itself).
type composeEntry struct {
	widget.Entry
	onSend  func()
	onStep  func(dir int)
	onFind  func()
	onView  func(v int) // Ctrl/Cmd+1, 2, 3: 自分の担当, 未対応, 全体
	onFocus func(bool)
	rows    int
	// Issue 14: Ctrl/Cmd+T opens the canned replies, Ctrl/Cmd+D the
	// next-contact date.
	onTemplates, onDate func()
}

func newComposeEntry(onSend func(), onStep func(int)) *composeEntry {
	e := &composeEntry{onSend: onSend, onStep: onStep, rows: 2}
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.SetMinRowsVisible(2)
	e.ExtendBaseWidget(e)
	return e
}

// TypedShortcut sends on Ctrl/Cmd+Enter, steps on Ctrl/Cmd+Up/Down, and
// leaves every other shortcut (copy, paste, select all…) to the entry.
func (e *composeEntry) TypedShortcut(s fyne.Shortcut) {
	if cs, ok := s.(*desktop.CustomShortcut); ok && cs.Modifier == fyne.KeyModifierShortcutDefault {
		switch cs.KeyName {
		case fyne.KeyReturn, fyne.KeyEnter:
			e.onSend()
			return
		case fyne.KeyUp:
			e.onStep(-1)
			return
		case fyne.KeyDown:
			e.onStep(1)
			return
		case fyne.KeyF:
			if e.onFind != nil {
				e.onFind()
			}
			return
		case fyne.KeyT:
			if e.onTemplates != nil {
				e.onTemplates()
			}
			return
		case fyne.KeyD:
			if e.onDate != nil {
				e.onDate()
			}
			return
		case fyne.Key1, fyne.Key2, fyne.Key3:
			if e.onView != nil {
				e.onView(int(cs.KeyName[0] - '1'))
			}
			return
		}
	}
	e.Entry.TypedShortcut(s)
}

// FocusGained tells the inbox the counselor is in the reply box: the
// conversation in front stays there.
func (e *composeEntry) FocusGained() {
	e.Entry.FocusGained()
	if e.onFocus != nil {
		e.onFocus(true)
	}
}

// FocusLost tells the inbox the counselor left the reply box.
func (e *composeEntry) FocusLost() {
	e.Entry.FocusLost()
	if e.onFocus != nil {
		e.onFocus(false)
	}
}

// searchEntry is the list's search box: Enter opens the first match,
// Escape clears the search and goes back to the reply box.
type searchEntry struct {
	widget.Entry
	onEscape func()
	onFocus  func(bool)
}

// FocusGained reports the cursor in the search box.
func (e *searchEntry) FocusGained() {
	e.Entry.FocusGained()
	if e.onFocus != nil {
		e.onFocus(true)
	}
}

// FocusLost reports the cursor leaving the search box.
func (e *searchEntry) FocusLost() {
	e.Entry.FocusLost()
	if e.onFocus != nil {
		e.onFocus(false)
	}
}

func newSearchEntry() *searchEntry {
	e := &searchEntry{}
	e.ExtendBaseWidget(e)
	return e
}

// TypedKey handles Escape.
func (e *searchEntry) TypedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyEscape && e.onEscape != nil {
		e.onEscape()
		return
	}
	e.Entry.TypedKey(k)
}

// canvasBackground is a rectangle in a theme colour, softened, for a
// banner's background.
func canvasBackground(name fyne.ThemeColorName) fyne.CanvasObject {
	c := theme.Color(name)
	r, g, b, _ := c.RGBA()
	rect := canvas.NewRectangle(colorNRGBA(uint8(r>>8), uint8(g>>8), uint8(b>>8), 0x40))
	rect.CornerRadius = theme.InputRadiusSize()
	return rect
}
