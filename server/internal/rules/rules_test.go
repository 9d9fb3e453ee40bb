package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/hours"
	"github.com/taiwa-chat/taiwa/pkg/protocol"
	"github.com/taiwa-chat/taiwa/server/internal/store"
)

var (
	monday  = time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC) // 12:00 in Tokyo
	client  = store.Principal{AccountID: 7, OrgID: 1, Role: protocol.RoleClient}
	co      = store.Principal{AccountID: 2, OrgID: 1, Role: protocol.RoleCounselor}
	other   = store.Principal{AccountID: 3, OrgID: 1, Role: protocol.RoleCounselor}
	admin   = store.Principal{AccountID: 1, OrgID: 1, Role: protocol.RoleAdmin}
	outside = store.Principal{AccountID: 9, OrgID: 2, Role: protocol.RoleAdmin}
)

func ptr[T any](v T) *T { return &v }

// settings are the defaults with mut applied.
func settings(mut func(*protocol.Settings)) protocol.Settings {
	s := DefaultSettings("相談室")
	if mut != nil {
		mut(&s)
	}
	return s
}

// open9to5 is open Monday to Friday, 09:00–17:00 in Tokyo.
func open9to5(s *protocol.Settings) {
	for d := time.Monday; d <= time.Friday; d++ {
		s.Hours.Spans = append(s.Hours.Spans, hours.Span{Day: d, Start: 9 * 60, End: 17 * 60})
	}
}

