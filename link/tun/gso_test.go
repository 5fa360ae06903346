//go:build linux

package tun

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/mptcp-go/mptcp/wire"
)

// segment builds a TCP segment of a bulk flow: payload bytes at seq.
func segment(src, dst string, seq uint32, payload int, flags wire.TCPFlags) []byte {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	f := wire.TCPFields{SrcPort: 40000, DstPort: 5201, Seq: seq, Ack: 77, Flags: flags, Window: 512}
	p := make([]byte, payload)
	for i := range p {
		p[i] = byte(seq + uint32(i))
	}
	var ob wire.OptionBuilder
	_ = ob.AddTimestamps(1000, 2000)
	return wire.AppendTCPPacket(nil, s, d, &f, ob.Bytes(), p)
}

// gsoRun feeds segments through a gso as the driver does and returns the
// buffers it would write.
func gsoRun(pkts [][]byte) [][]byte { return gsoRunCsum(pkts, false) }

// gsoRunCsum is gsoRun for a stack that leaves the checksums partial
// (link.ChecksumOffloader) when partial is set: each packet's checksum
// field is turned into the pseudo-header sum first.
func gsoRunCsum(pkts [][]byte, partial bool) [][]byte {
	var g gso
	var out [][]byte
	for _, p := range pkts {
		if partial {
			p = partialSum(p)
		}
		if g.open {
			if b, ok := g.append(out[len(out)-1], p); ok {
				out[len(out)-1] = b
				continue
			}
		}
		if len(out) > 0 {
			g.finish(out[len(out)-1])
		}
		b := make([]byte, Headroom+len(p), Headroom+MaxPacket)
		copy(b[Headroom:], p)
		out = append(out, b)
		csum := 0
		if partial {
			csum = tcpStart(p)
		}
		g.start(p, csum)
	}
	if len(out) > 0 {
		g.finish(out[len(out)-1])
	}
	return out
}

// TestGSOCoalesce checks that consecutive segments of a flow become one
// super-packet whose virtio-net header and IP and TCP headers the kernel
// accepts, carrying the payload in order, over IPv4 and IPv6.
func TestGSOCoalesce(t *testing.T) {
	for _, fam := range []struct{ src, dst string }{{"10.1.3.1", "10.1.1.2"}, {"fd00:1:3::1", "fd00:1:1::2"}} {
		var pkts [][]byte
		var payload []byte
		seq := uint32(1000)
		for i, n := range []int{1400, 1400, 1400, 600} {
			flags := wire.FlagACK
			if i == 3 {
				flags |= wire.FlagPSH
			}
			p := segment(fam.src, fam.dst, seq, n, flags)
			pkts = append(pkts, p)
			_, _, _, tp, _ := wire.ParseIP(p)
			payload = append(payload, wire.TCP(tp).Payload()...)
			seq += uint32(n)
		}
		out := gsoRun(pkts)
		if len(out) != 1 {
			t.Fatalf("%s: %d packets, want one super-packet", fam.src, len(out))
		}
		h := decodeVnetHdr(out[0][Headroom-vnetHdrLen:])
		pkt := out[0][Headroom:]
		src, dst, _, tp, err := wire.ParseIP(pkt)
		if err != nil {
			t.Fatalf("%s: super-packet does not parse: %v", fam.src, err)
		}
		ipLen := len(pkt) - len(tp)
		want := vnetHdr{flags: vnetNeedsCsum, gsoType: vnetGSOTCPv4, hdrLen: uint16(ipLen + 32), gsoSize: 1400, csumStart: uint16(ipLen), csumOffset: 16}
		if src.Is6() {
			want.gsoType = vnetGSOTCPv6
		}
		if h != want {
			t.Errorf("%s: virtio-net header %+v, want %+v", fam.src, h, want)
		}
		seg := wire.TCP(tp)
		if string(seg.Payload()) != string(payload) || seg.Seq() != 1000 || seg.Flags() != wire.FlagACK|wire.FlagPSH {
			t.Errorf("%s: super-packet seq %d flags %v, %d payload bytes; want 1000, ACK|PSH, %d bytes in order",
				fam.src, seg.Seq(), seg.Flags(), len(seg.Payload()), len(payload))
		}
		if got, want := binary.BigEndian.Uint16(pkt[ipLen+16:]), wire.PseudoHeaderChecksum(wire.ProtoTCP, src, dst, uint32(len(tp))); got != want {
			t.Errorf("%s: TCP checksum field %#x, want the pseudo-header sum %#x", fam.src, got, want)
		}
		if src.Is4() {
			if ip, err := wire.ParseIPv4(pkt); err != nil || wire.Checksum(pkt[:20], 0) != 0xffff {
				t.Errorf("IPv4 header of the super-packet: %v, checksum valid %v", err, wire.Checksum(pkt[:20], 0) == 0xffff)
			} else if int(binary.BigEndian.Uint16(pkt[2:])) != len(pkt) {
				t.Errorf("IPv4 total length %d, packet %d", ip.TotalLen(), len(pkt))
			}
		}
		// Finishing the partial checksum gives a valid segment.
		if _, err := finishRead(pkt, h, rawMode{}); err != nil || !seg.ValidChecksum(src, dst) {
			t.Errorf("%s: finished checksum invalid (%v)", fam.src, err)
		}
	}
}

