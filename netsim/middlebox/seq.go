package middlebox

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// SeqRewriter shifts the sequence numbers of every TCP flow by a random
// offset chosen per flow, as firewalls that randomise initial sequence
// numbers do, and shifts acknowledgments and SACK blocks back in the other
// direction. Out is installed where packets leave the inside host, In
// where they come back; both share the flow table.
type SeqRewriter struct {
	rng     *rand.Rand
	offsets map[flow]uint32
	Out, In *seqDir
}

type flow struct{ a, b netip.AddrPort }

type seqDir struct {
	r    *SeqRewriter
	out  bool
	seg  Segment
	opts wire.TCPOptions
}

// NewSeqRewriter returns a rewriter drawing its offsets from rng.
func NewSeqRewriter(rng *rand.Rand) *SeqRewriter {
	r := &SeqRewriter{rng: rng, offsets: make(map[flow]uint32)}
	r.Out = &seqDir{r: r, out: true}
	r.In = &seqDir{r: r}
	return r
}

// Process implements netsim.Processor.
func (d *seqDir) Process(_ time.Time, pkt []byte, emit func([]byte)) {
	_, t, ok := parse(pkt, &d.seg, &d.opts)
	if !ok {
		emit(pkt)
		return
	}
	s := &d.seg
	if d.out {
		k := flow{s.Src, s.Dst}
		off, ok := d.r.offsets[k]
		if !ok {
			off = uint32(d.r.rng.Uint64())
			d.r.offsets[k] = off
		}
		t.SetSeq(s.Seq + off)
	} else {
		k := flow{s.Dst, s.Src}
		if off, ok := d.r.offsets[k]; ok {
			if s.Flags.Has(wire.FlagACK) {
				t.SetAck(s.Ack - off)
			}
			shiftSACK(t.Options(), -off)
		}
	}
	fixChecksum(s, t)
	emit(pkt)
}

// shiftSACK adds delta to every SACK block edge in opts.
func shiftSACK(opts []byte, delta uint32) {
	for i := 0; i < len(opts); {
		switch opts[i] {
		case wire.OptEOL:
			return
		case wire.OptNOP:
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts) {
			return
		}
		n := int(opts[i+1])
		if opts[i] == wire.OptSACK {
			for j := i + 2; j+4 <= i+n; j += 4 {
				binary.BigEndian.PutUint32(opts[j:], binary.BigEndian.Uint32(opts[j:])+delta)
			}
		}
		i += n
	}
}
