package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// APIKeysAPI is what the API keys tab needs of the server.
type APIKeysAPI interface {
	APIKeys(ctx context.Context) ([]protocol.APIKey, error)
	CreateAPIKey(ctx context.Context, req protocol.APIKeyRequest) (protocol.NewAPIKey, error)
	RevokeAPIKey(ctx context.Context, id int64) error
}

// apiKeysTab makes and revokes the provisioning API's keys (issue 16):
// one per booking or payment system, scoped to groups, shown once.
type apiKeysTab struct {
	env *adminEnv
	api APIKeysAPI

	groups   []protocol.Group
	keys     []protocol.APIKey
	list     *widget.List
	selected *protocol.APIKey
	sel      *selection
	name     *widget.Entry
	scope    *widget.CheckGroup
	content  fyne.CanvasObject
	// shown is the key last made, for tests (it is on screen once).
	shown string
}

func newAPIKeysTab(env *adminEnv, api APIKeysAPI) *apiKeysTab {
	t := &apiKeysTab{env: env, api: api}
	t.list = widget.NewList(
		func() int { return len(t.keys) },
		func() fyne.CanvasObject { return newJALabel("name · groups · revoked") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(t.keys) {
				o.(*jaLabel).SetText(t.line(t.keys[i]))
			}
		})
	t.list.OnSelected = func(i widget.ListItemID) {
		if i < len(t.keys) {
			t.choose(&t.keys[i])
		}
	}
	t.list.OnUnselected = func(widget.ListItemID) { t.choose(nil) }
	t.name = widget.NewEntry()
	t.name.SetPlaceHolder(T("keys.name", "Which system uses it, e.g. booking system"))
	t.scope = widget.NewCheckGroup(nil, nil)
	makeBtn := widget.NewButton(T("keys.make", "Make API key"), func() { t.Make(t.name.Text) })
	makeBtn.Importance = widget.HighImportance
	t.sel = newSelection(T("keys.noneSelected", "Choose a key in the list to revoke it."))
	revoke := widget.NewButton(T("keys.revoke", "Revoke…"), t.confirmRevoke)
	revoke.Importance = widget.DangerImportance
	t.sel.add(revoke)
	form := container.NewVBox(
		widget.NewLabelWithStyle(T("keys.new", "New API key"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		t.name,
		widget.NewLabel(T("keys.scope", "It may register and delete clients of:")),
		t.scope, makeBtn,
		newJALabel(T("keys.help", "The key is shown once: give it to the system's operator. Taiwa keeps only a hash. Everything a key does is in the audit log under its name. The API is described in docs/provisioning.openapi.json.")),
		widget.NewSeparator(),
		t.sel.label, revoke,
	)
	split := container.NewHSplit(t.list, container.NewVScroll(form))
	split.Offset = 0.5
	t.content = split
	return t
}

func (t *apiKeysTab) line(k protocol.APIKey) string {
	var names []string
	for _, id := range k.GroupIDs {
		for _, g := range t.groups {
			if g.ID == id {
				names = append(names, g.Name)
			}
		}
	}
	line := k.Name + " · " + strings.Join(names, "、")
	if k.RevokedAt != nil {
		line += " · " + T("keys.revoked", "revoked {{.Date}}", map[string]any{"Date": k.RevokedAt.Local().Format("2006-01-02")})
	}
	return line
}

func (t *apiKeysTab) setGroups(groups []protocol.Group) {
	t.groups = groups
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.Name
	}
	t.scope.Options = names
	t.scope.Refresh()
}

func (t *apiKeysTab) choose(k *protocol.APIKey) {
	t.selected = k
	if k == nil || k.RevokedAt != nil {
		t.sel.set("")
		return
	}
	t.sel.set(t.line(*k))
}

// Load fetches the keys.
func (t *apiKeysTab) Load() {
	var keys []protocol.APIKey
	t.env.call(T("admin.loadFailed", "Could not load"), func(ctx context.Context) error {
		var err error
		keys, err = t.api.APIKeys(ctx)
		return err
	}, func() {
		t.keys = keys
		t.list.UnselectAll()
		t.choose(nil)
		t.list.Refresh()
	})
}

// Make makes a key for the ticked groups and shows it once.
func (t *apiKeysTab) Make(name string) {
	req := protocol.APIKeyRequest{Name: strings.TrimSpace(name)}
	for _, n := range t.scope.Selected {
		for _, g := range t.groups {
			if g.Name == n {
				req.GroupIDs = append(req.GroupIDs, g.ID)
			}
		}
	}
	if req.Name == "" || len(req.GroupIDs) == 0 {
		Inform(t.env.win, T("keys.make", "Make API key"), T("keys.needNameGroups", "Name the system and tick at least one group."))
		return
	}
	var made protocol.NewAPIKey
	t.env.call(T("keys.failed", "Could not make the key"), func(ctx context.Context) error {
		var err error
		made, err = t.api.CreateAPIKey(ctx, req)
		return err
	}, func() {
		t.name.SetText("")
		t.shown = made.Key
		key := widget.NewEntry()
		key.SetText(made.Key)
		copyBtn := widget.NewButton(T("keys.copy", "Copy"), func() { fyne.CurrentApp().Clipboard().SetContent(made.Key) })
		body := container.NewVBox(
			newJALabel(T("keys.once", "This is the only time the key is shown. Copy it now into the system that uses it.")),
			container.NewBorder(nil, nil, nil, copyBtn, key))
		d := newCustom(t.env.win, T("keys.made", "API key for {{.Name}}", map[string]any{"Name": made.APIKey.Name}), body)
		d.Resize(fyne.NewSize(640, 200))
		d.Show()
		t.Load()
	})
}

func (t *apiKeysTab) confirmRevoke() {
	k := t.selected
	if k == nil {
		return
	}
	id, name := k.ID, k.Name
	Confirm(t.env.win, T("keys.revoke", "Revoke…"), T("keys.revokeBody", "{{.Name}} stops working at once. Clients it made stay.", map[string]any{"Name": name}),
		T("keys.revokeYes", "Revoke"), T("dialog.cancel", "Cancel"), func() {
			t.env.call(T("keys.revokeFailed", "Could not revoke the API key"), func(ctx context.Context) error { return t.api.RevokeAPIKey(ctx, id) }, t.Load)
		})
}
