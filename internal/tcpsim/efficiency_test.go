package tcpsim

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/fairness"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/tcp"
)

// link100x40 is the efficiency scenario of issue 3: 100 Mbit/s, 40 ms RTT,
// a bottleneck queue of one bandwidth-delay product (500 kB).
func link100x40(loss float64) netsim.PipeConfig {
	return netsim.PipeConfig{Rate: 100e6, Delay: 20 * time.Millisecond, QueueBytes: 500_000, Loss: loss}
}

// goodput runs an unlimited one-way transfer for dur and returns the
// receiver's goodput between warm and dur, in bit/s, and the sender.
func goodput(t *testing.T, p *path, warm, dur time.Duration) (float64, *tcp.Conn) {
	t.Helper()
	cli, srv := p.transfer(t, -1, 0)
	srv.sampleEvery = 100 * time.Millisecond
	srv.nextSample = p.sim.Now()
	start := p.sim.Now()
	p.sim.RunFor(dur)
	got := srv.receivedBetween(start.Add(warm), start.Add(dur-100*time.Millisecond))
	secs := (dur - 100*time.Millisecond - warm).Seconds()
	return float64(got) * 8 / secs, cli.conn
}

func TestEfficiency(t *testing.T) {
	for _, cc := range []string{"cubic", "reno"} {
		t.Run(cc, func(t *testing.T) {
			t.Parallel()
			p := newPath(t, 1, link100x40(0), cc, nil)
			bps, c := goodput(t, p, 10*time.Second, 40*time.Second)
			st := c.Info()
			t.Logf("%s: goodput %.2f Mbit/s (%.1f%% of the link); retransmits %d, RTOs %d, recoveries %d, cwnd %d, srtt %v",
				cc, bps/1e6, bps/1e6, st.Retransmits, st.RTOs, st.FastRecoveries, st.Cwnd, st.SRTT)
			if bps < 0.95*100e6 {
				t.Errorf("%s: steady-state goodput %.2f Mbit/s, below 95 Mbit/s", cc, bps/1e6)
			}
		})
	}
}

func TestRandomLossRepairedWithoutRTO(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			pc := link100x40(0.01)
			p := newPath(t, seed, pc, "cubic", nil)
			bps, c := goodput(t, p, time.Second, 30*time.Second)
			st := c.Info()
			t.Logf("seed %d: goodput %.2f Mbit/s, retransmits %d, recoveries %d, TLPs %d, RTOs %d",
				seed, bps/1e6, st.Retransmits, st.FastRecoveries, st.TLPs, st.RTOs)
			if st.Retransmits < 50 {
				t.Fatalf("only %d retransmissions: loss not exercised", st.Retransmits)
			}
			if st.RTOs != 0 {
				t.Errorf("%d RTOs with 1%% random loss", st.RTOs)
			}
		})
	}
}

func TestFairnessTwoFlows(t *testing.T) {
	type fc struct {
		seed uint64
		cc   string
	}
	cases := []fc{{7, "cubic"}}
	if *fullMatrix {
		for seed := uint64(1); seed <= 6; seed++ {
			cases = append(cases, fc{seed, "cubic"}, fc{seed, "reno"})
		}
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/seed%d", c.cc, c.seed), func(t *testing.T) {
			t.Parallel()
			checkFairness(t, c.seed, c.cc)
		})
	}
}

