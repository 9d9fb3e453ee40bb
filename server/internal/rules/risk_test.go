package rules

import (
	"testing"
	"time"

	"github.com/taiwa-chat/taiwa/pkg/protocol"
)

func TestCrisisMatch(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		extra []string
		want  bool
	}{
		{"kanji", "もう死にたいです", nil, true},
		{"hiragana", "しにたい", nil, true},
		{"katakana", "シニタイ", nil, true},
		{"half-width katakana", "ｼﾆﾀｲ", nil, true},
		{"spaced", "死 に た い", nil, true},
		{"full-width spaces and dots", "し　に・た・い…", nil, true},
		{"消えたい in katakana", "キエタイ", nil, true},
		{"リスカ", "またリスカしちゃった", nil, true},
		{"full-width latin", "ＳＵＩＣＩＤＥ", nil, true},
		{"english, spaced oddly", "I want  to   die", nil, true},
		{"an organisation's own phrase", "オーバードーズしそう", []string{"オーバードーズ"}, true},
		{"its own phrase, hiragana", "おーばーどーずした", []string{"オーバードーズ"}, true},
		{"everyday 死", "死ぬほど笑った", nil, false},
		{"消しゴム", "消しゴムをなくした", nil, false},
		{"a shop closing", "お店が消えたのが残念", nil, false},
		{"diet", "ダイエットしたい", nil, false},
		{"empty", "", nil, false},
		{"only spaces", "   ", []string{" "}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CrisisMatch(tt.text, tt.extra); got != tt.want {
				t.Fatalf("CrisisMatch(%q) = %v, want %v (normalised %q)", tt.text, got, tt.want, NormalizeForRisk(tt.text))
			}
		})
	}
}

// A client's message with a crisis phrase raises the conversation once;
// staff messages never do; ending it lowers it.
func TestRiskRaised(t *testing.T) {
	s := settings(func(s *protocol.Settings) { s.CrisisPhrases = []string{"ODしたい"} })
	out, err := SendMessage(Send{Sender: client, Conv: conv(0, true), Settings: s, Body: "もう し に た い", Now: monday})
	if err != nil || !out.Risk || out.Conv.RiskAt == nil || !out.Conv.RiskAt.Equal(monday) {
		t.Fatalf("raised: %v %+v %v", out.Risk, out.Conv.RiskAt, err)
	}
	again, _ := SendMessage(Send{Sender: client, Conv: out.Conv, Settings: s, Body: "死にたい", Now: monday.Add(time.Minute)})
	if again.Risk || !again.Conv.RiskAt.Equal(monday) {
		t.Fatalf("raised twice: %v %v", again.Risk, again.Conv.RiskAt)
	}
	if own, _ := SendMessage(Send{Sender: client, Conv: conv(0, true), Settings: s, Body: "ＯＤしたい", Now: monday}); !own.Risk {
		t.Fatal("the organisation's own phrase, full-width, did not raise")
	}
	if staff, _ := SendMessage(Send{Sender: co, Conv: conv(co.AccountID, false), Settings: s, Body: "死にたい気持ちについて聞かせてください", Now: monday}); staff.Risk || staff.Conv.RiskAt != nil {
		t.Fatal("a counselor's words raised the conversation")
	}
	mine := out.Conv
	mine.AssigneeID = ptr(co.AccountID)
	mine.PoolSince = nil
	if ended, err := End(co, mine, monday); err != nil || ended.RiskAt != nil {
		t.Fatalf("ended: %+v %v", ended.Conversation, err)
	}
	if out.Conv.ForClient().RiskAt != nil {
		t.Fatal("the client would see the marker")
	}
	bad := settings(func(s *protocol.Settings) { s.CrisisPhrases = []string{"・・・"} })
	if err := ValidateSettings(bad); codeOf(err) != protocol.CodeInvalid {
		t.Fatalf("a phrase of punctuation only: %v", err)
	}
}
