package ui

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/desktop/internal/slips"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// credentialsView shows freshly issued one-time passwords, the only time
// they are ever shown: one row per person, the nickname in the Japanese
// font, login ID and password in a monospace font with every glyph of
// their alphabet, at full line height, selectable, each row with a copy
// button; and the sheet to print or save (client or staff slips).
type credentialsView struct {
	widget.BaseWidget
	sheet   slips.Sheet
	win     fyne.Window
	list    *widget.List
	kept    bool // printed, saved or copied: closing loses nothing
	content fyne.CanvasObject
	// printDir holds the printable page while the dialog is open.
	printDir string
}

// credColumns are the widths of nickname, login ID and password.
var credColumns = []float32{190, 150, 200}

func newCredentialsView(win fyne.Window, sheet slips.Sheet) *credentialsView {
	v := &credentialsView{sheet: sheet, win: win}
	warn := newJALabel(T("admin.onceOnly", "These passwords are shown only now. Print or save them before closing."))
	warn.Importance = widget.WarningImportance
	header := container.New(&columns{widths: credColumns},
		boldLabel(T("cred.nickname", "Nickname")), boldLabel(T("cred.loginID", "Login ID")), boldLabel(T("cred.password", "Password")), widget.NewLabel(""))
	v.list = widget.NewList(
		func() int { return len(sheet.Slips) },
		func() fyne.CanvasObject { return newCredRow(v) },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*credRow).bind(sheet.Slips[i]) })
	v.list.HideSeparators = false
	printB := widget.NewButtonWithIcon(T("cred.print", "Print…"), theme.DocumentPrintIcon(), v.print)
	printB.Importance = widget.HighImportance
	saveHTML := widget.NewButtonWithIcon(T("admin.saveHTML", "Save printable sheet (HTML)…"), theme.DocumentSaveIcon(), func() { v.save("html") })
	saveCSV := widget.NewButton(T("admin.saveCSV", "Save CSV…"), func() { v.save("csv") })
	copyAll := widget.NewButtonWithIcon(T("cred.copyAll", "Copy all"), theme.ContentCopyIcon(), v.copyAll)
	actions := container.NewHBox(printB, saveHTML, saveCSV, copyAll)
	rows := min(len(sheet.Slips), 8)
	listBox := container.NewGridWrap(fyne.NewSize(credColumns[0]+credColumns[1]+credColumns[2]+120, float32(rows)*44+8), v.list)
	v.content = container.NewVBox(warn, header, listBox, actions)
	v.ExtendBaseWidget(v)
	return v
}

func (v *credentialsView) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(v.content)
}

func boldLabel(s string) *widget.Label {
	return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

// Write writes the sheet as "html" or "csv".
func (v *credentialsView) Write(w io.Writer, format string) error {
	if format == "csv" {
		return slips.WriteCSV(w, v.sheet)
	}
	return slips.WriteHTML(w, v.sheet)
}

func (v *credentialsView) save(format string) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		defer w.Close()
		if err := v.Write(w, format); err != nil {
			ShowError(v.win, T("cred.saveFailed", "Could not save"), err)
			return
		}
		v.kept = true
	}, v.win)
	name := "taiwa-slips"
	if v.sheet.Staff() {
		name = "taiwa-staff"
	}
	d.SetFileName(name + "." + format)
	d.Show()
}

// print opens the sheet in the system's browser with its print dialog:
// Fyne cannot print, every browser can. The page lives in a private
// temporary directory until this dialog closes.
func (v *credentialsView) print() {
	if v.printDir == "" {
		dir, err := os.MkdirTemp("", "taiwa-print-")
		if err != nil {
			ShowError(v.win, T("cred.printFailed", "Could not print"), err)
			return
		}
		v.printDir = dir
	}
	path := filepath.Join(v.printDir, "slips.html")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		ShowError(v.win, T("cred.printFailed", "Could not print"), err)
		return
	}
	sheet := v.sheet
	sheet.Print = true
	err = slips.WriteHTML(f, sheet)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		ShowError(v.win, T("cred.printFailed", "Could not print"), err)
		return
	}
	u := &url.URL{Scheme: "file", Path: filepath.ToSlash(path)}
	if err := fyne.CurrentApp().OpenURL(u); err != nil {
		ShowError(v.win, T("cred.printFailed", "Could not print"), err)
		return
	}
	v.kept = true
}

