package wire

import (
	"errors"
	"net/netip"
	"testing"
)

var (
	icmpSrc4    = netip.MustParseAddr("192.0.2.1")
	icmpDst4    = netip.MustParseAddr("198.51.100.7")
	icmpSrc6    = netip.MustParseAddr("2001:db8:5::1")
	icmpDst6    = netip.MustParseAddr("2001:db8:7::7")
	icmpRouter6 = netip.MustParseAddr("2001:db8::fe")
)

// testSYN returns an IP packet carrying a SYN with 28 bytes of options, as
// a prober sends it.
func testSYN(t testing.TB, src, dst netip.Addr) []byte {
	t.Helper()
	var ob OptionBuilder
	for _, err := range []error{ob.AddMSS(1460), ob.AddSACKPermitted(), ob.AddTimestamps(1, 0), ob.AddWindowScale(7),
		ob.AddMPCapable(&MPCapable{Form: MPCapableSYN, Version: 1, Flags: MPCapableHMACSHA256})} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return AppendTCPPacket(nil, src, dst, &TCPFields{SrcPort: 61000, DstPort: 443, Seq: 0xdeadbeef, Flags: FlagSYN, Window: 64240}, ob.Bytes(), nil)
}

func TestICMPv4TimeExceededFullQuote(t *testing.T) {
	pkt := testSYN(t, icmpSrc4, icmpDst4)
	m, err := ParseICMPv4(AppendICMPv4(nil, ICMPv4TimeExceeded, 0, 0, pkt))
	if err != nil {
		t.Fatal(err)
	}
	if m.Type() != ICMPv4TimeExceeded || m.Code() != 0 || !m.IsError() || !m.ValidChecksum() {
		t.Fatalf("bad header: type %d code %d error %v checksum ok %v", m.Type(), m.Code(), m.IsError(), m.ValidChecksum())
	}
	q, err := m.Quote()
	if err != nil {
		t.Fatal(err)
	}
	if q.Version != 4 || q.Src != icmpSrc4 || q.Dst != icmpDst4 || q.Protocol != ProtoTCP || q.TTL != 64 ||
		q.DatagramLen != len(pkt) || !q.Complete() || len(q.IPHeader) != 20 || q.FlagsFragOff != IPv4DontFragment || q.LaterFragment() {
		t.Fatalf("bad quote %+v", q)
	}
	qt := q.TCP()
	if qt.Coverage() != CoverageFullHeader {
		t.Fatalf("coverage %v, want full header", qt.Coverage())
	}
	sp, ok1 := qt.SrcPort()
	seq, ok2 := qt.Seq()
	fl, ok3 := qt.Flags()
	if !ok1 || !ok2 || !ok3 || sp != 61000 || seq != 0xdeadbeef || fl != FlagSYN {
		t.Fatalf("fields: port %d %v seq %#x %v flags %v %v", sp, ok1, seq, ok2, fl, ok3)
	}
	opts, complete := qt.Options()
	if !complete || len(opts) != 28 {
		t.Fatalf("options %d bytes complete %v, want 28 complete", len(opts), complete)
	}
	h, ok := qt.Header()
	if !ok || !h.ValidChecksum(q.Src, q.Dst) {
		t.Fatalf("header view %v, checksum valid %v", ok, ok && h.ValidChecksum(q.Src, q.Dst))
	}
	var o TCPOptions
	if err := ParseTCPOptions(opts, FlagSYN, &o); err != nil || !o.MPTCP.Has(SubtypeMPCapable) || o.MSS != 1460 {
		t.Fatalf("quoted options: %v %+v", err, o)
	}
}

