package scan

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mptcp-go/mptcp/wire"
)

var router4, router6 = netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("2001:db8:ff::1")

// quoteOf returns the quote a router sends in a time-exceeded message for
// p's packet after mutate changed it, cut to quoteLen bytes (all if < 0).
func quoteOf(t *testing.T, p *Probe, mutate func(pkt []byte) []byte, quoteLen int) wire.ICMPQuote {
	t.Helper()
	pkt := slices.Clone(p.Packet)
	if mutate != nil {
		pkt = mutate(pkt)
	}
	if quoteLen >= 0 && quoteLen < len(pkt) {
		pkt = pkt[:quoteLen]
	}
	var q wire.ICMPQuote
	var err error
	if p.Src.Is4() {
		m, _ := wire.ParseICMPv4(wire.AppendICMPv4(nil, wire.ICMPv4TimeExceeded, 0, 0, pkt))
		q, err = m.Quote()
	} else {
		m, _ := wire.ParseICMPv6(wire.AppendICMPv6(nil, router6, p.Src, wire.ICMPv6TimeExceeded, 0, 0, pkt))
		q, err = m.Quote()
	}
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func ipLen(pkt []byte) int {
	if pkt[0]>>4 == 4 {
		return 20
	}
	return 40
}

// setLen fixes the IP length field after the packet grew or shrank.
func setLen(pkt []byte) []byte {
	if pkt[0]>>4 == 4 {
		binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	} else {
		binary.BigEndian.PutUint16(pkt[4:], uint16(len(pkt)-40))
	}
	return pkt
}

// mptcpOffset is where the MP_CAPABLE option starts in the probe's
// packet: it is the last option.
func mptcpOffset(p *Probe) int {
	opts, _ := walkOptions(p.TCP().Options())
	last := opts[len(opts)-1]
	return ipLen(p.Packet) + 20 + last.off
}

func kinds(cs []Change) []ChangeKind {
	var out []ChangeKind
	for _, c := range cs {
		out = append(out, c.Kind)
	}
	return out
}

func TestCompareQuote(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		p := testProbe(t, v6, false)
		mo := mptcpOffset(p)
		tcpOff := ipLen(p.Packet)
		for _, c := range []struct {
			name     string
			mutate   func([]byte) []byte
			quoteLen int
			coverage wire.QuoteCoverage
			want     []Change
		}{
			{"intact", nil, -1, wire.CoverageFullHeader, nil},
			{"MP_CAPABLE replaced by NOPs", func(b []byte) []byte {
				copy(b[mo:mo+4], []byte{1, 1, 1, 1})
				return b
			}, -1, wire.CoverageFullHeader, []Change{{Kind: ChangeMPTCPRemoved, Option: "MPTCP", Sent: "MP_CAPABLE v1 flags H", Note: "replaced by NOPs"}}},
			{"MP_CAPABLE cut out", func(b []byte) []byte {
				b = append(b[:mo], b[mo+4:]...)
				b[tcpOff+12] -= 1 << 4
				return setLen(b)
			}, -1, wire.CoverageFullHeader, []Change{
				{Kind: ChangeHeaderLen, Sent: "48", Seen: "44"},
				{Kind: ChangeMPTCPRemoved, Option: "MPTCP", Sent: "MP_CAPABLE v1 flags H", Note: "cut out of the header"}}},
			{"all options removed", func(b []byte) []byte {
				b = b[:tcpOff+20]
				b[tcpOff+12] = 5 << 4
				return setLen(b)
			}, -1, wire.CoverageFullHeader, []Change{
				{Kind: ChangeOptionsRemoved, Sent: "28 bytes", Seen: "none"},
				{Kind: ChangeMPTCPRemoved, Option: "MPTCP", Sent: "MP_CAPABLE v1 flags H", Note: "cut out of the header"}}},
			{"MSS clamped", func(b []byte) []byte {
				binary.BigEndian.PutUint16(b[tcpOff+22:], 1200)
				return b
			}, -1, wire.CoverageFullHeader, []Change{{Kind: ChangeMSS, Option: "MSS", Sent: p.mssString(), Seen: "1200"}}},
			{"MP_CAPABLE flags changed", func(b []byte) []byte {
				b[mo+3] = 0x81
				return b
			}, -1, wire.CoverageFullHeader, []Change{{Kind: ChangeMPTCPModified, Option: "MPTCP", Sent: "MP_CAPABLE v1 flags H", Seen: "MP_CAPABLE v1 flags A|H"}}},
			{"unknown option added", func(b []byte) []byte {
				b[tcpOff+24], b[tcpOff+25] = 99, 2 // over the NOPs before SACK-permitted
				return b
			}, -1, wire.CoverageFullHeader, []Change{{Kind: ChangeOptionAdded, Option: "option 99", Seen: "6302"}}},
			{"timestamps rewritten", func(b []byte) []byte {
				binary.BigEndian.PutUint32(b[tcpOff+32:], 5)
				return b
			}, -1, wire.CoverageFullHeader, []Change{{Kind: ChangeOptionModified, Option: "timestamps", Sent: "TSval 777 TSecr 0", Seen: "TSval 5 TSecr 0"}}},
			{"sequence number rewritten", func(b []byte) []byte {
				binary.BigEndian.PutUint32(b[tcpOff+4:], p.ISN+1000)
				return b
			}, -1, wire.CoverageFullHeader, []Change{{Kind: ChangeSeq, Sent: "4294967280", Seen: "984", Note: "offset 1000"}}},
			{"window and flags", func(b []byte) []byte {
				b[tcpOff+13] |= byte(wire.FlagECE)
				binary.BigEndian.PutUint16(b[tcpOff+14:], 1000)
				return b
			}, -1, wire.CoverageFullHeader, []Change{{Kind: ChangeFlags, Sent: "S", Seen: "SE"}, {Kind: ChangeWindow, Sent: "64240", Seen: "1000"}}},
			{"payload added", func(b []byte) []byte { return setLen(append(b, 'x', 'y')) }, -1, wire.CoverageFullHeader,
				[]Change{{Kind: ChangePayload, Seen: "2 bytes"}}},
			// RFC 792: 8 bytes of TCP. The stripped option cannot show;
			// a rewritten sequence number can.
			{"8-byte quote of a stripped SYN", func(b []byte) []byte {
				copy(b[mo:mo+4], []byte{1, 1, 1, 1})
				return b
			}, tcpOff + 8, wire.CoverageSeq, nil},
			{"8-byte quote of a rewritten seq", func(b []byte) []byte {
				binary.BigEndian.PutUint32(b[tcpOff+4:], p.ISN-1)
				return b
			}, tcpOff + 8, wire.CoverageSeq, []Change{{Kind: ChangeSeq, Sent: "4294967280", Seen: "4294967279", Note: "offset -1"}}},
			// A quote ending inside the options shows the MSS but cannot
			// tell about MP_CAPABLE, which comes last.
			{"quote cut inside the options", func(b []byte) []byte {
				copy(b[mo:mo+4], []byte{1, 1, 1, 1})
				binary.BigEndian.PutUint16(b[tcpOff+22:], 1400)
				return b
			}, tcpOff + 30, wire.CoverageFixedHeader, []Change{{Kind: ChangeMSS, Option: "MSS", Sent: p.mssString(), Seen: "1400"}}},
		} {
			q := quoteOf(t, p, c.mutate, c.quoteLen)
			r := CompareQuote(p, &q)
			if r.Coverage != c.coverage {
				t.Errorf("v6=%v %s: coverage %v, want %v", v6, c.name, r.Coverage, c.coverage)
			}
			if d := cmp.Diff(c.want, r.Changes); d != "" {
				t.Errorf("v6=%v %s: changes (-want +got):\n%s", v6, c.name, d)
			}
		}
	}
}

