package ui

import (
	"context"
	"errors"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/credential"
)

// PasswordChanger is what the password dialog needs of the server.
type PasswordChanger interface {
	ChangePassword(ctx context.Context, current, next string) error
}

// ShowChangePassword asks for the current password and a new one twice,
// checks the new one against the staff policy before sending, and says
// what the server answered. do brings results back to the UI goroutine.
func ShowChangePassword(win fyne.Window, api PasswordChanger, do func(func())) {
	current := widget.NewPasswordEntry()
	next := widget.NewPasswordEntry()
	again := widget.NewPasswordEntry()
	hint := widget.NewLabel(T("password.hint", "At least 12 characters. A sentence you remember is good; your name or login ID is not."))
	hint.Wrapping = fyne.TextWrapWord
	hint.Importance = widget.LowImportance
	items := []*widget.FormItem{
		widget.NewFormItem(T("password.current", "Current password"), current),
		widget.NewFormItem(T("password.new", "New password"), next),
		widget.NewFormItem(T("password.again", "New password again"), again),
		widget.NewFormItem("", hint),
	}
	d := dialog.NewForm(T("password.title", "Change password"), T("password.change", "Change"), T("dialog.cancel", "Cancel"), items,
		func(ok bool) {
			if !ok {
				return
			}
			if next.Text != again.Text {
				dialog.ShowError(errors.New(T("password.mismatch", "The two new passwords differ.")), win)
				return
			}
			if err := credential.CheckStaffPassword(next.Text, "", ""); err != nil {
				dialog.ShowError(errors.New(errorText(err)), win)
				return
			}
			cur, nw := current.Text, next.Text
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				err := api.ChangePassword(ctx, cur, nw)
				do(func() {
					if err != nil {
						dialog.ShowError(errors.New(errorText(err)), win)
						return
					}
					dialog.ShowInformation(T("password.title", "Change password"),
						T("password.done", "Password changed. Your other devices have been signed out."), win)
				})
			}()
		}, win)
	d.Resize(fyne.NewSize(480, 320))
	d.Show()
}
