package hours

import (
	"encoding/json"
	"testing"
	"time"
)

func tokyo(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// weekdays 9:00-17:00 in Tokyo; 2026-11-23 is a Monday.
func officeHours() Schedule {
	s := Schedule{TimeZone: "Asia/Tokyo"}
	for d := time.Monday; d <= time.Friday; d++ {
		s.Spans = append(s.Spans, Span{Day: d, Start: 9 * 60, End: 17 * 60})
	}
	return s
}

func TestAt(t *testing.T) {
	s := officeHours()
	future := tokyo(t, "2026-11-23 12:00")
	tests := []struct {
		name   string
		now    string
		pause  Pause
		state  State
		reopen string // "" for none
	}{
		{"open mid-morning", "2026-11-23 10:00", Pause{}, StateOpen, ""},
		{"opening minute is open", "2026-11-23 09:00", Pause{}, StateOpen, ""},
		{"closing minute is closed", "2026-11-23 17:00", Pause{}, StateClosed, "2026-11-24 09:00"},
		{"early morning", "2026-11-23 06:30", Pause{}, StateClosed, "2026-11-23 09:00"},
		{"friday night reopens monday", "2026-11-27 20:00", Pause{}, StateClosed, "2026-11-30 09:00"},
		{"sunday", "2026-11-29 10:00", Pause{}, StateClosed, "2026-11-30 09:00"},
		{"paused without end", "2026-11-23 10:00", Pause{On: true}, StatePaused, ""},
		{"paused until noon", "2026-11-23 10:00", Pause{On: true, Until: &future}, StatePaused, "2026-11-23 12:00"},
		{"pause expired", "2026-11-23 13:00", Pause{On: true, Until: &future}, StateOpen, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := At(s, tt.pause, tokyo(t, tt.now))
			if got.State != tt.state {
				t.Fatalf("state = %s, want %s", got.State, tt.state)
			}
			switch {
			case tt.reopen == "" && got.ReopensAt != nil:
				t.Fatalf("reopens at %v, want none", got.ReopensAt)
			case tt.reopen != "" && (got.ReopensAt == nil || !got.ReopensAt.Equal(tokyo(t, tt.reopen))):
				t.Fatalf("reopens at %v, want %s", got.ReopensAt, tt.reopen)
			}
		})
	}
}

func TestEmptyScheduleAlwaysOpen(t *testing.T) {
	if a := At(Schedule{}, Pause{}, time.Now()); a.State != StateOpen {
		t.Fatalf("state = %s", a.State)
	}
}

func TestWindow(t *testing.T) {
	s := officeHours()
	tests := []struct {
		now  string
		want bool
	}{
		{"2026-11-23 08:01", true},  // 59 min before opening
		{"2026-11-23 07:59", false}, // 61 min before
		{"2026-11-23 17:59", true},  // 59 min after closing
		{"2026-11-23 18:01", false},
		{"2026-11-23 12:00", true},
	}
	for _, tt := range tests {
		t.Run(tt.now, func(t *testing.T) {
			if got := Window(s, time.Hour, tokyo(t, tt.now)); got != tt.want {
				t.Fatalf("Window = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		s    Schedule
		ok   bool
	}{
		{"office", officeHours(), true},
		{"empty", Schedule{}, true},
		{"bad zone", Schedule{TimeZone: "Mars/Olympus"}, false},
		{"reversed", Schedule{Spans: []Span{{Day: 1, Start: 600, End: 500}}}, false},
		{"bad day", Schedule{Spans: []Span{{Day: 9, Start: 0, End: 60}}}, false},
		{"to midnight", Schedule{Spans: []Span{{Day: 1, Start: 1320, End: 1440}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestClockJSON(t *testing.T) {
	var sp Span
	if err := json.Unmarshal([]byte(`{"day":1,"start":"09:30","end":"24:00"}`), &sp); err != nil {
		t.Fatal(err)
	}
	if sp.Start != 570 || sp.End != 1440 {
		t.Fatalf("got %+v", sp)
	}
	for _, bad := range []string{`"9:30"`, `"25:00"`, `"24:01"`, `"ab:cd"`, `"12:60"`} {
		var c Clock
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	b, _ := json.Marshal(Span{Day: 2, Start: 540, End: 1020})
	if string(b) != `{"day":2,"start":"09:00","end":"17:00"}` {
		t.Fatalf("marshal = %s", b)
	}
}
