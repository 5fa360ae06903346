package cc

import (
	"math"
	"testing"
	"time"
)

func TestGroupMembership(t *testing.T) {
	g := NewGroup()
	a := mustNew(t, "reno", Params{MSS: tmss, InitialWindow: 10 * tmss})
	b := mustNew(t, "reno", Params{MSS: tmss, InitialWindow: 20 * tmss})
	c := mustNew(t, "reno", Params{MSS: tmss, InitialWindow: 30 * tmss})
	ma, mb := g.Join(a), g.Join(b)
	g.Join(c)
	if g.Join(a) != ma {
		t.Error("joining twice made a second member")
	}
	if g.Len() != 3 || g.TotalWindow() != 60*tmss {
		t.Fatalf("Len %d, TotalWindow %d; want 3, %d", g.Len(), g.TotalWindow(), 60*tmss)
	}
	if !g.Remove(b) || g.Remove(b) {
		t.Error("Remove: want true once, then false")
	}
	if mb.Group() != nil || ma.Group() != g {
		t.Error("Group() wrong after Remove")
	}
	var order []Controller
	for _, m := range g.Members() {
		order = append(order, m.Controller())
	}
	if len(order) != 2 || order[0] != a || order[1] != c {
		t.Errorf("members after removing the middle one: %v, want [a c] in join order", order)
	}
	if g.TotalWindow() != 40*tmss {
		t.Errorf("TotalWindow %d, want %d", g.TotalWindow(), 40*tmss)
	}
}

func TestMemberObserve(t *testing.T) {
	g := NewGroup()
	m := g.Join(mustNew(t, "cubic", Params{MSS: tmss}))
	m.Observe(Ack{SRTT: 30 * time.Millisecond, MinRTT: 20 * time.Millisecond})
	m.Observe(Ack{}) // an ACK without RTT figures keeps the last ones
	if m.SRTT() != 30*time.Millisecond || m.MinRTT() != 20*time.Millisecond {
		t.Errorf("SRTT %v, MinRTT %v; want 30ms, 20ms", m.SRTT(), m.MinRTT())
	}
	if m.Window() != DefaultInitialSegments*tmss {
		t.Errorf("Window %d", m.Window())
	}
}

// liaAlpha is RFC 6356's alpha, computed from nothing but what a Group
// exposes: it shows that a coupled algorithm can be written against it.
func liaAlpha(g *Group) float64 {
	var total, best, sum float64
	for _, m := range g.Members() {
		rtt := m.SRTT().Seconds()
		if rtt <= 0 {
			continue // no RTT yet: left out, as the kernel does
		}
		w := float64(m.Window())
		total += w
		best = max(best, w/(rtt*rtt))
		sum += w / rtt
	}
	if sum == 0 {
		return 0
	}
	return total * best / (sum * sum)
}

func TestGroupSupportsLIA(t *testing.T) {
	mk := func(segments int, srtt time.Duration) (Controller, Ack) {
		return mustNew(t, "reno", Params{MSS: tmss, InitialWindow: segments * tmss}), Ack{SRTT: srtt}
	}
	for _, tc := range []struct {
		name  string
		flows []struct {
			w   int
			rtt time.Duration
		}
		want float64
	}{
		// n equal subflows: alpha = 1/n, so together they take what one
		// TCP flow would.
		{"two equal", []struct {
			w   int
			rtt time.Duration
		}{{10, 10 * time.Millisecond}, {10, 10 * time.Millisecond}}, 0.5},
		{"three equal", []struct {
			w   int
			rtt time.Duration
		}{{20, 50 * time.Millisecond}, {20, 50 * time.Millisecond}, {20, 50 * time.Millisecond}}, 1.0 / 3},
		// Windows 10 and 20 at RTTs 10 ms and 40 ms: total 30,
		// max(10/0.01^2, 20/0.04^2) = 1e5, sum 10/0.01 + 20/0.04 = 1500,
		// alpha = 30 * 1e5 / 1500^2 = 4/3.
		{"unequal", []struct {
			w   int
			rtt time.Duration
		}{{10, 10 * time.Millisecond}, {20, 40 * time.Millisecond}}, 4.0 / 3},
		// A subflow without an RTT sample does not count.
		{"one unmeasured", []struct {
			w   int
			rtt time.Duration
		}{{10, 10 * time.Millisecond}, {50, 0}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGroup()
			for _, f := range tc.flows {
				c, a := mk(f.w, f.rtt)
				g.Join(c).Observe(a)
			}
			if got := liaAlpha(g); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("alpha %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUncoupledIgnoreGroup(t *testing.T) {
	g := NewGroup()
	for _, name := range []string{"reno", "cubic"} {
		c := mustNew(t, name, Params{MSS: tmss, Group: g})
		if g.Remove(c) {
			t.Errorf("%s joined the group; uncoupled algorithms should not", name)
		}
	}
}
