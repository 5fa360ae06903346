package torture

import (
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/internal/simtest"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/wire"
)

// Attackers who see the client's first path and forge segments into the
// live initial subflow toward the client, in the window (RFC 5961 lets
// whoever knows the sequence numbers do that): the cases of finding 8 of
// issue 21.

// subflowTap follows the server's side of the initial subflow: its ISN
// (from the MP_CAPABLE SYN/ACK) and the data segments it sends, and hands
// the next one to forge once armed.
type subflowTap struct {
	port  uint16 // the client's port
	isn   uint32
	armed bool
	forge func(src, dst netip.Addr, t wire.TCP, o *wire.TCPOptions, emit func([]byte))
	opts  wire.TCPOptions
}

func (s *subflowTap) install(n *simtest.Net) {
	n.PathLinks[0].BA().AddProcessor(netsim.ProcessorFunc(func(_ time.Time, pkt []byte, emit func([]byte)) {
		emit(pkt)
		src, dst, _, payload, err := wire.ParseIP(pkt)
		if err != nil {
			return
		}
		t, err := wire.ParseTCP(payload)
		if err != nil || wire.ParseTCPOptions(t.Options(), t.Flags(), &s.opts) != nil {
			return
		}
		switch {
		case t.Flags()&wire.FlagSYN != 0 && s.port == 0 && s.opts.MPTCP.Has(wire.SubtypeMPCapable):
			s.port, s.isn = t.DstPort(), t.Seq()
		case s.armed && t.DstPort() == s.port && len(t.Payload()) > 0 && s.opts.HasTimestamps:
			s.armed = false
			s.forge(src, dst, t, &s.opts, emit)
		}
	}))
}

// forgedOOODSS sends, right behind a data segment, ten segments further
// ahead in the window with made-up payload, each mapped to a data
// sequence number far from the connection's; every fourth one's mapping
// does not even cover it. The real segments arrive later with their own
// mappings. Before, the conflict reset the subflow.
func forgedOOODSS() Case {
	tap := &subflowTap{}
	tap.forge = func(src, dst netip.Addr, t wire.TCP, o *wire.TCPOptions, emit func([]byte)) {
		junk := make([]byte, 300)
		for i := range junk {
			junk[i] = 0xa5
		}
		step := uint32(max(len(t.Payload()), 500))
		for k := uint32(2); k <= 11; k++ {
			seq := t.Seq() + k*step
			ssn := seq - tap.isn
			if k%4 == 0 {
				ssn += 5000
			}
			var b wire.OptionBuilder
			b.AddTimestamps(o.TSVal, o.TSEcr)
			_ = b.AddDSS(&wire.DSS{HasMap: true, DSN64: true, DSN: 1<<62 + uint64(k)<<20, SubflowSeq: ssn,
				DataLen: uint16(len(junk)), HasChecksum: o.MPTCP.DSS.HasChecksum})
			f := wire.TCPFields{SrcPort: t.SrcPort(), DstPort: t.DstPort(), Seq: seq, Ack: t.Ack(),
				Flags: wire.FlagACK, Window: t.Window()}
			emit(wire.AppendTCPPacket(nil, src, dst, &f, b.Bytes(), junk))
		}
	}
	return Case{Name: "forged-ooo-dss/2", Paths: 2, Install: tap.install, DuringAt: 100 * time.Millisecond,
		During: func(*simtest.Net) { tap.armed = true }}
}

// forgedTSVal sends, right behind a data segment, an ACK at the same
// place whose TSval lies 2^30 ahead, and one whose TSval lies 2^19 ahead:
// before, every later segment of the real server failed PAWS on the
// client.
func forgedTSVal() Case {
	tap := &subflowTap{}
	tap.forge = func(src, dst netip.Addr, t wire.TCP, o *wire.TCPOptions, emit func([]byte)) {
		for _, jump := range []uint32{1 << 30, 1 << 19} {
			var b wire.OptionBuilder
			b.AddTimestamps(o.TSVal+jump, o.TSEcr)
			f := wire.TCPFields{SrcPort: t.SrcPort(), DstPort: t.DstPort(), Seq: t.Seq() + uint32(len(t.Payload())),
				Ack: t.Ack(), Flags: wire.FlagACK, Window: t.Window()}
			emit(wire.AppendTCPPacket(nil, src, dst, &f, b.Bytes(), nil))
		}
	}
	return Case{Name: "forged-tsval/2", Paths: 2, Install: tap.install, DuringAt: 100 * time.Millisecond,
		During: func(*simtest.Net) { tap.armed = true }}
}
