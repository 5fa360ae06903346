package simtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/wire"
)

// optRewriter is what the option-rewriting processors below share: the
// senders' ISNs, the parsed options of the segment at hand and the
// rebuilt packet.
type optRewriter struct {
	isn  map[uint16]uint32 // by destination port: the sender's ISN
	opts wire.TCPOptions
	b    wire.OptionBuilder
	buf  []byte
}

// dataSegment parses pkt and reports whether it is a data segment of a
// connection whose SYN passed, with its sequence number relative to the
// sender's ISN; its options are then in r.opts, and r.b holds its
// timestamps, for a rebuilt option list to go on from.
func (r *optRewriter) dataSegment(pkt []byte) (t wire.TCP, rel uint32, ok bool) {
	_, _, t, err := wire.ParseTCPPacket(pkt)
	if err != nil {
		return t, 0, false
	}
	if r.isn == nil {
		r.isn = map[uint16]uint32{}
	}
	if t.Flags().Has(wire.FlagSYN) {
		r.isn[t.DstPort()] = t.Seq()
	}
	isn, seen := r.isn[t.DstPort()]
	if !seen || len(t.Payload()) == 0 {
		return t, 0, false
	}
	_ = wire.ParseTCPOptions(t.Options(), t.Flags(), &r.opts)
	r.b.Reset()
	if err := r.b.AddTimestamps(r.opts.TSVal, r.opts.TSEcr); err != nil {
		panic(err)
	}
	return t, t.Seq() - isn, true
}

// rebuilt returns pkt with the options in r.b instead of its own.
func (r *optRewriter) rebuilt(pkt []byte) []byte {
	src, dst, t, _ := wire.ParseTCPPacket(pkt)
	f := wire.TCPFields{SrcPort: t.SrcPort(), DstPort: t.DstPort(), Seq: t.Seq(), Ack: t.Ack(), Flags: t.Flags(), Window: t.Window()}
	r.buf = wire.AppendTCPPacket(r.buf[:0], src, dst, &f, r.b.Bytes(), t.Payload())
	return r.buf
}

// dsnShifter gives one segment that is not the first of its mapping (so
// carries only a DATA_ACK) a copy of that mapping with its DSN moved on:
// a mapping that contradicts the one the mapping's first segment carried,
// as a middlebox mangling options would make it.
type dsnShifter struct {
	optRewriter
	last wire.DSS // the last mapping seen
	done bool
}

func (d *dsnShifter) Process(_ time.Time, pkt []byte, emit func([]byte)) {
	_, rel, ok := d.dataSegment(pkt)
	dss := d.opts.MPTCP.DSS
	switch {
	case d.done || !ok || !d.opts.MPTCP.Has(wire.SubtypeDSS):
	case dss.HasMap:
		d.last = dss
	case rel >= 200000 && d.last.HasMap && rel-d.last.SubflowSeq < uint32(d.last.DataLen):
		m := d.last
		m.HasAck, m.Ack64, m.DataAck = dss.HasAck, dss.Ack64, dss.DataAck
		m.DSN += 1000
		if err := d.b.AddDSS(&m); err != nil {
			panic(err)
		}
		d.done = true
		emit(d.rebuilt(pkt))
		return
	}
	emit(pkt)
}

// TestContradictingMapping checks that a mapping that contradicts an
// earlier one is counted and handled (fallback alone, reset with other
// subflows) without delivering a wrong byte.
func TestContradictingMapping(t *testing.T) {
	for paths := 1; paths <= 2; paths++ {
		t.Run(fmt.Sprint("paths=", paths), func(t *testing.T) {
			n, err := NewNet(120, twoPaths(paths), Options{})
			if err != nil {
				t.Fatal(err)
			}
			d := &dsnShifter{}
			n.PathLinks[0].BA().AddProcessor(d)
			p := transfer(t, n, 0, 2<<20, core.ConnOptions{})
			if !d.done {
				t.Fatal("no segment rewritten")
			}
			cm := n.CS.MIB()
			if cm.Get(core.DSSNotMatching) != 1 {
				logState(t, n, p)
				t.Fatalf("DSSNotMatching %d", cm.Get(core.DSSNotMatching))
			}
			if paths == 1 && cm.Get(core.DssFallback) != 1 {
				t.Errorf("one path: DssFallback %d", cm.Get(core.DssFallback))
			}
			if paths == 2 && cm.Get(core.MPRstTx) == 0 {
				t.Errorf("two paths: no subflow reset")
			}
		})
	}
}

// mapStripper takes the mapping off one segment that carries it (leaving
// its DATA_ACK), so its record's bytes arrive unmapped, and from 100 KB
// later on every MPTCP option off data segments: the misfortunes of a
// path whose middlebox loses a mapping and then starts stripping options.
type mapStripper struct {
	optRewriter
	stripped uint32 // relative sequence number of the unmapped segment
	stage    int
}

