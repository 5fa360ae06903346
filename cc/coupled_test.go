package cc

import (
	"math"
	"testing"
	"time"
)

// coupledAlgos are the algorithms that join a Group.
var coupledAlgos = []string{"lia", "olia", "balia", "wvegas"}

// path describes one subflow for a test group: its window in segments and
// its smoothed RTT (0: none measured yet).
type path struct {
	w   int
	rtt time.Duration
}

// newCoupledGroup returns controllers of algo in one group, each in
// congestion avoidance at the window and RTT of its path.
func newCoupledGroup(t testing.TB, algo string, paths []path) (*Group, []Controller) {
	t.Helper()
	g := NewGroup()
	cs := make([]Controller, len(paths))
	for i, p := range paths {
		c := mustNew(t, algo, Params{MSS: tmss, InitialWindow: 2 * p.w * tmss, Group: g})
		// A loss before any RTT is known halves every algorithm's window
		// and leaves slow start.
		c.OnCongestionEvent(epoch0, Loss{FlightSize: 2 * p.w * tmss})
		c.OnRecoveryExit(epoch0)
		if c.Window() != p.w*tmss || c.InSlowStart() {
			t.Fatalf("%s: setup: window %d, slow start %v; want %d in congestion avoidance", algo, c.Window(), c.InSlowStart(), p.w*tmss)
		}
		cs[i] = c
	}
	for i, p := range paths {
		cs[i].OnAck(epoch0, Ack{SRTT: p.rtt, MinRTT: p.rtt}) // publishes the RTT only
	}
	return g, cs
}

// increaseOf returns the increase in bytes the coupled controller c would
// apply for an ACK of acked bytes in congestion avoidance.
func increaseOf(t *testing.T, c Controller, acked int) float64 {
	t.Helper()
	switch c := c.(type) {
	case *lia:
		return c.increase(acked)
	case *olia:
		return c.increase(acked)
	case *balia:
		return c.increase(acked)
	}
	t.Fatalf("%T has no per-ACK increase", c)
	return 0
}

func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want))
}

func TestCoupledJoinTheirGroup(t *testing.T) {
	for _, name := range coupledAlgos {
		g := NewGroup()
		c := mustNew(t, name, Params{MSS: tmss, Group: g})
		if g.Len() != 1 || g.Members()[0].Controller() != c {
			t.Errorf("%s: did not join the group in Params", name)
		}
		// Without a group it works alone.
		c = mustNew(t, name, Params{MSS: tmss})
		ackRound(c, epoch0, 10*time.Millisecond)
		if c.Window() != 2*DefaultInitialSegments*tmss {
			t.Errorf("%s without a group: window %v segments after a slow-start round, want 20", name, segs(c.Window()))
		}
	}
}

// TestCoupledSingleSubflowIsReno: with one subflow LIA, OLIA and BALIA grow
// and shrink as NewReno does, within the rounding of a per-ACK increase.
func TestCoupledSingleSubflowIsReno(t *testing.T) {
	for _, name := range []string{"lia", "olia", "balia"} {
		for _, grouped := range []bool{false, true} {
			p := Params{MSS: tmss, InitialWindow: 100 * tmss}
			if grouped {
				p.Group = NewGroup()
			}
			c := mustNew(t, name, p)
			r := mustNew(t, "reno", Params{MSS: tmss, InitialWindow: 100 * tmss})
			now := epoch0
			for round := range 40 {
				if round%10 == 0 {
					for _, x := range []Controller{c, r} {
						x.OnCongestionEvent(now, Loss{FlightSize: x.Window(), Lost: tmss})
						x.OnRecoveryExit(now)
					}
				}
				ackRound(c, now, 50*time.Millisecond)
				now = ackRound(r, now, 50*time.Millisecond)
				if d := c.Window() - r.Window(); d < -tmss || d > tmss {
					t.Fatalf("%s (group %v), round %d: window %v segments, NewReno's %v", name, grouped, round, segs(c.Window()), segs(r.Window()))
				}
			}
		}
	}
}

