package rules

import (
	"strings"
	"testing"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

func TestTemplates(t *testing.T) {
	req := func(scope, title, body string, p protocol.Progress) protocol.TemplateRequest {
		return protocol.TemplateRequest{Scope: scope, Title: title, Body: body, Progress: p}
	}
	create := []struct {
		name     string
		actor    store.Principal
		req      protocol.TemplateRequest
		existing int
		code     protocol.Code
		owner    int64
	}{
		{"admin adds the organisation's", admin, req(protocol.ScopeOrg, " 受付 ", "{nickname}さん、ご相談ありがとうございます。", protocol.ProgressAwaiting), 0, "", 0},
		{"counselor may not add the organisation's", co, req(protocol.ScopeOrg, "受付", "本文", ""), 0, protocol.CodeForbidden, 0},
		{"counselor adds a personal one", co, req(protocol.ScopePersonal, "締め", "{counselor}でした。", protocol.ProgressDone), 0, "", co.AccountID},
		{"client may not", client, req(protocol.ScopePersonal, "x", "y", ""), 0, protocol.CodeForbidden, 0},
		{"scope required", admin, req("", "x", "y", ""), 0, protocol.CodeInvalid, 0},
		{"title required", admin, req(protocol.ScopeOrg, "  ", "y", ""), 0, protocol.CodeInvalid, 0},
		{"title too long", admin, req(protocol.ScopeOrg, strings.Repeat("題", 41), "y", ""), 0, protocol.CodeInvalid, 0},
		{"body required", admin, req(protocol.ScopeOrg, "x", " \n", ""), 0, protocol.CodeInvalid, 0},
		{"body too long", admin, req(protocol.ScopeOrg, "x", strings.Repeat("あ", 2001), ""), 0, protocol.CodeInvalid, 0},
		{"control character", admin, req(protocol.ScopeOrg, "x", "a\x07b", ""), 0, protocol.CodeInvalid, 0},
		{"a typo in a placeholder", admin, req(protocol.ScopeOrg, "x", "{nickmane}さん", ""), 0, protocol.CodeInvalid, 0},
		{"other braces are text", admin, req(protocol.ScopeOrg, "x", "{ 注意 } と {A} と {}", ""), 0, "", 0},
		{"next_contact needs a date, not a template", admin, req(protocol.ScopeOrg, "x", "y", protocol.ProgressNextContact), 0, protocol.CodeInvalid, 0},
		{"unknown progress", admin, req(protocol.ScopeOrg, "x", "y", "soon"), 0, protocol.CodeInvalid, 0},
		{"organisation list full", admin, req(protocol.ScopeOrg, "x", "y", ""), protocol.MaxOrgTemplates, protocol.CodeConflict, 0},
		{"personal list full", co, req(protocol.ScopePersonal, "x", "y", ""), protocol.MaxPersonalTemplates, protocol.CodeConflict, 0},
		{"one below the limit", co, req(protocol.ScopePersonal, "x", "y", ""), protocol.MaxPersonalTemplates - 1, "", co.AccountID},
	}
	for _, tt := range create {
		t.Run(tt.name, func(t *testing.T) {
			out, o, err := NewTemplate(tt.actor, tt.req, tt.existing)
			if got := codeOf(err); got != tt.code {
				t.Fatalf("code %q, want %q (%v)", got, tt.code, err)
			}
			if err == nil && (o.OwnerID != tt.owner || o.OrgID != tt.actor.OrgID || out.Title != strings.TrimSpace(tt.req.Title)) {
				t.Errorf("owner %+v title %q", o, out.Title)
			}
		})
	}

	orgs := TemplateOwner{OrgID: 1}
	mine := TemplateOwner{OrgID: 1, OwnerID: co.AccountID}
	edit := []struct {
		name  string
		actor store.Principal
		o     TemplateOwner
		code  protocol.Code
	}{
		{"admin edits the organisation's", admin, orgs, ""},
		{"counselor may not edit the organisation's", co, orgs, protocol.CodeForbidden},
		{"owner edits their own", co, mine, ""},
		{"a colleague's personal one is not found", other, mine, protocol.CodeNotFound},
		{"an admin does not see a counselor's personal one", admin, mine, protocol.CodeNotFound},
		{"another organisation's is not found", outside, orgs, protocol.CodeNotFound},
		{"a client sees none", client, orgs, protocol.CodeNotFound},
	}
	for _, tt := range edit {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UpdateTemplate(tt.actor, tt.o, req("", "題", "本文", ""))
			if got := codeOf(err); got != tt.code {
				t.Fatalf("code %q, want %q (%v)", got, tt.code, err)
			}
		})
	}
}
