package netsim

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mptcp-go/mptcp/wire"
)

func TestLongestPrefixMatch(t *testing.T) {
	s := New(1)
	r := must(s.NewRouter("r"))
	wide := must(r.AddInterface("wide"))
	narrow := must(r.AddInterface("narrow"))
	host := must(r.AddInterface("host"))
	def := must(r.AddInterface("default"))
	v6 := must(r.AddInterface("v6", netip.MustParsePrefix("2001:db8::1/32")))
	for _, rt := range []Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Out: def},
		{Dst: netip.MustParsePrefix("10.1.0.0/16"), Out: narrow},
		{Dst: netip.MustParsePrefix("10.0.0.0/8"), Out: wide},
		{Dst: netip.MustParsePrefix("10.1.2.3/32"), Out: host},
		{Dst: netip.MustParsePrefix("10.200.1.1/8"), Out: wide}, // same as 10/8 once masked: replaces it
	} {
		if err := r.AddRoute(rt.Dst, rt.Out); err != nil {
			t.Fatal(err)
		}
	}
	for addr, want := range map[string]*Interface{
		"10.1.2.3":       host,
		"10.1.2.4":       narrow,
		"10.2.0.1":       wide,
		"192.0.2.1":      def,
		"2001:db8:5::1":  v6, // the connected route
		"2001:db9::1":    nil,
		"10.255.255.255": wide,
	} {
		if got := r.Lookup(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Lookup(%s) = %v, want %v", addr, got, want)
		}
	}
	if n := len(r.Routes()); n != 5 {
		t.Errorf("%d routes, want 5 (4 IPv4, 1 connected IPv6)", n)
	}
	if !r.RemoveRoute(netip.MustParsePrefix("10.1.0.0/16")) {
		t.Error("RemoveRoute of an existing route returned false")
	}
	if got := r.Lookup(netip.MustParseAddr("10.1.2.4")); got != wide {
		t.Errorf("after removing /16, Lookup = %v, want wide", got)
	}
	other := must(must(s.NewHost("h")).AddInterface("eth0"))
	if err := r.AddRoute(netip.MustParsePrefix("10.0.0.0/8"), other); !errors.Is(err, ErrForeign) {
		t.Errorf("route via another node's interface: err %v, want ErrForeign", err)
	}
}

