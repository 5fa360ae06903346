package simtest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/wire"
)

// TestRandomSYNs throws SYNs with random MPTCP options (random subtypes,
// lengths, tokens, keys; MP_JOINs naming the live connection's token) at
// a server during a transfer. Nothing panics, the transfer is intact, and
// the half-open connections the SYNs created go away.
func TestRandomSYNs(t *testing.T) {
	n, err := NewNet(140, twoPaths(1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	const up, down = 256 << 10, 1 << 20
	p, err := n.StartTransfer(up, down, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rng := n.Sim.Rand("synflood")
	src := netip.MustParseAddr("10.0.1.77")
	for i := range 400 {
		n.Sim.RunFor(2 * time.Millisecond)
		var o wire.OptionBuilder
		_ = o.AddMSS(1400)
		opt := make([]byte, 3+rng.IntN(22))
		opt[0], opt[1] = wire.OptMPTCP, byte(len(opt))
		for j := 2; j < len(opt); j++ {
			opt[j] = byte(rng.Uint32())
		}
		if i%4 == 0 && p.S != nil {
			// An MP_JOIN naming the live connection.
			opt = make([]byte, 12)
			opt[0], opt[1] = wire.OptMPTCP, 12
			opt[2] = byte(wire.SubtypeMPJoin) << 4
			tok := p.S.Conn.Info().LocalToken
			opt[4], opt[5], opt[6], opt[7] = byte(tok>>24), byte(tok>>16), byte(tok>>8), byte(tok)
		}
		opts := append(append([]byte(nil), o.Bytes()...), opt...)
		for len(opts)%4 != 0 {
			opts = append(opts, wire.OptNOP)
		}
		f := wire.TCPFields{SrcPort: uint16(10000 + i), DstPort: 80, Seq: rng.Uint32(), Flags: wire.FlagSYN, Window: 65535}
		if err := n.Inject(wire.AppendTCPPacket(nil, src, n.ServerAddr, &f, opts, nil)); err != nil {
			t.Fatal(err)
		}
	}
	n.RunUntilDone(p, 60*time.Second)
	if err := p.Check(up, down); err != nil {
		logState(t, n, p)
		t.Fatal(err)
	}
	n.Sim.RunFor(5 * time.Minute)
	if k := len(n.SS.Conns()); k != 0 {
		t.Errorf("server holds %d connections after the flood", k)
	}
	t.Logf("server MIB: %v", n.SS.MIB().Map(false))
}
