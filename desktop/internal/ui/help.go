package ui

import (
	"net/url"
	"strings"

	"fyne.io/fyne/v2"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// GuideURL is the address of a guide ("counselor" or "admin") on the
// server the app is signed in to, in the app's own language: the server
// serves the guides (/guide/), so help never leads outside.
func GuideURL(server, guide string) (*url.URL, error) {
	lang := "en"
	if T("lang.code", "en") == "ja" {
		lang = "ja"
	}
	return url.Parse(strings.TrimSuffix(server, "/") + "/guide/" + guide + "." + lang)
}

// HelpMenu is the window's ヘルプ menu: the counselor's guide for every
// staff member, and the admin's guide too for admins. open opens an
// address in the system's browser (fyne.App.OpenURL).
func HelpMenu(server string, role protocol.Role, open func(*url.URL) error) *fyne.Menu {
	item := func(label, guide string) *fyne.MenuItem {
		return fyne.NewMenuItem(label, func() {
			u, err := GuideURL(server, guide)
			if err == nil {
				err = open(u)
			}
			if err != nil {
				fyne.LogError("open the guide", err)
			}
		})
	}
	items := []*fyne.MenuItem{item(T("menu.guideCounselor", "Counselor's guide"), "counselor")}
	if role == protocol.RoleAdmin {
		items = append(items, item(T("menu.guideAdmin", "Admin's guide"), "admin"))
	}
	return fyne.NewMenu(T("menu.help", "Help"), items...)
}
