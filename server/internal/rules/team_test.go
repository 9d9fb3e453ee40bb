package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// conv is a conversation of client 7 with the given assignee (0: none),
// in the pool when pool is set.
func conv(assignee int64, pool bool) store.ConversationState {
	c := store.ConversationState{Conversation: protocol.Conversation{ID: 3, ClientID: client.AccountID, Status: protocol.StatusWaiting, LastSeq: 2}, OrgID: 1, ClientWrote: true}
	if assignee != 0 {
		c.AssigneeID = ptr(assignee)
	}
	if pool {
		c.PoolSince = ptr(monday.Add(-time.Hour))
	}
	return c
}

func TestReadAccess(t *testing.T) {
	pool, mine, colleagues := conv(0, true), conv(co.AccountID, false), conv(other.AccountID, false)
	fresh := store.ConversationState{Conversation: protocol.Conversation{ID: 4, ClientID: 8, Status: protocol.StatusNew}, OrgID: 1}
	someoneElse := store.Principal{AccountID: 8, OrgID: 1, Role: protocol.RoleClient}
	tests := []struct {
		name    string
		p       store.Principal
		c       store.ConversationState
		offered bool
		want    Access
	}{
		{"a counselor reads their own", co, mine, true, AccessFull},
		{"and sees the pool's state", co, pool, true, AccessState},
		{"not when not offered the pool", co, pool, false, AccessNone},
		{"but their own all the same", co, mine, false, AccessFull},
		{"nothing of a colleague's", co, colleagues, true, AccessNone},
		{"nothing of a client who has not written", co, fresh, true, AccessNone},
		{"an admin reads all", admin, colleagues, false, AccessFull},
		{"the pool's too", admin, pool, false, AccessFull},
		{"and those not begun", admin, fresh, false, AccessFull},
		{"a client reads its own", client, colleagues, false, AccessFull},
		{"and nobody else's", someoneElse, colleagues, true, AccessNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ReadAccess(tt.p, tt.c.Conversation, tt.offered); got != tt.want {
				t.Fatalf("access %d, want %d", got, tt.want)
			}
			err := MayReadMessages(tt.p, tt.c.Conversation, tt.offered)
			if (err == nil) != (tt.want == AccessFull) {
				t.Fatalf("messages: %v with access %d", err, tt.want)
			}
			err = MayPreview(tt.p, tt.c.Conversation, tt.offered)
			if (err == nil) != (tt.p.IsStaff() && tt.want >= AccessState) {
				t.Fatalf("preview: %v with access %d", err, tt.want)
			}
		})
	}
}

func TestClaim(t *testing.T) {
	tests := []struct {
		name    string
		by      store.Principal
		desk    Desk
		c       store.ConversationState
		code    protocol.Code
		changed bool
	}{
		{"a counselor takes one from the pool", co, Desk{Open: 2}, conv(0, true), "", true},
		{"an admin too", admin, Desk{Open: 9}, conv(0, true), "", true},
		{"their own again: no change", co, Desk{Open: 3}, conv(co.AccountID, false), "", false},
		{"a colleague was first", co, Desk{}, conv(other.AccountID, false), protocol.CodeTaken, false},
		{"not waiting in the pool", co, Desk{}, conv(0, false), protocol.CodeConflict, false},
		{"not at max_open", co, Desk{Open: 3}, conv(0, true), protocol.CodeAtCapacity, false},
		{"clients take nothing", client, Desk{}, conv(0, true), protocol.CodeForbidden, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed, err := Claim(tt.by, tt.desk, tt.c, settings(func(s *protocol.Settings) { s.MaxOpen = 3 }), monday)
			if got := codeOf(err); got != tt.code || changed != tt.changed {
				t.Fatalf("got %v changed=%v, want %q changed=%v", err, changed, tt.code, tt.changed)
			}
			if changed && (out.AssigneeID == nil || *out.AssigneeID != tt.by.AccountID || out.PoolSince != nil || out.InPool() || !out.UpdatedAt.Equal(monday)) {
				t.Fatalf("after the claim: %+v", out)
			}
		})
	}
}

