package rules

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

func TestRegistrarScope(t *testing.T) {
	admin := store.Principal{AccountID: 1, OrgID: 1, Role: protocol.RoleAdmin}
	reg := store.Principal{AccountID: 2, OrgID: 1, Role: protocol.RoleRegistrar}
	co := store.Principal{AccountID: 3, OrgID: 1, Role: protocol.RoleCounselor}
	other := store.Principal{AccountID: 4, OrgID: 2, Role: protocol.RoleRegistrar}
	mine := Scope{ActorGroups: []int64{10, 11}, ClientGroup: 11}
	theirs := Scope{ActorGroups: []int64{10, 11}, ClientGroup: 12}
	client := store.NewAccount{OrgID: 1, Role: protocol.RoleClient, Nickname: "ひなた"}
	tests := []struct {
		name string
		err  error
		want protocol.Code
	}{
		{"admin registers in any group", func() error { _, err := NewAccount(admin, client, theirs); return err }(), ""},
		{"registrar registers in their group", func() error { _, err := NewAccount(reg, client, mine); return err }(), ""},
		{"registrar registers in another group", func() error { _, err := NewAccount(reg, client, theirs); return err }(), protocol.CodeForbidden},
		{"registrar of another organisation", func() error { _, err := NewAccount(other, client, mine); return err }(), protocol.CodeForbidden},
		{"counselor registers", func() error { _, err := NewAccount(co, client, mine); return err }(), protocol.CodeForbidden},
		{"registrar makes a counselor", func() error {
			_, err := NewAccount(reg, store.NewAccount{OrgID: 1, Role: protocol.RoleCounselor, Nickname: "x"}, mine)
			return err
		}(), protocol.CodeForbidden},
		{"admin makes a registrar without groups", func() error {
			_, err := NewAccount(admin, store.NewAccount{OrgID: 1, Role: protocol.RoleRegistrar, Nickname: "受付"}, Scope{})
			return err
		}(), protocol.CodeInvalid},
		{"admin makes a registrar with groups", func() error {
			_, err := NewAccount(admin, store.NewAccount{OrgID: 1, Role: protocol.RoleRegistrar, Nickname: "受付", GroupIDs: []int64{10}}, Scope{})
			return err
		}(), ""},
		{"a client with registrar's groups", func() error {
			_, err := NewAccount(admin, store.NewAccount{OrgID: 1, Role: protocol.RoleClient, Nickname: "x", GroupIDs: []int64{10}}, mine)
			return err
		}(), protocol.CodeInvalid},
		{"registrar deletes a client of theirs", DeleteAccount(reg, 9, protocol.RoleClient, 1, mine), ""},
		{"registrar deletes a client of another group", DeleteAccount(reg, 9, protocol.RoleClient, 1, theirs), protocol.CodeForbidden},
		{"registrar deletes a counselor", DeleteAccount(reg, 9, protocol.RoleCounselor, 1, mine), protocol.CodeForbidden},
		{"registrar groups must be the organisation's", NewRegistrar([]int64{10, 99}, []int64{10, 11}), protocol.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeOf(tt.err); got != tt.want {
				t.Errorf("got %q (%v), want %q", got, tt.err, tt.want)
			}
		})
	}
}

func TestAccountForHidesLoginIDs(t *testing.T) {
	cl := protocol.Account{ID: 9, OrgID: 1, Role: protocol.RoleClient, LoginID: "ABCD2345", Note: "n"}
	tests := []struct {
		viewer    protocol.Role
		login     bool
		note      bool
		viewerID  int64
		viewerOrg int64
	}{
		{protocol.RoleAdmin, true, true, 1, 1},
		{protocol.RoleRegistrar, true, false, 2, 1},
		{protocol.RoleCounselor, false, true, 3, 1},
		{protocol.RoleClient, true, false, 9, 1}, // the client itself
	}
	for _, tt := range tests {
		t.Run(string(tt.viewer), func(t *testing.T) {
			got := AccountFor(store.Principal{AccountID: tt.viewerID, OrgID: tt.viewerOrg, Role: tt.viewer}, cl)
			if (got.LoginID != "") != tt.login || (got.Note != "") != tt.note {
				t.Errorf("login %q note %q", got.LoginID, got.Note)
			}
		})
	}
}

