package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	testSrc4 = netip.MustParseAddr("10.1.0.2")
	testDst4 = netip.MustParseAddr("10.1.0.1")
	testSrc6 = netip.MustParseAddr("2001:db8:1::2")
	testDst6 = netip.MustParseAddr("2001:db8:1::1")
)

func TestTCPPacketRoundTrip(t *testing.T) {
	for _, addrs := range [][2]netip.Addr{{testSrc4, testDst4}, {testSrc6, testDst6}} {
		var ob OptionBuilder
		must(t, ob.AddMSS(1460))
		must(t, ob.AddSACKPermitted())
		must(t, ob.AddTimestamps(100, 200))
		must(t, ob.AddWindowScale(7))
		f := TCPFields{SrcPort: 40000, DstPort: 80, Seq: 0xfffffff0, Ack: 7, Flags: FlagSYN | FlagACK, Window: 65535}
		payload := []byte("hello, multipath")
		pkt := AppendTCPPacket(nil, addrs[0], addrs[1], &f, ob.Bytes(), payload)

		src, dst, proto, seg, err := ParseIP(pkt)
		if err != nil || src != addrs[0] || dst != addrs[1] || proto != ProtoTCP {
			t.Fatalf("ParseIP: %v %v %d %v", src, dst, proto, err)
		}
		tcp, err := ParseTCP(seg)
		if err != nil {
			t.Fatal(err)
		}
		if !tcp.ValidChecksum(src, dst) {
			t.Fatal("bad TCP checksum")
		}
		got := TCPFields{tcp.SrcPort(), tcp.DstPort(), tcp.Seq(), tcp.Ack(), tcp.Flags(), tcp.Window(), tcp.Urgent()}
		if diff := cmp.Diff(f, got); diff != "" {
			t.Fatalf("fields (-want +got):\n%s", diff)
		}
		if !bytes.Equal(tcp.Payload(), payload) {
			t.Fatalf("payload %q", tcp.Payload())
		}
		var o TCPOptions
		must(t, ParseTCPOptions(tcp.Options(), tcp.Flags(), &o))
		if !o.HasMSS || o.MSS != 1460 || !o.SACKPermitted || !o.HasTimestamps || o.TSVal != 100 || o.TSEcr != 200 ||
			!o.HasWindowScale || o.WindowScale != 7 {
			t.Fatalf("options %+v", o)
		}
		// A middlebox rewriting the sequence number keeps the checksum valid.
		tcp.SetSeq(12345)
		tcp.SetAck(67890)
		if !tcp.ValidChecksum(src, dst) || tcp.Seq() != 12345 || tcp.Ack() != 67890 {
			t.Fatal("SetSeq/SetAck broke the checksum")
		}
		tcp[len(tcp)-1] ^= 1
		if tcp.ValidChecksum(src, dst) {
			t.Fatal("corrupted payload passes the checksum")
		}
	}
}

func TestAppendTCPPacketReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 1600)
	f := TCPFields{Flags: FlagACK}
	payload := make([]byte, 1000)
	if n := testing.AllocsPerRun(100, func() {
		buf = AppendTCPPacket(buf[:0], testSrc4, testDst4, &f, nil, payload)
	}); n != 0 {
		t.Fatalf("%v allocations per packet", n)
	}
}

// TestParseTCPPacketNotTCP: a packet of another protocol is ErrNotTCP;
// one whose TCP header is cut short is ErrTruncated.
func TestParseTCPPacketNotTCP(t *testing.T) {
	f := TCPFields{SrcPort: 1, DstPort: 2, Flags: FlagSYN}
	pkt := AppendTCPPacket(nil, testSrc4, testDst4, &f, nil, nil)
	pkt[9] = ProtoUDP
	if _, _, _, err := ParseTCPPacket(pkt); !errors.Is(err, ErrNotTCP) {
		t.Errorf("UDP: %v, want ErrNotTCP", err)
	}
	pkt = AppendTCPPacket(nil, testSrc6, testDst6, &f, nil, nil)
	if _, _, _, err := ParseTCPPacket(pkt[:50]); !errors.Is(err, ErrTruncated) {
		t.Errorf("short: %v, want ErrTruncated", err)
	}
}

func TestParseTCPErrors(t *testing.T) {
	h := make([]byte, 24)
	EncodeTCP(h, &TCPFields{}, []byte{1, 1, 1, 1})
	if _, err := ParseTCP(h[:19]); !errors.Is(err, ErrTruncated) {
		t.Errorf("short: %v", err)
	}
	if _, err := ParseTCP(h[:22]); !errors.Is(err, ErrTruncated) {
		t.Errorf("offset past end: %v", err)
	}
	h[12] = 4 << 4
	if _, err := ParseTCP(h); !errors.Is(err, ErrBadLength) {
		t.Errorf("offset 16: %v", err)
	}
}

func TestParseTCPOptionsMalformed(t *testing.T) {
	for name, c := range map[string]struct {
		opts []byte
		want error
		// mss reports whether the MSS option before the bad one survives.
		mss bool
	}{
		"runs past end":     {[]byte{2, 4, 5, 0xb4, 8, 10, 0}, ErrBadOption, true},
		"zero length":       {[]byte{2, 4, 5, 0xb4, 99, 0}, ErrBadOption, true},
		"no length byte":    {[]byte{2, 4, 5, 0xb4, 99}, ErrBadOption, true},
		"mss length 5":      {[]byte{3, 3, 1, 2, 5, 5, 0xb4, 0}, ErrBadOption, false},
		"sack length 11":    {[]byte{2, 4, 5, 0xb4, 5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0}, ErrBadOption, true},
		"ts length 8":       {[]byte{2, 4, 5, 0xb4, 8, 8, 0, 0, 0, 0, 0, 0}, ErrBadOption, true},
		"unknown is fine":   {[]byte{2, 4, 5, 0xb4, 99, 3, 0, 1}, nil, true},
		"eol ends the list": {[]byte{2, 4, 5, 0xb4, 0, 99}, nil, true},
	} {
		var o TCPOptions
		err := ParseTCPOptions(c.opts, FlagACK, &o)
		if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("%s: err %v, want %v", name, err, c.want)
		}
		if o.HasMSS != c.mss {
			t.Errorf("%s: HasMSS %v, want %v", name, o.HasMSS, c.mss)
		}
	}
}

