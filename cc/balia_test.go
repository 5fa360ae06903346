package cc

import (
	"math"
	"testing"
	"time"
)

// baliaExpected is BALIA's increase for an ACK of acked bytes on path r and
// its ssthresh after a loss with the given flight, from the windows (bytes)
// and RTTs (seconds), with x = w/rtt and alpha_r = max x / x_r:
//
//	increase = acked * MSS * x_r / (rtt_r * (sum x)^2) * (1+alpha_r)/2 * (4+alpha_r)/5
//	ssthresh = flight - flight/2 * min(alpha_r, 1.5)
func baliaExpected(w, rtt []float64, r int, acked, mss, flight float64) (inc, ssthresh float64) {
	var sum, maxX float64
	for k := range w {
		x := w[k] / rtt[k]
		sum += x
		maxX = max(maxX, x)
	}
	x := w[r] / rtt[r]
	alpha := maxX / x
	inc = acked * mss * x / (rtt[r] * sum * sum) * (1 + alpha) / 2 * (4 + alpha) / 5
	return inc, flight - flight/2*math.Min(alpha, 1.5)
}

func TestBALIAIncreaseAndDecrease(t *testing.T) {
	for _, tc := range []struct {
		name  string
		paths []path
		// Hand-computed increases (bytes per MSS acked) and ssthresh after
		// a loss with a flight of 20 segments, where given.
		inc, ssthresh []float64
	}{
		// x0 = 20000/0.02 = 1e6, x1 = 10000/0.04 = 2.5e5 bytes/s, sum
		// 1.25e6. Path 0 (alpha 1): 1e6 * 1e6 / (0.02 * 1.5625e12) = 32.
		// Path 1 (alpha 4): 1e6 * 2.5e5 / (0.04 * 1.5625e12) * 2.5 * 1.6
		// = 16. Decrease: path 0 halves (10000), path 1 gives up
		// 1.5/2 of its flight (5000).
		{"alpha 4", []path{{20, 20 * time.Millisecond}, {10, 40 * time.Millisecond}}, []float64{32, 16}, []float64{10000, 5000}},
		// Same RTT, windows 12 and 10: path 1's alpha is 1.2, it gives
		// up 0.6 of its flight.
		{"alpha 1.2", []path{{12, 20 * time.Millisecond}, {10, 20 * time.Millisecond}}, nil, []float64{10000, 8000}},
		{"three", []path{{30, 20 * time.Millisecond}, {12, 35 * time.Millisecond}, {50, 80 * time.Millisecond}}, nil, nil},
		{"eight", []path{{20, 10 * time.Millisecond}, {27, 15 * time.Millisecond}, {34, 20 * time.Millisecond},
			{41, 25 * time.Millisecond}, {48, 30 * time.Millisecond}, {55, 35 * time.Millisecond},
			{62, 40 * time.Millisecond}, {69, 45 * time.Millisecond}}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cs := newCoupledGroup(t, "balia", tc.paths)
			var w, rtt []float64
			for _, p := range tc.paths {
				w = append(w, float64(p.w*tmss))
				rtt = append(rtt, p.rtt.Seconds())
			}
			const flight = 20 * tmss
			for r, c := range cs {
				inc, ss := baliaExpected(w, rtt, r, tmss, tmss, flight)
				if tc.inc != nil && !near(inc, tc.inc[r]) {
					t.Fatalf("test's formula gives increase %v on path %d, hand computation %v", inc, r, tc.inc[r])
				}
				if tc.ssthresh != nil && !near(ss, tc.ssthresh[r]) {
					t.Fatalf("test's formula gives ssthresh %v on path %d, hand computation %v", ss, r, tc.ssthresh[r])
				}
				if got := increaseOf(t, c, tmss); !near(got, inc) {
					t.Errorf("path %d: increase %v bytes per MSS acked, want %v", r, got, inc)
				}
				if reno := float64(tmss) * tmss / w[r]; inc > reno*(1+1e-12) {
					t.Errorf("path %d: increase %v above a TCP flow's %v", r, inc, reno)
				}
			}
			// The decrease is computed with the group as it is at the
			// loss: apply them all only after checking each.
			for r, c := range cs {
				_, ss := baliaExpected(w, rtt, r, tmss, tmss, flight)
				if got := c.(*balia).reduced(flight); got != max(int(ss), 2*tmss) {
					t.Errorf("path %d: ssthresh %d after a loss, want %d", r, got, max(int(ss), 2*tmss))
				}
			}
			c := cs[len(cs)-1]
			want := c.(*balia).reduced(flight)
			c.OnCongestionEvent(epoch0, Loss{FlightSize: flight, Lost: tmss})
			if c.Window() != want || c.SlowStartThreshold() != want {
				t.Errorf("after OnCongestionEvent: window %d, ssthresh %d; want both %d", c.Window(), c.SlowStartThreshold(), want)
			}
		})
	}
}

func TestBALIATimeoutReducesAlike(t *testing.T) {
	_, cs := newCoupledGroup(t, "balia", []path{{20, 20 * time.Millisecond}, {10, 40 * time.Millisecond}})
	c := cs[1]
	c.OnRTO(epoch0, Loss{FlightSize: 20 * tmss})
	if c.Window() != tmss || c.SlowStartThreshold() != 5000 {
		t.Errorf("after a timeout: window %d, ssthresh %d; want 1 MSS and 5000", c.Window(), c.SlowStartThreshold())
	}
	c.OnRTO(epoch0, Loss{FlightSize: tmss}) // repeated: no second reduction
	if c.SlowStartThreshold() != 5000 {
		t.Errorf("a repeated timeout changed ssthresh to %d", c.SlowStartThreshold())
	}
	c.OnSpuriousCongestion(epoch0)
	if c.Window() != 10*tmss {
		t.Errorf("undo of the timeout: window %d, want %d", c.Window(), 10*tmss)
	}
}
