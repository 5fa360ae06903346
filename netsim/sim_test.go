package netsim

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mptcp-go/mptcp/link"
)

func TestEventsRunInTimeThenSchedulingOrder(t *testing.T) {
	s := New(1)
	var got []string
	rec := func(name string) func() { return func() { got = append(got, name) } }
	s.Schedule(Epoch.Add(2*time.Second), rec("c"))
	s.Schedule(Epoch.Add(time.Second), rec("a"))
	s.Schedule(Epoch.Add(2*time.Second), rec("d"))
	s.Schedule(Epoch.Add(time.Second), rec("b"))
	// An event scheduled for now from an event runs after the events
	// already due now, never before the current one.
	s.Schedule(Epoch.Add(time.Second), func() {
		got = append(got, "e")
		s.Schedule(Epoch, rec("f"))
	})
	s.Schedule(Epoch.Add(time.Second), rec("g"))
	s.Run()
	want := []string{"a", "b", "e", "g", "f", "c", "d"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event order (-want +got):\n%s", diff)
	}
	if s.Elapsed() != 2*time.Second {
		t.Errorf("clock after Run = %v, want 2s", s.Elapsed())
	}
}

func TestTimerResetStop(t *testing.T) {
	s := New(1)
	var fired []time.Duration
	tm := s.NewTimer(func() { fired = append(fired, s.Elapsed()) })
	if tm.Pending() || !tm.When().IsZero() {
		t.Fatal("new timer is pending")
	}
	tm.ResetAfter(5 * time.Second)
	tm.Reset(Epoch.Add(3 * time.Second)) // moves earlier
	if got := tm.When().Sub(Epoch); got != 3*time.Second {
		t.Errorf("When = %v, want 3s", got)
	}
	other := s.After(time.Second, func() {
		tm.ResetAfter(time.Second) // from 1s: fires at 2s, not 3s
	})
	_ = other
	s.RunUntil(Epoch.Add(10 * time.Second))
	if diff := cmp.Diff([]time.Duration{2 * time.Second}, fired); diff != "" {
		t.Errorf("firings (-want +got):\n%s", diff)
	}
	tm.ResetAfter(time.Second)
	if !tm.Stop() {
		t.Error("Stop of a pending timer returned false")
	}
	if tm.Stop() {
		t.Error("second Stop returned true")
	}
	s.Run()
	if len(fired) != 1 {
		t.Errorf("stopped timer fired: %v", fired)
	}
	if s.Elapsed() != 10*time.Second {
		t.Errorf("RunUntil left the clock at %v, want 10s", s.Elapsed())
	}
}

func TestRunUntilIncludesBoundaryAndHalt(t *testing.T) {
	s := New(1)
	n := 0
	for i := 1; i <= 5; i++ {
		s.After(time.Duration(i)*time.Second, func() { n++ })
	}
	s.RunUntil(Epoch.Add(2 * time.Second))
	if n != 2 {
		t.Errorf("RunUntil(2s) ran %d events, want 2 (boundary included)", n)
	}
	s.After(500*time.Millisecond, func() { s.Halt() })
	s.RunFor(time.Hour)
	if n != 2 || s.Elapsed() != 2500*time.Millisecond {
		t.Errorf("after Halt: %d events, clock %v; want 2, 2.5s", n, s.Elapsed())
	}
	s.Run()
	if n != 5 || s.Pending() != 0 {
		t.Errorf("Run after Halt: %d events, %d pending; want 5, 0", n, s.Pending())
	}
}

