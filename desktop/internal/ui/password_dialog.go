package ui

import (
	"context"
	"errors"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/credential"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// PasswordChanger is what the password dialog needs of the server.
type PasswordChanger interface {
	ChangePassword(ctx context.Context, current, next string) error
}

// ShowChangePassword asks for the current password and a new one twice,
// checks the new one against the staff policy before sending, and says
// what the server answered. do brings results back to the UI goroutine.
func ShowChangePassword(win fyne.Window, api PasswordChanger, do func(func())) {
	current := NewField(true)
	next := NewField(true)
	again := NewField(true)
	hint := newJALabel(T("password.hint", "At least 12 characters. A sentence you remember is good; your name or login ID is not."))
	hint.Importance = widget.LowImportance
	items := []*widget.FormItem{
		widget.NewFormItem(T("password.current", "Current password"), current),
		widget.NewFormItem(T("password.new", "New password"), next),
		widget.NewFormItem(T("password.again", "New password again"), again),
		widget.NewFormItem("", hint),
	}
	title := T("password.title", "Change password")
	failed := T("password.failed", "Password not changed")
	Form(win, title, T("password.change", "Change"), items, func() {
		if next.Text != again.Text {
			Inform(win, failed, T("password.mismatch", "The two new passwords differ. Type the same new password twice."))
			return
		}
		if err := credential.CheckStaffPassword(next.Text, "", ""); err != nil {
			Inform(win, failed, policyText(err))
			return
		}
		cur, nw := current.Text, next.Text
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := api.ChangePassword(ctx, cur, nw)
			do(func() {
				if err != nil {
					if protocol.AsError(err).Code == protocol.CodeBadCredentials {
						Inform(win, failed, T("password.wrongCurrent", "The current password is not right. Try again."))
						return
					}
					ShowError(win, failed, err)
					return
				}
				Inform(win, title, T("password.done", "Password changed. Your other devices have been signed out."))
			})
		}()
	})
}

// policyText says why a new password was refused, in the person's
// language.
func policyText(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Code == protocol.CodeInvalid {
		return T("password.policy", "Choose a longer password: at least 12 characters, not your name or login ID, and not a common password.")
	}
	return ErrorText(err)
}
