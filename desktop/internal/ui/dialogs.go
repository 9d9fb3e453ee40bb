package ui

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"syscall"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// The app's dialogs answer the keyboard: Enter does what the highlighted
// button says, Escape closes, and a form puts the cursor in its first
// field. Fyne's own dialogs do none of this, and say "Yes"/"No" and
// "Error"; these name what the buttons do, in the person's language.

// keyed makes Enter and Escape work on a dialog without text fields: with
// a dialog open the window's keys go to the canvas, not to the widgets
// beneath.
func keyed(win fyne.Window, d dialog.Dialog, enter, escape func()) {
	c := win.Canvas()
	prev := c.OnTypedKey()
	c.SetOnTypedKey(func(e *fyne.KeyEvent) {
		switch e.Name {
		case fyne.KeyEscape:
			escape()
		case fyne.KeyReturn, fyne.KeyEnter:
			enter()
		default:
			if prev != nil {
				prev(e)
			}
		}
	})
	d.SetOnClosed(func() { c.SetOnTypedKey(prev) })
}

// Confirm asks a question; yes and no name what each button does.
func Confirm(win fyne.Window, title, message, yes, no string, onYes func()) *dialog.ConfirmDialog {
	return ConfirmContent(win, title, wrapped(message), yes, no, onYes)
}

// ConfirmContent is Confirm with any content.
func ConfirmContent(win fyne.Window, title string, content fyne.CanvasObject, yes, no string, onYes func()) *dialog.ConfirmDialog {
	d := dialog.NewCustomConfirm(title, yes, no, content, func(ok bool) {
		if ok && onYes != nil {
			onYes()
		}
	}, win)
	keyed(win, d, d.Confirm, d.Hide)
	d.Resize(fyne.NewSize(460, 0).Max(d.MinSize()))
	d.Show()
	return d
}

// Inform tells something that needs no answer.
func Inform(win fyne.Window, title, message string) dialog.Dialog {
	d := dialog.NewCustom(title, T("dialog.ok", "OK"), wrapped(message), win)
	keyed(win, d, d.Hide, d.Hide)
	d.Resize(fyne.NewSize(420, 0).Max(d.MinSize()))
	d.Show()
	return d
}

// ShowError says what failed (title, e.g. "Could not register") and, in
// the message, what happened and what to do.
func ShowError(win fyne.Window, title string, err error) dialog.Dialog {
	return Inform(win, title, ErrorText(err))
}

func wrapped(message string) fyne.CanvasObject {
	return newJALabel(message)
}

// Field is a text field for a dialog: Escape closes the dialog, Enter
// submits it.
type Field struct {
	widget.Entry
	onEscape func()
}

// NewField returns a field; password hides what is typed.
func NewField(password bool) *Field {
	f := &Field{}
	f.Password = password
	f.ExtendBaseWidget(f)
	return f
}

// TypedKey closes the dialog on Escape.
func (f *Field) TypedKey(e *fyne.KeyEvent) {
	if e.Name == fyne.KeyEscape && f.onEscape != nil {
		f.onEscape()
		return
	}
	f.Entry.TypedKey(e)
}

// Form shows a form whose fields are Fields: the first gets the cursor,
// Enter in any of them submits, Escape cancels. onSubmit runs on submit.
func Form(win fyne.Window, title, submit string, items []*widget.FormItem, onSubmit func()) *dialog.FormDialog {
	d := dialog.NewForm(title, submit, T("dialog.cancel", "Cancel"), items, func(ok bool) {
		if ok && onSubmit != nil {
			onSubmit()
		}
	}, win)
	var first *Field
	for _, it := range items {
		if f, ok := it.Widget.(*Field); ok {
			f.onEscape = d.Hide
			f.OnSubmitted = func(string) { d.Submit() }
			if first == nil {
				first = f
			}
		}
	}
	keyed(win, d, d.Submit, d.Hide)
	d.Resize(fyne.NewSize(480, 0).Max(d.MinSize()))
	d.Show()
	if first != nil {
		win.Canvas().Focus(first)
	}
	return d
}

