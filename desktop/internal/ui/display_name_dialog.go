package ui

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// MeUpdater is what the display-name dialog needs of the server.
type MeUpdater interface {
	UpdateMe(ctx context.Context, patch protocol.MePatch) (protocol.Account, error)
}

// ShowDisplayName lets a staff member choose the name clients see above
// their replies (empty: none). do brings the answer back to the UI
// goroutine; done hears the account as changed.
func ShowDisplayName(win fyne.Window, api MeUpdater, current string, do func(func()), done func(protocol.Account)) {
	name := NewField(false)
	name.SetText(current)
	name.SetPlaceHolder(T("me.displayNameHint", "e.g. たなか (empty: none)"))
	hint := newJALabel(T("me.displayNameWhy", "Clients see this name above your replies. It need not be your real name; colleagues still see your usual name."))
	hint.Importance = widget.LowImportance
	title := T("me.displayName", "Name clients see")
	failed := T("me.displayNameFailed", "The name was not changed")
	items := []*widget.FormItem{widget.NewFormItem(T("me.displayNameField", "Name"), name), widget.NewFormItem("", hint)}
	Form(win, title, T("me.save", "Save"), items, func() {
		v := strings.TrimSpace(name.Text)
		if utf8.RuneCountInString(v) > protocol.MaxDisplayNameRunes {
			Inform(win, failed, T("me.displayNameLong", "Use at most {{.Max}} characters.", map[string]any{"Max": protocol.MaxDisplayNameRunes}))
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			a, err := api.UpdateMe(ctx, protocol.MePatch{DisplayName: &v})
			do(func() {
				if err != nil {
					ShowError(win, failed, err)
					return
				}
				if done != nil {
					done(a)
				}
			})
		}()
	})
}
