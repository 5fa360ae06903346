package middlebox

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

var (
	srcA = netip.MustParseAddr("10.0.0.1")
	dstA = netip.MustParseAddr("10.0.0.2")
)

// packet builds a TCP packet with timestamps, a DSS and payload.
func packet(t *testing.T, flags wire.TCPFlags, seq, ack uint32, payload []byte, sack bool) []byte {
	t.Helper()
	var b wire.OptionBuilder
	if err := b.AddTimestamps(1, 2); err != nil {
		t.Fatal(err)
	}
	if sack {
		if _, err := b.AddSACK([]wire.SACKBlock{{Left: ack + 100, Right: ack + 200}}); err != nil {
			t.Fatal(err)
		}
	} else if err := b.AddDSS(&wire.DSS{HasAck: true, Ack64: true, DataAck: 7, HasMap: true, DSN64: true, DSN: 99, SubflowSeq: 1, DataLen: uint16(len(payload))}); err != nil {
		t.Fatal(err)
	}
	f := wire.TCPFields{SrcPort: 1000, DstPort: 80, Seq: seq, Ack: ack, Flags: flags, Window: 100}
	return wire.AppendTCPPacket(nil, srcA, dstA, &f, b.Bytes(), payload)
}

// collect runs p on pkt and returns what it emitted, parsed.
func collect(t *testing.T, p interface {
	Process(time.Time, []byte, func([]byte))
}, pkt []byte) []wire.TCP {
	t.Helper()
	var out []wire.TCP
	p.Process(time.Time{}, pkt, func(b []byte) {
		src, dst, _, payload, err := wire.ParseIP(append([]byte(nil), b...))
		if err != nil {
			t.Fatal(err)
		}
		seg, err := wire.ParseTCP(payload)
		if err != nil {
			t.Fatal(err)
		}
		if !seg.ValidChecksum(src, dst) {
			t.Fatal("emitted a segment with a bad checksum")
		}
		out = append(out, seg)
	})
	return out
}

func opts(t *testing.T, s wire.TCP) *wire.TCPOptions {
	var o wire.TCPOptions
	_ = wire.ParseTCPOptions(s.Options(), s.Flags(), &o)
	return &o
}

func TestStripAndDrop(t *testing.T) {
	pkt := packet(t, wire.FlagACK, 1, 1, []byte("data"), false)
	s := &StripMPTCP{Match: Data}
	out := collect(t, s, pkt)
	if len(out) != 1 || s.Stripped != 1 {
		t.Fatalf("emitted %d, stripped %d", len(out), s.Stripped)
	}
	if o := opts(t, out[0]); o.MPTCP.Present != 0 || !o.HasTimestamps {
		t.Fatalf("after stripping: MPTCP %v, timestamps %v", o.MPTCP.Present, o.HasTimestamps)
	}
	d := &Drop{Match: HasSubtype(wire.SubtypeDSS)}
	if out := collect(t, d, packet(t, wire.FlagACK, 1, 1, nil, false)); len(out) != 0 || d.Dropped != 1 {
		t.Fatal("Drop let a DSS segment through")
	}
}

func TestSeqRewriterRoundTrip(t *testing.T) {
	r := NewSeqRewriter(rand.New(rand.NewPCG(1, 2)))
	out := collect(t, r.Out, packet(t, wire.FlagACK, 1000, 5, []byte("x"), false))
	shifted := out[0].Seq()
	if shifted == 1000 {
		t.Fatal("sequence number not shifted")
	}
	// The reply acknowledges the shifted number and SACKs above it; on
	// the way back both are shifted back.
	reply := packet(t, wire.FlagACK, 5, shifted+1, nil, true)
	{
		src, dst, _, payload, _ := wire.ParseIP(reply)
		seg, _ := wire.ParseTCP(payload)
		// Swap the addresses: the reply goes from B to A.
		f := wire.TCPFields{SrcPort: 80, DstPort: 1000, Seq: seg.Seq(), Ack: seg.Ack(), Flags: seg.Flags(), Window: 100}
		reply = wire.AppendTCPPacket(nil, dst, src, &f, seg.Options(), nil)
	}
	back := collect(t, r.In, reply)
	if back[0].Ack() != 1001 {
		t.Fatalf("ack %d after the way back, want 1001", back[0].Ack())
	}
	o := opts(t, back[0])
	if o.NumSACK != 1 || o.SACK[0].Left != 1001+100 {
		t.Fatalf("SACK %+v not shifted back", o.SACK[:o.NumSACK])
	}
}

func TestSplitterAndRewriter(t *testing.T) {
	payload := make([]byte, 1000)
	for i := range payload {
		payload[i] = byte(i)
	}
	sp := &Splitter{Max: 300}
	out := collect(t, sp, packet(t, wire.FlagACK|wire.FlagPSH, 50, 1, payload, false))
	if len(out) != 4 || sp.Split != 1 {
		t.Fatalf("%d pieces", len(out))
	}
	next := uint32(50)
	var joined []byte
	for i, s := range out {
		if s.Seq() != next {
			t.Fatalf("piece %d at %d, want %d", i, s.Seq(), next)
		}
		if !opts(t, s).MPTCP.Has(wire.SubtypeDSS) {
			t.Fatalf("piece %d lost the options", i)
		}
		if (s.Flags()&wire.FlagPSH != 0) != (i == len(out)-1) {
			t.Fatalf("PSH on piece %d", i)
		}
		next += uint32(len(s.Payload()))
		joined = append(joined, s.Payload()...)
	}
	if string(joined) != string(payload) {
		t.Fatal("pieces do not make up the payload")
	}
	rw := &PayloadRewriter{Limit: 1}
	out = collect(t, rw, packet(t, wire.FlagACK, 1, 1, []byte{1, 2, 3}, false))
	if out[0].Payload()[0] != 0xfe || rw.Rewritten != 1 {
		t.Fatalf("payload %v", out[0].Payload())
	}
	out = collect(t, rw, packet(t, wire.FlagACK, 1, 1, []byte{1, 2, 3}, false))
	if out[0].Payload()[0] != 1 {
		t.Fatal("rewrote beyond the limit")
	}
}
