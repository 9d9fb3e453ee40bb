package clientguide

import (
	"strings"
	"testing"
)

func TestRetentionWords(t *testing.T) {
	tests := []struct {
		seconds int64
		want    string
	}{
		{0, ""},
		{3600, "1時間"},
		{12 * 3600, "12時間"},
		{86400, "1日"},
		{7 * 86400, "7日"},
		{365 * 86400, "365日"},
	}
	for _, tt := range tests {
		if got := (Data{RetentionSeconds: tt.seconds}).Retention(); got != tt.want {
			t.Errorf("Retention(%d) = %q, want %q", tt.seconds, got, tt.want)
		}
	}
}

// Unknown settings (the served page) say where the app shows them; known
// ones are stated; every value is escaped.
func TestWrite(t *testing.T) {
	var b strings.Builder
	if err := Write(&b, Data{}); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "最初の画面に書いてあります") || !strings.Contains(out, "ログイン用紙のアドレス") {
		t.Fatalf("unknown settings: %s", out)
	}
	b.Reset()
	if err := Write(&b, Data{AppURL: "https://x.example/a/q/", RetentionSeconds: 30 * 86400, Contact: "<b>保健室</b>"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"30日後", "https://x.example/a/q/", "&lt;b&gt;保健室"} {
		if !strings.Contains(out, want) {
			t.Errorf("guide lacks %q", want)
		}
	}
}
