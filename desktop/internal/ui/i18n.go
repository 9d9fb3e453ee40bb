package ui

import (
	"embed"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
)

//go:embed translation
var translations embed.FS

// LoadTranslations registers the app's Japanese and English strings; Fyne
// picks the one matching the OS language.
func LoadTranslations() {
	if err := lang.AddTranslationsFS(translations, "translation"); err != nil {
		fyne.LogError("load translations", err)
	}
}

// T translates a key, with English as the fallback text.
func T(key, fallback string, data ...any) string { return lang.X(key, fallback, data...) }
