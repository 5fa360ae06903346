package cc

import (
	"math"
	"testing"
	"time"
)

// newVegas returns a lone wVegas controller with the given window (bytes)
// and base RTT, in slow start or, if avoid, in congestion avoidance.
func newVegas(t *testing.T, g *Group, window int, base time.Duration, avoid bool) *wvegas {
	t.Helper()
	v := mustNew(t, "wvegas", Params{MSS: tmss, InitialWindow: window, Group: g}).(*wvegas)
	if avoid {
		v.ssthresh = window
	}
	v.OnAck(epoch0, Ack{RTT: base, SRTT: base, MinRTT: base}) // RTT only
	if v.baseRTT != base {
		t.Fatalf("base RTT %v, want %v", v.baseRTT, base)
	}
	v.samples, v.rttSum = 0, 0
	return v
}

// full is an ACK of one segment from a sender using its whole window.
func full(v *wvegas) Ack { return Ack{Acked: tmss, PriorInFlight: v.cwnd} }

func TestWVegasSlowStart(t *testing.T) {
	// No queueing: slow start goes on.
	v := newVegas(t, nil, 20*tmss, 100*time.Millisecond, false)
	v.adjust(full(v), 100*time.Millisecond)
	if v.cwnd != 21*tmss || !v.InSlowStart() {
		t.Errorf("no backlog: window %v segments, slow start %v; want 21, true", segs(v.cwnd), v.InSlowStart())
	}
	// A backlog above gamma (one segment) ends it: diff = 20000 *
	// (1 - 100/125) = 4000 bytes; the window drops to what the path
	// carried without queueing, 20000 * 100/125 = 16000, plus a segment.
	v = newVegas(t, nil, 20*tmss, 100*time.Millisecond, false)
	v.adjust(full(v), 125*time.Millisecond)
	if v.cwnd != 17*tmss || v.ssthresh != 16*tmss || v.InSlowStart() {
		t.Errorf("backlog of 4 segments: window %d, ssthresh %d, slow start %v; want 17000, 16000, false",
			v.cwnd, v.ssthresh, v.InSlowStart())
	}
}

func TestWVegasAvoidanceTowardsTarget(t *testing.T) {
	for _, tc := range []struct {
		name      string
		base, rtt time.Duration
		want      int // window after the round, segments
	}{
		// A lone path's target is the whole 10 segments.
		// diff = 50000 * 10/100 = 5 segments: below, one more.
		{"below", 90 * time.Millisecond, 100 * time.Millisecond, 51},
		// diff = 50000 * 30/100 = 15 segments: above, one fewer.
		{"above", 70 * time.Millisecond, 100 * time.Millisecond, 49},
		// diff = 50000 * 20/100 = exactly 10: stay.
		{"at", 80 * time.Millisecond, 100 * time.Millisecond, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVegas(t, nil, 50*tmss, tc.base, true)
			v.adjust(full(v), tc.rtt)
			if v.alpha != wvegasTotalAlpha {
				t.Errorf("lone path's target %v segments, want %d", v.alpha, wvegasTotalAlpha)
			}
			if v.cwnd != tc.want*tmss {
				t.Errorf("window %v segments, want %d", segs(v.cwnd), tc.want)
			}
			if v.InSlowStart() {
				t.Error("back in slow start")
			}
		})
	}
}

// TestWVegasTargetsFollowRates: each path's target is its share of the
// connection's rate times 10 segments, at least 2.
func TestWVegasTargetsFollowRates(t *testing.T) {
	g := NewGroup()
	a := newVegas(t, g, 30*tmss, 90*time.Millisecond, true)
	b := newVegas(t, g, 10*tmss, 90*time.Millisecond, true)
	c := newVegas(t, g, 3*tmss, 90*time.Millisecond, true)
	// Rates as each path measured them at its last round: a round of
	// 100 ms gives x = cwnd / 0.1 s.
	b.rate = float64(10*tmss) / 0.1
	c.rate = float64(3*tmss) / 0.1
	a.adjust(full(a), 100*time.Millisecond)
	// a: 300000 / (300000 + 100000 + 30000) of 10 segments.
	if want := 10 * 300000.0 / 430000; !near(a.alpha, want) {
		t.Errorf("largest path's target %v segments, want %v", a.alpha, want)
	}
	c.adjust(full(c), 100*time.Millisecond)
	if c.alpha != wvegasMinAlpha {
		t.Errorf("smallest path's target %v segments, want the floor %d", c.alpha, wvegasMinAlpha)
	}
	// An inactive path's rate does not count.
	g.Members()[1].SetActive(false)
	a.adjust(full(a), 100*time.Millisecond)
	if want := 10 * a.rate / (a.rate + c.rate); !near(a.alpha, want) {
		t.Errorf("beside an inactive path: target %v segments, want %v", a.alpha, want)
	}
}