// checkFairness runs two flows through one 50 Mbit/s bottleneck for 60 s and
// checks Jain's index over the second half.
func checkFairness(t *testing.T, seed uint64, cc string) {
	// c1 and c2 reach the server through a router; the router's link to
	// the server is the shared bottleneck.
	s := netsim.New(seed)
	r, _ := s.NewRouter("r")
	srv, _ := s.NewHost("server")
	saddr := netip.MustParseAddr("10.0.9.2")
	is, _ := srv.AddInterface("eth0", netip.PrefixFrom(saddr, 24))
	rs, _ := r.AddInterface("to-server", netip.MustParsePrefix("10.0.9.1/24"))
	bottleneck := netsim.PipeConfig{Rate: 50e6, Delay: 10 * time.Millisecond, QueueBytes: 125_000}
	if _, err := s.Connect(rs, is, bottleneck); err != nil {
		t.Fatal(err)
	}
	r.AddRoute(netip.MustParsePrefix("10.0.9.0/24"), rs)
	ss, _ := tcp.NewStack(stackConfig(srv, cc, nil))
	ss.AddAddress(saddr)
	srv.SetStack(ss)
	var apps []*bulk
	acc := &acceptor{mk: func() *bulk {
		b := &bulk{host: srv, sampleEvery: time.Second, nextSample: s.Now()}
		apps = append(apps, b)
		return b
	}}
	ss.Listen(netip.AddrPortFrom(saddr, 5201), &tcp.ListenConfig{Hooks: acc})
	for i := range 2 {
		h, _ := s.NewHost("c" + string(rune('1'+i)))
		a := netip.AddrFrom4([4]byte{10, 0, byte(i + 1), 2})
		ih, _ := h.AddInterface("eth0", netip.PrefixFrom(a, 24))
		ri, _ := r.AddInterface("to-c"+string(rune('1'+i)), netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i + 1), 1}), 24))
		// Jitter on the access links and a start offset per seed make
		// each seed a different run.
		access := netsim.PipeConfig{Rate: 1e9, Delay: 5 * time.Millisecond, Jitter: 300 * time.Microsecond}
		s.Connect(ih, ri, access)
		r.AddRoute(netip.PrefixFrom(a, 24), ri)
		cs, _ := tcp.NewStack(stackConfig(h, cc, nil))
		cs.AddAddress(a)
		h.SetStack(cs)
		start := time.Duration(i) * time.Duration(seed%5) * 300 * time.Millisecond
		s.After(start, func() {
			cli := &bulk{total: -1, host: h}
			if _, err := cs.Dial(s.Now(), netip.AddrPortFrom(saddr, 5201), &tcp.DialConfig{Hooks: cli}); err != nil {
				t.Error(err)
			}
			h.Wake()
		})
	}
	s.RunFor(60 * time.Second)
	if len(apps) != 2 {
		t.Fatalf("%d connections", len(apps))
	}
	mid, end := netsim.Epoch.Add(30*time.Second), netsim.Epoch.Add(59*time.Second)
	x1 := float64(apps[0].receivedBetween(mid, end)) * 8 / 29
	x2 := float64(apps[1].receivedBetween(mid, end)) * 8 / 29
	j := fairness.Jain([]float64{x1, x2})
	t.Logf("%s seed %d, second half: %.2f and %.2f Mbit/s, total %.2f of 50, Jain %.4f", cc, seed, x1/1e6, x2/1e6, (x1+x2)/1e6, j)
	if j < 0.95 {
		t.Errorf("Jain's index %.4f below 0.95", j)
	}
	if x1+x2 < 0.9*50e6 {
		t.Errorf("flows use %.2f Mbit/s of 50", (x1+x2)/1e6)
	}
}

func TestLinkOutage(t *testing.T) {
	pc := netsim.PipeConfig{Rate: 20e6, Delay: 15 * time.Millisecond, QueueBytes: 75_000}
	p := newPath(t, 3, pc, "cubic", nil)
	const size = 40 << 20 // about 16 s of the link
	cli, srv := p.transfer(t, size, 0)
	start := p.sim.Now()
	p.link.Schedule(start.Add(5*time.Second), netsim.Down())
	p.link.Schedule(start.Add(7*time.Second), netsim.Up())
	if !p.runUntilDone(120*time.Second, srv) {
		t.Fatalf("incomplete after outage: %d of %d; client %+v", srv.recv, size, cli.conn.Info())
	}
	if srv.bad != 0 || srv.recv != size || srv.crc != crcOf(size) {
		t.Fatalf("corrupt: %d bytes, %d bad", srv.recv, srv.bad)
	}
	el := p.sim.Now().Sub(start)
	st := cli.conn.Info()
	t.Logf("completed in %v; RTOs %d, retransmits %d", el, st.RTOs, st.Retransmits)
	if st.RTOs == 0 {
		t.Error("the outage caused no RTO: was it applied?")
	}
	// 16 s of transfer, 2 s of outage, plus recovery: well under 30 s.
	if el > 30*time.Second {
		t.Errorf("transfer took %v", el)
	}
}
