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
	EnrollTOTP(ctx context.Context) (protocol.TOTPEnrollment, error)
	ConfirmTOTP(ctx context.Context, code string) error
	DisableTOTP(ctx context.Context, code string) error
}

// ShowTOTP lets a staff member turn their second factor on (scan the QR
// code with an authenticator app, confirm with a code) or off (with a
// current code). do brings results back to the UI goroutine.
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
					if protocol.AsError(err).Code == protocol.CodeBadCredentials || protocol.AsError(err).Code == protocol.CodeInvalid {
						Inform(win, failed, T("totp.wrongCode", "The code is not right. Enter the 6 digits the app shows now."))
						return
					}
					ShowError(win, failed, err)
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
		if st.On {
			items := []*widget.FormItem{widget.NewFormItem(T("totp.code", "Current code"), code)}
			Form(win, title+" — "+T("totp.isOn", "on"), T("totp.turnOff", "Turn off"), items, func() {
				c := code.Text
				run(func(ctx context.Context) error { return api.DisableTOTP(ctx, c) }, func() {
					Inform(win, title, T("totp.off", "Two-step sign-in is off."))
				})
			})
			return
		}
		var e protocol.TOTPEnrollment
		run(func(ctx context.Context) (err error) { e, err = api.EnrollTOTP(ctx); return err }, func() {
			qr := canvas.NewImageFromReader(bytes.NewReader(e.QRPNG), "totp.png")
			qr.FillMode = canvas.ImageFillContain
			qr.SetMinSize(fyne.NewSize(200, 200))
			secret := widget.NewLabelWithStyle(e.Secret, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
			secret.Selectable = true
			help := widget.NewLabel(T("totp.help", "Scan the code with an authenticator app (or type the key below), then enter the 6-digit code it shows."))
			help.Wrapping = fyne.TextWrapWord
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
	})
}
