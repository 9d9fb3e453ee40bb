package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

// nominee is counselor co as clients may nominate them.
func nominee(mut func(*protocol.Account)) protocol.Account {
	a := protocol.Account{ID: co.AccountID, OrgID: 1, Role: protocol.RoleCounselor, DisplayName: "みどり", Intro: "大学で心理学を学びました", AcceptNominations: true}
	if mut != nil {
		mut(&a)
	}
	return a
}

func TestNominable(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name string
		a    protocol.Account
		seen time.Time
		s    protocol.Settings
		want bool
	}{
		{"switch on, seen today", nominee(nil), monday.Add(-time.Hour), settings(nil), true},
		{"seen just under 3 days ago", nominee(nil), monday.Add(-3*day + time.Minute), settings(nil), true},
		{"3 days without signing in: lapsed", nominee(nil), monday.Add(-3 * day), settings(nil), false},
		{"the organisation allows 7 days", nominee(nil), monday.Add(-5 * day), settings(func(s *protocol.Settings) { s.NominationLapseDays = 7 }), true},
		{"switch off", nominee(func(a *protocol.Account) { a.AcceptNominations = false }), monday, settings(nil), false},
		{"no display name", nominee(func(a *protocol.Account) { a.DisplayName = "" }), monday, settings(nil), false},
		{"not staff", nominee(func(a *protocol.Account) { a.Role = protocol.RoleClient }), monday, settings(nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Nominable(tt.a, tt.seen, tt.s, monday); got != tt.want {
				t.Fatalf("nominable %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNominate(t *testing.T) {
	fresh := store.ConversationState{Conversation: protocol.Conversation{ID: 3, ClientID: client.AccountID, Status: protocol.StatusNew}, OrgID: 1}
	ended := conv(0, false)
	ended.Outcome = protocol.OutcomeEnded
	tests := []struct {
		name string
		by   store.Principal
		c    store.ConversationState
		a    protocol.Account
		code protocol.Code
	}{
		{"before writing", client, fresh, nominee(nil), ""},
		{"from the pool", client, conv(0, true), nominee(nil), ""},
		{"after an ended conversation", client, ended, nominee(nil), ""},
		{"someone already answers", client, conv(other.AccountID, false), nominee(nil), protocol.CodeConflict},
		{"not taking nominations", client, conv(0, true), nominee(func(a *protocol.Account) { a.AcceptNominations = false }), protocol.CodeNotFound},
		{"another organisation's", client, conv(0, true), nominee(func(a *protocol.Account) { a.OrgID = 2 }), protocol.CodeNotFound},
		{"staff do not nominate", co, conv(0, true), nominee(nil), protocol.CodeForbidden},
		{"another client's conversation", store.Principal{AccountID: 8, OrgID: 1, Role: protocol.RoleClient}, conv(0, true), nominee(nil), protocol.CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Nominate(tt.by, tt.c, tt.a, monday, settings(nil), monday)
			if codeOf(err) != tt.code {
				t.Fatalf("got %v, want %q", err, tt.code)
			}
			if err != nil {
				return
			}
			if out.AssigneeID == nil || *out.AssigneeID != co.AccountID || out.InPool() || out.NominatedAt == nil || out.Outcome != "" {
				t.Fatalf("after: %+v", out.Conversation)
			}
			if access := ReadAccess(co, out.Conversation, false); access != AccessFull {
				t.Fatalf("the nominee reads it at %d", access)
			}
		})
	}
}

// A nomination is taken by 担当する or by a reply; a note does not take
// it; one not taken in time returns to the pool with a word to the client.
func TestNominationTakenOrReturned(t *testing.T) {
	s := settings(nil)
	nominated, err := Nominate(client, conv(0, true), nominee(nil), monday, s, monday)
	if err != nil {
		t.Fatal(err)
	}
	claimed, changed, err := Claim(co, Desk{Open: 1}, nominated, s, monday.Add(time.Hour))
	if err != nil || !changed || claimed.NominatedAt != nil {
		t.Fatalf("担当する on a nomination: %+v %v %v", claimed.Conversation, changed, err)
	}
	note, err := SendMessage(Send{Sender: co, Kind: protocol.KindNote, Conv: nominated, Settings: s, Body: "睡眠のことを聞く", Now: monday})
	if err != nil || note.Conv.NominatedAt == nil {
		t.Fatalf("a staff note took the nomination: %+v %v", note.Conv.Conversation, err)
	}
	reply, err := SendMessage(Send{Sender: co, Conv: nominated, Settings: s, Body: "ご指名ありがとうございます", Now: monday})
	if err != nil || reply.Conv.NominatedAt != nil {
		t.Fatalf("a reply: %+v %v", reply.Conv.Conversation, err)
	}
	if _, changed, err := Claim(other, Desk{}, nominated, s, monday); codeOf(err) != protocol.CodeTaken || changed {
		t.Fatalf("a colleague claims a nomination: %v", err)
	}

	timeout := NominationTimeout(s)
	for _, tt := range []struct {
		name string
		c    store.ConversationState
		at   time.Time
		want bool
	}{
		{"just before the timeout", nominated, monday.Add(timeout - time.Second), false},
		{"at the timeout", nominated, monday.Add(timeout), true},
		{"taken", claimed, monday.Add(2 * timeout), false},
		{"never nominated", conv(co.AccountID, false), monday.Add(2 * timeout), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := NominationOverdue(tt.c, s, tt.at); got != tt.want {
				t.Fatalf("overdue %v, want %v", got, tt.want)
			}
		})
	}
	back, m := ReturnNomination(nominated, s, monday.Add(timeout))
	if back.AssigneeID != nil || back.NominatedAt != nil || !back.InPool() || m.Kind != protocol.KindNominationReturned ||
		m.Seq != nominated.LastSeq+1 || back.LastSeq != m.Seq || m.Body != "" || m.SenderRole != protocol.RoleSystem {
		t.Fatalf("returned: %+v %+v", back.Conversation, m)
	}
	// Handing on or ending ends the nomination too.
	h, err := Transfer(co, "", nominated, nil, "", Desk{}, "", s, monday)
	if err != nil || h.Conv.NominatedAt != nil {
		t.Fatalf("handed back: %+v %v", h.Conv.Conversation, err)
	}
	e, err := End(co, nominated, monday)
	if err != nil || e.NominatedAt != nil {
		t.Fatalf("ended: %+v %v", e.Conversation, err)
	}
}

func TestUpdateMeNominations(t *testing.T) {
	lapsed := monday.Add(-time.Hour)
	me := protocol.Account{ID: co.AccountID, Role: protocol.RoleCounselor, NominationLapsedAt: &lapsed}
	on, off := true, false
	if _, _, err := UpdateMe(co, me, protocol.MePatch{AcceptNominations: &on}); codeOf(err) != protocol.CodeInvalid {
		t.Fatalf("nominations without a display name: %v", err)
	}
	a, _, err := UpdateMe(co, me, protocol.MePatch{DisplayName: ptr("みどり"), Intro: ptr(" 聞くことを大切にしています\n夜も対応します "), AcceptNominations: &on})
	if err != nil || !a.AcceptNominations || a.Intro != "聞くことを大切にしています\n夜も対応します" || a.NominationLapsedAt != nil {
		t.Fatalf("%+v %v", a, err)
	}
	if a, _, err := UpdateMe(co, me, protocol.MePatch{AcceptNominations: &off}); err != nil || a.NominationLapsedAt != nil {
		t.Fatalf("leaving it off also settles the notice: %+v %v", a, err)
	}
	if _, _, err := UpdateMe(co, a, protocol.MePatch{DisplayName: ptr("")}); codeOf(err) != protocol.CodeInvalid {
		t.Fatalf("dropping the name while taking nominations: %v", err)
	}
	for _, bad := range []string{strings.Repeat("あ", protocol.MaxIntroRunes+1), "タブ\tは不可"} {
		if _, _, err := UpdateMe(co, me, protocol.MePatch{Intro: &bad}); codeOf(err) != protocol.CodeInvalid {
			t.Fatalf("intro %q: %v", bad, err)
		}
	}
}
