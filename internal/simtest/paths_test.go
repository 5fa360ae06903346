package simtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// TestPathOutage takes the faster path down in the middle of a download
// and brings it back: the transfer goes on over the other path, and the
// returning path carries data again.
func TestPathOutage(t *testing.T) {
	for seed := range 3 {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			n, err := NewNet(uint64(30+seed), []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}, {Rate: 10e6, Delay: 30 * time.Millisecond}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			const down = 12 << 20
			p, err := n.StartTransfer(0, down, core.ConnOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wifi := n.PathLinks[0]
			n.Sim.RunFor(1500 * time.Millisecond)
			before := pathBytes(p, 0)
			wifi.SetUp(false)
			n.Sim.RunFor(3 * time.Second)
			during := pathBytes(p, 0)
			gotDown := p.C.Got
			wifi.SetUp(true)
			n.RunUntilDone(p, 60*time.Second)
			if err := p.Check(0, down); err != nil {
				logState(t, n, p)
				t.Fatal(err)
			}
			after := pathBytes(p, 0)
			t.Logf("path 0 bytes: %d before, %d at the end of the outage, %d at the end; max stall %v; done at %v",
				before, during, after, p.C.MaxStall, p.C.Done.Sub(n.Sim.Now().Add(-n.Sim.Elapsed())))
			if gotDown < 1<<20 {
				t.Errorf("only %d bytes arrived by the end of the outage: the other path did not take over", gotDown)
			}
			if after <= during {
				t.Errorf("the returning path carried nothing (%d -> %d)", during, after)
			}
			if p.C.MaxStall > time.Second {
				t.Errorf("longest stall %v", p.C.MaxStall)
			}
			if n.SS.MIB().Get(core.SubflowStale) == 0 || n.SS.MIB().Get(core.MPTCPRetrans) == 0 {
				t.Errorf("no stale subflow or reinjection counted")
			}
		})
	}
}

// TestOutageReinjectsOnce: when a path stops delivering, what its subflow
// held is sent again on the other path once, not once more at each of its
// retransmission timeouts while the slower path is still delivering the
// first copy (that multiplied the traffic of congested paths: 25.9 MB
// reinjected for 10 MB of responses with 1,000 connections on two paths).
func TestOutageReinjectsOnce(t *testing.T) {
	n, err := NewNet(41, []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}, {Rate: 2e6, Delay: 50 * time.Millisecond}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const down = 4 << 20
	p, err := n.StartTransfer(0, down, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Sim.RunFor(1500 * time.Millisecond)
	held := pathInFlight(p, 0)
	n.PathLinks[0].SetUp(false)
	n.Sim.RunFor(4 * time.Second)
	n.PathLinks[0].SetUp(true)
	n.RunUntilDone(p, 60*time.Second)
	if err := p.Check(0, down); err != nil {
		logState(t, n, p)
		t.Fatal(err)
	}
	re := n.SS.MIB().Get(core.ReinjectBytes)
	t.Logf("held on the failed path %d bytes, reinjected %d", held, re)
	// Before, each timeout of the failed subflow queued what the slow
	// path had not yet delivered once more: 132,804 bytes reinjected for
	// 109,956 held (this seed is deterministic); now 88,536.
	if held == 0 || re > held {
		t.Errorf("held %d bytes on the failed path, reinjected %d: more than once", held, re)
	}
}

// pathInFlight is what the server's subflows of client path i have sent
// and not had acknowledged.
func pathInFlight(p *Pair, i int) uint64 {
	want := fmt.Sprintf("10.0.%d.2", i+1)
	var b uint64
	for _, s := range p.S.Conn.Info().Subflows {
		if s.Remote.Addr().String() == want {
			b += uint64(s.InFlight)
		}
	}
	return b
}

// pathBytes is what the server sent on the subflows of client path i.
func pathBytes(p *Pair, i int) uint64 {
	if p.S == nil {
		return 0
	}
	want := fmt.Sprintf("10.0.%d.2", i+1)
	var b uint64
	ci := p.S.Conn.Info()
	for _, s := range append(ci.Subflows, ci.ClosedSubflows...) {
		if s.Remote.Addr().String() == want {
			b += s.BytesSent
		}
	}
	return b
}

// TestSubflowRecreated lets the TCP engine give up on a dead path, so the
// subflow closes, and checks that the path manager opens a new one when
// the path returns.
func TestSubflowRecreated(t *testing.T) {
	for seed := range 2 {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			short := func(c *core.Config) { c.TCP.Retries = 3; c.TCP.MaxRTO = 2 * time.Second }
			n, err := NewNet(uint64(40+seed), []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}, {Rate: 10e6, Delay: 30 * time.Millisecond}},
				Options{Client: short, Server: short})
			if err != nil {
				t.Fatal(err)
			}
			const down = 40 << 20
			p, err := n.StartTransfer(0, down, core.ConnOptions{})
			if err != nil {
				t.Fatal(err)
			}
			n.Sim.RunFor(time.Second)
			n.PathLinks[0].SetUp(false)
			n.Sim.RunFor(20 * time.Second)
			joinsDown := n.CS.MIB().Get(core.MPJoinSynTx)
			subsDown := len(p.S.Conn.Info().Subflows)
			n.PathLinks[0].SetUp(true)
			n.RunUntilDone(p, 120*time.Second)
			if err := p.Check(0, down); err != nil {
				logState(t, n, p)
				t.Fatal(err)
			}
			t.Logf("subflows during the outage %d; joins %d then %d; recreated %d", subsDown, joinsDown,
				n.CS.MIB().Get(core.MPJoinSynTx), n.CS.MIB().Get(core.SubflowRecreate))
			if subsDown != 1 {
				t.Errorf("server: %d subflows during a long outage, want the dead one closed", subsDown)
			}
			if n.CS.MIB().Get(core.SubflowRecreate) == 0 {
				logState(t, n, p)
				t.Errorf("no subflow re-created")
			}
			if pathBytes(p, 0) == 0 {
				t.Errorf("the path carried nothing after it came back")
			}
		})
	}
}