func TestSendMessage(t *testing.T) {
	evening := monday.Add(9 * time.Hour) // 21:00 in Tokyo: closed
	fresh := store.ConversationState{Conversation: protocol.Conversation{ID: 3, ClientID: 7, Status: protocol.StatusNew}, OrgID: 1}
	wrote := fresh
	wrote.ClientWrote, wrote.LastSeq, wrote.Status, wrote.PoolSince = true, 4, protocol.StatusWaiting, ptr(monday.Add(-time.Hour))
	colleagues := wrote
	colleagues.AssigneeID, colleagues.PoolSince = ptr(other.AccountID), nil
	noticed := wrote
	noticed.NoticeUntil = ptr(monday.Add(22 * time.Hour))

	tests := []struct {
		name   string
		in     Send
		code   protocol.Code
		check  func(t *testing.T, out Sent)
		notice bool
	}{
		{name: "client writes first", in: Send{Sender: client, Conv: fresh, Settings: settings(nil), Body: "こんにちは", Now: monday},
			check: func(t *testing.T, out Sent) {
				c := out.Conv
				if out.Message.Seq != 1 || c.Status != protocol.StatusWaiting || !c.ClientWrote || *c.WaitingSince != monday || c.ClientReadSeq != 1 {
					t.Fatalf("%+v %+v", out.Message, c)
				}
				if want := monday.Add(7 * 24 * time.Hour); !out.Message.ExpiresAt.Equal(want) {
					t.Fatalf("expires %v, want %v (a week)", out.Message.ExpiresAt, want)
				}
			}},
		{name: "staff may not write first", in: Send{Sender: co, Conv: fresh, Settings: settings(nil), Body: "x", Now: monday}, code: protocol.CodeClientFirst},
		{name: "unless the organisation lets them", in: Send{Sender: co, Conv: fresh, Settings: settings(func(s *protocol.Settings) { s.StaffMayWriteFirst = true }), Body: "x", Now: monday}},
		{name: "a client's first message puts the conversation in the pool", in: Send{Sender: client, Conv: fresh, Settings: settings(nil), Body: "誰か", Now: monday},
			check: func(t *testing.T, out Sent) {
				if !out.Conv.InPool() || !out.Conv.PoolSince.Equal(monday) {
					t.Fatalf("%+v", out.Conv)
				}
			}},
		{name: "waiting longer keeps its place in the pool", in: Send{Sender: client, Conv: wrote, Settings: settings(nil), Body: "まだですか", Now: monday},
			check: func(t *testing.T, out Sent) {
				if !out.Conv.PoolSince.Equal(*wrote.PoolSince) {
					t.Fatalf("pool since %v, want %v", out.Conv.PoolSince, wrote.PoolSince)
				}
			}},
		{name: "a staff reply answers and takes it from the pool", in: Send{Sender: co, SenderName: "みどり", Conv: wrote, Settings: settings(nil), Body: "はい", Now: monday},
			check: func(t *testing.T, out Sent) {
				c := out.Conv
				if c.Status != protocol.StatusAnswered || c.WaitingSince != nil || *c.AssigneeID != co.AccountID || c.PoolSince != nil || c.StaffReadSeq != 5 || out.Message.SenderName != "みどり" {
					t.Fatalf("%+v %+v", out.Message, c)
				}
			}},
		{name: "unless only the button takes", in: Send{Sender: co, Conv: wrote, Settings: settings(func(s *protocol.Settings) { s.ClaimByButton = true }), Body: "はい", Now: monday}, code: protocol.CodeClaimFirst},
		{name: "the assignee answers with the button setting", in: Send{Sender: other, Conv: colleagues, Settings: settings(func(s *protocol.Settings) { s.ClaimByButton = true }), Body: "はい", Now: monday}},
		{name: "a colleague's conversation is not another's to answer", in: Send{Sender: co, Conv: colleagues, Settings: settings(nil), Body: "はい", Now: monday}, code: protocol.CodeForbidden},
		{name: "nor an admin's to answer without taking it over", in: Send{Sender: admin, Conv: colleagues, Settings: settings(nil), Body: "はい", Now: monday}, code: protocol.CodeForbidden},
		{name: "writing first takes the conversation", in: Send{Sender: co, Conv: fresh, Settings: settings(func(s *protocol.Settings) { s.StaffMayWriteFirst = true }), Body: "x", Now: monday},
			check: func(t *testing.T, out Sent) {
				if out.Conv.AssigneeID == nil || *out.Conv.AssigneeID != co.AccountID {
					t.Fatalf("%+v", out.Conv)
				}
			}},
		{name: "a client's message carries no name", in: Send{Sender: client, SenderName: "x", Conv: wrote, Settings: settings(nil), Body: "y", Now: monday},
			check: func(t *testing.T, out Sent) {
				if out.Message.SenderName != "" {
					t.Fatal("a client's name was sent")
				}
			}},
		{name: "closed and accepting: one notice", in: Send{Sender: client, Conv: wrote, Settings: settings(open9to5), Body: "夜です", Now: evening}, notice: true,
			check: func(t *testing.T, out Sent) {
				n := out.Notice
				if n.Seq != 6 || n.Kind != protocol.KindClosedNotice || n.SenderRole != protocol.RoleSystem || n.ReopensAt == nil || out.Conv.LastSeq != 6 || !out.Conv.NoticeUntil.Equal(*n.ReopensAt) {
					t.Fatalf("%+v %+v", n, out.Conv)
				}
			}},
		{name: "no second notice in the same closed stretch", in: Send{Sender: client, Conv: noticed, Settings: settings(open9to5), Body: "もう一度", Now: evening}},
		{name: "closed and blocking", in: Send{Sender: client, Conv: wrote, Settings: settings(func(s *protocol.Settings) { open9to5(s); s.ClosedBehavior = protocol.ClosedBlock }), Body: "x", Now: evening}, code: protocol.CodeClosed},
		{name: "staff write while closed", in: Send{Sender: co, Conv: wrote, Settings: settings(func(s *protocol.Settings) { open9to5(s); s.ClosedBehavior = protocol.ClosedBlock }), Body: "x", Now: evening}},
		{name: "paused", in: Send{Sender: client, Conv: wrote, Settings: settings(func(s *protocol.Settings) { s.Pause = hours.Pause{On: true} }), Body: "x", Now: monday}, notice: true,
			check: func(t *testing.T, out Sent) {
				if out.Notice.ReopensAt != nil || out.Conv.NoticeUntil == nil || out.Conv.NoticeUntil.Before(monday.Add(100*365*24*time.Hour)) {
					t.Fatalf("a pause with no end: notice %+v until %v", out.Notice, out.Conv.NoticeUntil)
				}
			}},
		{name: "access ended", in: Send{Sender: client, AccessUntil: ptr(monday), Conv: wrote, Settings: settings(nil), Body: "x", Now: monday}, code: protocol.CodeForbidden},
		{name: "access not yet ended", in: Send{Sender: client, AccessUntil: ptr(monday.Add(time.Millisecond)), Conv: wrote, Settings: settings(nil), Body: "x", Now: monday}},
		{name: "a body with a vertical tab", in: Send{Sender: client, Conv: wrote, Settings: settings(nil), Body: "a\vb", Now: monday}, code: protocol.CodeInvalidBody},
		{name: "a body too long", in: Send{Sender: client, Conv: wrote, Settings: settings(nil), Body: strings.Repeat("あ", protocol.MaxBodyRunes+1), Now: monday}, code: protocol.CodeInvalidBody},
		{name: "a system principal", in: Send{Sender: store.Principal{AccountID: 5, OrgID: 1, Role: protocol.RoleSystem}, Conv: wrote, Settings: settings(nil), Body: "x", Now: monday}, code: protocol.CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := SendMessage(tt.in)
			if tt.code != "" {
				if protocol.AsError(err).Code != tt.code {
					t.Fatalf("got %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (out.Notice != nil) != tt.notice {
				t.Fatalf("notice %+v, want one: %v", out.Notice, tt.notice)
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
}

func TestReceipt(t *testing.T) {
	c := store.ConversationState{Conversation: protocol.Conversation{LastSeq: 10, ClientDeliveredSeq: 4, ClientReadSeq: 3, StaffDeliveredSeq: 8, StaffReadSeq: 8}}
	tests := []struct {
		name                 string
		by                   store.Principal
		delivered, read      int64
		changed              bool
		wantDelivered, wantR int64
	}{
		{"client reads further", client, 6, 5, true, 6, 5},
		{"marks never go down", client, 2, 1, false, 4, 3},
		{"never past the last message", client, 99, 99, true, 10, 10},
		{"read implies delivered", client, 0, 7, true, 7, 7},
		{"staff side", co, 9, 9, true, 9, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed := Receipt(tt.by, c, tt.delivered, tt.read)
			d, r := out.ClientDeliveredSeq, out.ClientReadSeq
			if tt.by.IsStaff() {
				d, r = out.StaffDeliveredSeq, out.StaffReadSeq
			}
			if changed != tt.changed || d != tt.wantDelivered || r != tt.wantR {
				t.Fatalf("changed %v, marks %d/%d", changed, d, r)
			}
		})
	}
}

func codeOf(err error) protocol.Code {
	if err == nil {
		return ""
	}
	return protocol.AsError(err).Code
}

func TestAccounts(t *testing.T) {
	t.Run("who creates what", func(t *testing.T) {
		tests := []struct {
			name string
			by   store.Principal
			a    store.NewAccount
			code protocol.Code
		}{
			{"the operator, any organisation", store.Principal{}, store.NewAccount{OrgID: 5, Role: protocol.RoleAdmin, Nickname: "管理者"}, ""},
			{"an admin, its own", admin, store.NewAccount{OrgID: 1, Role: protocol.RoleClient, Nickname: " さくら ", Note: "メモ"}, ""},
			{"an admin, another organisation", outside, store.NewAccount{OrgID: 1, Role: protocol.RoleClient, Nickname: "x"}, protocol.CodeForbidden},
			{"a counselor", co, store.NewAccount{OrgID: 1, Role: protocol.RoleClient, Nickname: "x"}, protocol.CodeForbidden},
			{"no such role", admin, store.NewAccount{OrgID: 1, Role: "owner", Nickname: "x"}, protocol.CodeInvalid},
			{"a blank nickname", admin, store.NewAccount{OrgID: 1, Role: protocol.RoleClient, Nickname: "  "}, protocol.CodeInvalid},
			{"a note on staff", admin, store.NewAccount{OrgID: 1, Role: protocol.RoleCounselor, Nickname: "x", Note: "n"}, protocol.CodeInvalid},
			{"a note too long", admin, store.NewAccount{OrgID: 1, Role: protocol.RoleClient, Nickname: "x", Note: strings.Repeat("あ", protocol.MaxNoteRunes+1)}, protocol.CodeInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out, err := NewAccount(tt.by, tt.a, Scope{})
				if got := codeOf(err); got != tt.code {
					t.Fatalf("got %v, want %q", err, tt.code)
				}
				if err == nil && out.Nickname != strings.TrimSpace(tt.a.Nickname) {
					t.Fatalf("nickname %q not tidied", out.Nickname)
				}
			})
		}
	})
	t.Run("who deletes what", func(t *testing.T) {
		tests := []struct {
			name   string
			by     store.Principal
			target int64
			role   protocol.Role
			admins int
			code   protocol.Code
		}{
			{"an admin deletes a client", admin, 7, protocol.RoleClient, 1, ""},
			{"another admin", admin, 4, protocol.RoleAdmin, 2, ""},
			{"not the last admin", admin, 4, protocol.RoleAdmin, 1, protocol.CodeConflict},
			{"not themselves", admin, admin.AccountID, protocol.RoleAdmin, 3, protocol.CodeConflict},
			{"a counselor deletes nothing", co, 7, protocol.RoleClient, 1, protocol.CodeForbidden},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := codeOf(DeleteAccount(tt.by, tt.target, tt.role, tt.admins, Scope{})); got != tt.code {
					t.Fatalf("got %q, want %q", got, tt.code)
				}
			})
		}
	})
	t.Run("client changes", func(t *testing.T) {
		a := protocol.Account{ID: 7, OrgID: 1, Role: protocol.RoleClient, Nickname: "さくら"}
		up, err := UpdateClient(admin, a, protocol.UpdateClientRequest{Nickname: ptr(" ひなた "), AccessUntil: ptr(monday)}, nil, Scope{}, monday)
		if err != nil || up.Account.Nickname != "ひなた" || !up.AccessEnded || strings.Join(up.Fields, ",") != "nickname,access_until" {
			t.Fatalf("%+v %v", up, err)
		}
		up, err = UpdateClient(admin, a, protocol.UpdateClientRequest{AccessUntil: ptr(monday.Add(time.Hour))}, nil, Scope{}, monday)
		if err != nil || up.AccessEnded {
			t.Fatalf("a future date ended access: %+v %v", up, err)
		}
		if _, err := UpdateClient(co, a, protocol.UpdateClientRequest{}, nil, Scope{}, monday); codeOf(err) != protocol.CodeForbidden {
			t.Fatalf("a counselor changed a client: %v", err)
		}
		if _, err := UpdateClient(outside, a, protocol.UpdateClientRequest{}, nil, Scope{}, monday); codeOf(err) != protocol.CodeForbidden {
			t.Fatalf("another organisation's admin changed a client: %v", err)
		}
		staff := a
		staff.Role = protocol.RoleCounselor
		if _, err := UpdateClient(admin, staff, protocol.UpdateClientRequest{}, nil, Scope{}, monday); codeOf(err) != protocol.CodeNotFound {
			t.Fatalf("a staff member changed as a client: %v", err)
		}
	})
	t.Run("ending sessions", func(t *testing.T) {
		if EndSessions(co, co.AccountID) != nil || EndSessions(admin, 7) != nil || EndSessions(co, 7) == nil {
			t.Fatal("only admins end other people's sessions")
		}
	})
}

func TestSession(t *testing.T) {
	idle := Idle{Staff: 12 * time.Hour, Shared: 30 * time.Minute}
	sess := func(shared bool, active time.Duration) store.Session {
		return store.Session{ExpiresAt: monday.Add(24 * time.Hour), ActiveAt: monday.Add(-active), Shared: shared}
	}
	acct := func(role protocol.Role, until *time.Time) store.AccountRecord {
		return store.AccountRecord{Account: protocol.Account{Role: role, AccessUntil: until}}
	}
	tests := []struct {
		name  string
		s     store.Session
		a     store.AccountRecord
		valid bool
	}{
		{"a client's phone, long unused", sess(false, 20*24*time.Hour), acct(protocol.RoleClient, nil), true},
		{"a shared device, 29 minutes", sess(true, 29*time.Minute), acct(protocol.RoleClient, nil), true},
		{"a shared device, 30 minutes", sess(true, 30*time.Minute), acct(protocol.RoleClient, nil), false},
		{"staff, 11 hours", sess(false, 11*time.Hour), acct(protocol.RoleCounselor, nil), true},
		{"staff, 12 hours", sess(false, 12*time.Hour), acct(protocol.RoleAdmin, nil), false},
		{"access ended", sess(false, 0), acct(protocol.RoleClient, ptr(monday)), false},
		{"expired", store.Session{ExpiresAt: monday, ActiveAt: monday}, acct(protocol.RoleClient, nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Session(tt.s, tt.a, idle, monday)
			if (err == nil) != tt.valid {
				t.Fatalf("got %v, want valid %v", err, tt.valid)
			}
			if err != nil && codeOf(err) != protocol.CodeUnauthorized {
				t.Fatalf("an ended session answered %v", err)
			}
		})
	}
}

func TestApplySettings(t *testing.T) {
	old := settings(open9to5)
	old.Pause = hours.Pause{On: true}
	tests := []struct {
		name    string
		by      store.Principal
		patch   protocol.SettingsPatch
		code    protocol.Code
		changed string
		shorter bool
		notices bool
	}{
		{"a shorter retention", admin, protocol.SettingsPatch{RetentionSeconds: ptr(int64(86400))}, "", "retention_seconds", true, false},
		{"a longer one", admin, protocol.SettingsPatch{RetentionSeconds: ptr(int64(30 * 86400))}, "", "retention_seconds", false, false},
		{"the pause ends: notices again", admin, protocol.SettingsPatch{Pause: &hours.Pause{}}, "", "pause", false, true},
		{"new hours: notices again", admin, protocol.SettingsPatch{Hours: &hours.Schedule{TimeZone: "Asia/Tokyo"}}, "", "hours", false, true},
		{"texts are tidied", admin, protocol.SettingsPatch{WelcomeText: ptr("  ようこそ\r\n二行目 ")}, "", "welcome_text", false, false},
		{"a retention out of range", admin, protocol.SettingsPatch{RetentionSeconds: ptr(int64(60))}, protocol.CodeInvalid, "", false, false},
		{"an unknown icon", admin, protocol.SettingsPatch{AppIcon: ptr("skull")}, protocol.CodeInvalid, "", false, false},
		{"a blank name", admin, protocol.SettingsPatch{DisplayName: ptr(" ")}, protocol.CodeInvalid, "", false, false},
		{"a margin too wide", admin, protocol.SettingsPatch{CounselorMarginMinutes: ptr(241)}, protocol.CodeInvalid, "", false, false},
		{"a counselor", co, protocol.SettingsPatch{StaffMayWriteFirst: ptr(true)}, protocol.CodeForbidden, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := ApplySettings(tt.by, old, tt.patch)
			if got := codeOf(err); got != tt.code {
				t.Fatalf("got %v, want %q", err, tt.code)
			}
			if err != nil {
				return
			}
			if ch.Changed != tt.changed || ch.Shortened != tt.shorter || ch.ResetNotices != tt.notices {
				t.Fatalf("%+v", ch)
			}
			if tt.patch.WelcomeText != nil && ch.Settings.WelcomeText != "ようこそ\n二行目" {
				t.Fatalf("welcome text %q", ch.Settings.WelcomeText)
			}
		})
	}
}

