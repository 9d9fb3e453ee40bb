package server

import "testing"

func TestSettlerGivesBackOncePerSettledBurst(t *testing.T) {
	var st settler
	freed := 0
	st.free = func() { freed++ }
	steps := []struct {
		name   string
		opened int64 // connections that come up before the tick
		want   bool
	}{
		{"quiet at start", 0, false},
		{"a burst coming up", settleBurst + 10, false},
		{"still coming", 500, false},
		{"settled", 0, true},
		{"settled, already given back", 0, false},
		{"a few more", 20, false},
		{"a few settled: not a burst", 0, false},
		{"another burst", settleBurst, false},
		{"it settles", 0, true},
	}
	for _, s := range steps {
		st.opened.Add(s.opened)
		if got := st.tick(); got != s.want {
			t.Errorf("%s: gave back %v, want %v", s.name, got, s.want)
		}
	}
	if freed != 2 {
		t.Errorf("memory given back %d times, want 2", freed)
	}
}
