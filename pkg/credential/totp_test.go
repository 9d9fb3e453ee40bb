package credential

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestTOTP(t *testing.T) {
	e, err := NewTOTP("Taiwa", "tanaka")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.URL, "otpauth://totp/Taiwa:tanaka?") || !bytes.HasPrefix(e.QRPNG, []byte("\x89PNG")) {
		t.Fatalf("enrollment %q, png %d bytes", e.URL, len(e.QRPNG))
	}
	now := time.Date(2026, 11, 23, 3, 0, 10, 0, time.UTC)
	code, err := TOTPCode(e.Secret, now)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		code string
		at   time.Time
		ok   bool
		step int64
	}{
		{"now", code, now, true, now.Unix() / 30},
		{"one step late", code, now.Add(30 * time.Second), true, now.Unix() / 30},
		{"two steps late", code, now.Add(61 * time.Second), false, 0},
		{"spaces typed", code[:3] + " " + code[3:], now, true, now.Unix() / 30},
		{"wrong", "000000", now, code == "000000", now.Unix() / 30},
		{"not six digits", "12345", now, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, ok := TOTPStep(tt.code, e.Secret, tt.at)
			if ok != tt.ok || (ok && step != tt.step) {
				t.Fatalf("TOTPStep = %d, %v; want %d, %v", step, ok, tt.step, tt.ok)
			}
		})
	}
}
