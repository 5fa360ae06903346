// Package middlebox holds netsim packet processors that behave like the
// middleboxes Multipath TCP has to survive (RFC 8684 section 6, "How Hard
// Can It Be?", NSDI 2012): firewalls that strip unknown TCP options from
// some segments, NATs and firewalls that randomise sequence numbers,
// segmentation offload that splits and merges segments, application-level
// gateways that rewrite payload, and paths that drop SYNs carrying
// MP_CAPABLE. Each is a netsim.Processor for a pipe or a router; the ones
// that rewrite both directions of a flow come in pairs sharing state.
//
// They keep TCP checksums valid (a real middlebox does), so only the
// MPTCP layer can notice what they did.
package middlebox

import (
	"net/netip"

	"github.com/mptcp-go/mptcp/wire"
)

// Segment is the parsed view of a TCP packet that matchers get.
type Segment struct {
	Src, Dst netip.AddrPort
	Flags    wire.TCPFlags
	Seq, Ack uint32
	Payload  []byte
	Options  *wire.TCPOptions
}

// Match selects the segments a middlebox acts on.
type Match func(s *Segment) bool

// parse returns the TCP view of pkt, or false for anything else.
func parse(pkt []byte, s *Segment, opts *wire.TCPOptions) (hdrLen int, t wire.TCP, ok bool) {
	src, dst, t, err := wire.ParseTCPPacket(pkt)
	if err != nil {
		return 0, nil, false
	}
	*s = Segment{
		Src: netip.AddrPortFrom(src, t.SrcPort()), Dst: netip.AddrPortFrom(dst, t.DstPort()),
		Flags: t.Flags(), Seq: t.Seq(), Ack: t.Ack(), Payload: t.Payload(), Options: opts,
	}
	_ = wire.ParseTCPOptions(t.Options(), s.Flags, opts)
	return len(pkt) - len(t), t, true
}

// fixChecksum recomputes the TCP checksum of t inside an IP packet.
func fixChecksum(s *Segment, t wire.TCP) {
	t.SetChecksum(t.ComputeChecksum(s.Src.Addr(), s.Dst.Addr()))
}

// Matchers for common cases.

// SYN matches SYNs without ACK.
func SYN(s *Segment) bool { return s.Flags.Has(wire.FlagSYN) && !s.Flags.Has(wire.FlagACK) }

// SYNACK matches SYN/ACKs.
func SYNACK(s *Segment) bool { return s.Flags.Has(wire.FlagSYN | wire.FlagACK) }

// Data matches segments with payload.
func Data(s *Segment) bool { return len(s.Payload) > 0 }

// NotSYN matches every segment but SYNs and SYN/ACKs.
func NotSYN(s *Segment) bool { return !s.Flags.Has(wire.FlagSYN) }

// All matches every segment.
func All(*Segment) bool { return true }

// And matches when every matcher does.
func And(ms ...Match) Match {
	return func(s *Segment) bool {
		for _, m := range ms {
			if !m(s) {
				return false
			}
		}
		return true
	}
}

// Port matches segments to or from the given port.
func Port(p uint16) Match {
	return func(s *Segment) bool { return s.Src.Port() == p || s.Dst.Port() == p }
}

// HasMPTCP matches segments that carry any MPTCP option.
func HasMPTCP(s *Segment) bool { return s.Options.MPTCP.Present != 0 }

// HasSubtype matches segments carrying an MPTCP option of subtype st.
func HasSubtype(st wire.MPTCPSubtype) Match {
	return func(s *Segment) bool { return s.Options.MPTCP.Has(st) }
}
