package ui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// An admin adds, edits and deletes the organisation's canned replies
// against a real server; a refused one keeps the editor and its text open
// with the reason.
func TestAdminTemplates(t *testing.T) {
	h := newAdminForTest(t)
	tab := h.a.templates
	h.a.tabs.Select(h.a.templatesTab)
	if len(tab.items) != 0 || !tab.edit.Disabled() {
		t.Fatalf("a new organisation has templates: %+v", tab.items)
	}
	test.Tap(tab.add)
	e := tab.editor
	test.Type(e.title, "お返事をお待ちしています")
	test.Type(e.body, "{nickmane}さん")
	e.progress.SetSelectedIndex(3) // (none), 新規, 対応中, 返答待ち
	e.save()
	if e.errLabel.Text == "" || h.w.Canvas().Overlays().Top() == nil {
		t.Fatal("a placeholder typo was saved, or the editor closed")
	}
	if list, _ := h.srv.Admin.Templates(context.Background()); len(list) != 0 {
		t.Fatalf("a refused template reached the server: %+v", list)
	}
	e.body.SetText("")
	test.Tap(placeholderButton(t, h, "tmpl.ph.nickname"))
	test.Type(e.body, "さん、こちらでお待ちしています。")
	e.save()
	if h.w.Canvas().Overlays().Top() != nil {
		t.Fatalf("the editor stayed open: %q", e.errLabel.Text)
	}
	list, err := h.srv.Admin.Templates(context.Background())
	if err != nil || len(list) != 1 || list[0].Body != "{nickname}さん、こちらでお待ちしています。" || list[0].Progress != protocol.ProgressAwaiting || list[0].Scope != protocol.ScopeOrg {
		t.Fatalf("stored %+v %v", list, err)
	}
	if len(tab.items) != 1 || !strings.Contains(tab.count.Text, "1") {
		t.Fatalf("the tab shows %d", len(tab.items))
	}
	// Edit: the progress dropped.
	tab.list.Select(0)
	test.Tap(tab.edit)
	tab.editor.progress.SetSelectedIndex(0)
	tab.editor.save()
	if list, _ := h.srv.Admin.Templates(context.Background()); list[0].Progress != "" {
		t.Fatalf("edited %+v", list[0])
	}
	// Delete, confirmed.
	tab.list.Select(0)
	test.Tap(tab.del)
	h.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn}) // Enter confirms
	if list, _ := h.srv.Admin.Templates(context.Background()); len(list) != 0 || len(tab.items) != 0 {
		t.Fatalf("not deleted: %+v", list)
	}
}

// placeholderButton finds the editor's button that inserts a placeholder.
func placeholderButton(t *testing.T, h *adminHarness, key string) *widget.Button {
	t.Helper()
	want := T(key, "")
	for _, o := range overlayObjects(h.w) {
		if b, ok := o.(*widget.Button); ok && b.Text == want {
			return b
		}
	}
	t.Fatalf("no button %q", want)
	return nil
}
