package simtest

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/wire"
)

// dsnShifter rewrites the DSN of the DSS on one segment that is not the
// first of its mapping, so its mapping contradicts the one the earlier
// segments of the same mapping carried: a middlebox mangling options.
type dsnShifter struct {
	isn  map[uint16]uint32 // by destination port: the sender's ISN
	done bool
	opts wire.TCPOptions
}

func (d *dsnShifter) Process(_ time.Time, pkt []byte, emit func([]byte)) {
	src, dst, t, err := wire.ParseTCPPacket(pkt)
	if err != nil {
		emit(pkt)
		return
	}
	if t.Flags().Has(wire.FlagSYN) {
		d.isn[t.DstPort()] = t.Seq()
	}
	isn, ok := d.isn[t.DstPort()]
	if d.done || !ok || len(t.Payload()) == 0 {
		emit(pkt)
		return
	}
	_ = wire.ParseTCPOptions(t.Options(), t.Flags(), &d.opts)
	dss := &d.opts.MPTCP.DSS
	rel := t.Seq() - isn
	if !d.opts.MPTCP.Has(wire.SubtypeDSS) || !dss.HasMap || dss.SubflowSeq == rel || rel < 200000 {
		emit(pkt)
		return
	}
	// Find the DSS in the option bytes and change its DSN.
	o := t.Options()
	for i := 0; i+4 <= len(o); {
		if o[i] == wire.OptNOP {
			i++
			continue
		}
		if o[i] == wire.OptMPTCP && o[i+2]>>4 == byte(wire.SubtypeDSS) {
			off := i + 4
			if dss.HasAck {
				off += 4
				if dss.Ack64 {
					off += 4
				}
			}
			if dss.DSN64 {
				binary.BigEndian.PutUint64(o[off:], binary.BigEndian.Uint64(o[off:])+1000)
			} else {
				binary.BigEndian.PutUint32(o[off:], binary.BigEndian.Uint32(o[off:])+1000)
			}
			d.done = true
			break
		}
		if i+1 >= len(o) || o[i+1] < 2 {
			break
		}
		i += int(o[i+1])
	}
	t.SetChecksum(t.ComputeChecksum(src, dst))
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
			d := &dsnShifter{isn: map[uint16]uint32{}}
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
