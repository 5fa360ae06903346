package simtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// logState prints what a failing test needs to be understood.
func logState(t *testing.T, n *Net, p *Pair) {
	t.Helper()
	t.Logf("virtual time %v", n.Sim.Elapsed())
	t.Logf("client MIB:\n%v", n.CS.MIB())
	t.Logf("server MIB:\n%v", n.SS.MIB())
	for _, e := range []*Endpoint{p.C, p.S} {
		if e == nil {
			continue
		}
		ci := e.Conn.Info()
		t.Logf("conn server=%v state=%v fellback=%v(%s) sent=%d/%d got=%d eof=%v err=%v stall=%v sndbuf=%d rcvbuf=%d/%d",
			ci.Server, ci.State, ci.FellBack, ci.FallbackReason, e.Sent, e.Send, e.Got, e.EOF, e.Conn.Err(), e.MaxStall,
			ci.SendBuffered, ci.ReceiveBuffered, ci.ReceiveBuffer)
		for _, s := range ci.Subflows {
			t.Logf("  sf %d %v->%v est=%v stale=%v %v srtt=%v cwnd=%d infl=%d sent=%d rcvd=%d rtx=%d",
				s.ID, s.Local, s.Remote, s.Established, s.Stale, s.State, s.SRTT, s.Cwnd, s.InFlight, s.BytesSent, s.BytesReceived, s.Retransmits)
		}
	}
}

// transferOK runs a transfer of up bytes to the server and down bytes
// back, with opts, for at most limit of virtual time, and fails the test,
// logging the state of both ends, unless every byte arrived intact and
// neither stack kept asking to be polled at the current instant.
func transferOK(t *testing.T, n *Net, up, down int, opts core.ConnOptions, limit time.Duration) *Pair {
	t.Helper()
	p, err := n.StartTransfer(up, down, opts)
	if err != nil {
		t.Fatal(err)
	}
	n.RunUntilDone(p, limit)
	if err := p.Check(up, down); err != nil {
		logState(t, n, p)
		t.Fatal(err)
	}
	for _, h := range n.Sim.Hosts() {
		if b := h.Stats().PollBackoffs; b > 0 {
			logState(t, n, p)
			t.Fatalf("%s's stack kept asking to be polled at once (%d backoffs)", h.Name(), b)
		}
	}
	return p
}

// TestSubflowCounts transfers in both directions with 1 to 8 paths, over
// several seeds, with some loss, and checks every byte.
func TestSubflowCounts(t *testing.T) {
	seeds := 4
	if testing.Short() {
		seeds = 1
	}
	for npaths := 1; npaths <= 8; npaths++ {
		for seed := range seeds {
			t.Run(fmt.Sprintf("paths=%d/seed=%d", npaths, seed), func(t *testing.T) {
				var paths []Path
				for i := range npaths {
					paths = append(paths, Path{
						Rate:  int64(5+5*((i+seed)%4)) * 1e6,
						Delay: time.Duration(5+10*((i*3+seed)%5)) * time.Millisecond,
						Loss:  0.002 * float64(seed%3),
					})
				}
				n, err := NewNet(uint64(100*npaths+seed), paths, Options{})
				if err != nil {
					t.Fatal(err)
				}
				up, down := 300<<10, 2<<20
				p := transferOK(t, n, up, down, core.ConnOptions{}, 120*time.Second)
				if p.C.Conn.FellBack() {
					t.Fatal("fell back to TCP")
				}
				// Every path carried a subflow.
				peak := n.CS.MIB().Get(core.MPJoinSynTx)
				if int(peak) < npaths-1 {
					logState(t, n, p)
					t.Fatalf("%d joins for %d paths", peak, npaths)
				}
				if err := n.CheckClosed(p, 10*time.Second); err != nil {
					logState(t, n, p)
					t.Fatal(err)
				}
				if err := n.CheckCounters(p, npaths-1, seed%3 != 0); err != nil {
					t.Fatal(err)
				}
				// No stall beyond a bound: a few RTOs at worst, on lossy
				// paths.
				for _, e := range []*Endpoint{p.C, p.S} {
					if e.MaxStall > 3*time.Second {
						t.Errorf("server=%v: longest stall %v", e.Conn.Server(), e.MaxStall)
					}
				}
			})
		}
	}
}

// TestCoupledGroup checks that with a coupled congestion control every
// subflow of a connection, at both ends, joins the connection's group,
// and the transfer works.
func TestCoupledGroup(t *testing.T) {
	lia := func(c *core.Config) { c.CongestionControl = "lia" }
	n, err := NewNet(150, twoPaths(2), Options{Client: lia, Server: lia})
	if err != nil {
		t.Skip(err) // lia not registered in this build
	}
	p, err := n.StartTransfer(1<<20, 4<<20, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Sim.RunFor(time.Second)
	for _, e := range []*Endpoint{p.C, p.S} {
		if got := e.Conn.CCGroupSize(); got != 2 {
			t.Errorf("server=%v: %d subflows in the congestion-control group, want 2", e.Conn.Server(), got)
		}
	}
	n.RunUntilDone(p, 60*time.Second)
	if err := p.Check(1<<20, 4<<20); err != nil {
		logState(t, n, p)
		t.Fatal(err)
	}
}