func TestWindowScaleClamped(t *testing.T) {
	var o TCPOptions
	must(t, ParseTCPOptions([]byte{3, 3, 200, 1}, FlagSYN, &o))
	if o.WindowScale != MaxWindowScale {
		t.Fatalf("shift %d, want clamped to %d", o.WindowScale, MaxWindowScale)
	}
}

func TestOptionBuilderSpace(t *testing.T) {
	var ob OptionBuilder
	must(t, ob.AddTimestamps(1, 2)) // 12
	blocks := []SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}
	n, err := ob.AddSACK(blocks) // 28 free: 4 + 3*8
	if err != nil || n != 3 {
		t.Fatalf("AddSACK added %d blocks, err %v; want 3", n, err)
	}
	if ob.Free() != 0 {
		t.Fatalf("free %d", ob.Free())
	}
	if err := ob.AddMSS(1); !errors.Is(err, ErrOptionSpace) {
		t.Fatalf("AddMSS on a full builder: %v", err)
	}
	if _, err := ob.AddSACK(blocks); !errors.Is(err, ErrOptionSpace) {
		t.Fatalf("AddSACK on a full builder: %v", err)
	}
	var o TCPOptions
	must(t, ParseTCPOptions(ob.Bytes(), FlagACK, &o))
	if o.NumSACK != 3 || o.SACK[2] != blocks[2] || o.TSVal != 1 {
		t.Fatalf("parsed %+v", o)
	}
	ob.Reset()
	must(t, ob.AddMSS(1400))
	must(t, ob.AddWindowScale(3))
	if len(ob.Bytes())%4 != 0 {
		t.Fatal("unpadded")
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// dataSegmentWithDSS is what the stack receives most: an IPv4 data segment
// with timestamps and a DSS option carrying a 4-byte DATA_ACK and a mapping
// with an 8-byte data sequence number.
func dataSegmentWithDSS() []byte { return dataSegmentWithDSSLen(1400) }

// dataSegmentWithDSSLen is dataSegmentWithDSS with n bytes of payload.
func dataSegmentWithDSSLen(n int) []byte {
	var ob OptionBuilder
	_ = ob.AddTimestamps(1000, 2000)
	dss, _ := ob.reserve(22)
	dss[0], dss[1], dss[2], dss[3] = OptMPTCP, 22, 2<<4, 0x01|0x04|0x08 // DSS: A, M, m
	binary.BigEndian.PutUint32(dss[4:], 0x01020304)                     // DATA_ACK
	binary.BigEndian.PutUint64(dss[8:], 0x1122334455667788)             // DSN
	binary.BigEndian.PutUint32(dss[16:], 1)                             // subflow seq
	binary.BigEndian.PutUint16(dss[20:], 1400)                          // data-level length
	f := TCPFields{SrcPort: 1, DstPort: 2, Seq: 3, Ack: 4, Flags: FlagACK, Window: 100}
	return AppendTCPPacket(nil, testSrc4, testDst4, &f, ob.Bytes(), make([]byte, n))
}

// decodeSegment is the receive path's decode work for one packet.
func decodeSegment(pkt []byte, o *TCPOptions) error {
	src, dst, _, seg, err := ParseIP(pkt)
	if err != nil {
		return err
	}
	tcp, err := ParseTCP(seg)
	if err != nil {
		return err
	}
	if !tcp.ValidChecksum(src, dst) {
		return errors.New("checksum")
	}
	return ParseTCPOptions(tcp.Options(), tcp.Flags(), o)
}

func TestDecodeDataSegmentWithDSS(t *testing.T) {
	pkt := dataSegmentWithDSS()
	var o TCPOptions
	must(t, decodeSegment(pkt, &o))
	if !o.HasTimestamps || !o.MPTCP.Has(SubtypeDSS) {
		t.Fatalf("DSS not decoded: %+v", o)
	}
	if n := testing.AllocsPerRun(100, func() { _ = decodeSegment(pkt, &o) }); n != 0 {
		t.Fatalf("%v allocations decoding a data segment", n)
	}
}

// BenchmarkDecodeDataSegment measures decoding a 1400-byte data segment with
// a DSS option: IP and TCP headers, TCP checksum over the payload, options.
func BenchmarkDecodeDataSegment(b *testing.B) {
	pkt := dataSegmentWithDSS()
	var o TCPOptions
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if err := decodeSegment(pkt, &o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeHeaders is BenchmarkDecodeDataSegment without the payload
// checksum, which offloading drivers skip.
func BenchmarkDecodeHeaders(b *testing.B) {
	pkt := dataSegmentWithDSS()
	var o TCPOptions
	b.ReportAllocs()
	for b.Loop() {
		_, _, _, seg, _ := ParseIP(pkt)
		tcp, _ := ParseTCP(seg)
		if err := ParseTCPOptions(tcp.Options(), tcp.Flags(), &o); err != nil {
			b.Fatal(err)
		}
	}
}