func (v *credentialsView) copyAll() {
	var b strings.Builder
	for _, c := range v.sheet.Slips {
		fmt.Fprintf(&b, "%s\t%s\t%s\n", c.Account.Nickname, c.LoginID, c.Password)
	}
	fyne.CurrentApp().Clipboard().SetContent(b.String())
	v.kept = true
}

// cleanup removes the printable page.
func (v *credentialsView) cleanup() {
	if v.printDir != "" {
		_ = os.RemoveAll(v.printDir)
		v.printDir = ""
	}
}

// credRow is one person's credentials.
type credRow struct {
	widget.BaseWidget
	nick, id, pw *widget.Label
	copyB        *widget.Button
	cred         protocol.Credentials
}

func newCredRow(v *credentialsView) *credRow {
	mono := fyne.TextStyle{Monospace: true}
	r := &credRow{nick: widget.NewLabel(""), id: widget.NewLabelWithStyle("", fyne.TextAlignLeading, mono),
		pw: widget.NewLabelWithStyle("", fyne.TextAlignLeading, mono)}
	r.nick.Truncation = fyne.TextTruncateEllipsis
	r.id.Selectable, r.pw.Selectable = true, true
	r.copyB = widget.NewButtonWithIcon(T("cred.copy", "Copy"), theme.ContentCopyIcon(), func() {
		fyne.CurrentApp().Clipboard().SetContent(T("cred.copyText", "Login ID: {{.ID}}  Password: {{.Password}}",
			map[string]any{"ID": r.cred.LoginID, "Password": r.cred.Password}))
		v.kept = true
	})
	r.copyB.Importance = widget.LowImportance
	r.ExtendBaseWidget(r)
	return r
}

func (r *credRow) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.New(&columns{widths: credColumns}, r.nick, r.id, r.pw, r.copyB))
}

func (r *credRow) bind(c protocol.Credentials) {
	r.cred = c
	r.nick.SetText(c.Account.Nickname)
	r.id.SetText(c.LoginID)
	r.pw.SetText(c.Password)
}

// columns lays objects out left to right at fixed widths; the last one
// takes what remains.
type columns struct{ widths []float32 }

func (c *columns) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	x := float32(0)
	for i, o := range objs {
		w := size.Width - x
		if i < len(c.widths) {
			w = c.widths[i]
		}
		h := o.MinSize().Height
		o.Move(fyne.NewPos(x, (size.Height-h)/2))
		o.Resize(fyne.NewSize(w, h))
		x += w
	}
}

func (c *columns) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for i, o := range objs {
		m := o.MinSize()
		if i < len(c.widths) {
			m.Width = c.widths[i]
		}
		s.Width += m.Width
		s.Height = max(s.Height, m.Height)
	}
	return s
}

// showCredentials shows issued credentials in a dialog that asks before
// closing if they were neither printed, saved nor copied.
func showCredentials(win fyne.Window, sheet slips.Sheet) *credentialsView {
	sheet.Created = time.Now()
	v := newCredentialsView(win, sheet)
	title := T("admin.issued", "Sign-in details (shown only now)")
	d := dialog.NewCustomWithoutButtons(title, v, win)
	closeB := widget.NewButton(T("dialog.close", "Close"), nil)
	closeD := func() {
		if v.kept {
			d.Hide()
			return
		}
		Confirm(win, T("cred.closeTitle", "Close without printing?"),
			T("cred.closeBody", "These passwords have been neither printed, saved nor copied. Once closed they are never shown again (a new one can be issued, which signs the person out)."),
			T("cred.closeAnyway", "Close"), T("cred.back", "Go back"), d.Hide)
	}
	closeB.OnTapped = closeD
	d.SetButtons([]fyne.CanvasObject{container.NewHBox(layout.NewSpacer(), closeB)})
	d.SetOnClosed(v.cleanup)
	d.Resize(fyne.NewSize(credColumns[0]+credColumns[1]+credColumns[2]+180, 0).Max(d.MinSize()))
	d.Show()
	c := win.Canvas()
	prev := c.OnTypedKey()
	c.SetOnTypedKey(func(e *fyne.KeyEvent) {
		if e.Name == fyne.KeyEscape {
			closeD()
			return
		}
		if prev != nil {
			prev(e)
		}
	})
	d.SetOnClosed(func() { v.cleanup(); c.SetOnTypedKey(prev) })
	return v
}
