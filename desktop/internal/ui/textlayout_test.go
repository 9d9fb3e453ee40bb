package ui

import (
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// Every character is one unit wide, so lines are easy to count by eye.
func unitBreaker() *lineBreaker {
	return &lineBreaker{measure: func(rune) float32 { return 1 }, widths: map[rune]float32{}}
}

func TestLineBreaking(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		width float32
		want  []string
	}{
		{"fits", "こんにちは", 10, []string{"こんにちは"}},
		{"own line breaks kept, empty lines too", "一行目\n\n三行目", 10, []string{"一行目", "", "三行目"}},
		{"Japanese breaks between any two characters", "あいうえおかきくけこさしす", 5, []string{"あいうえお", "かきくけこ", "さしす"}},
		{"no line starts with 。: the character before goes down with it", "あいうえおか。きく", 6, []string{"あいうえお", "か。きく"}},
		{"no line starts with 、 either", "ありがとう、ございます", 5, []string{"ありがと", "う、ござい", "ます"}},
		{"no line starts with a small kana", "あいうっと", 3, []string{"あい", "うっと"}},
		{"no line starts with a closing bracket", "あいう「えお」か", 6, []string{"あいう「え", "お」か"}},
		{"no line ends with an opening bracket", "あいうえ「おか」", 5, []string{"あいうえ", "「おか」"}},
		{"Latin words break at spaces", "thank you for writing", 10, []string{"thank you", "for", "writing"}},
		{"a word longer than a line breaks anyway", "abcdefghijkl", 5, []string{"abcde", "fghij", "kl"}},
		{"mixed", "はい、see you tomorrow。", 8, []string{"はい、see", "you", "tomorrow。"}}, {"a full stop hangs rather than split a word", "see you。", 7, []string{"see", "you。"}},
		{"tabs become spaces", "a\tb", 10, []string{"a    b"}},
		{"a bracketed number goes down whole", "泣いていました。（299）", 11, []string{"泣いていました。", "（299）"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := unitBreaker().Lines(tt.text, tt.width)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// Whatever the text, no line starts with a forbidden character (unless
// the line is one character wide) and nothing is lost.
func TestLineBreakingKeepsEveryCharacter(t *testing.T) {
	text := "最近、夜になると不安で眠れません。「誰か」に話を聞いてほしくて、連絡しました。ちょっとだけ、ほんのちょっとだけ…。Sometimes I can't sleep at all."
	for w := float32(4); w < 30; w++ {
		lines, _ := unitBreaker().Lines(text, w)
		joined := strings.Join(lines, "")
		if strings.ReplaceAll(joined, " ", "") != strings.ReplaceAll(text, " ", "") {
			t.Fatalf("width %v lost text: %q", w, lines)
		}
		for _, l := range lines[1:] {
			r := []rune(l)
			if len(r) > 0 && strings.ContainsRune(noLineStart, r[0]) && !strings.ContainsRune(hangable, r[0]) {
				t.Errorf("width %v: line starts with %q: %q", w, r[0], lines)
			}
		}
		for _, l := range lines {
			r := []rune(l)
			if len(r) > 1 && strings.ContainsRune(noLineEnd, r[len(r)-1]) {
				t.Errorf("width %v: line ends with %q: %q", w, r[len(r)-1], lines)
			}
		}
	}
}

// Labels outside the history break by the same rules.
func TestJALabelBreaksByJapaneseRules(t *testing.T) {
	test.NewTempApp(t)
	l := newJALabel("誰が・いつ・何をしたかの記録です。メッセージの本文は記録しません。相談者は番号で表示します。ここで会話を閲覧したことも記録されます。")
	for w := float32(120); w < 700; w += 7 {
		l.Resize(fyne.NewSize(w, 100))
		for _, line := range strings.Split(l.Text, "\n")[1:] {
			if r := []rune(line); len(r) > 0 && strings.ContainsRune(noLineStart, r[0]) {
				t.Fatalf("width %v: a line starts with %q:\n%s", w, r[0], l.Text)
			}
		}
		if strings.ReplaceAll(l.Text, "\n", "") != l.source {
			t.Fatalf("text changed at width %v", w)
		}
	}
	if l.MinSize().Height < 2*fyne.MeasureText("あ", theme.TextSize(), fyne.TextStyle{}).Height {
		t.Fatal("the height does not follow the lines")
	}
}
