package middlebox

import (
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// StripMPTCP overwrites the MPTCP options of matching segments with NOPs,
// as firewalls that let only known options through do (Linux's
// TCPOPTSTRIP target does the same). The segment keeps its length, so
// nothing else changes.
type StripMPTCP struct {
	Match    Match
	Stripped int // segments whose options it removed

	seg  Segment
	opts wire.TCPOptions
}

// Process implements netsim.Processor.
func (p *StripMPTCP) Process(_ time.Time, pkt []byte, emit func([]byte)) {
	_, t, ok := parse(pkt, &p.seg, &p.opts)
	if ok && (p.Match == nil || p.Match(&p.seg)) && stripKind(t.Options(), wire.OptMPTCP) {
		fixChecksum(&p.seg, t)
		p.Stripped++
	}
	emit(pkt)
}

// stripKind replaces every option of the given kind in opts with NOPs
// and reports whether it found one.
func stripKind(opts []byte, kind byte) bool {
	found := false
	for i := 0; i < len(opts); {
		switch opts[i] {
		case wire.OptEOL:
			return found
		case wire.OptNOP:
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts) {
			return found
		}
		n := int(opts[i+1])
		if opts[i] == kind {
			for j := i; j < i+n; j++ {
				opts[j] = wire.OptNOP
			}
			found = true
		}
		i += n
	}
	return found
}

// Drop drops matching segments: a path that blackholes SYNs carrying
// MP_CAPABLE, say.
type Drop struct {
	Match   Match
	Dropped int

	seg  Segment
	opts wire.TCPOptions
}

// Process implements netsim.Processor.
func (p *Drop) Process(_ time.Time, pkt []byte, emit func([]byte)) {
	if _, _, ok := parse(pkt, &p.seg, &p.opts); ok && p.Match(&p.seg) {
		p.Dropped++
		return
	}
	emit(pkt)
}
