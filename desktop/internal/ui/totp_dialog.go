package ui

import (
	"bytes"
	"context"
	"errors"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
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
	run := func(f func(ctx context.Context) error, then func()) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := f(ctx)
			do(func() {
				if err != nil {
					dialog.ShowError(errors.New(errorText(err)), win)
					return
				}
				then()
			})
		}()
	}
	var st protocol.TOTPStatus
	run(func(ctx context.Context) (err error) { st, err = api.TOTPStatus(ctx); return err }, func() {
		code := widget.NewEntry()
		code.SetPlaceHolder("123456")
		password := widget.NewPasswordEntry()
		passwordItem := widget.NewFormItem(T("totp.password", "Current password"), password)
		title := T("totp.title", "Two-step sign-in")
		if st.On {
			items := []*widget.FormItem{passwordItem, widget.NewFormItem(T("totp.code", "Current code"), code)}
			dialog.ShowForm(title+" — "+T("totp.isOn", "on"), T("totp.turnOff", "Turn off"), T("dialog.cancel", "Cancel"), items, func(ok bool) {
				if ok {
					c, pw := code.Text, password.Text
					run(func(ctx context.Context) error { return api.DisableTOTP(ctx, c, pw) }, func() {
						dialog.ShowInformation(title, T("totp.off", "Two-step sign-in is off."), win)
					})
				}
			}, win)
			return
		}
		dialog.ShowForm(title, T("totp.next", "Next"), T("dialog.cancel", "Cancel"), []*widget.FormItem{passwordItem}, func(ok bool) {
			if ok {
				enroll(win, api, run, title, password.Text, code)
			}
		}, win)
	})
}

// enroll shows a new secret as a QR code and turns it on with a code.
func enroll(win fyne.Window, api TOTPAPI, run func(func(context.Context) error, func()), title, password string, code *widget.Entry) {
	{
		var e protocol.TOTPEnrollment
		run(func(ctx context.Context) (err error) { e, err = api.EnrollTOTP(ctx, password); return err }, func() {
			qr := canvas.NewImageFromReader(bytes.NewReader(e.QRPNG), "totp.png")
			qr.FillMode = canvas.ImageFillContain
			qr.SetMinSize(fyne.NewSize(200, 200))
			secret := widget.NewLabel(e.Secret)
			secret.Selectable = true
			help := widget.NewLabel(T("totp.help", "Scan the code with an authenticator app (or type the key below), then enter the 6-digit code it shows."))
			help.Wrapping = fyne.TextWrapWord
			body := container.NewVBox(help, qr, secret, widget.NewForm(widget.NewFormItem(T("totp.code", "Current code"), code)))
			d := dialog.NewCustomConfirm(title, T("totp.turnOn", "Turn on"), T("dialog.cancel", "Cancel"), body, func(ok bool) {
				if ok {
					c := code.Text
					run(func(ctx context.Context) error { return api.ConfirmTOTP(ctx, c) }, func() {
						dialog.ShowInformation(title, T("totp.on", "Two-step sign-in is on: from now on, sign-in asks for a code."), win)
					})
				}
			}, win)
			d.Resize(fyne.NewSize(440, 520))
			d.Show()
		})
	}
}
