package protocol

import (
	"testing"
	"time"
)

func TestJapaneseDate(t *testing.T) {
	tests := []struct {
		date string
		want string
	}{
		{"2026-12-03", "12月3日（木）"},
		{"2026-11-29", "11月29日（日）"},
		{"2027-01-02", "1月2日（土）"},
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			d, err := ParseDate(tt.date)
			if err != nil {
				t.Fatal(err)
			}
			if got := JapaneseDate(d); got != tt.want {
				t.Errorf("JapaneseDate = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPlaceholders(t *testing.T) {
	tests := []struct {
		name, body, want string
		ok               bool
	}{
		{"all four", "{nickname}さん、{counselor}です。{next_contact}に。受付{hours}", "さくらさん、みどりです。12月3日（木）に。受付平日 9:00〜17:00", true},
		{"missing value stays visible", "{next_contact}にご連絡します", "{next_contact}にご連絡します", true},
		{"typo refused", "{nick_name}さん", "", false},
		{"plain braces", "{ えがお }{}{A}", "{ えがお }{}{A}", true},
		{"unclosed", "{nickname", "{nickname", true},
	}
	values := map[string]string{"nickname": "さくら", "counselor": "みどり", "next_contact": "12月3日（木）", "hours": "平日 9:00〜17:00"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPlaceholders(tt.body)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckPlaceholders: %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok {
				return
			}
			v := values
			if tt.name == "missing value stays visible" {
				v = map[string]string{}
			}
			if got := ExpandPlaceholders(tt.body, v); got != tt.want {
				t.Errorf("Expand = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSendFrameProgress(t *testing.T) {
	tests := []struct {
		name, frame string
		code        Code
	}{
		{"plain", `{"type":"send","ref":"r1","conversation_id":3,"body":"はい"}`, ""},
		{"with progress and template", `{"type":"send","ref":"r1","conversation_id":3,"body":"はい","progress":"awaiting","template_id":4}`, ""},
		{"with a date", `{"type":"send","ref":"r1","conversation_id":3,"body":"12月3日（木）にご連絡します","progress":"next_contact","next_contact":"2026-12-03"}`, ""},
		{"date without progress", `{"type":"send","ref":"r1","conversation_id":3,"body":"x","next_contact":"2026-12-03"}`, CodeInvalid},
		{"next_contact without date", `{"type":"send","ref":"r1","conversation_id":3,"body":"x","progress":"next_contact"}`, CodeInvalid},
		{"unknown progress", `{"type":"send","ref":"r1","conversation_id":3,"body":"x","progress":"someday"}`, CodeInvalid},
		{"negative template", `{"type":"send","ref":"r1","conversation_id":3,"body":"x","template_id":-1}`, CodeBadFrame},
		{"template id as text", `{"type":"send","ref":"r1","conversation_id":3,"body":"x","template_id":"4"}`, CodeBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeClientFrame([]byte(tt.frame))
			if err == nil && tt.code != "" || err != nil && AsError(err).Code != tt.code {
				t.Fatalf("err %v, want code %q", err, tt.code)
			}
		})
	}
}

func TestContactDue(t *testing.T) {
	today := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		p            Progress
		next         string
		overdue, due bool
	}{
		{ProgressNextContact, "2026-12-02", true, false},
		{ProgressNextContact, "2026-12-03", false, true},
		{ProgressNextContact, "2026-12-04", false, false},
		{ProgressDone, "2026-12-01", false, false},
		{ProgressNextContact, "", false, false},
	}
	for _, tt := range tests {
		c := Conversation{Progress: tt.p, NextContact: tt.next}
		if o, d := c.ContactDue(today); o != tt.overdue || d != tt.due {
			t.Errorf("%s %s: overdue %v due %v, want %v %v", tt.p, tt.next, o, d, tt.overdue, tt.due)
		}
	}
}

func TestConversationForClient(t *testing.T) {
	by, at := int64(2), time.Now()
	c := Conversation{ID: 3, Nickname: "さくら", Progress: ProgressUnable, ProgressBy: &by, ProgressAt: &at, NextContact: "2026-12-03"}
	got := c.ForClient()
	if got.Progress != "" || got.ProgressBy != nil || got.ProgressAt != nil || got.NextContact != "" || got.ID != 3 {
		t.Fatalf("ForClient kept staff-only fields: %+v", got)
	}
}
