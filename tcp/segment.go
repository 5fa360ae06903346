package tcp

import (
	"net/netip"

	"github.com/mptcp-go/mptcp/wire"
)

// inSeg is an incoming segment being processed. The stack reuses one, so
// nothing in it may be kept after the segment is handled; the payload is
// copied into the receive buffer.
type inSeg struct {
	hdr           wire.TCP
	seq, ack      uint32
	flags         wire.TCPFlags
	wnd           uint16
	payload       []byte
	opts          *wire.TCPOptions
	local, remote netip.AddrPort
}

func (g *inSeg) has(f wire.TCPFlags) bool { return g.flags&f != 0 }

// seqLen is the sequence space the segment occupies (RFC 9293 SEG.LEN).
func (g *inSeg) seqLen() int {
	n := len(g.payload)
	if g.has(wire.FlagSYN) {
		n++
	}
	if g.has(wire.FlagFIN) {
		n++
	}
	return n
}

// kind classifies the segment for hooks.
func segKind(f wire.TCPFlags, payload int) SegmentKind {
	switch {
	case f&wire.FlagRST != 0:
		return KindRST
	case f&wire.FlagSYN != 0 && f&wire.FlagACK != 0:
		return KindSYNACK
	case f&wire.FlagSYN != 0:
		return KindSYN
	case payload > 0:
		return KindData
	case f&wire.FlagFIN != 0:
		return KindFIN
	}
	return KindACK
}
