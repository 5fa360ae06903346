package cc

import (
	"testing"
	"time"
)

// oliaPath is a path for OLIA's formula: window (bytes), RTT (seconds) and
// l_r (bytes between losses).
type oliaPath struct {
	w, rtt, l float64
}

// oliaExpected is OLIA's increase for an ACK of acked bytes on path r,
// computed from the paper's definitions: M the paths of largest window, B
// those of largest l/rtt^2,
//
//	alpha_r = 1/(n |B\M|) on B\M, -1/(n |M|) on M if B\M is not empty, else 0
//	increase = acked * MSS * ((w_r/rtt_r^2) / (sum_p w_p/rtt_p)^2 + alpha_r/w_r)
func oliaExpected(ps []oliaPath, r int, acked, mss float64) float64 {
	n := float64(len(ps))
	var maxW, best, sum float64
	for _, p := range ps {
		maxW = max(maxW, p.w)
		best = max(best, p.l/(p.rtt*p.rtt))
		sum += p.w / p.rtt
	}
	inM := func(p oliaPath) bool { return p.w == maxW }
	inB := func(p oliaPath) bool { return p.l/(p.rtt*p.rtt) == best }
	var m, bNotM float64
	for _, p := range ps {
		if inM(p) {
			m++
		} else if inB(p) {
			bNotM++
		}
	}
	alpha := 0.0
	p := ps[r]
	if bNotM > 0 {
		if inM(p) {
			alpha = -1 / (n * m)
		} else if inB(p) {
			alpha = 1 / (n * bNotM)
		}
	}
	return acked * mss * (p.w/(p.rtt*p.rtt)/(sum*sum) + alpha/p.w)
}

// newOLIAGroup makes an OLIA group with the given windows (segments), RTTs
// and inter-loss distances (bytes).
func newOLIAGroup(t *testing.T, ws []int, rtts []time.Duration, ls []uint64) ([]*olia, []oliaPath) {
	t.Helper()
	var paths []path
	for i := range ws {
		paths = append(paths, path{ws[i], rtts[i]})
	}
	_, cs := newCoupledGroup(t, "olia", paths)
	var os []*olia
	var ps []oliaPath
	for i, c := range cs {
		o := c.(*olia)
		// l_r as the bytes acknowledged between the last two losses.
		o.lossAt = [2]uint64{1000, 1000 + ls[i]}
		o.acked = o.lossAt[1]
		os = append(os, o)
		ps = append(ps, oliaPath{float64(ws[i] * tmss), rtts[i].Seconds(), float64(ls[i])})
	}
	return os, ps
}

func TestOLIAIncrease(t *testing.T) {
	ms20 := 20 * time.Millisecond
	for _, tc := range []struct {
		name string
		ws   []int
		rtts []time.Duration
		ls   []uint64
		// want holds hand-computed increases (bytes per MSS acked).
		want []float64
	}{
		// Path 1 is the best (longer between losses) but path 0 has the
		// larger window: alpha = -1/2 on path 0, +1/2 on path 1. Sum of
		// w/rtt = 40000/0.02 = 2e6. Path 0: 1e6 * (30000/4e-4/4e12 -
		// 0.5/30000) = 18.75 - 16.667; path 1: 1e6 * (10000/4e-4/4e12 +
		// 0.5/10000) = 6.25 + 50.
		{"best path not largest", []int{30, 10}, []time.Duration{ms20, ms20}, []uint64{100000, 300000},
			[]float64{18.75 - 50.0/3, 56.25}},
		// The best path has the largest window: B\M is empty, alpha is 0
		// and only the coupled term remains.
		{"best path largest", []int{30, 10}, []time.Duration{ms20, ms20}, []uint64{300000, 100000},
			[]float64{18.75, 6.25}},
		// Window moving off the largest path: its increase is negative.
		{"negative", []int{30, 25}, []time.Duration{ms20, ms20}, []uint64{100000, 300000}, nil},
		// Paths are ranked by l/rtt^2: path 1 has the shortest l but the
		// shortest RTT and is the best; ranked by l^2/rtt, path 2 would be.
		{"rtt matters", []int{40, 10, 20}, []time.Duration{ms20, 10 * time.Millisecond, 60 * time.Millisecond},
			[]uint64{200000, 100000, 500000}, nil},
		// Two best paths tie outside M, sharing 1/(n*2) each.
		{"tie", []int{40, 10, 20}, []time.Duration{ms20, ms20, ms20}, []uint64{100000, 300000, 300000}, nil},
		// No losses yet: l is 0 everywhere, all paths tie as best.
		{"no losses", []int{40, 10, 20}, []time.Duration{ms20, ms20, ms20}, []uint64{0, 0, 0}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os, ps := newOLIAGroup(t, tc.ws, tc.rtts, tc.ls)
			sumAlpha := 0.0
			for r, o := range os {
				want := oliaExpected(ps, r, tmss, tmss)
				if tc.want != nil && !near(want, tc.want[r]) {
					t.Fatalf("test's formula gives %v for path %d, hand computation %v", want, r, tc.want[r])
				}
				got := o.increase(tmss)
				if !near(got, want) {
					t.Errorf("path %d: increase %v bytes per MSS acked, want %v", r, got, want)
				}
				// alpha_r / w_r * acked * MSS is what is left after the
				// coupled term; the alphas sum to zero.
				sum := 0.0
				for _, p := range ps {
					sum += p.w / p.rtt
				}
				term1 := float64(tmss) * tmss * ps[r].w / (ps[r].rtt * ps[r].rtt) / (sum * sum)
				sumAlpha += (got - term1) * ps[r].w / (float64(tmss) * tmss)
			}
			if !near(sumAlpha, 0) {
				t.Errorf("alphas sum to %v, want 0", sumAlpha)
			}
			if tc.name == "negative" && os[0].increase(tmss) >= 0 {
				t.Error("the largest path's increase is not negative")
			}
		})
	}
}

