package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// TemplateAPI is what the template screens ask of the app: each call
// runs off the UI goroutine and answers on it.
type TemplateAPI struct {
	List   func(done func([]protocol.Template, error))
	Save   func(id int64, req protocol.TemplateRequest, done func(protocol.Template, error)) // id 0: create
	Delete func(id int64, done func(error))
}

// templatePicker is the reply box's list of canned replies: search by
// title as one types, most used first (the server's order), Enter or a
// double click inserts the highlighted one. Nothing is sent from here.
type templatePicker struct {
	win    fyne.Window
	api    TemplateAPI
	dlg    dialog.Dialog
	search *searchEntry
	list   *widget.List
	status *widget.Label
	edit   *widget.Button
	del    *widget.Button

	all     []protocol.Template
	shown   []protocol.Template
	current int // the highlighted row, -1 for none
	insert  func(protocol.Template)
	// canEdit says whether the signed-in person may change a template
	// here: their own; the organisation's are managed in admin settings.
	canEdit func(protocol.Template) bool
}

func showTemplatePicker(win fyne.Window, api TemplateAPI, cached []protocol.Template, insert func(protocol.Template)) *templatePicker {
	p := &templatePicker{win: win, api: api, insert: insert, current: -1,
		canEdit: func(t protocol.Template) bool { return t.Scope == protocol.ScopePersonal }}
	p.search = newSearchEntry()
	p.search.SetPlaceHolder(T("tmpl.search", "Search by title"))
	p.search.OnChanged = func(string) { p.filter() }
	p.search.OnSubmitted = func(string) { p.insertCurrent() }
	p.search.onEscape = func() { p.dlg.Hide() }
	p.list = widget.NewList(func() int { return len(p.shown) }, newTemplateRow, func(i widget.ListItemID, o fyne.CanvasObject) {
		if i < len(p.shown) {
			row := o.(*templateRow)
			row.bind(p.shown[i])
			id := p.shown[i].ID
			row.onDouble = func() { p.insertID(id) }
		}
	})
	p.list.OnSelected = func(i widget.ListItemID) {
		p.current = i
		p.buttons()
	}
	p.status = widget.NewLabel("")
	p.status.Importance = widget.LowImportance
	use := widget.NewButtonWithIcon(T("tmpl.insert", "Insert into the reply"), theme.ContentPasteIcon(), p.insertCurrent)
	use.Importance = widget.HighImportance
	add := widget.NewButtonWithIcon(T("tmpl.addMine", "New template of my own…"), theme.ContentAddIcon(), func() {
		showTemplateEditor(p.win, protocol.TemplateRequest{Scope: protocol.ScopePersonal}, 0, p.api, func() { p.reload() })
	})
	p.edit = widget.NewButtonWithIcon(T("tmpl.edit", "Edit…"), theme.DocumentCreateIcon(), func() {
		if t, ok := p.selected(); ok && p.canEdit(t) {
			showTemplateEditor(p.win, protocol.TemplateRequest{Scope: t.Scope, Title: t.Title, Body: t.Body, Progress: t.Progress}, t.ID, p.api, func() { p.reload() })
		}
	})
	p.del = widget.NewButtonWithIcon(T("tmpl.delete", "Delete…"), theme.DeleteIcon(), func() {
		if t, ok := p.selected(); ok && p.canEdit(t) {
			confirmDeleteTemplate(p.win, t, p.api, func() { p.reload() })
		}
	})
	// Japanese wraps anywhere, not at spaces: a jaLabel breaks it where
	// the line ends rather than after "Enter".
	hint := newJALabel(T("tmpl.hint", "Enter or a double click puts the text into the reply box, where you can change it. It is sent only when you press Send."))
	top := container.NewVBox(hint, p.search)
	bottom := container.NewVBox(p.status, container.NewHBox(use, add, p.edit, p.del))
	content := container.NewBorder(top, bottom, nil, nil, p.list)
	p.dlg = newCustom(win, T("tmpl.title", "Canned replies"), content)
	p.dlg.Resize(fyne.NewSize(640, 520))
	p.show(cached)
	p.dlg.Show()
	win.Canvas().Focus(p.search)
	p.reload()
	return p
}

