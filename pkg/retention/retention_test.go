package retention

import (
	"testing"
	"time"
)

func TestExpiresAt(t *testing.T) {
	c := time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.FixedZone("JST", 9*3600))
	got := ExpiresAt(c, DefaultPeriod)
	want := time.Date(2026, 11, 30, 1, 0, 0, 123000000, time.UTC)
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("ExpiresAt = %v, want %v", got, want)
	}
}

func TestExpired(t *testing.T) {
	exp := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		now  time.Time
		want bool
	}{
		{exp.Add(-time.Millisecond), false},
		{exp, true},
		{exp.Add(time.Hour), true},
	}
	for _, tt := range tests {
		if got := Expired(exp, tt.now); got != tt.want {
			t.Errorf("Expired(%v) = %v, want %v", tt.now, got, tt.want)
		}
	}
}

func TestNextWipe(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		exps []time.Time
		wait time.Duration
		ok   bool
	}{
		{"none", nil, 0, false},
		{"zero ignored", []time.Time{{}}, 0, false},
		{"earliest wins", []time.Time{now.Add(time.Hour), now.Add(time.Minute), now.Add(2 * time.Hour)}, time.Minute, true},
		{"past is now", []time.Time{now.Add(-time.Hour), now.Add(time.Minute)}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wait, ok := NextWipe(now, tt.exps...)
			if wait != tt.wait || ok != tt.ok {
				t.Fatalf("NextWipe = %v,%v want %v,%v", wait, ok, tt.wait, tt.ok)
			}
		})
	}
}

func TestShorten(t *testing.T) {
	c := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	exp := ExpiresAt(c, 7*24*time.Hour)
	if got := Shorten(c, exp, 24*time.Hour); !got.Equal(c.Add(24 * time.Hour)) {
		t.Fatalf("shorter period not applied: %v", got)
	}
	if got := Shorten(c, exp, 30*24*time.Hour); !got.Equal(exp) {
		t.Fatalf("longer period extended a promise: %v", got)
	}
}

func TestValidate(t *testing.T) {
	for _, p := range []time.Duration{MinPeriod, DefaultPeriod, MaxPeriod} {
		if err := Validate(p); err != nil {
			t.Errorf("Validate(%s) = %v", p, err)
		}
	}
	for _, p := range []time.Duration{0, time.Minute, MaxPeriod + time.Hour} {
		if err := Validate(p); err == nil {
			t.Errorf("Validate(%s) accepted", p)
		}
	}
}
