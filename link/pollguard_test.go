package link

import (
	"testing"
	"time"
)

// TestPollGuard drives a stack that always asks for the present with a
// fake clock that moves only when the guard says so: it is polled at most
// MaxEagerPolls+1 times per EagerBackoff of driver time, while answers in
// the future, zero answers and short runs of "now" pass unchanged.
func TestPollGuard(t *testing.T) {
	var g PollGuard
	start := time.Unix(1000, 0)
	now := start
	polls := 0
	for now.Before(start.Add(10 * EagerBackoff)) {
		polls++
		if polls > 100*(MaxEagerPolls+1) {
			t.Fatalf("%d polls and the clock is still at %v", polls, now.Sub(start))
		}
		next := g.Next(now, now) // the stack always answers now
		if next.Before(now) {
			t.Fatalf("Next(%v) went back to %v", now, next)
		}
		now = next
	}
	if max := 10 * (MaxEagerPolls + 1); polls > max {
		t.Errorf("%d polls in 10 backoffs of driver time, want at most %d", polls, max)
	}
	if g.Backoffs() != 10 {
		t.Errorf("Backoffs = %d, want 10", g.Backoffs())
	}

	var h PollGuard
	later := start.Add(time.Second)
	for range 3 * MaxEagerPolls {
		if got := h.Next(start, start.Add(-time.Second)); !got.Equal(start) {
			t.Fatalf("answer in the past: Next = %v, want now", got)
		}
		// A future or zero answer between runs of "now" restarts the count.
		if got := h.Next(start, later); !got.Equal(later) {
			t.Fatalf("Next(future) = %v, want %v", got, later)
		}
		if got := h.Next(start, time.Time{}); !got.IsZero() {
			t.Fatalf("Next(zero) = %v, want zero", got)
		}
	}
	if h.Backoffs() != 0 {
		t.Errorf("a stack that answers now between other answers was deferred %d times", h.Backoffs())
	}
}
