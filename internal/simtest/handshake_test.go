package simtest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/netsim/middlebox"
	"github.com/mptcp-go/mptcp/wire"
)

func transfer(t *testing.T, n *Net, up, down int, opts core.ConnOptions) *Pair {
	t.Helper()
	p := transferOK(t, n, up, down, opts, 60*time.Second)
	return p
}

// TestBlackhole drops SYNs carrying MP_CAPABLE: after two retransmissions
// the client tries plain TCP, which works, and remembers the path, so the
// next connection does not try MPTCP there.
func TestBlackhole(t *testing.T) {
	n, err := NewNet(100, twoPaths(1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	drop := &middlebox.Drop{Match: middlebox.And(middlebox.SYN, middlebox.HasSubtype(wire.SubtypeMPCapable))}
	n.PathLinks[0].AB().AddProcessor(drop)
	p := transfer(t, n, 100<<10, 100<<10, core.ConnOptions{})
	cm := n.CS.MIB()
	if !p.C.Conn.FellBack() || drop.Dropped != 3 || cm.Get(core.MPCapableSYNTX) != 3 ||
		cm.Get(core.MPCapableSYNTXDrop) != 1 || cm.Get(core.Blackhole) != 1 {
		t.Fatalf("fell back %v, dropped %d SYNs, SYNTX %d, SYNTXDrop %d, Blackhole %d", p.C.Conn.FellBack(), drop.Dropped,
			cm.Get(core.MPCapableSYNTX), cm.Get(core.MPCapableSYNTXDrop), cm.Get(core.Blackhole))
	}
	if got := p.C.Conn.Info().FallbackReason; got != "MPCapableSYNTXDrop" {
		t.Errorf("fallback reason %q", got)
	}
	// The next connection on the path goes plain at once.
	start := n.Sim.Now()
	c, err := n.CS.Dial(start, netip.Addr{}, netip.AddrPortFrom(n.ServerAddr, 80), core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Client.Wake()
	n.Sim.RunFor(time.Second)
	if c.State() != core.StateEstablished || !c.FellBack() || n.CS.MIB().Get(core.MPCapableSYNTXDisabled) != 1 || drop.Dropped != 3 {
		t.Fatalf("second connection: state %v fell back %v, SYNTXDisabled %d, dropped %d", c.State(), c.FellBack(),
			n.CS.MIB().Get(core.MPCapableSYNTXDisabled), drop.Dropped)
	}
}

// TestThirdACKLost drops the MP_CAPABLE third ACK: the keys reach the
// server with the client's first data (the data form), or on the client's
// later ACKs when only the server sends.
func TestThirdACKLost(t *testing.T) {
	for _, up := range []int{0, 200 << 10} {
		n, err := NewNet(101, twoPaths(1), Options{})
		if err != nil {
			t.Fatal(err)
		}
		dropped := 0
		n.PathLinks[0].AB().AddProcessor(&middlebox.Drop{Match: func(s *middlebox.Segment) bool {
			if dropped == 0 && !s.Flags.Has(wire.FlagSYN) && s.Options.MPTCP.Has(wire.SubtypeMPCapable) {
				dropped++
				return true
			}
			return false
		}})
		p := transfer(t, n, up, 300<<10, core.ConnOptions{})
		if dropped != 1 || p.C.Conn.FellBack() || n.SS.MIB().Get(core.MPCapableACKRX) != 1 {
			logState(t, n, p)
			t.Fatalf("up=%d: dropped %d, fell back %v, MPCapableACKRX %d", up, dropped, p.C.Conn.FellBack(), n.SS.MIB().Get(core.MPCapableACKRX))
		}
	}
}

// TestPlainPeers: a client without MPTCP talks to an MPTCP server, and an
// MPTCP client to a server without it.
func TestPlainPeers(t *testing.T) {
	n, err := NewNet(102, twoPaths(2), Options{Client: func(c *core.Config) { c.DisableMPTCP = true }})
	if err != nil {
		t.Fatal(err)
	}
	p := transfer(t, n, 300<<10, 300<<10, core.ConnOptions{})
	if !p.S.Conn.FellBack() || n.SS.MIB().Get(core.MPCapableSYNRX) != 0 {
		t.Errorf("server with a plain client: fell back %v", p.S.Conn.FellBack())
	}
	n, err = NewNet(103, twoPaths(2), Options{Server: func(c *core.Config) { c.DisableMPTCP = true }})
	if err != nil {
		t.Fatal(err)
	}
	p = transfer(t, n, 300<<10, 300<<10, core.ConnOptions{})
	if !p.C.Conn.FellBack() || n.CS.MIB().Get(core.MPCapableFallbackSYNACK) != 1 || n.CS.MIB().Get(core.MPJoinSynTx) != 0 {
		t.Errorf("client with a plain server: fell back %v, FallbackSYNACK %d, joins %d", p.C.Conn.FellBack(),
			n.CS.MIB().Get(core.MPCapableFallbackSYNACK), n.CS.MIB().Get(core.MPJoinSynTx))
	}
}

// TestVersion0SYN sends an RFC 6824 MP_CAPABLE SYN: the server answers as
// plain TCP.
func TestVersion0SYN(t *testing.T) {
	n, err := NewNet(104, twoPaths(1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.SS.Listen(netip.AddrPortFrom(netip.IPv4Unspecified(), 80)); err != nil {
		t.Fatal(err)
	}
	var synack *wire.TCPOptions
	n.PathLinks[0].BA().AddProcessor(processorFunc(func(now time.Time, pkt []byte, emit func([]byte)) {
		_, _, _, payload, err := wire.ParseIP(pkt)
		if err == nil {
			if s, err := wire.ParseTCP(payload); err == nil && s.Flags().Has(wire.FlagSYN|wire.FlagACK) && s.DstPort() == 7000 {
				synack = new(wire.TCPOptions)
				_ = wire.ParseTCPOptions(s.Options(), s.Flags(), synack)
			}
		}
		emit(pkt)
	}))
	// Inject the SYN from the client's address.
	opt := []byte{wire.OptMPTCP, 12, 0x00, 0x81, 1, 2, 3, 4, 5, 6, 7, 8} // v0, flags A|H, key
	f := wire.TCPFields{SrcPort: 7000, DstPort: 80, Seq: 1, Flags: wire.FlagSYN, Window: 65535}
	pkt := wire.AppendTCPPacket(nil, n.ClientIfs[0].Addr(true), n.ServerAddr, &f, opt, nil)
	if err := n.Inject(pkt); err != nil {
		t.Fatal(err)
	}
	n.Sim.RunFor(time.Second)
	if synack == nil {
		t.Fatal("no SYN/ACK")
	}
	if synack.MPTCP.Present != 0 {
		t.Fatalf("SYN/ACK to a version 0 SYN carries %v", synack.MPTCP.Present)
	}
	if n.SS.MIB().Get(core.MPCapableSYNRX) != 1 {
		t.Errorf("MPCapableSYNRX %d", n.SS.MIB().Get(core.MPCapableSYNRX))
	}
}
