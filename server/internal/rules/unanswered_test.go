package rules

import (
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

func TestUnanswered(t *testing.T) {
	week := settings(func(s *protocol.Settings) { s.UnansweredTimeoutHours = 24 * 7 })
	pool := conv(0, true) // in the pool since monday - 1h
	since := *pool.PoolSince
	tests := []struct {
		name string
		c    bool // in the pool
		s    protocol.Settings
		at   time.Time
		want bool
	}{
		{"just under three days", true, settings(nil), since.Add(72*time.Hour - time.Second), false},
		{"three days", true, settings(nil), since.Add(72 * time.Hour), true},
		{"the organisation waits a week", true, week, since.Add(100 * time.Hour), false},
		{"a week", true, week, since.Add(7 * 24 * time.Hour), true},
		{"someone has it", false, settings(nil), since.Add(30 * 24 * time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := pool
			if !tt.c {
				c = conv(co.AccountID, false)
			}
			if got := Unanswered(c, tt.s, tt.at); got != tt.want {
				t.Fatalf("unanswered %v, want %v", got, tt.want)
			}
		})
	}
	apology := settings(func(s *protocol.Settings) {
		s.ApologyText = "お返事できず申し訳ありません。電話相談: 0120-000-000"
	})
	out, m := GiveUp(pool, apology, monday)
	if out.InPool() || out.AssigneeID != nil || out.Outcome != protocol.OutcomeUnanswered || m.Kind != protocol.KindApology ||
		m.Body != apology.ApologyText || m.Seq != pool.LastSeq+1 || out.LastSeq != m.Seq || m.SenderRole != protocol.RoleSystem {
		t.Fatalf("given up: %+v %+v", out.Conversation, m)
	}
	// The client writes again: the pool anew, and the outcome goes.
	again, err := SendMessage(Send{Sender: client, Conv: out, Settings: apology, Body: "まだ話したいです", Now: monday.Add(time.Hour)})
	if err != nil || !again.Conv.InPool() || again.Conv.Outcome != "" {
		t.Fatalf("writing again: %+v %v", again.Conv.Conversation, err)
	}
}

func TestTypicalReply(t *testing.T) {
	m := time.Minute
	tests := []struct {
		name  string
		waits []time.Duration
		want  time.Duration
	}{
		{"too few to say", []time.Duration{m, m, m, m}, 0},
		{"odd: the middle one", []time.Duration{50 * m, m, 3 * m, 2 * m, 600 * m}, 3 * m},
		{"even: between the middle two", []time.Duration{m, 2 * m, 4 * m, 6 * m, 8 * m, 900 * m}, 5 * m},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TypicalReply(tt.waits); got != tt.want {
				t.Fatalf("typical %v, want %v", got, tt.want)
			}
		})
	}
	// A staff reply to a waiting client reports how long the client waited.
	c := conv(co.AccountID, false)
	w := monday.Add(-90 * time.Minute)
	c.WaitingSince = &w
	out, err := SendMessage(Send{Sender: co, Conv: c, Settings: settings(nil), Body: "お待たせしました", Now: monday})
	if err != nil || out.Answered == nil || *out.Answered != 90*time.Minute {
		t.Fatalf("answered: %v %v", out.Answered, err)
	}
}

func TestWeekStart(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	for _, tt := range []struct{ at, want string }{
		{"2026-11-23T03:00:00Z", "2026-11-23"}, // Monday noon in Tokyo
		{"2026-11-22T16:00:00Z", "2026-11-23"}, // Monday 01:00 in Tokyo, Sunday in UTC
		{"2026-11-29T14:00:00Z", "2026-11-23"}, // Sunday 23:00 in Tokyo
	} {
		at, _ := time.Parse(time.RFC3339, tt.at)
		if got := WeekStart(at, tokyo).Format("2006-01-02"); got != tt.want {
			t.Errorf("%s: week of %s, want %s", tt.at, got, tt.want)
		}
	}
}

func TestApologySettings(t *testing.T) {
	long := make([]rune, protocol.MaxApologyRunes+1)
	for i := range long {
		long[i] = 'あ'
	}
	for _, tt := range []struct {
		name string
		s    protocol.Settings
		ok   bool
	}{
		{"defaults", settings(nil), true},
		{"a week and alternatives", settings(func(s *protocol.Settings) {
			s.UnansweredTimeoutHours, s.ApologyText = 168, "申し訳ありません。\n電話: 0120-000-000\n掲示板: https://example.org/board"
		}), true},
		{"negative", settings(func(s *protocol.Settings) { s.UnansweredTimeoutHours = -1 }), false},
		{"over a month", settings(func(s *protocol.Settings) { s.UnansweredTimeoutHours = protocol.MaxUnansweredTimeoutHours + 1 }), false},
		{"too long", settings(func(s *protocol.Settings) { s.ApologyText = string(long) }), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateSettings(tt.s); (err == nil) != tt.ok {
				t.Fatalf("validate: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