// reload fetches the list again (the counts and other people's edits).
func (p *templatePicker) reload() {
	if p.api.List == nil {
		return
	}
	if len(p.all) == 0 {
		setText(p.status, T("tmpl.loading", "Loading…"))
	}
	p.api.List(func(list []protocol.Template, err error) {
		if err != nil {
			setText(p.status, T("tmpl.loadFailed", "Could not load the templates: {{.Error}}", map[string]any{"Error": ErrorText(err)}))
			return
		}
		p.show(list)
	})
}

func (p *templatePicker) show(list []protocol.Template) {
	p.all = list
	p.filter()
	switch {
	case len(list) == 0:
		setText(p.status, T("tmpl.none", "No templates yet. Admins add the organisation's in Admin settings; add your own here."))
	default:
		setText(p.status, "")
	}
}

// filter keeps the templates whose title holds the search, in the
// server's order (most used first), and highlights the first.
func (p *templatePicker) filter() {
	q := strings.ToLower(strings.TrimSpace(p.search.Text))
	p.shown = p.shown[:0]
	for _, t := range p.all {
		if q == "" || strings.Contains(strings.ToLower(t.Title), q) {
			p.shown = append(p.shown, t)
		}
	}
	p.list.Refresh()
	p.current = -1
	if len(p.shown) > 0 {
		p.current = 0
		p.list.Select(0)
	} else {
		p.list.UnselectAll()
	}
	p.buttons()
}

func (p *templatePicker) selected() (protocol.Template, bool) {
	if p.current < 0 || p.current >= len(p.shown) {
		return protocol.Template{}, false
	}
	return p.shown[p.current], true
}

func (p *templatePicker) buttons() {
	t, ok := p.selected()
	for _, b := range []*widget.Button{p.edit, p.del} {
		if ok && p.canEdit(t) {
			b.Enable()
		} else {
			b.Disable()
		}
	}
}

func (p *templatePicker) insertCurrent() {
	t, ok := p.selected()
	if !ok {
		return
	}
	p.dlg.Hide()
	p.insert(t)
}

// insertID inserts the template shown with this ID (a double click).
func (p *templatePicker) insertID(id int64) {
	for i, t := range p.shown {
		if t.ID == id {
			p.current = i
			p.insertCurrent()
			return
		}
	}
}

// templateRow is one template in a list: its title with where it comes
// from and the progress it sets, and the beginning of its text.
type templateRow struct {
	widget.BaseWidget
	title, info, body *widget.Label
	onDouble          func() // a double click inserts (the list's rows select on one)
}

// DoubleTapped inserts the template: one click highlights it.
func (r *templateRow) DoubleTapped(*fyne.PointEvent) {
	if r.onDouble != nil {
		r.onDouble()
	}
}

func newTemplateRow() fyne.CanvasObject {
	r := &templateRow{title: widget.NewLabel("title"), info: widget.NewLabel("info"), body: widget.NewLabel("body")}
	r.title.TextStyle.Bold = true
	r.title.Truncation = fyne.TextTruncateEllipsis
	r.info.Importance = widget.LowImportance
	r.info.SizeName = theme.SizeNameCaptionText
	r.body.Truncation = fyne.TextTruncateEllipsis
	r.body.Importance = widget.LowImportance
	r.ExtendBaseWidget(r)
	return r
}

func (r *templateRow) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.New(&tightRows{}, container.NewBorder(nil, nil, nil, r.info, r.title), r.body))
}

func (r *templateRow) bind(t protocol.Template) {
	setText(r.title, t.Title)
	setText(r.info, templateInfo(t))
	first, _, _ := strings.Cut(t.Body, "\n")
	setText(r.body, first)
}