func TestSignInAndBulk(t *testing.T) {
	if SignIn(store.AccountRecord{Account: protocol.Account{AccessUntil: ptr(monday)}}, monday) == nil {
		t.Fatal("signed in on the day access ended")
	}
	if err := SignIn(store.AccountRecord{Account: protocol.Account{AccessUntil: ptr(monday.Add(time.Hour))}}, monday); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		req   protocol.BulkCreateClientsRequest
		first string
		n     int
		code  protocol.Code
	}{
		{"a seminar", protocol.BulkCreateClientsRequest{Prefix: " seminar ", Count: 30}, "seminar-01", 30, ""},
		{"named", protocol.BulkCreateClientsRequest{Nicknames: []string{"さくら", "ひなた"}}, "さくら", 2, ""},
		{"both", protocol.BulkCreateClientsRequest{Prefix: "s", Count: 2, Nicknames: []string{"a"}}, "", 0, protocol.CodeInvalid},
		{"neither", protocol.BulkCreateClientsRequest{}, "", 0, protocol.CodeInvalid},
		{"too many", protocol.BulkCreateClientsRequest{Prefix: "s", Count: protocol.MaxBulkClients + 1}, "", 0, protocol.CodeInvalid},
		{"one bad name stops all", protocol.BulkCreateClientsRequest{Nicknames: []string{"ok", " "}}, "", 0, protocol.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, err := BulkNicknames(tt.req)
			if codeOf(err) != tt.code || len(names) != tt.n || (tt.n > 0 && names[0] != tt.first) {
				t.Fatalf("%v %v", names, err)
			}
		})
	}
}

// Counselors write nothing outside their access hours, even on a
// connection opened before they began to bind; admins are exempt.
func TestSendOutsideAccessHours(t *testing.T) {
	s := settings(func(s *protocol.Settings) { open9to5(s); s.CounselorHoursOnly = true })
	evening := monday.Add(9 * time.Hour) // 21:00 in Tokyo
	wrote := store.ConversationState{Conversation: protocol.Conversation{ID: 3, LastSeq: 1, PoolSince: &monday}, ClientWrote: true}
	_, err := SendMessage(Send{Sender: co, Conv: wrote, Settings: s, Body: "x", Now: evening})
	if pe := protocol.AsError(err); pe.Code != protocol.CodeOutsideHours || pe.ReopensAt == nil {
		t.Fatalf("a counselor outside hours: %v", err)
	}
	if _, err := SendMessage(Send{Sender: admin, Conv: wrote, Settings: s, Body: "x", Now: evening}); err != nil {
		t.Fatalf("an admin outside hours: %v", err)
	}
	if _, err := SendMessage(Send{Sender: co, Conv: wrote, Settings: s, Body: "x", Now: monday}); err != nil {
		t.Fatalf("a counselor within hours: %v", err)
	}
}