func TestGroupAccess(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	admin := store.Principal{AccountID: 1, OrgID: 1, Role: protocol.RoleAdmin}
	g := protocol.Group{ID: 5, OrgID: 1, Name: "A社"}
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	up, err := UpdateGroup(admin, g, protocol.GroupRequest{AccessUntil: &past}, now)
	if err != nil || !up.AccessEnded {
		t.Fatalf("a passed date ends access: %+v %v", up, err)
	}
	up, err = UpdateGroup(admin, g, protocol.GroupRequest{AccessUntil: &future}, now)
	if err != nil || up.AccessEnded {
		t.Fatalf("a future date does not: %+v %v", up, err)
	}
	if _, err := UpdateGroup(store.Principal{AccountID: 2, OrgID: 1, Role: protocol.RoleRegistrar}, g, protocol.GroupRequest{}, now); codeOf(err) != protocol.CodeForbidden {
		t.Errorf("a registrar changed a group: %v", err)
	}
	long := string(make([]rune, protocol.MaxGroupNameRunes+1))
	if _, err := NewGroup(admin, 1, protocol.GroupRequest{Name: &long}, now); codeOf(err) != protocol.CodeInvalid {
		t.Errorf("a name too long: %v", err)
	}
	// The client's access ends at the earlier of its date and its group's.
	a := protocol.Account{AccessUntil: &future, GroupAccessUntil: &past}
	if err := SignIn(store.AccountRecord{Account: a}, now); codeOf(err) != protocol.CodeForbidden {
		t.Errorf("signed in after the group's end: %v", err)
	}
	if err := SignIn(store.AccountRecord{Account: protocol.Account{GroupAccessUntil: &future}}, now); err != nil {
		t.Errorf("refused before the group's end: %v", err)
	}
}

func TestUsageFigures(t *testing.T) {
	groups := []protocol.Group{{ID: 1, Name: "A社"}, {ID: 2, Name: "B社"}}
	var ev []UsageEvent
	add := func(g int64, week, kind string, n int, wait int64) {
		for range n {
			ev = append(ev, UsageEvent{GroupID: g, Week: week, Kind: kind, WaitMS: wait})
		}
	}
	add(1, "2026-11-30", UsageRegistered, 7, 0)
	add(1, "2026-11-30", UsageWrote, 5, 0)
	add(1, "2026-11-30", UsageAnswered, 4, 60_000)
	add(1, "2026-11-30", UsageAnswered, 1, 600_000)
	add(2, "2026-11-30", UsageWrote, 4, 0)
	add(2, "2026-11-23", UsageRegistered, 1, 0)
	add(3, "2026-11-30", UsageWrote, 9, 0) // a group the principal does not see
	add(1, "2026-11-16", UsageWrote, 9, 0) // before the first week asked
	got := UsageFigures(ev, groups, "2026-11-23")
	if len(got) != 3 {
		t.Fatalf("%d rows: %+v", len(got), got)
	}
	if got[0].GroupName != "A社" || got[0].Week != "2026-11-30" || got[2].Week != "2026-11-23" {
		t.Errorf("order: %+v", got)
	}
	a, b := got[0], got[1]
	if a.Registered.String() != "7" || a.Wrote.String() != "5" || a.MedianAnswerSeconds == nil || *a.MedianAnswerSeconds != 60 {
		t.Errorf("A社: %+v", a)
	}
	if b.Wrote.String() != "<5" || b.Registered.String() != "0" || b.MedianAnswerSeconds != nil {
		t.Errorf("B社: %+v", b)
	}
	raw, _ := json.Marshal(b)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m["wrote"] != "<5" || m["registered"] != float64(0) || strings.Contains(string(raw), "median") {
		t.Errorf("JSON: %s", raw)
	}
	var back protocol.GroupUsage
	if err := json.Unmarshal(raw, &back); err != nil || back.Wrote != b.Wrote {
		t.Errorf("round trip: %+v %v", back, err)
	}
}
