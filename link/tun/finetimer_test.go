package tun

import (
	"testing"
	"time"
)

// TestFineTimerSooner checks that the fine timer rings for the latest
// deadline handed to it, a sooner one replacing a later one it is
// already sleeping towards, and not before that deadline.
func TestFineTimerSooner(t *testing.T) {
	f := newFineTimer()
	done := make(chan struct{})
	defer close(done)
	go f.run(done)
	later := time.Now().Add(time.Hour)
	f.arm(later)
	time.Sleep(time.Millisecond) // let the sleeper take it (or not: either way)
	sooner := time.Now().Add(500 * time.Microsecond)
	f.arm(sooner)
	select {
	case got := <-f.ring:
		if !got.Equal(sooner) {
			t.Errorf("rang for %v, want the sooner deadline %v", got, sooner)
		}
		if time.Now().Before(sooner) {
			t.Error("rang before the deadline")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sooner deadline never rang")
	}
}
