package hours

import (
	"testing"
	"time"
)

func TestToday(t *testing.T) {
	tests := []struct {
		zone string
		now  time.Time
		want string
	}{
		{"Asia/Tokyo", time.Date(2026, 11, 23, 14, 59, 0, 0, time.UTC), "2026-11-23"},
		{"Asia/Tokyo", time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC), "2026-11-24"},
		{"", time.Date(2026, 11, 23, 23, 59, 0, 0, time.UTC), "2026-11-23"},
		{"Nowhere/Unknown", time.Date(2026, 11, 23, 23, 59, 0, 0, time.UTC), "2026-11-23"},
	}
	for _, tt := range tests {
		for range 2 { // the second time from the cache
			if got := Today(Schedule{TimeZone: tt.zone}, tt.now).Format("2006-01-02"); got != tt.want {
				t.Errorf("Today(%q, %v) = %s, want %s", tt.zone, tt.now, got, tt.want)
			}
		}
	}
}
