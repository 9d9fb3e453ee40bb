package sendq

import (
	"sync"
	"testing"
)

func TestBoundAndOrder(t *testing.T) {
	q := New[int](3)
	for i := 1; i <= 3; i++ {
		if !q.Push(i) {
			t.Fatalf("push %d refused", i)
		}
	}
	if q.Push(4) {
		t.Fatal("push beyond the limit accepted")
	}
	select {
	case <-q.Ready():
	default:
		t.Fatal("not signalled")
	}
	got := q.Take(nil)
	if len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("took %v", got)
	}
	if !q.Push(5) {
		t.Fatal("push after take refused")
	}
	if got := q.Take(got[:0]); len(got) != 1 || got[0] != 5 {
		t.Fatalf("took %v", got)
	}
}

func TestConcurrentNothingLost(t *testing.T) {
	q := New[int](1 << 20)
	const writers, each = 8, 5000
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				q.Push(w*each + i)
			}
		}()
	}
	done := make(chan struct{})
	seen := map[int]bool{}
	go func() {
		defer close(done)
		var buf []int
		for len(seen) < writers*each {
			<-q.Ready()
			buf = q.Take(buf)
			for _, v := range buf {
				if seen[v] {
					t.Errorf("%d twice", v)
				}
				seen[v] = true
			}
			clear(buf)
			buf = buf[:0]
		}
	}()
	wg.Wait()
	<-done
}