// TestOLIAWindowMovesOff: ACKs on a largest path that is not the best one
// shrink its window, and it stays in congestion avoidance.
func TestOLIAWindowMovesOff(t *testing.T) {
	os, _ := newOLIAGroup(t, []int{30, 25}, []time.Duration{20 * time.Millisecond, 20 * time.Millisecond}, []uint64{100000, 300000})
	o := os[0]
	w := o.Window()
	for range 10 {
		o.OnAck(epoch0, Ack{Acked: tmss, PriorInFlight: o.Window(), RTT: 20 * time.Millisecond, SRTT: 20 * time.Millisecond})
	}
	if o.Window() >= w || o.InSlowStart() {
		t.Errorf("window %d (was %d), slow start %v; want smaller, in congestion avoidance", o.Window(), w, o.InSlowStart())
	}
}

// TestOLIAInterLoss checks l_r: bytes acknowledged between the last two
// losses, or since the last one when that is more; a repeated timeout or a
// loss with nothing acknowledged since the last does not start a new
// interval; a spurious loss is undone.
func TestOLIAInterLoss(t *testing.T) {
	c := mustNew(t, "olia", Params{MSS: tmss, InitialWindow: 100 * tmss})
	o := c.(*olia)
	ack := func(n int) {
		for range n {
			c.OnAck(epoch0, Ack{Acked: tmss, PriorInFlight: c.Window(), SRTT: 10 * time.Millisecond})
		}
	}
	ack(50)
	if o.interLoss() != 50*tmss {
		t.Fatalf("l before any loss %d, want the %d bytes acknowledged", o.interLoss(), 50*tmss)
	}
	c.OnCongestionEvent(epoch0, Loss{FlightSize: c.Window()})
	ack(20) // acknowledged in recovery: still counted
	c.OnRecoveryExit(epoch0)
	if o.interLoss() != 50*tmss {
		t.Errorf("l %d after 20 segments since a loss, want the previous interval %d", o.interLoss(), 50*tmss)
	}
	ack(60)
	if o.interLoss() != 80*tmss {
		t.Errorf("l %d after 80 segments since the loss, want %d", o.interLoss(), 80*tmss)
	}
	c.OnRTO(epoch0, Loss{FlightSize: c.Window()})
	c.OnRTO(epoch0, Loss{FlightSize: tmss}) // repeated: same loss
	ack(10)
	if o.interLoss() != 80*tmss {
		t.Errorf("l %d, want the last interval %d", o.interLoss(), 80*tmss)
	}
	before := o.lossAt
	c.OnCongestionEvent(epoch0, Loss{FlightSize: c.Window()})
	c.OnSpuriousCongestion(epoch0)
	if o.lossAt != before {
		t.Errorf("a spurious loss left the intervals at %v, want %v", o.lossAt, before)
	}
}
