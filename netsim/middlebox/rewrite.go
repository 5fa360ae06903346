package middlebox

import (
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// PayloadRewriter changes payload bytes of matching data segments, as an
// application-level gateway rewriting addresses in a protocol does, and
// fixes the TCP checksum so that only the MPTCP DSS checksum can notice.
// It rewrites at most Limit segments (0: no limit).
type PayloadRewriter struct {
	Match Match
	Limit int
	// Rewrite changes p in place; the default inverts its first byte.
	Rewrite   func(p []byte)
	Rewritten int

	seg  Segment
	opts wire.TCPOptions
}

// Process implements netsim.Processor.
func (p *PayloadRewriter) Process(_ time.Time, pkt []byte, emit func([]byte)) {
	_, t, ok := parse(pkt, &p.seg, &p.opts)
	s := &p.seg
	if ok && len(s.Payload) > 0 && (p.Limit == 0 || p.Rewritten < p.Limit) && (p.Match == nil || p.Match(s)) {
		if p.Rewrite != nil {
			p.Rewrite(t.Payload())
		} else {
			t.Payload()[0] ^= 0xff
		}
		fixChecksum(s, t)
		p.Rewritten++
	}
	emit(pkt)
}
