package store

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReplyTimes(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	var (
		r     ReplyTimes
		calls int
		value int64
	)
	compute := func() (int64, error) { calls++; return value, nil }
	get := func(org int64, at time.Duration) int64 {
		t.Helper()
		v, err := r.Get(org, t0.Add(at), compute)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, step := range []struct {
		name      string
		org       int64
		at        time.Duration
		answered  bool // Answered(org) before the read
		value     int64
		want      int64
		wantCalls int
	}{
		{"first read computes", 1, 0, false, 0, 0, 1},
		{"kept: too few answers", 1, time.Second, false, 0, 0, 1},
		{"an answer where there was no figure: computed at once", 1, 2 * time.Second, true, 1800, 1800, 2},
		{"a figure is kept through more answers", 1, 3 * time.Second, true, 1500, 1800, 2},
		{"another organisation is its own", 2, 3 * time.Second, false, 60, 60, 3},
		{"computed again when due", 1, 2*time.Second + ReplyTimeKept, false, 1500, 1500, 4},
		{"a clock that went back computes again", 1, 0, false, 1200, 1200, 5},
	} {
		if step.answered {
			r.Answered(step.org)
		}
		value = step.value
		if got := get(step.org, step.at); got != step.want || calls != step.wantCalls {
			t.Fatalf("%s: got %d after %d computations, want %d after %d", step.name, got, calls, step.want, step.wantCalls)
		}
	}
	// A failed computation keeps nothing.
	boom := errors.New("boom")
	var fresh ReplyTimes
	if _, err := fresh.Get(1, t0, func() (int64, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("error = %v", err)
	}
	if v, _ := fresh.Get(1, t0, func() (int64, error) { return 7, nil }); v != 7 {
		t.Fatalf("after a failure: %d", v)
	}
}

func TestReplyTimesComputeOnceForManyAtOnce(t *testing.T) {
	var (
		r       ReplyTimes
		calls   atomic.Int32
		release = make(chan struct{})
		wg      sync.WaitGroup
	)
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	for range 50 {
		wg.Go(func() {
			v, err := r.Get(1, now, func() (int64, error) {
				calls.Add(1)
				<-release
				return 42, nil
			})
			if err != nil || v != 42 {
				t.Errorf("got %d, %v", v, err)
			}
		})
	}
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("computed %d times for 50 readers at once", n)
	}
}
