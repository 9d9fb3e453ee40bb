package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// TemplatesAPI is what the admin's canned-replies tab needs of the
// server; *client.Client provides it.
type TemplatesAPI interface {
	Templates(ctx context.Context) ([]protocol.Template, error)
	CreateTemplate(ctx context.Context, req protocol.TemplateRequest) (protocol.Template, error)
	UpdateTemplate(ctx context.Context, id int64, req protocol.TemplateRequest) (protocol.Template, error)
	DeleteTemplate(ctx context.Context, id int64) error
}

// templatesTab manages the organisation's canned replies: every staff
// member finds them in the reply box's list (Ctrl+T).
type templatesTab struct {
	env      *adminEnv
	api      TemplatesAPI
	list     *widget.List
	items    []protocol.Template
	selected int
	edit     *widget.Button
	del      *widget.Button
	count    *widget.Label
	content  fyne.CanvasObject
	editor   *templateEditor // the one open last, for tests
	add      *widget.Button
}

func newTemplatesTab(env *adminEnv, api TemplatesAPI) *templatesTab {
	t := &templatesTab{env: env, api: api, selected: -1}
	t.list = widget.NewList(func() int { return len(t.items) }, newTemplateRow, func(i widget.ListItemID, o fyne.CanvasObject) {
		if i < len(t.items) {
			o.(*templateRow).bind(t.items[i])
		}
	})
	t.list.OnSelected = func(i widget.ListItemID) { t.selected = i; t.buttons() }
	t.list.OnUnselected = func(widget.ListItemID) { t.selected = -1; t.buttons() }
	t.add = widget.NewButtonWithIcon(T("tmpl.addOrg", "New template for everyone…"), theme.ContentAddIcon(), func() {
		t.editor = showTemplateEditor(env.win, protocol.TemplateRequest{Scope: protocol.ScopeOrg}, 0, t.calls(), t.Load)
	})
	t.edit = widget.NewButtonWithIcon(T("tmpl.edit", "Edit…"), theme.DocumentCreateIcon(), func() {
		if it, ok := t.current(); ok {
			t.editor = showTemplateEditor(env.win, protocol.TemplateRequest{Scope: it.Scope, Title: it.Title, Body: it.Body, Progress: it.Progress}, it.ID, t.calls(), t.Load)
		}
	})
	t.del = widget.NewButtonWithIcon(T("tmpl.delete", "Delete…"), theme.DeleteIcon(), func() {
		if it, ok := t.current(); ok {
			confirmDeleteTemplate(env.win, it, t.calls(), t.Load)
		}
	})
	t.count = widget.NewLabel("")
	t.count.Importance = widget.LowImportance
	hint := widget.NewLabel(T("tmpl.adminHint", "Canned replies every counselor can insert into a reply (Ctrl+T) and change before sending. Placeholders are filled in for each conversation. Counselors also keep their own."))
	hint.Wrapping = fyne.TextWrapWord
	t.buttons()
	t.content = container.NewBorder(hint, container.NewVBox(t.count, container.NewHBox(t.add, t.edit, t.del)), nil, nil, t.list)
	return t
}

func (t *templatesTab) current() (protocol.Template, bool) {
	if t.selected < 0 || t.selected >= len(t.items) {
		return protocol.Template{}, false
	}
	return t.items[t.selected], true
}

func (t *templatesTab) buttons() {
	_, ok := t.current()
	for _, b := range []*widget.Button{t.edit, t.del} {
		if ok {
			b.Enable()
		} else {
			b.Disable()
		}
	}
}

// Load fetches the organisation's templates (an admin's own personal
// ones are in the reply box's list, not here).
func (t *templatesTab) Load() {
	var list []protocol.Template
	t.env.call(T("admin.loadFailed", "Could not load"), func(ctx context.Context) (err error) {
		list, err = t.api.Templates(ctx)
		return err
	}, func() {
		t.items = t.items[:0]
		for _, it := range list {
			if it.Scope == protocol.ScopeOrg {
				t.items = append(t.items, it)
			}
		}
		t.selected = -1
		t.list.UnselectAll()
		t.list.Refresh()
		t.buttons()
		setText(t.count, T("tmpl.count", "{{.Count}} of at most {{.Max}} templates", map[string]any{"Count": len(t.items), "Max": protocol.MaxOrgTemplates}))
	})
}

// calls adapts the admin's API to the editor's, on the admin's goroutines.
func (t *templatesTab) calls() TemplateAPI {
	return TemplateAPI{
		Save: func(id int64, req protocol.TemplateRequest, done func(protocol.Template, error)) {
			var out protocol.Template
			t.env.async(func() {
				ctx, cancel := callContext()
				defer cancel()
				var err error
				if id == 0 {
					out, err = t.api.CreateTemplate(ctx, req)
				} else {
					out, err = t.api.UpdateTemplate(ctx, id, req)
				}
				t.env.do(func() { done(out, err) })
			})
		},
		Delete: func(id int64, done func(error)) {
			t.env.async(func() {
				ctx, cancel := callContext()
				defer cancel()
				err := t.api.DeleteTemplate(ctx, id)
				t.env.do(func() { done(err) })
			})
		},
	}
}
