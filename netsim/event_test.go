package netsim

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestEventHeapOrder moves timers at random (schedule, reschedule, stop)
// and checks that the queue gives them back in (time, sequence) order and
// that every timer knows its place.
func TestEventHeapOrder(t *testing.T) {
	s := New(1)
	rng := rand.New(rand.NewPCG(3, 4))
	timers := make([]*Timer, 300)
	for i := range timers {
		timers[i] = s.NewTimer(func() {})
	}
	for range 5000 {
		tm := timers[rng.IntN(len(timers))]
		if rng.IntN(4) == 0 {
			tm.Stop()
		} else {
			tm.resetNS(rng.Int64N(1000))
		}
	}
	for i, e := range s.events.e {
		if e.t.idx != i || e.at != e.t.at || e.seq != e.t.seq {
			t.Fatalf("entry %d: timer index %d, key (%d, %d) against the timer's (%d, %d)", i, e.t.idx, e.at, e.seq, e.t.at, e.t.seq)
		}
	}
	var want []*Timer
	for _, tm := range timers {
		if tm.Pending() {
			want = append(want, tm)
		}
	}
	slices.SortFunc(want, func(a, b *Timer) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.seq, b.seq)) })
	for i, w := range want {
		got := s.events.Min()
		s.events.Pop()
		if got != w {
			t.Fatalf("pop %d: timer at (%d, %d), want (%d, %d)", i, got.at, got.seq, w.at, w.seq)
		}
		if got.Pending() {
			t.Fatalf("pop %d: a popped timer is still pending", i)
		}
	}
	if n := s.events.Len(); n != 0 {
		t.Fatalf("%d timers left after popping all", n)
	}
}