// TestGSOBoundaries checks what must not be coalesced: a gap in sequence,
// another flow, a segment after a short or pushed one, a FIN, a larger
// segment after a smaller; and that a lone segment is written as it is.
func TestGSOBoundaries(t *testing.T) {
	const a, b = "10.1.3.1", "10.1.1.2"
	cases := []struct {
		name string
		pkts [][]byte
		want int
	}{
		{"gap", [][]byte{segment(a, b, 0, 1000, wire.FlagACK), segment(a, b, 1001, 1000, wire.FlagACK)}, 2},
		{"other flow", [][]byte{segment(a, b, 0, 1000, wire.FlagACK), segment(b, a, 1000, 1000, wire.FlagACK)}, 2},
		{"after short", [][]byte{segment(a, b, 0, 1000, wire.FlagACK), segment(a, b, 1000, 500, wire.FlagACK), segment(a, b, 1500, 500, wire.FlagACK)}, 2},
		{"after push", [][]byte{segment(a, b, 0, 1000, wire.FlagACK|wire.FlagPSH), segment(a, b, 1000, 1000, wire.FlagACK)}, 2},
		{"FIN", [][]byte{segment(a, b, 0, 1000, wire.FlagACK), segment(a, b, 1000, 1000, wire.FlagACK|wire.FlagFIN)}, 2},
		{"larger", [][]byte{segment(a, b, 0, 500, wire.FlagACK), segment(a, b, 500, 1000, wire.FlagACK)}, 2},
		{"pure ACKs", [][]byte{segment(a, b, 0, 0, wire.FlagACK), segment(a, b, 0, 0, wire.FlagACK)}, 2},
	}
	for _, c := range cases {
		out := gsoRun(c.pkts)
		if len(out) != c.want {
			t.Errorf("%s: %d packets, want %d", c.name, len(out), c.want)
		}
		for i, o := range out {
			if i < len(c.pkts) && len(out) == len(c.pkts) {
				if h := decodeVnetHdr(o[Headroom-vnetHdrLen:]); h != (vnetHdr{}) || string(o[Headroom:]) != string(c.pkts[i]) {
					t.Errorf("%s: packet %d changed or given header %+v", c.name, i, h)
				}
			}
		}
	}
	// Up to 64 KiB, then a new super-packet.
	var pkts [][]byte
	for i := range 60 {
		pkts = append(pkts, segment(a, b, uint32(i*1400), 1400, wire.FlagACK))
	}
	out := gsoRun(pkts)
	if len(out) != 2 || len(out[0])-Headroom > MaxPacket {
		t.Errorf("60 x 1400 bytes made %d packets, the first of %d bytes; want 2, within %d", len(out), len(out[0])-Headroom, MaxPacket)
	}
}

