package credential

import (
	"strings"
	"testing"
)

func TestCheckStaffPassword(t *testing.T) {
	tests := []struct {
		name, password string
		ok             bool
	}{
		{"a passphrase", "青い鳥が朝に三回鳴いた", false}, // 11 characters
		{"a long passphrase", "青い鳥が朝に三回鳴いた日曜日", true},
		{"random words", "correct horse battery", true},
		{"too short", "Xk9#mq2!", false},
		{"contains the login ID", "my-tanaka01-password!", false},
		{"contains the name", "xyz-suzuki-1987-ok", false},
		{"common with digits", "password2026", false},
		{"common stem", "Sakura123456", false},
		{"long enough around a common word", "my sakura blooms in april", true},
		{"one character", "aaaaaaaaaaaaaaaa", false},
		{"digits in a row", "123456789012", false},
		{"letters in a row", "abcdefghijklm", false},
		{"too long", strings.Repeat("abcdefgh12", 52), false},                // 520 bytes
		{"128 kanji-heavy characters fit", strings.Repeat("青い鳥が朝に三回鳴いた日", 14), true}, // 168 characters, 504 bytes
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckStaffPassword(tt.password, "tanaka01", "Suzuki")
			if (err == nil) != tt.ok {
				t.Fatalf("%q: %v, want ok=%v", tt.password, err, tt.ok)
			}
		})
	}
}
