package ui

import (
	"errors"
	"net"
	"net/url"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// Login is the sign-in screen: server address, login ID, password, and
// the second factor's code when the server asks for it.
type Login struct {
	server   *widget.Entry
	loginID  *widget.Entry
	password *widget.Entry
	code     *widget.Entry
	codeItem *widget.FormItem
	form     *widget.Form
	submit   *widget.Button
	message  *jaLabel
	notice   *jaLabel
	content  fyne.CanvasObject
	// onLogin runs off the UI goroutine; its error is shown on the form.
	onLogin func(server, loginID, password, code string) error
	// do brings the answer back to the UI goroutine (tests serialise it).
	do func(func())
}

// NewLogin builds the screen. notice, if not empty, is shown above the
// form (for example that there is no keychain on this machine).
func NewLogin(server, notice string, onLogin func(server, loginID, password, code string) error) *Login {
	l := &Login{onLogin: onLogin, do: fyne.Do}
	l.server = widget.NewEntry()
	l.server.SetText(server)
	l.server.SetPlaceHolder("https://taiwa.example.org")
	l.loginID = widget.NewEntry()
	l.password = widget.NewPasswordEntry()
	l.password.OnSubmitted = func(string) { l.Submit() }
	l.code = widget.NewEntry()
	l.code.SetPlaceHolder("123456")
	l.code.OnSubmitted = func(string) { l.Submit() }
	l.submit = widget.NewButton(T("login.submit", "Sign in"), l.Submit)
	l.submit.Importance = widget.HighImportance
	l.message = newJALabel("")
	l.message.Importance = widget.DangerImportance
	l.notice = newJALabel(notice)
	l.notice.Importance = widget.WarningImportance
	if notice == "" {
		l.notice.Hide()
	}
	form := widget.NewForm(
		widget.NewFormItem(T("login.server", "Server"), l.server),
		widget.NewFormItem(T("login.id", "Login ID"), l.loginID),
		widget.NewFormItem(T("login.password", "Password"), l.password),
	)
	l.form = form
	l.codeItem = widget.NewFormItem(T("login.code", "Code"), l.code)
	title := widget.NewLabelWithStyle(T("login.title", "Taiwa · counselor sign-in"), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	box := container.NewVBox(title, l.notice, form, l.submit, l.message)
	l.content = container.NewCenter(container.NewGridWrap(fyne.NewSize(440, 360), box))
	return l
}

// Content is the screen's root object.
func (l *Login) Content() fyne.CanvasObject { return l.content }

// Submit checks the form and signs in.
func (l *Login) Submit() {
	server := strings.TrimRight(strings.TrimSpace(l.server.Text), "/")
	id, pw, code := strings.TrimSpace(l.loginID.Text), l.password.Text, strings.TrimSpace(l.code.Text)
	if err := CheckServer(server); err != nil {
		l.message.SetText(loginErrorText(err))
		return
	}
	if id == "" || pw == "" {
		l.message.SetText(T("login.missing", "Enter your login ID and password."))
		return
	}
	l.message.SetText("")
	l.submit.Disable()
	go func() {
		err := l.onLogin(server, id, pw, code)
		l.do(func() {
			l.submit.Enable()
			l.code.SetText("")
			if protocol.AsError(err).Code == protocol.CodeTOTPRequired {
				l.AskCode()
				return
			}
			if err != nil {
				l.password.SetText("")
				l.message.SetText(loginErrorText(err))
			}
		})
	}()
}

// AskCode adds the second factor's code to the form: the password was
// right and the server wants the code from the authenticator app.
func (l *Login) AskCode() {
	if !l.CodeAsked() {
		l.form.AppendItem(l.codeItem)
	}
	l.message.SetText(T("login.codeNeeded", "Enter the 6-digit code from your authenticator app."))
	if c := fyne.CurrentApp(); c != nil {
		if w := c.Driver().CanvasForObject(l.code); w != nil {
			w.Focus(l.code)
		}
	}
}

// CodeAsked reports whether the form asks for a code.
func (l *Login) CodeAsked() bool {
	return len(l.form.Items) > 3
}

// MaxServerBytes bounds a server address: it is kept in the OS keychain,
// and the tightest keychain (Windows Credential Manager) holds at most
// 2,560 bytes a secret; macOS about 3,000 with the service and entry names.
const MaxServerBytes = 1024

// AddressError is a server address the app refuses.
type AddressError struct{ Text string }

func (e *AddressError) Error() string { return e.Text }

// CheckServer refuses an address the app must not send a password to:
// anything but https://, except plain http:// to this computer itself (a
// server for trying things out), where nothing crosses a network.
func CheckServer(server string) error {
	if len(server) > MaxServerBytes {
		return &AddressError{T("login.longServer", "This address is too long. Enter the server's address only, such as https://taiwa.example.org")}
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return &AddressError{T("login.badServer", "Enter the server address, starting with https://")}
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return &AddressError{T("login.plainHTTP", "This address starts with http://, so your password and the conversations would cross the network unencrypted. Use the https:// address your organisation gave you (http:// works only for a server on this computer).")}
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// FocusFirst puts the cursor in the first empty field.
func (l *Login) FocusFirst(w fyne.Window) {
	for _, e := range []*widget.Entry{l.server, l.loginID, l.password} {
		if e.Text == "" {
			w.Canvas().Focus(e)
			return
		}
	}
}

func loginErrorText(err error) string {
	var ae *AddressError
	if errors.As(err, &ae) {
		return ae.Text
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case protocol.CodeBadCredentials:
			return T("login.bad", "Login ID or password is incorrect.")
		case protocol.CodeLocked, protocol.CodeRateLimited:
			return T("login.locked", "Too many attempts. Try again in {{.Minutes}} min.", map[string]any{"Minutes": pe.RetryAfter/60 + 1})
		case protocol.CodeForbidden:
			return T("login.forbidden", "This login may not be used now.")
		}
		return ErrorText(pe)
	}
	if unreachable(err) {
		return T("login.unreachable", "Cannot reach the server. Check the address and the network connection, then try again.")
	}
	return ErrorText(err)
}
