package middlebox

import (
	"time"

	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/wire"
)

// Splitter cuts data segments longer than Max into pieces, each carrying
// the original's options, as a TCP proxy or a segmentation offload engine
// re-segmenting a stream does. Flags that end a segment (FIN, PSH) stay on
// the last piece.
type Splitter struct {
	Max   int
	Match Match
	Split int // segments split

	seg  Segment
	opts wire.TCPOptions
	buf  []byte
}

// Process implements netsim.Processor.
func (p *Splitter) Process(_ time.Time, pkt []byte, emit func([]byte)) {
	_, t, ok := parse(pkt, &p.seg, &p.opts)
	s := &p.seg
	if !ok || len(s.Payload) <= p.Max || p.Max <= 0 || (p.Match != nil && !p.Match(s)) {
		emit(pkt)
		return
	}
	p.Split++
	opts := t.Options()
	for off := 0; off < len(s.Payload); off += p.Max {
		end := min(off+p.Max, len(s.Payload))
		f := wire.TCPFields{SrcPort: s.Src.Port(), DstPort: s.Dst.Port(), Seq: s.Seq + uint32(off), Ack: s.Ack,
			Flags: s.Flags, Window: t.Window()}
		if end < len(s.Payload) {
			f.Flags &^= wire.FlagFIN | wire.FlagPSH
		}
		p.buf = wire.AppendTCPPacket(p.buf[:0], s.Src.Addr(), s.Dst.Addr(), &f, opts, s.Payload[off:end])
		emit(p.buf)
	}
}

// Coalescer merges back-to-back data segments of a flow into one, as
// receive offload does, keeping the options of the first: the second's
// options (its DSS mapping among them) are lost. It holds a segment for
// at most Hold waiting for its successor.
type Coalescer struct {
	Sim   *netsim.Sim
	Hold  time.Duration
	Match Match
	Max   int // largest merged payload (default 64000)

	Merged int

	held     []byte // the held packet as received
	heldSeg  Segment
	heldOpts []byte
	heldData []byte
	heldOK   bool
	timer    *netsim.Timer
	emit     func([]byte)
	seg      Segment
	opts     wire.TCPOptions
	buf      []byte
}

// Process implements netsim.Processor.
func (p *Coalescer) Process(_ time.Time, pkt []byte, emit func([]byte)) {
	p.emit = emit
	if p.timer == nil {
		p.timer = p.Sim.NewTimer(p.flush)
	}
	_, t, ok := parse(pkt, &p.seg, &p.opts)
	s := &p.seg
	if !ok || len(s.Payload) == 0 || s.Flags&(wire.FlagSYN|wire.FlagFIN|wire.FlagRST) != 0 ||
		(p.Match != nil && !p.Match(s)) {
		p.flush()
		emit(pkt)
		return
	}
	limit := p.Max
	if limit == 0 {
		limit = 64000
	}
	h := &p.heldSeg
	if p.heldOK && h.Src == s.Src && h.Dst == s.Dst && h.Seq+uint32(len(p.heldData)) == s.Seq &&
		len(p.heldData)+len(s.Payload) <= limit {
		f := wire.TCPFields{SrcPort: s.Src.Port(), DstPort: s.Dst.Port(), Seq: h.Seq, Ack: s.Ack,
			Flags: h.Flags | s.Flags&wire.FlagPSH, Window: t.Window()}
		p.heldData = append(p.heldData, s.Payload...)
		p.buf = wire.AppendTCPPacket(p.buf[:0], s.Src.Addr(), s.Dst.Addr(), &f, p.heldOpts, p.heldData)
		p.Merged++
		p.heldOK = false
		p.timer.Stop()
		emit(p.buf)
		return
	}
	p.flush()
	p.held = append(p.held[:0], pkt...)
	p.heldSeg = *s
	p.heldSeg.Payload, p.heldSeg.Options = nil, nil
	p.heldOpts = append(p.heldOpts[:0], t.Options()...)
	p.heldData = append(p.heldData[:0], s.Payload...)
	p.heldOK = true
	p.timer.Reset(p.Sim.Now().Add(p.Hold))
}

func (p *Coalescer) flush() {
	if p.heldOK {
		p.heldOK = false
		if p.timer != nil {
			p.timer.Stop()
		}
		p.emit(p.held)
	}
}
