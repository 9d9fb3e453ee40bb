package ui

import (
	"bytes"
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// TOTPAPI is what the second-factor dialog needs of the server.
type TOTPAPI interface {
	TOTPStatus(ctx context.Context) (protocol.TOTPStatus, error)
	EnrollTOTP(ctx context.Context, password string) (protocol.TOTPEnrollment, error)
	ConfirmTOTP(ctx context.Context, code string) error
	DisableTOTP(ctx context.Context, code, password string) error
}

// ShowTOTP lets a staff member turn their second factor on (scan the QR
// code with an authenticator app, confirm with a code) or off (with a
// current code). Both ask for the current password first: a session left
// open must not be enough to change how the account signs in. do brings
// results back to the UI goroutine.
func ShowTOTP(win fyne.Window, api TOTPAPI, do func(func())) {
	title := T("totp.title", "Two-step sign-in")
	failed := T("totp.failed", "Two-step sign-in not changed")
	run := func(f func(ctx context.Context) error, then func()) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := f(ctx)
			do(func() {
				if err != nil {
					switch protocol.AsError(err).Code {
					case protocol.CodeBadCredentials:
						Inform(win, failed, T("totp.wrongPassword", "The password or the code is not right. Try again."))
					case protocol.CodeInvalid:
						Inform(win, failed, T("totp.wrongCode", "The code is not right. Enter the 6 digits the app shows now."))
					default:
						ShowError(win, failed, err)
					}
					return
				}
				then()
			})
		}()
	}
	var st protocol.TOTPStatus
	run(func(ctx context.Context) (err error) { st, err = api.TOTPStatus(ctx); return err }, func() {
		code := NewField(false)
		code.SetPlaceHolder("123456")
		password := NewField(true)
		passwordItem := widget.NewFormItem(T("totp.password", "Current password"), password)
		if st.On {
			items := []*widget.FormItem{passwordItem, widget.NewFormItem(T("totp.code", "Current code"), code)}
			Form(win, title+" — "+T("totp.isOn", "on"), T("totp.turnOff", "Turn off"), items, func() {
				c, pw := code.Text, password.Text
				run(func(ctx context.Context) error { return api.DisableTOTP(ctx, c, pw) }, func() {
					Inform(win, title, T("totp.off", "Two-step sign-in is off."))
				})
			})
			return
		}
		Form(win, title, T("totp.next", "Next"), []*widget.FormItem{passwordItem}, func() {
			enroll(win, api, run, title, password.Text, code)
		})
	})
}

// enroll shows a new secret as a QR code and turns it on with a code.
func enroll(win fyne.Window, api TOTPAPI, run func(func(context.Context) error, func()), title, password string, code *Field) {
	var e protocol.TOTPEnrollment
	run(func(ctx context.Context) (err error) { e, err = api.EnrollTOTP(ctx, password); return err }, func() {
		qr := canvas.NewImageFromReader(bytes.NewReader(e.QRPNG), "totp.png")
		qr.FillMode = canvas.ImageFillContain
		qr.SetMinSize(fyne.NewSize(200, 200))
		secret := widget.NewLabelWithStyle(e.Secret, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		secret.Selectable = true
		help := newJALabel(T("totp.help", "Scan the code with an authenticator app (or type the key below), then enter the 6-digit code it shows."))
		items := []*widget.FormItem{
			widget.NewFormItem("", help),
			widget.NewFormItem("", container.NewCenter(qr)),
			widget.NewFormItem(T("totp.key", "Key"), secret),
			widget.NewFormItem(T("totp.code", "Current code"), code),
		}
		d := Form(win, title, T("totp.turnOn", "Turn on"), items, func() {
			c := code.Text
			run(func(ctx context.Context) error { return api.ConfirmTOTP(ctx, c) }, func() {
				Inform(win, title, T("totp.on", "Two-step sign-in is on: from now on, sign-in asks for a code."))
			})
		})
		d.Resize(fyne.NewSize(480, 560))
	})
}
