package cc

import (
	"testing"
	"time"
)

// liaExpected is RFC 6356's increase for an ACK of acked bytes on subflow i,
// computed from the windows (bytes) and RTTs (seconds) of all subflows:
//
//	min(alpha * acked * MSS / cwnd_total, acked * MSS / cwnd_i)
//	alpha = cwnd_total * max_k(cwnd_k/rtt_k^2) / (sum_k cwnd_k/rtt_k)^2
func liaExpected(w, rtt []float64, i int, acked, mss float64) float64 {
	var total, best, sum float64
	for k := range w {
		total += w[k]
		best = max(best, w[k]/(rtt[k]*rtt[k]))
		sum += w[k] / rtt[k]
	}
	alpha := total * best / (sum * sum)
	return min(alpha*acked*mss/total, acked*mss/w[i])
}

func TestLIAIncrease(t *testing.T) {
	for _, tc := range []struct {
		name  string
		paths []path
		// want holds hand-computed increases in bytes for one MSS acked,
		// where given.
		want []float64
	}{
		// Two equal subflows: alpha = 1/2, each grows by
		// 0.5 * 1000 * 1000 / 20000 = 25 bytes per MSS.
		{"two equal", []path{{10, 10 * time.Millisecond}, {10, 10 * time.Millisecond}}, []float64{25, 25}},
		// Windows 10 and 20 segments at 10 and 40 ms: alpha = 4/3 (see
		// TestGroupSupportsLIA), 4/3 * 1e6 / 30000 = 44.44 bytes, below
		// either subflow's NewReno increase (100 and 50 bytes).
		{"unequal", []path{{10, 10 * time.Millisecond}, {20, 40 * time.Millisecond}}, []float64{400.0 / 9, 400.0 / 9}},
		// A short-RTT path with a small window next to a long one: alpha
		// is large and the cap of a single TCP flow's increase applies on
		// the small path.
		{"capped", []path{{4, 5 * time.Millisecond}, {100, 200 * time.Millisecond}}, nil},
		{"three", []path{{30, 20 * time.Millisecond}, {12, 35 * time.Millisecond}, {50, 80 * time.Millisecond}}, nil},
		{"eight", []path{{20, 10 * time.Millisecond}, {27, 15 * time.Millisecond}, {34, 20 * time.Millisecond},
			{41, 25 * time.Millisecond}, {48, 30 * time.Millisecond}, {55, 35 * time.Millisecond},
			{62, 40 * time.Millisecond}, {69, 45 * time.Millisecond}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cs := newCoupledGroup(t, "lia", tc.paths)
			var w, rtt []float64
			for _, p := range tc.paths {
				w = append(w, float64(p.w*tmss))
				rtt = append(rtt, p.rtt.Seconds())
			}
			capped := false
			for i, c := range cs {
				want := liaExpected(w, rtt, i, tmss, tmss)
				if tc.want != nil && !near(want, tc.want[i]) {
					t.Fatalf("test's formula gives %v for subflow %d, hand computation %v", want, i, tc.want[i])
				}
				if got := increaseOf(t, c, tmss); !near(got, want) {
					t.Errorf("subflow %d: increase %v bytes per MSS acked, want %v", i, got, want)
				}
				capped = capped || near(want, float64(tmss)*tmss/w[i])
			}
			if tc.name == "capped" && !capped {
				t.Error("no subflow was capped at NewReno's increase; the case tests nothing")
			}
		})
	}
}

// TestLIAOnAckApplies: OnAck grows the window by the increase, keeping the
// fraction for the next ACK, and in congestion avoidance only.
func TestLIAOnAckApplies(t *testing.T) {
	_, cs := newCoupledGroup(t, "lia", []path{{10, 10 * time.Millisecond}, {20, 40 * time.Millisecond}})
	c := cs[0]
	c.OnAck(epoch0, Ack{Acked: tmss, PriorInFlight: c.Window(), RTT: 10 * time.Millisecond, SRTT: 10 * time.Millisecond})
	if got, want := c.Window(), 10*tmss+44; got != want {
		t.Errorf("window %d after one ACK, want %d (44.44 bytes, the fraction kept)", got, want)
	}
	if g := c.(*lia).growth; !near(g, 400.0/9-44) {
		t.Errorf("fraction kept %v, want %v", g, 400.0/9-44)
	}
	// In recovery nothing grows.
	c.OnCongestionEvent(epoch0, Loss{FlightSize: c.Window()})
	w := c.Window()
	ackRound(c, epoch0, 10*time.Millisecond)
	if c.Window() != w {
		t.Errorf("window grew in recovery from %d to %d", w, c.Window())
	}
	// The response to loss is NewReno's: half the flight size.
	if w != (10*tmss+44)/2 {
		t.Errorf("window %d after a loss, want half of %d", w, 10*tmss+44)
	}
}

// TestLIAAggregateGrowth: two equal subflows (alpha = 1/2) together grow by
// half a segment per round trip, where one TCP flow grows by one; each
// halves only its own window on a loss, which makes up the difference.
func TestLIAAggregateGrowth(t *testing.T) {
	g, cs := newCoupledGroup(t, "lia", []path{{50, 20 * time.Millisecond}, {50, 20 * time.Millisecond}})
	start := g.TotalWindow()
	now := epoch0
	for range 20 {
		ackRound(cs[0], now, 20*time.Millisecond)
		now = ackRound(cs[1], now, 20*time.Millisecond)
	}
	grown := float64(g.TotalWindow()-start) / tmss
	if grown < 9 || grown > 10.5 {
		t.Errorf("two equal subflows grew by %.2f segments in 20 rounds, want about 10 (half a segment a round)", grown)
	}
}