// TestCoupledIncreaseReducesToReno: the per-ACK increase of a lone subflow
// is exactly NewReno's acked*MSS/cwnd.
func TestCoupledIncreaseReducesToReno(t *testing.T) {
	for _, name := range []string{"lia", "olia", "balia"} {
		_, cs := newCoupledGroup(t, name, []path{{40, 30 * time.Millisecond}})
		if got, want := increaseOf(t, cs[0], tmss), float64(tmss)*tmss/(40*tmss); !near(got, want) {
			t.Errorf("%s: increase %v bytes per MSS acked, want %v", name, got, want)
		}
	}
}

// TestCoupledLeaveOutInactiveAndUnmeasured: a member marked inactive, or
// without an RTT, is not counted, so a subflow beside it grows as alone.
func TestCoupledLeaveOutInactiveAndUnmeasured(t *testing.T) {
	alone := float64(tmss) * tmss / (20 * tmss)
	for _, name := range []string{"lia", "olia", "balia"} {
		g, cs := newCoupledGroup(t, name, []path{{20, 10 * time.Millisecond}, {50, 10 * time.Millisecond}})
		if got := increaseOf(t, cs[0], tmss); near(got, alone) {
			t.Fatalf("%s: two active members already give the single-path increase %v", name, got)
		}
		g.Members()[1].SetActive(false)
		if g.Members()[1].Active() {
			t.Fatal("SetActive(false) did not stick")
		}
		if got := increaseOf(t, cs[0], tmss); !near(got, alone) {
			t.Errorf("%s beside an inactive member: increase %v, want the single-path %v", name, got, alone)
		}
		g.Members()[1].SetActive(true)

		_, cs = newCoupledGroup(t, name, []path{{20, 10 * time.Millisecond}, {50, 0}})
		if got := increaseOf(t, cs[0], tmss); !near(got, alone) {
			t.Errorf("%s beside a member without RTT: increase %v, want the single-path %v", name, got, alone)
		}
		// The subflow being acknowledged counts even when marked inactive.
		g, cs = newCoupledGroup(t, name, []path{{20, 10 * time.Millisecond}, {20, 10 * time.Millisecond}})
		both := increaseOf(t, cs[0], tmss)
		g.Members()[0].SetActive(false)
		if got := increaseOf(t, cs[0], tmss); !near(got, both) {
			t.Errorf("%s: an inactive subflow's own ACK: increase %v, want %v as when active", name, got, both)
		}
	}
}

func TestCoupledRemovedFallsBackToReno(t *testing.T) {
	for _, name := range []string{"lia", "olia", "balia"} {
		g, cs := newCoupledGroup(t, name, []path{{20, 10 * time.Millisecond}, {20, 10 * time.Millisecond}})
		if !g.Remove(cs[0]) {
			t.Fatalf("%s: not a member", name)
		}
		if got, want := increaseOf(t, cs[0], tmss), float64(tmss)*tmss/(20*tmss); !near(got, want) {
			t.Errorf("%s after removal: increase %v, want NewReno's %v", name, got, want)
		}
		// The remaining member now grows as a lone subflow.
		if got, want := increaseOf(t, cs[1], tmss), float64(tmss)*tmss/(20*tmss); !near(got, want) {
			t.Errorf("%s, the other member after the removal: increase %v, want %v", name, got, want)
		}
	}
}

