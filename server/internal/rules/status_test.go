package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// progressConv is the counselor co's conversation at progress p.
func progressConv(p protocol.Progress, next string) store.ConversationState {
	c := store.ConversationState{OrgID: 1}
	c.ID, c.ClientID, c.Progress, c.NextContact = 3, 7, p, next
	c.AssigneeID = ptr(co.AccountID)
	return c
}

// colleaguesProgressConv is a conversation another counselor has.
func colleaguesProgressConv() store.ConversationState {
	c := progressConv(protocol.ProgressNew, "")
	c.AssigneeID = ptr(int64(99))
	return c
}

func TestSetProgress(t *testing.T) {
	// monday is 12:00 on 2026-11-23 in Tokyo; 2026-11-24 00:30 in Tokyo is
	// still the 23rd in UTC.
	lateTokyo := time.Date(2026, 11, 23, 15, 30, 0, 0, time.UTC)
	tests := []struct {
		name    string
		actor   store.Principal
		from    store.ConversationState
		req     protocol.ProgressRequest
		now     time.Time
		code    protocol.Code
		changed bool
	}{
		{"counselor sets 対応中", co, progressConv(protocol.ProgressNew, ""), protocol.ProgressRequest{Progress: protocol.ProgressInProgress}, monday, "", true},
		{"counselor, a colleague's conversation", co, colleaguesProgressConv(), protocol.ProgressRequest{Progress: protocol.ProgressInProgress}, monday, protocol.CodeForbidden, false},
		{"admin, a colleague's conversation", admin, colleaguesProgressConv(), protocol.ProgressRequest{Progress: protocol.ProgressInProgress}, monday, "", true},
		{"admin sets 完了", admin, progressConv(protocol.ProgressAwaiting, ""), protocol.ProgressRequest{Progress: protocol.ProgressDone}, monday, "", true},
		{"the same again changes nothing", co, progressConv(protocol.ProgressDone, ""), protocol.ProgressRequest{Progress: protocol.ProgressDone}, monday, "", false},
		{"client may not", client, progressConv(protocol.ProgressNew, ""), protocol.ProgressRequest{Progress: protocol.ProgressDone}, monday, protocol.CodeForbidden, false},
		{"unknown progress", co, progressConv(protocol.ProgressNew, ""), protocol.ProgressRequest{Progress: "later"}, monday, protocol.CodeInvalid, false},
		{"next contact needs a date", co, progressConv(protocol.ProgressNew, ""), protocol.ProgressRequest{Progress: protocol.ProgressNextContact}, monday, protocol.CodeInvalid, false},
		{"a date needs next contact", co, progressConv(protocol.ProgressNew, ""), protocol.ProgressRequest{Progress: protocol.ProgressDone, NextContact: "2026-12-03"}, monday, protocol.CodeInvalid, false},
		{"next contact today", co, progressConv(protocol.ProgressNew, ""), protocol.ProgressRequest{Progress: protocol.ProgressNextContact, NextContact: "2026-11-23"}, monday, "", true},
		{"next contact in December", co, progressConv(protocol.ProgressNew, ""), protocol.ProgressRequest{Progress: protocol.ProgressNextContact, NextContact: "2026-12-03"}, monday, "", true},
		{"another date is a change", co, progressConv(protocol.ProgressNextContact, "2026-12-03"), protocol.ProgressRequest{Progress: protocol.ProgressNextContact, NextContact: "2026-12-04"}, monday, "", true},
		{"yesterday has passed", co, progressConv(protocol.ProgressNew, ""), protocol.ProgressRequest{Progress: protocol.ProgressNextContact, NextContact: "2026-11-22"}, monday, protocol.CodeInvalid, false},
		{"the organisation's day, not UTC's", co, progressConv(protocol.ProgressNew, ""), protocol.ProgressRequest{Progress: protocol.ProgressNextContact, NextContact: "2026-11-23"}, lateTokyo, protocol.CodeInvalid, false},
		{"more than a year ahead", co, progressConv(protocol.ProgressNew, ""), protocol.ProgressRequest{Progress: protocol.ProgressNextContact, NextContact: "2027-11-25"}, monday, protocol.CodeInvalid, false},
		{"not a date", co, progressConv(protocol.ProgressNew, ""), protocol.ProgressRequest{Progress: protocol.ProgressNextContact, NextContact: "2026-02-30"}, monday, protocol.CodeInvalid, false},
		{"a time is not a date", co, progressConv(protocol.ProgressNew, ""), protocol.ProgressRequest{Progress: protocol.ProgressNextContact, NextContact: "2026-12-03T00:00:00Z"}, monday, protocol.CodeInvalid, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, changed, err := SetProgress(ProgressChange{Actor: tt.actor, Conv: tt.from, Settings: settings(nil), Req: tt.req, Now: tt.now})
			if got := codeOf(err); got != tt.code {
				t.Fatalf("code %q, want %q (%v)", got, tt.code, err)
			}
			if changed != tt.changed {
				t.Errorf("changed %v, want %v", changed, tt.changed)
			}
			if err != nil {
				if c.Progress != tt.from.Progress || c.ProgressBy != nil {
					t.Errorf("a refusal changed the conversation: %+v", c.Conversation)
				}
				return
			}
			if c.Progress != tt.req.Progress || c.NextContact != tt.req.NextContact {
				t.Errorf("progress %q %q, want %q %q", c.Progress, c.NextContact, tt.req.Progress, tt.req.NextContact)
			}
			if c.ProgressBy == nil || *c.ProgressBy != tt.actor.AccountID || c.ProgressAt == nil || !c.ProgressAt.Equal(tt.now) {
				t.Errorf("who and when not recorded: %v %v", c.ProgressBy, c.ProgressAt)
			}
		})
	}
}