// knownMessages turn the server's English refusals (meant for logs) into
// the person's language where the code alone says too little.
var knownMessages = map[string]string{
	"the last admin cannot be deleted":                   "error.lastAdmin",
	"admins cannot delete their own account":             "error.deleteSelf",
	"login ID is taken":                                  "error.loginTaken",
	"the second factor is already on; turn it off first": "error.totpOn",
	"no second factor is being set up":                   "error.totpNotStarted",
	"the access period for this login has ended":         "error.accessEnded",
}

var knownFallbacks = map[string]string{
	"error.lastAdmin":      "The last admin cannot be deleted. Add another admin first.",
	"error.deleteSelf":     "You cannot delete your own account. Ask another admin.",
	"error.loginTaken":     "That login ID is already in use. Try again.",
	"error.totpOn":         "Two-step sign-in is already on. Turn it off first to set it up again.",
	"error.totpNotStarted": "Two-step sign-in was not being set up. Start again.",
	"error.accessEnded":    "The access period for this login has ended.",
}

// ErrorText says in the person's language what went wrong and what to do.
func ErrorText(err error) string {
	if err == nil {
		return ""
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		if key, ok := knownMessages[pe.Message]; ok {
			return T(key, knownFallbacks[key])
		}
		return codeText(pe)
	}
	if unreachable(err) {
		return T("error.unreachable", "Cannot reach the server. Check the network connection and try again.")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return T("error.timeout", "The server did not answer in time. Try again in a moment.")
	}
	return T("error.unexpected", "Something went wrong. Try again; if it keeps happening, tell your administrator. (Details: {{.Detail}})",
		map[string]any{"Detail": err.Error()})
}

func unreachable(err error) bool {
	var (
		ue *url.Error
		ne *net.OpError
		de *net.DNSError
	)
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.As(err, &ne) || errors.As(err, &de) ||
		(errors.As(err, &ue) && !errors.Is(err, context.DeadlineExceeded) && strings.Contains(ue.Err.Error(), "connect"))
}

func codeText(e *protocol.Error) string {
	switch e.Code {
	case protocol.CodeUnauthorized:
		return T("error.unauthorized", "Your session has ended. Sign in again.")
	case protocol.CodeBadCredentials:
		return T("login.bad", "Login ID or password is incorrect.")
	case protocol.CodeForbidden:
		return T("error.forbidden", "Your account may not do this. Ask an admin if you need it.")
	case protocol.CodeOutsideHours:
		return T("error.outsideHours", "Client data cannot be shown outside access hours.")
	case protocol.CodeNotFound:
		return T("error.notFound", "It no longer exists (someone may have deleted it). The list will be reloaded.")
	case protocol.CodeConflict:
		return T("error.conflict", "This cannot be done in the current state. Reload and try again.")
	case protocol.CodeInvalid, protocol.CodeBadRequest, protocol.CodeInvalidBody:
		return T("error.invalid", "The server did not accept what was entered. Check it and try again. (Details: {{.Detail}})",
			map[string]any{"Detail": e.Message})
	case protocol.CodeTooLarge:
		return T("error.tooLarge", "Too much at once. Send less and try again.")
	case protocol.CodeLocked, protocol.CodeRateLimited:
		return T("login.locked", "Too many attempts. Try again in {{.Minutes}} min.", map[string]any{"Minutes": e.RetryAfter/60 + 1})
	case protocol.CodeUnavailable:
		return T("error.unavailable", "The server is busy or restarting. Try again in a moment.")
	case protocol.CodeClosed:
		return T("error.closed", "The organisation is not taking messages now.")
	}
	return T("error.server", "The server could not do this. Try again; if it keeps happening, tell your administrator.")
}

// newCustom is a dialog with one Close button that Enter and Escape press.
func newCustom(win fyne.Window, title string, content fyne.CanvasObject) dialog.Dialog {
	d := dialog.NewCustom(title, T("dialog.close", "Close"), content, win)
	keyed(win, d, d.Hide, d.Hide)
	return d
}