func TestAssign(t *testing.T) {
	tests := []struct {
		name     string
		by       store.Principal
		c        store.ConversationState
		assignee *int64
		role     protocol.Role
		code     protocol.Code
		pool     bool // in the pool afterwards
	}{
		{"a counselor takes one from the pool", co, conv(0, true), ptr(co.AccountID), protocol.RoleCounselor, "", false},
		{"takes their own again", co, conv(co.AccountID, false), ptr(co.AccountID), protocol.RoleCounselor, "", false},
		{"releases their own into the pool", co, conv(co.AccountID, false), nil, "", "", true},
		{"a colleague's is not theirs", other, conv(co.AccountID, false), ptr(other.AccountID), protocol.RoleCounselor, protocol.CodeForbidden, false},
		{"nor an admin's", co, conv(admin.AccountID, false), ptr(co.AccountID), protocol.RoleCounselor, protocol.CodeForbidden, false},
		{"nor to hand to a colleague", co, conv(co.AccountID, false), ptr(other.AccountID), protocol.RoleCounselor, protocol.CodeForbidden, false},
		{"nor to release a colleague's", co, conv(other.AccountID, false), nil, "", protocol.CodeForbidden, false},
		{"an admin assigns anyone", admin, conv(co.AccountID, false), ptr(other.AccountID), protocol.RoleCounselor, "", false},
		{"from the pool too", admin, conv(0, true), ptr(other.AccountID), protocol.RoleCounselor, "", false},
		{"and releases into the pool", admin, conv(co.AccountID, false), nil, "", "", true},
		{"but only to staff", admin, conv(co.AccountID, false), ptr(client.AccountID), protocol.RoleClient, protocol.CodeInvalid, false},
		{"of this organisation", admin, conv(co.AccountID, false), ptr(int64(99)), "", protocol.CodeInvalid, false},
		{"clients assign nothing", client, conv(0, true), nil, "", protocol.CodeForbidden, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Assign(tt.by, Desk{}, tt.c, tt.assignee, tt.role, settings(nil), monday)
			if got := codeOf(err); got != tt.code {
				t.Fatalf("got %v, want %q", err, tt.code)
			}
			if err == nil && out.InPool() != tt.pool {
				t.Fatalf("in the pool: %v, want %v (%+v)", out.InPool(), tt.pool, out)
			}
		})
	}
}

func TestPreviewOf(t *testing.T) {
	long := strings.Repeat("眠", protocol.PreviewRunes+10)
	msgs := []protocol.Message{{Seq: 1, Body: "一"}, {Seq: 2, Body: long}, {Seq: 3, Body: "三"}, {Seq: 4, Body: "四"}}
	got := PreviewOf(msgs)
	if len(got) != protocol.PreviewMessages || got[0].Body != "一" || got[2].Body != "三" {
		t.Fatalf("%+v", got)
	}
	if n := len([]rune(got[1].Body)); n != protocol.PreviewRunes+1 || !strings.HasSuffix(got[1].Body, "…") {
		t.Fatalf("a long message cut to %d characters", n)
	}
	if msgs[1].Body != long {
		t.Fatal("the caller's messages were changed")
	}
}

func TestNotes(t *testing.T) {
	mine, colleagues := conv(co.AccountID, false), conv(other.AccountID, false)
	tests := []struct {
		name string
		by   store.Principal
		c    store.ConversationState
		code protocol.Code
	}{
		{"the counselor in their own", co, mine, ""},
		{"an admin, coaching, in anyone's", admin, colleagues, ""},
		{"not in a colleague's", co, colleagues, protocol.CodeForbidden},
		{"not in the pool's", co, conv(0, true), protocol.CodeForbidden},
		{"never a client", client, mine, protocol.CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := SendMessage(Send{Sender: tt.by, SenderName: "みどり", Conv: tt.c, Settings: settings(nil), Body: "次回は睡眠のことを聞く", Kind: protocol.KindNote, Now: monday})
			if codeOf(err) != tt.code {
				t.Fatalf("got %v, want %q", err, tt.code)
			}
			if err != nil {
				return
			}
			c := out.Conv
			// A note changes nothing the client sees, nor who has it.
			if out.Message.Kind != protocol.KindNote || out.Message.Seq != 3 || c.LastSeq != 3 || out.Notice != nil ||
				c.Status != tt.c.Status || c.StaffReadSeq != tt.c.StaffReadSeq || *c.AssigneeID != *tt.c.AssigneeID {
				t.Fatalf("%+v %+v", out.Message, c)
			}
		})
	}
	n := protocol.Message{Kind: protocol.KindNote}
	if MaySeeMessage(client, mine.Conversation, n, true) || !MaySeeMessage(co, mine.Conversation, n, true) || MaySeeMessage(other, mine.Conversation, n, true) {
		t.Fatal("a note reaches whoever reads the conversation in full, never its client")
	}
	if !MaySeeMessage(client, mine.Conversation, protocol.Message{Kind: protocol.KindText}, true) {
		t.Fatal("a client does not see its own conversation's messages")
	}
}