// templateInfo says whose a template is and what sending it sets.
func templateInfo(t protocol.Template) string {
	who := T("tmpl.org", "Organisation")
	if t.Scope == protocol.ScopePersonal {
		who = T("tmpl.mine", "Mine")
	}
	if t.Progress != "" {
		who += " · " + T("tmpl.sets", "sets {{.Progress}}", map[string]any{"Progress": progressText(t.Progress)})
	}
	if t.Uses > 0 {
		who += " · " + T("tmpl.uses", "used {{.Count}}×", map[string]any{"Count": t.Uses})
	}
	return who
}

// placeholderLabel names a placeholder on the editor's button that
// inserts it.
func placeholderLabel(name string) string {
	switch name {
	case "nickname":
		return T("tmpl.ph.nickname", "Client's nickname")
	case "counselor":
		return T("tmpl.ph.counselor", "My display name")
	case "next_contact":
		return T("tmpl.ph.nextContact", "Next contact date")
	case "hours":
		return T("tmpl.ph.hours", "Business hours")
	}
	return name
}

// templateEditor edits one template: title, text with placeholder
// buttons, and the progress that sending it sets.
type templateEditor struct {
	dlg      dialog.Dialog
	title    *widget.Entry
	body     *widget.Entry
	progress *widget.Select
	errLabel *widget.Label
	save     func()
}

// progressChoices are what a template may set: nothing, or any progress
// but next contact (which needs a date, the date picker's job).
func progressChoices() ([]string, []protocol.Progress) {
	labels := []string{T("tmpl.noProgress", "(leave the progress as it is)")}
	values := []protocol.Progress{""}
	for _, p := range protocol.Progresses {
		if p != protocol.ProgressNextContact {
			labels = append(labels, progressText(p))
			values = append(values, p)
		}
	}
	return labels, values
}

func showTemplateEditor(win fyne.Window, req protocol.TemplateRequest, id int64, api TemplateAPI, saved func()) *templateEditor {
	e := &templateEditor{title: widget.NewEntry(), body: widget.NewMultiLineEntry(), errLabel: widget.NewLabel("")}
	e.title.SetText(req.Title)
	e.title.SetPlaceHolder(T("tmpl.titleHint", "Title (what you search for)"))
	e.body.SetText(req.Body)
	e.body.Wrapping = fyne.TextWrapWord
	e.body.SetMinRowsVisible(6)
	labels, values := progressChoices()
	e.progress = widget.NewSelect(labels, nil)
	e.progress.SetSelectedIndex(max(slices.Index(values, req.Progress), 0))
	e.errLabel.Importance = widget.DangerImportance
	e.errLabel.Wrapping = fyne.TextWrapWord
	var phs []fyne.CanvasObject
	for _, name := range protocol.Placeholders {
		ph := "{" + name + "}"
		phs = append(phs, widget.NewButton(placeholderLabel(name), func() {
			insertAtCursor(e.body, ph)
			win.Canvas().Focus(e.body)
		}))
	}
	scope := T("tmpl.org", "Organisation")
	if req.Scope == protocol.ScopePersonal {
		scope = T("tmpl.mine", "Mine")
	}
	form := container.NewVBox(
		widget.NewLabel(T("tmpl.scope", "Whose: {{.Scope}}", map[string]any{"Scope": scope})),
		e.title,
		e.body,
		container.NewHBox(append([]fyne.CanvasObject{widget.NewLabel(T("tmpl.insertPh", "Insert:"))}, phs...)...),
		container.NewHBox(widget.NewLabel(T("tmpl.setsLabel", "Sending it sets:")), e.progress),
		e.errLabel,
	)
	save := func() {
		r := protocol.TemplateRequest{Scope: req.Scope, Title: e.title.Text, Body: e.body.Text, Progress: values[max(e.progress.SelectedIndex(), 0)]}
		// The server decides; checking here first says what is wrong
		// without a round trip, in the same words.
		if err := r.Validate(id == 0); err != nil {
			setText(e.errLabel, ErrorText(err))
			return
		}
		api.Save(id, r, func(_ protocol.Template, err error) {
			if err != nil {
				setText(e.errLabel, ErrorText(err))
				return
			}
			e.dlg.Hide()
			if saved != nil {
				saved()
			}
		})
	}
	title := T("tmpl.new", "New template")
	if id != 0 {
		title = T("tmpl.editTitle", "Edit template")
	}
	// Buttons of its own: a refused save keeps the dialog, and the text
	// typed into it, open with the reason.
	d := dialog.NewCustomWithoutButtons(title, form, win)
	saveB := widget.NewButtonWithIcon(T("tmpl.save", "Save"), theme.DocumentSaveIcon(), save)
	saveB.Importance = widget.HighImportance
	d.SetButtons([]fyne.CanvasObject{widget.NewButton(T("dialog.cancel", "Cancel"), d.Hide), saveB})
	e.dlg, e.save = d, save
	d.Resize(fyne.NewSize(560, 0).Max(d.MinSize()))
	d.Show()
	win.Canvas().Focus(e.title)
	return e
}