// partialSum returns a copy of a TCP packet whose checksum field holds the
// pseudo-header sum only, as a stack that offloads its checksums sends it.
func partialSum(pkt []byte) []byte {
	pkt = append([]byte(nil), pkt...)
	src, dst, _, tp, err := wire.ParseIP(pkt)
	if err != nil {
		panic(err)
	}
	wire.TCP(tp).SetChecksum(wire.PseudoHeaderChecksum(wire.ProtoTCP, src, dst, uint32(len(tp))))
	return pkt
}

// TestGSOPartialChecksums checks what the driver hands the kernel for a
// stack that leaves its TCP checksums partial: a lone segment (a pure
// ACK, a SYN, a data segment) gets VIRTIO_NET_HDR_F_NEEDS_CSUM with the
// offsets of its TCP checksum and no segmentation, a run of segments the
// super-packet header as before; finishing the checksum from the header's
// offsets gives a valid segment. A packet that is not TCP gets no header.
func TestGSOPartialChecksums(t *testing.T) {
	for _, fam := range []struct{ src, dst string }{{"10.1.3.1", "10.1.1.2"}, {"fd00:1:3::1", "fd00:1:1::2"}} {
		ipLen := 20
		if netip.MustParseAddr(fam.src).Is6() {
			ipLen = 40
		}
		pkts := [][]byte{
			segment(fam.src, fam.dst, 0, 0, wire.FlagSYN),
			segment(fam.src, fam.dst, 1, 0, wire.FlagACK),
			segment(fam.src, fam.dst, 1, 700, wire.FlagACK|wire.FlagPSH),
			segment(fam.src, fam.dst, 701, 1400, wire.FlagACK),
			segment(fam.src, fam.dst, 2101, 1400, wire.FlagACK),
		}
		out := gsoRunCsum(pkts, true)
		if len(out) != 4 {
			t.Fatalf("%s: %d packets, want 4 (three alone, then a super-packet)", fam.src, len(out))
		}
		for i, o := range out {
			h := decodeVnetHdr(o[Headroom-vnetHdrLen:])
			want := vnetHdr{flags: vnetNeedsCsum, gsoType: vnetGSONone, csumStart: uint16(ipLen), csumOffset: 16}
			if i == 3 {
				want.gsoType, want.hdrLen, want.gsoSize = vnetGSOTCPv4, uint16(ipLen+32), 1400
				if ipLen == 40 {
					want.gsoType = vnetGSOTCPv6
				}
			}
			if h != want {
				t.Errorf("%s, packet %d: virtio-net header %+v, want %+v", fam.src, i, h, want)
			}
			pkt := o[Headroom:]
			completeChecksum(pkt, int(h.csumStart), int(h.csumStart+h.csumOffset))
			src, dst, _, tp, err := wire.ParseIP(pkt)
			if err != nil || !wire.TCP(tp).ValidChecksum(src, dst) {
				t.Errorf("%s, packet %d: checksum not valid once finished (%v)", fam.src, i, err)
			}
			if i < 3 && string(pkt) != string(pkts[i]) {
				t.Errorf("%s, packet %d: finished, it differs from the packet with a full checksum", fam.src, i)
			}
		}
	}
	udp := append([]byte(nil), segment("10.1.3.1", "10.1.1.2", 0, 100, wire.FlagACK)...)
	udp[9] = 17
	if n := tcpStart(udp); n != 0 {
		t.Errorf("a UDP packet's TCP header at %d, want none", n)
	}
	if out := gsoRunCsum([][]byte{udp}, false); decodeVnetHdr(out[0][Headroom-vnetHdrLen:]) != (vnetHdr{}) {
		t.Error("a packet that is not TCP got a virtio-net header")
	}
}