func TestTransfer(t *testing.T) {
	announce := settings(func(s *protocol.Settings) { s.AnnounceHandover = true })
	capped := settings(func(s *protocol.Settings) { s.MaxOpen = 2 })
	tests := []struct {
		name    string
		by      store.Principal
		c       store.ConversationState
		to      *int64
		role    protocol.Role
		toDesk  Desk
		note    string
		s       protocol.Settings
		code    protocol.Code
		pool    bool
		notice  bool
		noteSeq int64
	}{
		{"not to a colleague at max_open", co, conv(co.AccountID, false), ptr(other.AccountID), protocol.RoleCounselor, Desk{Open: 2}, "", capped, protocol.CodeAtCapacity, false, false, 0},
		{"an admin may", admin, conv(co.AccountID, false), ptr(other.AccountID), protocol.RoleCounselor, Desk{Open: 2}, "", capped, "", false, false, 0},
		{"to a colleague, with a note", co, conv(co.AccountID, false), ptr(other.AccountID), protocol.RoleCounselor, Desk{}, " 次回は睡眠のことを聞いてください ", settings(nil), "", false, false, 3},
		{"back into the pool", co, conv(co.AccountID, false), nil, "", Desk{}, "", settings(nil), "", true, false, 0},
		{"announced to the client", co, conv(co.AccountID, false), ptr(other.AccountID), protocol.RoleCounselor, Desk{}, "メモ", announce, "", false, true, 3},
		{"an admin hands a colleague's on", admin, conv(co.AccountID, false), ptr(other.AccountID), protocol.RoleCounselor, Desk{}, "", settings(nil), "", false, false, 0},
		{"an admin gives a pool conversation", admin, conv(0, true), ptr(co.AccountID), protocol.RoleCounselor, Desk{}, "", announce, "", false, false, 0},
		{"not a colleague's", other, conv(co.AccountID, false), ptr(other.AccountID), protocol.RoleCounselor, Desk{}, "", settings(nil), protocol.CodeForbidden, false, false, 0},
		{"not from the pool", co, conv(0, true), ptr(co.AccountID), protocol.RoleCounselor, Desk{}, "", settings(nil), protocol.CodeForbidden, false, false, 0},
		{"only to staff", co, conv(co.AccountID, false), ptr(client.AccountID), protocol.RoleClient, Desk{}, "", settings(nil), protocol.CodeInvalid, false, false, 0},
		{"not to whoever has it", admin, conv(co.AccountID, false), ptr(co.AccountID), protocol.RoleCounselor, Desk{}, "", settings(nil), protocol.CodeConflict, false, false, 0},
		{"a note with a control character", co, conv(co.AccountID, false), nil, "", Desk{}, "a\vb", settings(nil), protocol.CodeInvalidBody, false, false, 0},
		{"clients hand nothing", client, conv(co.AccountID, false), nil, "", Desk{}, "", settings(nil), protocol.CodeForbidden, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Transfer(tt.by, "みどり", tt.c, tt.to, tt.role, tt.toDesk, tt.note, tt.s, monday)
			if codeOf(err) != tt.code {
				t.Fatalf("got %v, want %q", err, tt.code)
			}
			if err != nil {
				return
			}
			c := h.Conv
			if c.InPool() != tt.pool || (tt.to != nil && *c.AssigneeID != *tt.to) || (tt.to == nil && c.AssigneeID != nil) {
				t.Fatalf("after: %+v", c)
			}
			if (h.Notice != nil) != tt.notice || (h.Note != nil) != (tt.noteSeq != 0) {
				t.Fatalf("note %+v notice %+v", h.Note, h.Notice)
			}
			if h.Note != nil && (h.Note.Seq != tt.noteSeq || h.Note.Kind != protocol.KindNote || h.Note.Body != strings.TrimSpace(tt.note) || h.Note.SenderID != tt.by.AccountID) {
				t.Fatalf("note %+v", h.Note)
			}
			if h.Notice != nil && (h.Notice.Kind != protocol.KindHandover || h.Notice.SenderRole != protocol.RoleSystem || h.Notice.Body != "" || c.LastSeq != h.Notice.Seq) {
				t.Fatalf("notice %+v", h.Notice)
			}
		})
	}
}