// TestCoupledMixedGroup: a group holding different algorithms (a
// misconfiguration) still gives finite increases, within twice NewReno's
// (OLIA may exceed NewReno's on a best path that has a short RTT).
func TestCoupledMixedGroup(t *testing.T) {
	g := NewGroup()
	var cs []Controller
	for _, name := range coupledAlgos {
		c := mustNew(t, name, Params{MSS: tmss, InitialWindow: 40 * tmss, Group: g})
		c.OnCongestionEvent(epoch0, Loss{FlightSize: 40 * tmss})
		c.OnRecoveryExit(epoch0)
		cs = append(cs, c)
	}
	r := mustNew(t, "reno", Params{MSS: tmss})
	g.Join(r) // an uncoupled controller forced in
	g.Members()[len(cs)].Observe(Ack{SRTT: 5 * time.Millisecond})
	for i, c := range cs {
		c.OnAck(epoch0, Ack{SRTT: time.Duration(i+1) * 10 * time.Millisecond})
	}
	for _, c := range cs[:3] {
		inc := increaseOf(t, c, tmss)
		if math.IsNaN(inc) || math.IsInf(inc, 0) || math.Abs(inc) > 2*float64(tmss)*tmss/float64(c.Window()) {
			t.Errorf("%T in a mixed group: increase %v", c, inc)
		}
	}
}

// TestCoupledGrowAccumulates checks the fractional bookkeeping: increases
// below a byte add up, and a decrease lowers ssthresh with the window.
func TestCoupledGrowAccumulates(t *testing.T) {
	_, cs := newCoupledGroup(t, "lia", []path{{20, 10 * time.Millisecond}})
	l := cs[0].(*lia)
	for range 4 {
		l.grow(0.3)
	}
	if l.cwnd != 20*tmss+1 {
		t.Errorf("four increases of 0.3 bytes: window %d, want %d", l.cwnd, 20*tmss+1)
	}
	l.grow(-2.5)
	if l.cwnd != 20*tmss-1 || l.ssthresh != l.cwnd || l.InSlowStart() {
		t.Errorf("after a decrease of 2.5 bytes: window %d, ssthresh %d, slow start %v; want %d, the same, false",
			l.cwnd, l.ssthresh, l.InSlowStart(), 20*tmss-1)
	}
	l.grow(math.NaN())
	l.grow(-1e300)
	if l.cwnd != 2*tmss {
		t.Errorf("after a huge decrease: window %d, want the floor %d", l.cwnd, 2*tmss)
	}
	l.grow(math.Inf(1))
	if l.cwnd != l.maxWindow {
		t.Errorf("after an infinite increase: window %d, want the cap %d", l.cwnd, l.maxWindow)
	}
}

// TestCoupledEventsDoNotAllocate: OnAck and the loss events allocate
// nothing, with 2 and with 8 subflows.
func TestCoupledEventsDoNotAllocate(t *testing.T) {
	for _, name := range coupledAlgos {
		for _, n := range []int{2, 8} {
			_, cs := benchGroup(t, name, n)
			now := epoch0
			i := 0
			allocs := testing.AllocsPerRun(1000, func() {
				now = now.Add(100 * time.Microsecond)
				c := cs[i%n]
				i++
				c.OnAck(now, Ack{Acked: tmss, PriorInFlight: c.Window(), RTT: 20 * time.Millisecond,
					SRTT: 20 * time.Millisecond, MinRTT: 15 * time.Millisecond})
			})
			if allocs != 0 {
				t.Errorf("%s with %d subflows: %v allocations per ACK, want 0", name, n, allocs)
			}
			allocs = testing.AllocsPerRun(100, func() {
				c := cs[0]
				c.OnCongestionEvent(now, Loss{FlightSize: c.Window(), Lost: tmss})
				c.OnRecoveryExit(now)
				c.OnRTO(now, Loss{FlightSize: c.Window()})
				c.OnSpuriousCongestion(now)
			})
			if allocs != 0 {
				t.Errorf("%s with %d subflows: %v allocations per loss event, want 0", name, n, allocs)
			}
		}
	}
}

// benchGroup returns n controllers of algo in one group, in congestion
// avoidance with different windows and RTTs.
func benchGroup(tb testing.TB, algo string, n int) (*Group, []Controller) {
	paths := make([]path, n)
	for i := range paths {
		paths[i] = path{w: 20 + 7*i, rtt: time.Duration(10+5*i) * time.Millisecond}
	}
	return newCoupledGroup(tb, algo, paths)
}
