package ui

import (
	_ "embed"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Fyne's default font has no kana or kanji; Noto Sans JP (SIL OFL, see
// fonts/OFL.txt) is bundled so Japanese renders on every machine, not only
// where the OS happens to have a CJK font.
var (
	//go:embed fonts/NotoSansJP-Regular.ttf
	fontRegular []byte
	//go:embed fonts/NotoSansJP-Bold.ttf
	fontBold []byte

	regularFont = fyne.NewStaticResource("NotoSansJP-Regular.ttf", fontRegular)
	boldFont    = fyne.NewStaticResource("NotoSansJP-Bold.ttf", fontBold)
)

// Theme is Fyne's default theme with the Japanese font and a calm accent.
type Theme struct{}

var _ fyne.Theme = Theme{}

// Font returns Noto Sans JP for text, the default for monospace.
func (Theme) Font(s fyne.TextStyle) fyne.Resource {
	switch {
	case s.Monospace || s.Symbol:
		return theme.DefaultTheme().Font(s)
	case s.Bold:
		return boldFont
	}
	return regularFont
}

// Color softens the primary colour to a muted teal: a counseling tool
// should not shout.
func (Theme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if n == theme.ColorNamePrimary {
		return color.NRGBA{R: 0x2e, G: 0x7d, B: 0x74, A: 0xff}
	}
	return theme.DefaultTheme().Color(n, v)
}

// Icon returns the default icons.
func (Theme) Icon(n fyne.ThemeIconName) fyne.Resource { return theme.DefaultTheme().Icon(n) }

// Size returns the default sizes, with slightly larger text for reading
// long messages all day.
func (Theme) Size(n fyne.ThemeSizeName) float32 {
	if n == theme.SizeNameText {
		return 15
	}
	return theme.DefaultTheme().Size(n)
}