func TestOfferedAndCapacity(t *testing.T) {
	capped := settings(func(s *protocol.Settings) { s.MaxOpen = 3 })
	tests := []struct {
		name    string
		p       store.Principal
		d       Desk
		s       protocol.Settings
		offered bool
		full    bool
	}{
		{"受付中, no limit", co, Desk{Presence: protocol.PresenceAvailable, Open: 50}, settings(nil), true, false},
		{"受付中 below the limit", co, Desk{Presence: protocol.PresenceAvailable, Open: 2}, capped, true, false},
		{"at the limit", co, Desk{Presence: protocol.PresenceAvailable, Open: 3}, capped, false, true},
		{"離席", co, Desk{Presence: protocol.PresenceAway}, settings(nil), false, false},
		{"受付停止", co, Desk{Presence: protocol.PresenceStopped}, settings(nil), false, false},
		{"an admin, away and over: still sees all", admin, Desk{Presence: protocol.PresenceAway, Open: 9}, capped, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Offered(tt.p, tt.d, tt.s); got != tt.offered {
				t.Fatalf("offered %v, want %v", got, tt.offered)
			}
			if got := AtCapacity(tt.p, tt.d, tt.s); got != tt.full {
				t.Fatalf("at capacity %v, want %v", got, tt.full)
			}
		})
	}
	// A reply from the pool counts too; away, the pool is not one's to answer.
	pool := conv(0, true)
	if _, err := SendMessage(Send{Sender: co, Desk: Desk{Presence: protocol.PresenceAvailable, Open: 3}, Conv: pool, Settings: capped, Body: "x", Now: monday}); codeOf(err) != protocol.CodeAtCapacity {
		t.Fatalf("a reply at max_open: %v", err)
	}
	if _, err := SendMessage(Send{Sender: co, Desk: Desk{Presence: protocol.PresenceAway}, Conv: pool, Settings: settings(nil), Body: "x", Now: monday}); codeOf(err) != protocol.CodeForbidden {
		t.Fatalf("a reply from the pool while away: %v", err)
	}
	if _, err := SendMessage(Send{Sender: co, Desk: Desk{Presence: protocol.PresenceAway, Open: 9}, Conv: conv(co.AccountID, false), Settings: capped, Body: "x", Now: monday}); err != nil {
		t.Fatalf("one's own, away and over the limit: %v", err)
	}
}

func TestEnd(t *testing.T) {
	tests := []struct {
		name string
		by   store.Principal
		c    store.ConversationState
		code protocol.Code
	}{
		{"the counselor ends their own", co, conv(co.AccountID, false), ""},
		{"an admin ends a colleague's", admin, conv(co.AccountID, false), ""},
		{"an admin ends one in the pool", admin, conv(0, true), ""},
		{"not a colleague's", other, conv(co.AccountID, false), protocol.CodeForbidden},
		{"not the pool's", co, conv(0, true), protocol.CodeForbidden},
		{"nothing to end", admin, conv(0, false), protocol.CodeConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := End(tt.by, tt.c, monday)
			if codeOf(err) != tt.code {
				t.Fatalf("got %v, want %q", err, tt.code)
			}
			if err == nil && (out.AssigneeID != nil || out.InPool() || out.Outcome != protocol.OutcomeEnded) {
				t.Fatalf("after: %+v", out)
			}
		})
	}
	// The client writes again: the pool, anew.
	ended, _ := End(co, conv(co.AccountID, false), monday)
	out, err := SendMessage(Send{Sender: client, Conv: ended, Settings: settings(nil), Body: "また話したくて", Now: monday.Add(time.Hour)})
	if err != nil || !out.Conv.InPool() || out.Conv.Outcome != "" || !out.Conv.PoolSince.Equal(monday.Add(time.Hour)) {
		t.Fatalf("writing again: %+v %v", out.Conv, err)
	}
}

func TestUpdateMe(t *testing.T) {
	me := protocol.Account{ID: co.AccountID, Role: protocol.RoleCounselor, Presence: protocol.PresenceAvailable}
	away := protocol.PresenceAway
	a, changed, err := UpdateMe(co, me, protocol.MePatch{Presence: &away, DisplayName: ptr(" みどり ")})
	if err != nil || !changed || a.Presence != away || a.DisplayName != "みどり" {
		t.Fatalf("%+v %v %v", a, changed, err)
	}
	if _, changed, _ := UpdateMe(co, a, protocol.MePatch{Presence: &away}); changed {
		t.Fatal("the same presence again counts as a change")
	}
	bad := protocol.Presence("busy")
	if _, _, err := UpdateMe(co, me, protocol.MePatch{Presence: &bad}); codeOf(err) != protocol.CodeInvalid {
		t.Fatalf("an unknown presence: %v", err)
	}
	if _, _, err := UpdateMe(co, me, protocol.MePatch{DisplayName: ptr(strings.Repeat("名", protocol.MaxDisplayNameRunes+1))}); codeOf(err) != protocol.CodeInvalid {
		t.Fatalf("a long name: %v", err)
	}
	if _, _, err := UpdateMe(client, protocol.Account{ID: client.AccountID}, protocol.MePatch{Presence: &away}); codeOf(err) != protocol.CodeForbidden {
		t.Fatalf("a client: %v", err)
	}
}