// Routing end to end: a packet from a reaches whichever of b, c the
// longest prefix picks, with TTL decremented and a valid header checksum.
func TestRouterForwardsAndDecrementsTTL(t *testing.T) {
	s := New(1)
	a := must(s.NewHost("a"))
	b := must(s.NewHost("b"))
	c := must(s.NewHost("c"))
	r := must(s.NewRouter("r"))
	ia := must(a.AddInterface("eth0", netip.MustParsePrefix("10.0.1.2/24"), netip.MustParsePrefix("2001:db8:1::2/64")))
	ib := must(b.AddInterface("eth0", netip.MustParsePrefix("10.9.0.2/16"), netip.MustParsePrefix("2001:db8:9::2/64")))
	ic := must(c.AddInterface("eth0", netip.MustParsePrefix("10.9.9.2/24")))
	ra := must(r.AddInterface("a", netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("2001:db8:1::1/64")))
	rb := must(r.AddInterface("b"))
	rc := must(r.AddInterface("c"))
	must(s.Connect(ia, ra, PipeConfig{}))
	must(s.Connect(ib, rb, PipeConfig{}))
	must(s.Connect(ic, rc, PipeConfig{}))
	r.AddRoute(netip.MustParsePrefix("10.9.0.0/16"), rb)
	r.AddRoute(netip.MustParsePrefix("10.9.9.0/24"), rc)
	r.AddRoute(netip.MustParsePrefix("2001:db8:9::/48"), rb)
	for _, h := range []*Host{a, b, c} {
		h.SetStack(&testStack{keep: true})
	}
	sendAt(s, a, 0,
		udpPacket(addrA, netip.MustParseAddr("10.9.0.2"), 1, 100),
		udpPacket(addrA, netip.MustParseAddr("10.9.9.2"), 2, 100),
		udpPacket(addrA6, netip.MustParseAddr("2001:db8:9::2"), 3, 100),
		udpPacket(addrA, netip.MustParseAddr("192.0.2.1"), 4, 100), // no route
	)
	s.Run()
	if diff := cmp.Diff([]uint64{1, 3}, stackOf(b).seqs()); diff != "" {
		t.Errorf("b got (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint64{2}, stackOf(c).seqs()); diff != "" {
		t.Errorf("c got (-want +got):\n%s", diff)
	}
	for _, got := range stackOf(b).got {
		if got.pkt[0]>>4 == 4 {
			h := wire.IPv4(got.pkt)
			if h.TTL() != 63 || !h.ValidChecksum() {
				t.Errorf("forwarded IPv4: TTL %d, checksum valid %v; want 63, true", h.TTL(), h.ValidChecksum())
			}
		} else if hl := wire.IPv6(got.pkt).HopLimit(); hl != 63 {
			t.Errorf("forwarded IPv6 hop limit %d, want 63", hl)
		}
	}
	if st := r.Stats(); st.Forwarded != 3 || st.NoRoute != 1 || st.Received != 4 {
		t.Errorf("router stats %+v; want 3 forwarded, 1 without route", st)
	}
}

// The incremental checksum update gives the same result as summing the
// header again, across every TTL and a spread of checksums.
func TestTTLChecksumIncremental(t *testing.T) {
	b := udpPacket(addrA, addrB, 0, 60)
	for ttl := 2; ttl < 256; ttl++ {
		for id := 0; id < 65536; id += 4099 {
			h := wire.IPv4(b)
			b[8] = byte(ttl)
			b[4], b[5] = byte(id>>8), byte(id)
			b[10], b[11] = 0, 0
			c := ^wire.Checksum(b[:20], 0)
			b[10], b[11] = byte(c>>8), byte(c)
			if !decrementHopLimit(b) {
				t.Fatalf("TTL %d not forwarded", ttl)
			}
			if h.TTL() != byte(ttl-1) || !h.ValidChecksum() {
				t.Fatalf("TTL %d id %d: after decrement TTL %d, checksum valid %v", ttl, id, h.TTL(), h.ValidChecksum())
			}
		}
	}
}

func TestTTLExpiryAndICMP(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		s, a, r, b := routed(t, 1, PipeConfig{}, PipeConfig{})
		r.SendICMP = true
		stackOf(a).keep = true
		src, dst := addrA, addrB
		if v6 {
			src, dst = addrA6, addrB6
		}
		p1 := udpPacket(src, dst, 1, 100)
		p2 := udpPacket(src, dst, 2, 100)
		if v6 {
			p1[7], p2[7] = 1, 2
		} else {
			wire.IPv4(p1).SetTTL(1)
			wire.IPv4(p2).SetTTL(2)
		}
		sendAt(s, a, 0, p1, p2)
		s.Run()
		if diff := cmp.Diff([]uint64{2}, stackOf(b).seqs()); diff != "" {
			t.Errorf("v6=%v: b got (-want +got):\n%s", v6, diff)
		}
		if st := r.Stats(); st.TTLExpired != 1 || st.ICMPSent != 1 {
			t.Errorf("v6=%v: router stats %+v; want 1 expired, 1 ICMP", v6, st)
		}
		got := stackOf(a).got
		if len(got) != 1 {
			t.Fatalf("v6=%v: a got %d packets, want one ICMP error", v6, len(got))
		}
		icmp := got[0].pkt
		if v6 {
			h := wire.IPv6(icmp)
			m := h.Payload()
			sum := wire.PseudoHeaderChecksum(wire.ProtoICMPv6, h.Src(), h.Dst(), uint32(len(m)))
			if h.NextHeader() != wire.ProtoICMPv6 || m[0] != 3 || wire.Checksum(m, sum) != 0xffff ||
				h.Src() != netip.MustParseAddr("2001:db8:1::1") || h.Dst() != addrA6 {
				t.Errorf("bad ICMPv6 error % x", icmp)
			}
		} else {
			h := wire.IPv4(icmp)
			m := h.Payload()
			if h.Protocol() != wire.ProtoICMP || m[0] != 11 || wire.Checksum(m, 0) != 0xffff || !h.ValidChecksum() ||
				h.Src() != netip.MustParseAddr("10.0.1.1") || h.Dst() != addrA {
				t.Errorf("bad ICMP error % x", icmp)
			}
		}
	}
}