// Many timers moved around at random must still fire in (time, schedule)
// order: a check of the heap against a simple model.
func TestTimerHeapAgainstModel(t *testing.T) {
	s := New(1)
	r := s.Rand("test")
	type rec struct {
		id  int
		at  time.Duration
		seq int
	}
	var fired []rec
	timers := make([]*Timer, 200)
	want := map[int]rec{}
	seq := 0
	for i := range timers {
		i := i
		timers[i] = s.NewTimer(func() { fired = append(fired, rec{id: i, at: s.Elapsed()}) })
	}
	for k := 0; k < 5000; k++ {
		i := r.IntN(len(timers))
		if r.IntN(4) == 0 {
			timers[i].Stop()
			delete(want, i)
			continue
		}
		at := time.Duration(r.IntN(50)) * time.Millisecond
		timers[i].Reset(Epoch.Add(at))
		seq++
		want[i] = rec{id: i, at: at, seq: seq}
	}
	s.Run()
	if len(fired) != len(want) {
		t.Fatalf("%d timers fired, want %d", len(fired), len(want))
	}
	for k := 1; k < len(fired); k++ {
		a, b := want[fired[k-1].id], want[fired[k].id]
		if a.at > b.at || (a.at == b.at && a.seq > b.seq) {
			t.Fatalf("timer %d (%v, seq %d) fired before %d (%v, seq %d)", a.id, a.at, a.seq, b.id, b.at, b.seq)
		}
	}
	for _, f := range fired {
		if f.at != want[f.id].at {
			t.Errorf("timer %d fired at %v, want %v", f.id, f.at, want[f.id].at)
		}
	}
}

func TestRandStreamsDependOnSeedAndName(t *testing.T) {
	draw := func(seed uint64, name string) uint64 { return New(seed).Rand(name).Uint64() }
	if a, b := draw(1, "x"), draw(1, "x"); a != b {
		t.Error("same seed and name gave different streams")
	}
	if draw(1, "x") == draw(2, "x") {
		t.Error("different seeds gave the same stream")
	}
	if draw(1, "x") == draw(1, "y") {
		t.Error("different names gave the same stream")
	}
	s := New(1)
	if s.Rand("x").Uint64() == s.Rand("x").Uint64() {
		t.Error("two components named alike share a stream")
	}
}

// spinner is a stack that always asks to be polled again now.
type spinner struct{ polls int }

func (sp *spinner) Deliver(time.Time, []byte) {}
func (sp *spinner) Poll(now time.Time, _ func([]byte)) time.Time {
	sp.polls++
	return now
}

// TestSpinningStackPaced: a host polls a stack that keeps asking for the
// present at most link.MaxEagerPolls+1 times per link.EagerBackoff of
// virtual time, so the clock moves on (without the guard the run stops
// with ErrStalled, here after 100000 events at one instant), and counts it.
func TestSpinningStackPaced(t *testing.T) {
	s := New(1)
	s.SetStallLimit(100000)
	h := must(s.NewHost("h"))
	sp := &spinner{}
	s.After(time.Second, func() { h.SetStack(sp) })
	s.RunFor(time.Second + 10*link.EagerBackoff)
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	// The instants 1 s, 1 s + EagerBackoff, ..., 1 s + 10 EagerBackoff.
	if max := 11 * (link.MaxEagerPolls + 1); sp.polls > max {
		t.Errorf("%d polls in 10 backoffs of virtual time, want at most %d", sp.polls, max)
	}
	if b := h.Stats().PollBackoffs; b < 10 {
		t.Errorf("PollBackoffs = %d, want at least 10", b)
	}
}

// TestStallDetected: events that keep scheduling themselves at one
// instant stop the run with ErrStalled instead of hanging it.
func TestStallDetected(t *testing.T) {
	s := New(1)
	s.SetStallLimit(1000)
	n := 0
	var again func()
	again = func() { n++; s.After(0, again) }
	s.After(time.Second, again)
	s.RunFor(time.Hour)
	if !errors.Is(s.Err(), ErrStalled) {
		t.Fatalf("Err = %v, want ErrStalled", s.Err())
	}
	if s.Elapsed() != time.Second || n != 1001 {
		t.Errorf("stopped at %v after %d events; want 1s, 1001", s.Elapsed(), n)
	}
}