// TestICMPQuoteTruncated cuts a quote at every length and checks that the
// decoder never panics and reports exactly what it holds.
func TestICMPQuoteTruncated(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		src, dst := icmpSrc4, icmpDst4
		ipLen := IPv4MinHeaderLen
		if v6 {
			src, dst, ipLen = icmpSrc6, icmpDst6, IPv6HeaderLen
		}
		pkt := testSYN(t, src, dst)
		for n := 0; n <= len(pkt); n++ {
			var msg []byte
			if v6 {
				msg = AppendICMPv6(nil, icmpRouter6, src, ICMPv6TimeExceeded, 0, 0, pkt[:n])
			} else {
				msg = AppendICMPv4(nil, ICMPv4TimeExceeded, 0, 0, pkt[:n])
			}
			var q ICMPQuote
			var err error
			if v6 {
				m, _ := ParseICMPv6(msg)
				if !m.ValidChecksum(icmpRouter6, src) {
					t.Fatalf("v6 n=%d: bad checksum", n)
				}
				q, err = m.Quote()
			} else {
				m, _ := ParseICMPv4(msg)
				q, err = m.Quote()
			}
			if n < ipLen {
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("v6=%v n=%d: err %v, want truncated", v6, n, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("v6=%v n=%d: %v", v6, n, err)
			}
			tcp := q.TCP()
			k := n - ipLen
			var want QuoteCoverage
			switch {
			case k < 4:
				want = CoverageNone
			case k < 8:
				want = CoveragePorts
			case k < 20:
				want = CoverageSeq
			case k < 48:
				want = CoverageFixedHeader
			default:
				want = CoverageFullHeader
			}
			if tcp.Coverage() != want || len(tcp) != k || q.Complete() != (n == len(pkt)) {
				t.Fatalf("v6=%v n=%d: coverage %v (want %v), %d TCP bytes, complete %v", v6, n, tcp.Coverage(), want, len(tcp), q.Complete())
			}
			_, hasSeq := tcp.Seq()
			opts, complete := tcp.Options()
			_, hasHeader := tcp.Header()
			if hasSeq != (k >= 8) || complete != (k >= 48) || hasHeader != (k >= 48) || (k >= 20 && len(opts) != k-20) || (k < 20 && opts != nil) {
				t.Fatalf("v6=%v n=%d: seq %v, %d option bytes complete %v, header %v", v6, n, hasSeq, len(opts), complete, hasHeader)
			}
		}
	}
}

func TestICMPv4RFC792Quote(t *testing.T) {
	pkt := testSYN(t, icmpSrc4, icmpDst4)
	m, _ := ParseICMPv4(AppendICMPv4(nil, ICMPv4DestUnreachable, ICMPv4AdminProhibited, 0, pkt[:28]))
	q, err := m.Quote()
	if err != nil {
		t.Fatal(err)
	}
	tcp := q.TCP()
	dp, ok := tcp.DstPort()
	if tcp.Coverage() != CoverageSeq || !ok || dp != 443 || tcp.HeaderLen() != 0 || q.Complete() {
		t.Fatalf("8-byte quote: coverage %v port %d %v header len %d complete %v", tcp.Coverage(), dp, ok, tcp.HeaderLen(), q.Complete())
	}
	if _, ok := tcp.Window(); ok {
		t.Fatal("window reported from an 8-byte quote")
	}
}

// TestICMPRFC4884Length checks that extensions after an RFC 4884 quote are
// not taken for quoted bytes.
func TestICMPRFC4884Length(t *testing.T) {
	pkt := testSYN(t, icmpSrc4, icmpDst4) // 68 bytes
	body := make([]byte, 128+8)           // quote padded to 128, then an extension header
	copy(body, pkt)
	m, _ := ParseICMPv4(AppendICMPv4(nil, ICMPv4TimeExceeded, 0, 32<<16, body)) // length 32 words in byte 5
	q, err := m.Quote()
	if err != nil {
		t.Fatal(err)
	}
	// The total length trims the padding; the extension never shows.
	if len(q.Transport) != 48 || !q.Complete() {
		t.Fatalf("transport %d bytes, complete %v", len(q.Transport), q.Complete())
	}
	pkt6 := testSYN(t, icmpSrc6, icmpDst6) // 88 bytes
	body6 := make([]byte, 128+8)
	copy(body6, pkt6[:80])
	m6, _ := ParseICMPv6(AppendICMPv6(nil, icmpRouter6, icmpSrc6, ICMPv6TimeExceeded, 0, 10<<24, body6)) // 10 x 8 bytes
	q6, err := m6.Quote()
	if err != nil {
		t.Fatal(err)
	}
	if len(q6.Transport) != 40 || q6.Complete() || q6.TCP().Coverage() != CoverageFixedHeader {
		t.Fatalf("v6 transport %d bytes, complete %v, coverage %v", len(q6.Transport), q6.Complete(), q6.TCP().Coverage())
	}
}