// Two flows into one bottleneck share its queue: the output is back to
// back at the bottleneck rate, and the flows interleave.
func TestSharedBottleneck(t *testing.T) {
	s := New(1)
	h1 := must(s.NewHost("h1"))
	h2 := must(s.NewHost("h2"))
	dst := must(s.NewHost("dst"))
	r := must(s.NewRouter("r"))
	i1 := must(h1.AddInterface("eth0", netip.MustParsePrefix("10.0.1.2/24")))
	i2 := must(h2.AddInterface("eth0", netip.MustParsePrefix("10.0.2.2/24")))
	id := must(dst.AddInterface("eth0", netip.MustParsePrefix("10.0.3.2/24")))
	r1 := must(r.AddInterface("eth1", netip.MustParsePrefix("10.0.1.1/24")))
	r2 := must(r.AddInterface("eth2", netip.MustParsePrefix("10.0.2.1/24")))
	r3 := must(r.AddInterface("eth3", netip.MustParsePrefix("10.0.3.1/24")))
	access := PipeConfig{Rate: 100e6, Delay: time.Millisecond}
	must(s.Connect(i1, r1, access))
	must(s.Connect(i2, r2, access))
	bottleneck := must(s.Connect(r3, id, PipeConfig{Rate: 10e6, Delay: 5 * time.Millisecond, QueuePackets: 1000}))
	h1.SetStack(&testStack{})
	h2.SetStack(&testStack{})
	dst.SetStack(&testStack{})
	// Each flow offers 8 Mbit/s (1000-byte packets every 1 ms): 16 Mbit/s
	// into 10 Mbit/s.
	const n = 500
	d := netip.MustParseAddr("10.0.3.2")
	for i := range n {
		at := time.Duration(i) * time.Millisecond
		sendAt(s, h1, at, udpPacket(netip.MustParseAddr("10.0.1.2"), d, uint64(i), 1000))
		sendAt(s, h2, at+100*time.Microsecond, udpPacket(netip.MustParseAddr("10.0.2.2"), d, 1e6+uint64(i), 1000))
	}
	s.Run()
	got := stackOf(dst).got
	if len(got) != 2*n {
		t.Fatalf("%d delivered, want %d", len(got), 2*n)
	}
	// Once the queue has formed, arrivals are exactly 0.8 ms apart (1000
	// bytes at 10 Mbit/s) and alternate between the flows.
	for k := 10; k < len(got); k++ {
		if gap := got[k].at - got[k-1].at; gap != 800*time.Microsecond {
			t.Fatalf("arrival %d: gap %v, want 800µs", k, gap)
		}
		if (got[k].seq >= 1e6) == (got[k-1].seq >= 1e6) {
			t.Fatalf("arrivals %d and %d are from the same flow", k-1, k)
		}
	}
	if st := bottleneck.AB().Stats(); st.Delivered != 2*n || st.QueueDrops != 0 {
		t.Errorf("bottleneck stats %+v", st)
	}
}

func TestScenarioErrors(t *testing.T) {
	s := New(1)
	a := must(s.NewHost("a"))
	if _, err := s.NewHost("a"); !errors.Is(err, ErrDuplicateName) {
		t.Errorf("duplicate host: %v", err)
	}
	if _, err := s.NewRouter("a"); !errors.Is(err, ErrDuplicateName) {
		t.Errorf("router named like a host: %v", err)
	}
	ia := must(a.AddInterface("eth0", netip.MustParsePrefix("10.0.0.1/24")))
	if _, err := a.AddInterface("eth0"); !errors.Is(err, ErrDuplicateName) {
		t.Errorf("duplicate interface: %v", err)
	}
	if _, err := a.AddInterface("eth1", netip.Prefix{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("invalid prefix: %v", err)
	}
	b := must(s.NewHost("b"))
	ib := must(b.AddInterface("eth0"))
	ib2 := must(b.AddInterface("eth1"))
	must(s.Connect(ia, ib, PipeConfig{}))
	if _, err := s.Connect(ia, ib2, PipeConfig{}); !errors.Is(err, ErrConnected) {
		t.Errorf("second link on one interface: %v", err)
	}
	other := New(1)
	oh := must(other.NewHost("x"))
	oi := must(oh.AddInterface("eth0"))
	if _, err := s.Connect(ib2, oi, PipeConfig{}); !errors.Is(err, ErrForeign) {
		t.Errorf("link across simulations: %v", err)
	}
}

// No ICMP error is sent about an ICMP error, in either family.
func TestNoICMPAboutICMPErrors(t *testing.T) {
	s, a, r, _ := routed(t, 1, PipeConfig{}, PipeConfig{})
	r.SendICMP = true
	quote := udpPacket(addrB, addrA, 1, 60)
	v4 := make([]byte, wire.IPv4MinHeaderLen, 200)
	wire.EncodeIPv4(v4, &wire.IPv4Fields{Protocol: wire.ProtoICMP, TTL: 1, Src: addrA, Dst: addrB}, wire.ICMPHeaderLen+len(quote))
	v4 = wire.AppendICMPv4(v4, wire.ICMPv4TimeExceeded, 0, 0, quote)
	quote6 := udpPacket(addrB6, addrA6, 1, 60)
	v6 := make([]byte, wire.IPv6HeaderLen, 200)
	wire.EncodeIPv6(v6, &wire.IPv6Fields{NextHeader: wire.ProtoICMPv6, HopLimit: 1, Src: addrA6, Dst: addrB6}, wire.ICMPHeaderLen+len(quote6))
	v6 = wire.AppendICMPv6(v6, addrA6, addrB6, wire.ICMPv6TimeExceeded, 0, 0, quote6)
	// An echo request that expires does get an answer.
	echo := make([]byte, wire.IPv4MinHeaderLen, 200)
	wire.EncodeIPv4(echo, &wire.IPv4Fields{Protocol: wire.ProtoICMP, TTL: 1, Src: addrA, Dst: addrB}, wire.ICMPHeaderLen)
	echo = wire.AppendICMPv4(echo, wire.ICMPv4EchoRequest, 0, 0, nil)
	sendAt(s, a, 0, v4, v6, echo)
	s.Run()
	if st := r.Stats(); st.TTLExpired != 3 || st.ICMPSent != 1 {
		t.Errorf("router stats %+v; want 3 expired, 1 ICMP (for the echo request)", st)
	}
}