func (d *mapStripper) Process(_ time.Time, pkt []byte, emit func([]byte)) {
	_, rel, ok := d.dataSegment(pkt)
	dss := d.opts.MPTCP.DSS
	switch {
	case !ok || rel < 200000:
	case d.stage == 0 && d.opts.MPTCP.Has(wire.SubtypeDSS) && dss.HasMap:
		dss.HasMap = false
		if err := d.b.AddDSS(&dss); err != nil {
			panic(err)
		}
		d.stripped, d.stage = rel, 1
		emit(d.rebuilt(pkt))
		return
	case d.stage == 2 || d.stage == 1 && rel-d.stripped >= 100000:
		d.stage = 2
		emit(d.rebuilt(pkt))
		return
	}
	emit(pkt)
}

// TestNoFallbackAfterUnmappedDrop checks that a receiver that dropped
// bytes no mapping covered (they come again at data level) does not fall
// back when options then vanish: its subflow's bytes no longer line up
// with the data stream, so mapping them one to one would deliver wrong
// bytes. It resets instead (RFC 8684 section 3.7).
func TestNoFallbackAfterUnmappedDrop(t *testing.T) {
	// A queue no flight fills: the segments the stripper changed must not
	// be dropped there and sent again intact.
	n, err := NewNet(121, []Path{{Rate: 20e6, Delay: 10 * time.Millisecond, Queue: 8 << 20}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := &mapStripper{}
	n.PathLinks[0].BA().AddProcessor(d)
	p, err := n.StartTransfer(0, 2<<20, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.RunUntilDone(p, 60*time.Second)
	if d.stage != 2 {
		t.Fatalf("stripper reached stage %d", d.stage)
	}
	cm := n.CS.MIB()
	if p.C.Bad > 0 {
		t.Fatalf("%d wrong bytes, first at %d", p.C.Bad, p.C.FirstBad)
	}
	if cm.Get(core.UnmappedDrop) == 0 || cm.Get(core.FallbackFailed) == 0 || p.C.Conn.FellBack() {
		logState(t, n, p)
		t.Fatalf("UnmappedDrop %d FallbackFailed %d fell back %v", cm.Get(core.UnmappedDrop),
			cm.Get(core.FallbackFailed), p.C.Conn.FellBack())
	}
}

// mapCounter counts the data segments that carry a mapping and those
// that do not, and the largest payload of each.
type mapCounter struct {
	optRewriter
	mapped, unmapped       int
	maxMapped, maxUnmapped int
}

func (d *mapCounter) Process(_ time.Time, pkt []byte, emit func([]byte)) {
	t, _, ok := d.dataSegment(pkt)
	if ok {
		if d.opts.MPTCP.DSS.HasMap {
			d.mapped++
			d.maxMapped = max(d.maxMapped, len(t.Payload()))
		} else {
			d.unmapped++
			d.maxUnmapped = max(d.maxUnmapped, len(t.Payload()))
		}
	}
	emit(pkt)
}

// TestMappingsPerSegment checks where mappings go: on the first segment
// of each record, the others carrying more payload, unless the driver
// sends records as super-packets (OffloadSegmentation), which need every
// segment alike, and the path is fast enough for that to matter.
func TestMappingsPerSegment(t *testing.T) {
	slow := Path{Rate: 20e6, Delay: 10 * time.Millisecond}
	fast := Path{Rate: 1e9, Delay: time.Millisecond}
	for _, tc := range []struct {
		name    string
		path    Path
		offload bool
		uniform bool
	}{
		{"fast", fast, false, false},
		{"offload/slow", slow, true, false},
		{"offload/fast", fast, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := NewNet(122, []Path{tc.path}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.offload {
				n.SS.OffloadSegmentation()
			}
			d := &mapCounter{}
			n.PathLinks[0].BA().AddProcessor(d)
			transfer(t, n, 0, 8<<20, core.ConnOptions{})
			// MSS 1460 less 12 bytes of timestamps; a DSS with 4-byte
			// DATA_ACK and DSN and its mapping takes 20, without the
			// mapping 8. A uniform subflow starts as the other until its
			// window grows.
			ok := d.maxMapped == 1460-12-20
			if tc.uniform {
				ok = ok && d.mapped > 20*d.unmapped
			} else {
				ok = ok && d.unmapped > 0 && d.maxUnmapped == 1460-12-8
			}
			if !ok {
				t.Errorf("%d segments with a mapping (largest payload %d), %d without (%d)", d.mapped, d.maxMapped, d.unmapped, d.maxUnmapped)
			}
		})
	}
}
