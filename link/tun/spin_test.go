package tun

import (
	"sync"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/link"
)

// TestNoSpin: a stack whose Poll always asks for the current time is not
// polled in a loop. Among the times the driver passes to Poll, any
// link.MaxEagerPolls+2 polls in a row span at least link.EagerBackoff
// (the driver's own clock, not how long the test took).
func TestNoSpin(t *testing.T) {
	const want = 4 * (link.MaxEagerPolls + 1)
	var mu sync.Mutex
	var times []time.Time
	st := &echoStack{}
	st.onPoll = func(now time.Time, _ func([]byte)) time.Time {
		mu.Lock()
		times = append(times, now)
		mu.Unlock()
		return now
	}
	newTestDriver(t, st, Config{Interfaces: []Interface{{Device: newFakeDev("t0", 1), MTU: 1500}}})
	waitFor(t, "the polls", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(times) >= want
	})
	mu.Lock()
	got := append([]time.Time(nil), times[:want]...)
	mu.Unlock()
	for i := 0; i+link.MaxEagerPolls+1 < len(got); i++ {
		if d := got[i+link.MaxEagerPolls+1].Sub(got[i]); d < link.EagerBackoff {
			t.Fatalf("polls %d to %d came within %v of driver time, want at least %v", i, i+link.MaxEagerPolls+1, d, link.EagerBackoff)
		}
	}
}