// TestWVegasDrain: a path at its target whose queueing delay doubles backs
// off to cwnd * baseRTT / (2 RTT); a path ramping up from an empty queue
// does not.
func TestWVegasDrain(t *testing.T) {
	base := 100 * time.Millisecond
	v := newVegas(t, nil, 150*tmss, base, true)
	v.adjust(full(v), 110*time.Millisecond) // diff 13.6 segments: at target, q = 10 ms
	if v.cwnd != 149*tmss || v.qMin != 10*time.Millisecond {
		t.Fatalf("first round: window %v segments, least queueing delay %v; want 149, 10ms", segs(v.cwnd), v.qMin)
	}
	v.adjust(full(v), 120*time.Millisecond) // q = 20 ms, twice the least
	if want := 148 * tmss * 100 / 240; v.cwnd != want || v.qMin != 0 {
		t.Errorf("queue doubled: window %d, least queueing delay %v; want %d, reset", v.cwnd, v.qMin, want)
	}

	v = newVegas(t, nil, 50*tmss, base, true)
	for _, rtt := range []time.Duration{101, 102, 104, 108} { // diff below 5 segments
		v.adjust(full(v), rtt*time.Millisecond)
	}
	if v.cwnd != 54*tmss || v.qMin != 0 {
		t.Errorf("ramp below the target: window %v segments, least queueing delay %v; want 54 and none recorded", segs(v.cwnd), v.qMin)
	}
}

// TestWVegasRounds drives rounds through OnAck: the window moves once per
// round trip, by a segment, up without queueing and down with a large one.
func TestWVegasRounds(t *testing.T) {
	c := mustNew(t, "wvegas", Params{MSS: tmss, InitialWindow: 40 * tmss})
	c.OnCongestionEvent(epoch0, Loss{FlightSize: 40 * tmss})
	c.OnRecoveryExit(epoch0)
	now := epoch0
	for range 11 { // the first round opens the count
		now = ackRound(c, now, 50*time.Millisecond)
	}
	if w := segs(c.Window()); w < 29 || w > 31 {
		t.Errorf("after 10 rounds without queueing: window %v segments, want about 30", w)
	}
	before := c.Window()
	for range 5 {
		now = ackRound(c, now, 100*time.Millisecond) // backlog of half the window
	}
	if c.Window() >= before {
		t.Errorf("with a large backlog: window %v segments, was %v; want smaller", segs(c.Window()), segs(before))
	}
}

// TestWVegasFewSamplesIsReno: a window too small to give three RTT samples
// a round grows as NewReno's, so it can reach one that does.
func TestWVegasFewSamplesIsReno(t *testing.T) {
	c := mustNew(t, "wvegas", Params{MSS: tmss, InitialWindow: 4 * tmss})
	c.OnCongestionEvent(epoch0, Loss{FlightSize: 4 * tmss})
	c.OnRecoveryExit(epoch0)
	now := epoch0
	for range 20 {
		now = ackRound(c, now, 50*time.Millisecond)
	}
	if c.Window() <= 3*tmss {
		t.Errorf("window stuck at %v segments", segs(c.Window()))
	}
}

func TestWVegasLossIsReno(t *testing.T) {
	c := mustNew(t, "wvegas", Params{MSS: tmss, InitialWindow: 60 * tmss})
	c.OnCongestionEvent(epoch0, Loss{FlightSize: 60 * tmss, Lost: tmss})
	if c.Window() != 30*tmss || c.SlowStartThreshold() != 30*tmss {
		t.Errorf("after a loss: window %d, ssthresh %d; want both %d", c.Window(), c.SlowStartThreshold(), 30*tmss)
	}
	v := c.(*wvegas)
	v.rate = 1e6
	c.OnRTO(epoch0, Loss{FlightSize: 30 * tmss})
	if c.Window() != tmss || v.rate != 0 {
		t.Errorf("after a timeout: window %d, rate %v; want 1 MSS and the rate forgotten", c.Window(), v.rate)
	}
}

// TestWVegasAbsurdRTT: samples of absurd size neither overflow nor take the
// window outside its bounds.
func TestWVegasAbsurdRTT(t *testing.T) {
	c := mustNew(t, "wvegas", Params{MSS: tmss, InitialWindow: 20 * tmss, MaxWindow: 1 << 20})
	now := epoch0
	for i := range 200 {
		rtt := time.Duration(math.MaxInt64)
		if i%2 == 0 {
			rtt = time.Nanosecond
		}
		c.OnAck(now, Ack{Acked: tmss, PriorInFlight: c.Window(), RTT: rtt, SRTT: rtt, MinRTT: time.Nanosecond})
	}
	if w := c.Window(); w < 2*tmss || w > 1<<20 {
		t.Errorf("window %d outside [2 MSS, max]", w)
	}
}
