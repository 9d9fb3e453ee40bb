package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// jaLabel is a wrapped label that breaks lines by Japanese rules (Fyne's
// own wrapping puts 。 or 、 at the start of a line): it lays its text out
// for the width it is given, with the same line breaker as the history.
type jaLabel struct {
	widget.Label
	source  string
	width   float32
	breaker *lineBreaker
}

func newJALabel(text string) *jaLabel {
	l := &jaLabel{source: text}
	l.Text = text
	l.ExtendBaseWidget(l)
	return l
}

// SetText changes the text, laid out again for the current width.
func (l *jaLabel) SetText(text string) {
	l.source = text
	l.rewrap(l.Size().Width, true)
}

// Resize lays the text out for a new width.
func (l *jaLabel) Resize(s fyne.Size) {
	if s.Width != l.width {
		l.rewrap(s.Width, false)
	}
	l.Label.Resize(s)
}

// MinSize is as narrow as a few characters (the width comes from the
// layout) and as tall as the lines laid out.
func (l *jaLabel) MinSize() fyne.Size {
	m := l.Label.MinSize()
	m.Width = min(m.Width, 8*theme.TextSize())
	return m
}

func (l *jaLabel) rewrap(width float32, always bool) {
	l.width = width
	text := l.source
	if width > 0 {
		if l.breaker == nil {
			l.breaker = newLineBreaker(l.Theme().Size(l.sizeName()), l.TextStyle)
		}
		inner := width - 2*l.Theme().Size(theme.SizeNameInnerPadding) - 2
		lines, _ := l.breaker.Lines(l.source, inner)
		text = strings.Join(lines, "\n")
	}
	if text != l.Text || always {
		l.Label.SetText(text)
	}
}

func (l *jaLabel) sizeName() fyne.ThemeSizeName {
	if l.SizeName != "" {
		return l.SizeName
	}
	return theme.SizeNameText
}