// mssString is the MSS the probe sent, as CompareQuote renders it.
func (p *Probe) mssString() string {
	if p.Dst.Is6() {
		return "1440"
	}
	return "1460"
}

func TestCompareQuoteIPHeader(t *testing.T) {
	p := testProbe(t, false, false)
	nat := netip.MustParseAddr("100.64.0.9")
	q := quoteOf(t, p, func(b []byte) []byte {
		b[1] = 0x02                   // ECN ECT(0)
		b[6] &^= 0x40                 // DF cleared
		b[4], b[5] = 0, 9             // IP ID
		copy(b[12:16], nat.AsSlice()) // source NAT
		return b
	}, -1)
	r := CompareQuote(p, &q)
	if d := cmp.Diff([]ChangeKind{ChangeSrcAddr, ChangeTOS, ChangeDF, ChangeIPID}, kinds(r.Changes)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	p6 := testProbe(t, true, false)
	q6 := quoteOf(t, p6, func(b []byte) []byte { b[3] = 0x42; return b }, -1)
	if r := CompareQuote(p6, &q6); len(r.Changes) != 1 || r.Changes[0].Kind != ChangeFlowLabel {
		t.Errorf("flow label: %v", r.Changes)
	}
}

func TestChangeString(t *testing.T) {
	for _, c := range []struct {
		c    Change
		want string
	}{
		{Change{Kind: ChangeMPTCPRemoved, Note: "replaced by NOPs"}, "MP_CAPABLE removed (replaced by NOPs)"},
		{Change{Kind: ChangeMSS, Sent: "1460", Seen: "1200"}, "MSS 1460 -> 1200"},
		{Change{Kind: ChangeOptionsRemoved, Sent: "28 bytes", Seen: "none"}, "all TCP options removed (28 bytes -> none)"},
		{Change{Kind: ChangeSeq, Sent: "1", Seen: "2", Note: "offset 1"}, "sequence number rewritten: 1 -> 2 (offset 1)"},
		{Change{Kind: ChangeWindow, Sent: "1", Seen: "2"}, "window 1 -> 2"},
	} {
		if got := c.c.String(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}