func confirmDeleteTemplate(win fyne.Window, t protocol.Template, api TemplateAPI, deleted func()) {
	Confirm(win, T("tmpl.deleteTitle", "Delete template?"),
		T("tmpl.deleteBody", "Delete the template “{{.Title}}”?", map[string]any{"Title": t.Title}),
		T("tmpl.deleteYes", "Delete"), T("dialog.cancel", "Cancel"), func() {
			api.Delete(t.ID, func(err error) {
				if err != nil {
					ShowError(win, T("tmpl.deleteFailed", "Could not delete"), err)
					return
				}
				if deleted != nil {
					deleted()
				}
			})
		})
}

// hoursText describes business hours for a reply: 月〜金 9:00〜17:00,
// days with the same hours run together.
func hoursText(s hours.Schedule) string {
	if len(s.Spans) == 0 {
		return T("hours.always", "around the clock")
	}
	days := []string{T("day.sun", "Sun"), T("day.mon", "Mon"), T("day.tue", "Tue"), T("day.wed", "Wed"), T("day.thu", "Thu"), T("day.fri", "Fri"), T("day.sat", "Sat")}
	byDay := map[time.Weekday][]string{}
	for _, sp := range s.Spans {
		byDay[sp.Day] = append(byDay[sp.Day], fmt.Sprintf("%d:%02d〜%d:%02d", int(sp.Start)/60, int(sp.Start)%60, int(sp.End)/60, int(sp.End)%60))
	}
	// Monday first: a working week reads 月〜金.
	order := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
	var parts []string
	for i := 0; i < len(order); {
		times := strings.Join(byDay[order[i]], "・")
		j := i
		for j+1 < len(order) && times != "" && strings.Join(byDay[order[j+1]], "・") == times {
			j++
		}
		if times != "" {
			name := days[order[i]]
			if j > i {
				name += "〜" + days[order[j]]
			}
			parts = append(parts, name+" "+times)
		}
		i = j + 1
	}
	return strings.Join(parts, "、")
}

// expandTemplate fills a template's placeholders for one conversation.
// A next-contact date comes from the date chosen for this reply, else
// the conversation's; without one the placeholder stays for the
// counselor to see and replace.
func expandTemplate(body string, nickname string, me protocol.Account, nextContact string, org protocol.Org) string {
	counselor := me.DisplayName
	if counselor == "" {
		counselor = me.Nickname
	}
	values := map[string]string{"nickname": nickname, "counselor": counselor, "hours": hoursText(org.Settings.Hours)}
	if d, err := protocol.ParseDate(nextContact); err == nil {
		// The client reads it in the reply: always the Japanese form.
		values["next_contact"] = protocol.JapaneseDate(d)
	}
	return protocol.ExpandPlaceholders(body, values)
}
