package simtest

import (
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/tcp"
)

// TestSubflowLimit lets the server accept one join only: the other joins
// are refused with MP_TCPRST and counted, and the transfer goes on.
func TestSubflowLimit(t *testing.T) {
	n, err := NewNet(110, []Path{{Rate: 10e6, Delay: 10 * time.Millisecond}, {Rate: 10e6, Delay: 20 * time.Millisecond},
		{Rate: 10e6, Delay: 30 * time.Millisecond}}, Options{Server: func(c *core.Config) { c.Limits = pm.Limits{Subflows: 1, AddAddrAccepted: 8} }})
	if err != nil {
		t.Fatal(err)
	}
	p := transfer(t, n, 0, 4<<20, core.ConnOptions{})
	sm, cm := n.SS.MIB(), n.CS.MIB()
	if sm.Get(core.MPJoinAckRx) != 1 || sm.Get(core.MPJoinRejected) == 0 || sm.Get(core.MPRstTx) == 0 || cm.Get(core.MPRstRx) == 0 {
		logState(t, n, p)
		t.Fatalf("joins accepted %d, rejected %d, MP_TCPRST sent %d, received %d", sm.Get(core.MPJoinAckRx),
			sm.Get(core.MPJoinRejected), sm.Get(core.MPRstTx), cm.Get(core.MPRstRx))
	}
}

// TestRemoveAddr has the server lose its second address mid-transfer: it
// tells the client with REMOVE_ADDR, the client closes the subflows to it,
// and the transfer completes over the first address.
func TestRemoveAddr(t *testing.T) {
	n, err := NewNet(111, twoPaths(2), Options{ServerAddrs: 2})
	if err != nil {
		t.Fatal(err)
	}
	const down = 8 << 20
	p, err := n.StartTransfer(0, down, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Sim.RunFor(time.Second)
	if k, _ := subflowsTo(p, "10.9.1.2"); k == 0 {
		logState(t, n, p)
		t.Fatal("no subflow to the second server address")
	}
	n.SS.RemoveAddress(n.ServerIfs[1].Addr(true))
	n.Server.Wake()
	n.RunUntilDone(p, 60*time.Second)
	if err := p.Check(0, down); err != nil {
		logState(t, n, p)
		t.Fatal(err)
	}
	sm, cm := n.SS.MIB(), n.CS.MIB()
	if sm.Get(core.RmAddrTx) == 0 || cm.Get(core.RmAddr) == 0 || cm.Get(core.RmSubflow) == 0 {
		logState(t, n, p)
		t.Fatalf("REMOVE_ADDR sent %d, received %d, subflows closed %d", sm.Get(core.RmAddrTx), cm.Get(core.RmAddr), cm.Get(core.RmSubflow))
	}
	// Closed, or closing: a FIN to the removed address gets no answer,
	// and the subflow is reset after closeGrace if the connection lasts.
	for _, s := range p.C.Conn.Info().Subflows {
		if s.Remote.Addr().String() == "10.9.1.2" && (s.State == tcp.StateEstablished || s.Established) {
			t.Errorf("subflow to the removed address still open: %+v", s)
		}
	}
}

// TestAddressAppears starts the client with one address; a second one
// comes up mid-transfer and the path manager opens a subflow from it.
// Then it goes away again.
func TestAddressAppears(t *testing.T) {
	n, err := NewNet(112, twoPaths(2), Options{})
	if err != nil {
		t.Fatal(err)
	}
	second := n.ClientIfs[1].Addr(true)
	n.CS.RemoveAddress(second)
	const down = 16 << 20
	p, err := n.StartTransfer(0, down, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Sim.RunFor(time.Second)
	if len(p.C.Conn.Info().Subflows) != 1 {
		t.Fatalf("%d subflows before the address appeared", len(p.C.Conn.Info().Subflows))
	}
	n.CS.AddAddress(second)
	n.Client.Wake()
	n.Sim.RunFor(time.Second)
	if len(p.C.Conn.Info().Subflows) != 2 {
		logState(t, n, p)
		t.Fatalf("%d subflows after the address appeared", len(p.C.Conn.Info().Subflows))
	}
	n.CS.RemoveAddress(second)
	n.Client.Wake()
	n.RunUntilDone(p, 60*time.Second)
	if err := p.Check(0, down); err != nil {
		logState(t, n, p)
		t.Fatal(err)
	}
	if n.CS.MIB().Get(core.RmAddrTx) == 0 || n.SS.MIB().Get(core.RmAddr) == 0 {
		t.Errorf("REMOVE_ADDR for the lost address: sent %d, received %d", n.CS.MIB().Get(core.RmAddrTx), n.SS.MIB().Get(core.RmAddr))
	}
}
