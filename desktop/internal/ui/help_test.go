package ui

import (
	"net/url"
	"slices"
	"testing"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

// The help menu opens the role's guides on the signed-in server, in the
// app's language: a counselor the counselor's guide, an admin both.
func TestHelpMenuOpensTheRightGuide(t *testing.T) {
	lang := T("lang.code", "en")
	if lang != "ja" && lang != "en" {
		t.Fatalf("lang.code %q", lang)
	}
	tests := []struct {
		role protocol.Role
		want []string
	}{
		{protocol.RoleCounselor, []string{"https://taiwa.example.org/guide/counselor." + lang}},
		{protocol.RoleAdmin, []string{"https://taiwa.example.org/guide/counselor." + lang, "https://taiwa.example.org/guide/admin." + lang}},
	}
	for _, tt := range tests {
		t.Run(string(tt.role), func(t *testing.T) {
			var opened []string
			m := HelpMenu("https://taiwa.example.org/", tt.role, func(u *url.URL) error {
				opened = append(opened, u.String())
				return nil
			})
			for _, it := range m.Items {
				it.Action()
			}
			if !slices.Equal(opened, tt.want) {
				t.Fatalf("opened %v, want %v", opened, tt.want)
			}
		})
	}
}