func TestICMPv6QuoteExtensionHeaders(t *testing.T) {
	pkt := testSYN(t, icmpSrc6, icmpDst6)
	// Insert an 8-byte hop-by-hop header (PadN) before TCP.
	hbh := []byte{ProtoTCP, 0, 1, 4, 0, 0, 0, 0}
	ext := append(append(append([]byte(nil), pkt[:IPv6HeaderLen]...), hbh...), pkt[IPv6HeaderLen:]...)
	ext[6] = ipv6HopByHop
	ext[5] += 8
	m, _ := ParseICMPv6(AppendICMPv6(nil, icmpRouter6, icmpSrc6, ICMPv6TimeExceeded, 0, 0, ext))
	q, err := m.Quote()
	if err != nil {
		t.Fatal(err)
	}
	if q.Protocol != ProtoTCP || len(q.IPHeader) != 48 || q.TCP().Coverage() != CoverageFullHeader || q.Src != icmpSrc6 || q.Dst != icmpDst6 {
		t.Fatalf("bad quote %+v", q)
	}
	// A quote that ends inside the extension header cannot reach TCP.
	m, _ = ParseICMPv6(AppendICMPv6(nil, icmpRouter6, icmpSrc6, ICMPv6TimeExceeded, 0, 0, ext[:44]))
	if _, err := m.Quote(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("err %v, want truncated", err)
	}
}

func TestICMPNotError(t *testing.T) {
	m4, _ := ParseICMPv4(AppendICMPv4(nil, ICMPv4EchoReply, 0, 0, []byte("ping")))
	m6, _ := ParseICMPv6(AppendICMPv6(nil, icmpSrc6, icmpDst6, ICMPv6EchoReply, 0, 0, nil))
	if m4.IsError() || m6.IsError() {
		t.Fatal("echo reply taken for an error")
	}
	if _, err := m4.Quote(); err == nil {
		t.Fatal("echo reply quoted a datagram")
	}
	if _, err := m6.Quote(); err == nil {
		t.Fatal("echo reply quoted a packet")
	}
	if _, err := ParseICMPv4(make([]byte, 7)); !errors.Is(err, ErrTruncated) {
		t.Fatalf("short ICMPv4: %v", err)
	}
	if _, err := ParseICMPv6(nil); !errors.Is(err, ErrTruncated) {
		t.Fatalf("short ICMPv6: %v", err)
	}
	m, _ := ParseICMPv4(AppendICMPv4(nil, ICMPv4DestUnreachable, ICMPv4FragmentationNeeded, 1400, nil))
	if m.NextHopMTU() != 1400 {
		t.Fatalf("next-hop MTU %d", m.NextHopMTU())
	}
	p, _ := ParseICMPv6(AppendICMPv6(nil, icmpSrc6, icmpDst6, ICMPv6PacketTooBig, 0, 1280, nil))
	if p.MTU() != 1280 {
		t.Fatalf("MTU %d", p.MTU())
	}
}

// FuzzICMPQuote decodes arbitrary ICMP messages and their quotes: nothing
// may panic, and every accessor of a quote stays within what was quoted.
func FuzzICMPQuote(f *testing.F) {
	pkt4 := testSYN(f, icmpSrc4, icmpDst4)
	pkt6 := testSYN(f, icmpSrc6, icmpDst6)
	f.Add(AppendICMPv4(nil, ICMPv4TimeExceeded, 0, 0, pkt4), false)
	f.Add(AppendICMPv4(nil, ICMPv4DestUnreachable, 3, 0, pkt4[:28]), false)
	f.Add(AppendICMPv6(nil, icmpRouter6, icmpSrc6, ICMPv6TimeExceeded, 0, 0, pkt6), true)
	f.Add(AppendICMPv6(nil, icmpRouter6, icmpSrc6, ICMPv6DestUnreachable, 1, 0, pkt6[:50]), true)
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		var q ICMPQuote
		var err error
		if v6 {
			m, perr := ParseICMPv6(b)
			if perr != nil {
				return
			}
			q, err = m.Quote()
		} else {
			m, perr := ParseICMPv4(b)
			if perr != nil {
				return
			}
			q, err = m.Quote()
		}
		if err != nil {
			return
		}
		if len(q.IPHeader)+len(q.Transport) > len(b) {
			t.Fatalf("quote of %d+%d bytes from a %d-byte message", len(q.IPHeader), len(q.Transport), len(b))
		}
		tcp := q.TCP()
		_ = tcp.Coverage().String()
		tcp.SrcPort()
		tcp.DstPort()
		tcp.Seq()
		tcp.Ack()
		tcp.Flags()
		tcp.Window()
		tcp.Checksum()
		opts, _ := tcp.Options()
		if len(opts) > MaxOptionLen {
			t.Fatalf("%d option bytes", len(opts))
		}
		if h, ok := tcp.Header(); ok {
			var o TCPOptions
			_ = ParseTCPOptions(h.Options(), h.Flags(), &o)
		}
	})
}
