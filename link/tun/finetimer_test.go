package tun

import (
	"sync/atomic"
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

// TestSubMillisecondDeadline checks that a deadline closer than a Go
// timer's resolution makes the driver poll again, at or after it.
func TestSubMillisecondDeadline(t *testing.T) {
	dev := newFakeDev("t0", 1)
	var deadline atomic.Int64
	pollc := make(chan time.Time, 16)
	st := &echoStack{pollc: pollc}
	st.onPoll = func(now time.Time, _ func([]byte)) time.Time {
		if deadline.Load() == 0 {
			at := now.Add(300 * time.Microsecond)
			deadline.Store(at.UnixNano())
			return at
		}
		return time.Time{}
	}
	newTestDriver(t, st, Config{Interfaces: []Interface{{Device: dev, MTU: 1500}}})
	<-pollc // the first poll asked for the deadline
	select {
	case now := <-pollc:
		if now.UnixNano() < deadline.Load() {
			t.Errorf("polled at %v, before the deadline %v", now, time.Unix(0, deadline.Load()))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the deadline never fired")
	}
}