func TestProgressAfterSend(t *testing.T) {
	tests := []struct {
		name   string
		sender store.Principal
		from   store.ConversationState
		req    protocol.ProgressRequest
		want   protocol.Progress
		next   string
		by     int64 // 0: set by nobody (automatic), -1: unchanged
		code   protocol.Code
	}{
		{"a first reply starts the work", co, progressConv(protocol.ProgressNew, ""), protocol.ProgressRequest{}, protocol.ProgressInProgress, "", co.AccountID, ""},
		{"older conversations without progress count as new", co, progressConv("", ""), protocol.ProgressRequest{}, protocol.ProgressInProgress, "", co.AccountID, ""},
		{"a plain reply keeps 返答待ち", co, progressConv(protocol.ProgressAwaiting, ""), protocol.ProgressRequest{}, protocol.ProgressAwaiting, "", -1, ""},
		{"a plain reply keeps the promised date", co, progressConv(protocol.ProgressNextContact, "2026-12-03"), protocol.ProgressRequest{}, protocol.ProgressNextContact, "2026-12-03", -1, ""},
		{"a template's progress", co, progressConv(protocol.ProgressInProgress, ""), protocol.ProgressRequest{Progress: protocol.ProgressAwaiting}, protocol.ProgressAwaiting, "", co.AccountID, ""},
		{"a promised date", admin, progressConv(protocol.ProgressInProgress, ""), protocol.ProgressRequest{Progress: protocol.ProgressNextContact, NextContact: "2026-12-03"}, protocol.ProgressNextContact, "2026-12-03", admin.AccountID, ""},
		{"a past date refuses the reply", co, progressConv(protocol.ProgressInProgress, ""), protocol.ProgressRequest{Progress: protocol.ProgressNextContact, NextContact: "2026-11-01"}, "", "", -1, protocol.CodeInvalid},
		{"the client answers 返答待ち", client, progressConv(protocol.ProgressAwaiting, ""), protocol.ProgressRequest{}, protocol.ProgressInProgress, "", 0, ""},
		{"the client writes to a finished conversation", client, progressConv(protocol.ProgressDone, ""), protocol.ProgressRequest{}, protocol.ProgressDone, "", -1, ""},
		{"the client writes before a promised date", client, progressConv(protocol.ProgressNextContact, "2026-12-03"), protocol.ProgressRequest{}, protocol.ProgressNextContact, "2026-12-03", -1, ""},
		{"a client may not set progress", client, progressConv(protocol.ProgressNew, ""), protocol.ProgressRequest{Progress: protocol.ProgressDone}, "", "", -1, protocol.CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ProgressAfterSend(tt.sender, tt.from, settings(nil), tt.req, monday)
			if got := codeOf(err); got != tt.code {
				t.Fatalf("code %q, want %q (%v)", got, tt.code, err)
			}
			if err != nil {
				return
			}
			if c.Progress != tt.want || c.NextContact != tt.next {
				t.Errorf("progress %q %q, want %q %q", c.Progress, c.NextContact, tt.want, tt.next)
			}
			switch {
			case tt.by == -1 && (c.ProgressAt != nil || c.ProgressBy != nil):
				t.Errorf("recorded a change that did not happen: %v %v", c.ProgressBy, c.ProgressAt)
			case tt.by == 0 && (c.ProgressBy != nil || c.ProgressAt == nil):
				t.Errorf("an automatic change should name nobody, with a time: %v %v", c.ProgressBy, c.ProgressAt)
			case tt.by > 0 && (c.ProgressBy == nil || *c.ProgressBy != tt.by || c.ProgressAt == nil):
				t.Errorf("by %v, want %d", c.ProgressBy, tt.by)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	c := progressConv(protocol.ProgressInProgress, "")
	c.FirstSeq, c.LastSeq = 3, 12
	tests := []struct {
		name   string
		sender store.Principal
		seq    int64
		role   protocol.Role
		known  int
		again  bool
		code   protocol.Code
	}{
		{"a client's message", co, 11, protocol.RoleClient, 0, false, ""},
		{"admin", admin, 3, protocol.RoleClient, 5, false, ""},
		{"a client may not", client, 11, protocol.RoleClient, 0, false, protocol.CodeForbidden},
		{"staff's own reply", co, 10, protocol.RoleCounselor, 0, false, protocol.CodeInvalid},
		{"a closed notice", co, 9, protocol.RoleSystem, 0, false, protocol.CodeInvalid},
		{"deleted", co, 2, "", 0, false, protocol.CodeInvalid},
		{"not yet written", co, 13, "", 0, false, protocol.CodeInvalid},
		{"full", co, 11, protocol.RoleClient, protocol.MaxDecisions, false, protocol.CodeConflict},
		{"full, but decided again", co, 11, protocol.RoleClient, protocol.MaxDecisions, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeOf(Decide(tt.sender, c, tt.seq, tt.role, tt.known, tt.again)); got != tt.code {
				t.Fatalf("code %q, want %q", got, tt.code)
			}
		})
	}
}

func TestClientNote(t *testing.T) {
	cl := protocol.Account{ID: 7, OrgID: 1, Role: protocol.RoleClient}
	mine := &protocol.Conversation{ID: 3, ClientID: cl.ID, AssigneeID: ptr(co.AccountID)}
	colleagues := &protocol.Conversation{ID: 3, ClientID: cl.ID, AssigneeID: ptr(int64(99))}
	pool := &protocol.Conversation{ID: 3, ClientID: cl.ID, PoolSince: ptr(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))}
	tests := []struct {
		name   string
		actor  store.Principal
		target protocol.Account
		conv   *protocol.Conversation
		note   string
		code   protocol.Code
	}{
		{"counselor", co, cl, mine, "睡眠の話が中心。次は週末の過ごし方", ""},
		{"counselor, a colleague's client", co, cl, colleagues, "x", protocol.CodeForbidden},
		{"counselor, a client waiting in the pool", co, cl, pool, "x", protocol.CodeForbidden},
		{"counselor, a client with no conversation", co, cl, nil, "x", protocol.CodeForbidden},
		{"admin clears it", admin, cl, colleagues, "", ""},
		{"client", client, cl, mine, "x", protocol.CodeForbidden},
		{"another organisation's client", outside, cl, mine, "x", protocol.CodeNotFound},
		{"a staff account is no client", co, protocol.Account{ID: 2, OrgID: 1, Role: protocol.RoleCounselor}, mine, "x", protocol.CodeNotFound},
		{"too long", co, cl, mine, strings.Repeat("あ", protocol.MaxNoteRunes+1), protocol.CodeInvalid},
		{"control character", co, cl, mine, "a\x1bb", protocol.CodeInvalid},
		{"lines and tabs", co, cl, mine, "一行目\n\t二行目", ""},
	}
	// An edit started from the note as it is passes; one started from an
	// older note is refused, not written over a colleague's words.
	now := cl
	now.Note = "いまのメモ"
	for _, tt := range []struct {
		name   string
		expect *string
		code   protocol.Code
	}{
		{"no expectation", nil, ""},
		{"as it is", ptr("いまのメモ"), ""},
		{"changed meanwhile", ptr("前のメモ"), protocol.CodeConflict},
		{"written meanwhile where there was none", ptr(""), protocol.CodeConflict},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeOf(ClientNote(co, now, mine, "新しいメモ", tt.expect)); got != tt.code {
				t.Fatalf("code %q, want %q", got, tt.code)
			}
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeOf(ClientNote(tt.actor, tt.target, tt.conv, tt.note, nil)); got != tt.code {
				t.Fatalf("code %q, want %q", got, tt.code)
			}
		})
	}
}
