package netsim

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// must panics on a scenario-building error: such an error is a bug in
// the test itself, and the panic names the line.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// udpPacket builds an IPv4 or IPv6 UDP packet of total length size whose
// payload starts with seq, with valid checksums so tshark finds nothing to
// complain about.
func udpPacket(src, dst netip.Addr, seq uint64, size int) []byte {
	hl := wire.IPv4MinHeaderLen
	if src.Is6() {
		hl = wire.IPv6HeaderLen
	}
	if size < hl+16 {
		size = hl + 16
	}
	b := make([]byte, size)
	ulen := size - hl
	if src.Is4() {
		wire.EncodeIPv4(b, &wire.IPv4Fields{Protocol: wire.ProtoUDP, TTL: 64, Src: src, Dst: dst}, ulen)
	} else {
		wire.EncodeIPv6(b, &wire.IPv6Fields{NextHeader: wire.ProtoUDP, Src: src, Dst: dst}, ulen)
	}
	u := b[hl:]
	binary.BigEndian.PutUint16(u[0:], 4000)
	binary.BigEndian.PutUint16(u[2:], 5000)
	binary.BigEndian.PutUint16(u[4:], uint16(ulen))
	binary.BigEndian.PutUint64(u[8:], seq)
	for i := 16; i < len(u); i++ {
		u[i] = byte(seq) + byte(i)
	}
	sum := wire.PseudoHeaderChecksum(wire.ProtoUDP, src, dst, uint32(ulen))
	c := ^wire.Checksum(u, sum)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(u[6:], c)
	return b
}

// packetSeq returns the sequence number udpPacket wrote, or 0 for a
// packet too short to hold one (a fuzzer's, say).
func packetSeq(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	hl := wire.IPv4MinHeaderLen
	if b[0]>>4 == 6 {
		hl = wire.IPv6HeaderLen
	}
	if len(b) < hl+16 {
		return 0
	}
	return binary.BigEndian.Uint64(b[hl+8:])
}

type arrival struct {
	at  time.Duration // since Epoch
	seq uint64
	n   int
	pkt []byte
}

// testStack records what is delivered and sends what the test queued.
type testStack struct {
	out  [][]byte
	got  []arrival
	keep bool // keep a copy of each delivered packet
	// onDeliver, if set, runs for each delivery (an echo, say).
	onDeliver func(now time.Time, pkt []byte)
	polls     int
}

func (st *testStack) Deliver(now time.Time, pkt []byte) {
	a := arrival{at: now.Sub(Epoch), seq: packetSeq(pkt), n: len(pkt)}
	if st.keep {
		a.pkt = append([]byte(nil), pkt...)
	}
	st.got = append(st.got, a)
	if st.onDeliver != nil {
		st.onDeliver(now, pkt)
	}
}

func (st *testStack) Poll(now time.Time, send func([]byte)) time.Time {
	st.polls++
	for _, b := range st.out {
		send(b)
	}
	st.out = st.out[:0]
	return time.Time{}
}

func (st *testStack) seqs() []uint64 {
	var s []uint64
	for _, a := range st.got {
		s = append(s, a.seq)
	}
	return s
}

// sendAt makes h send pkts at virtual time Epoch+at.
func sendAt(s *Sim, h *Host, at time.Duration, pkts ...[]byte) {
	st := h.Stack().(*testStack)
	s.Schedule(Epoch.Add(at), func() {
		st.out = append(st.out, pkts...)
		h.Wake()
	})
}

var (
	addrA  = netip.MustParseAddr("10.0.1.2")
	addrB  = netip.MustParseAddr("10.0.2.2")
	addrA6 = netip.MustParseAddr("2001:db8:1::2")
	addrB6 = netip.MustParseAddr("2001:db8:2::2")
)

// pair builds two hosts, a (10.0.1.2, 2001:db8:1::2) and b (10.0.2.2,
// 2001:db8:2::2), joined by one link a->b ab, b->a ba.
func pair(t testing.TB, seed uint64, ab, ba PipeConfig) (*Sim, *Host, *Host, *Link) {
	t.Helper()
	s := New(seed)
	a := must(s.NewHost("a"))
	b := must(s.NewHost("b"))
	ia := must(a.AddInterface("eth0", netip.MustParsePrefix("10.0.1.2/24"), netip.MustParsePrefix("2001:db8:1::2/64")))
	ib := must(b.AddInterface("eth0", netip.MustParsePrefix("10.0.2.2/24"), netip.MustParsePrefix("2001:db8:2::2/64")))
	l := must(s.ConnectAsym(ia, ib, ab, ba))
	a.SetStack(&testStack{})
	b.SetStack(&testStack{})
	return s, a, b, l
}

// routed builds a -- r -- b, with a's link cfgA (both ways) and b's cfgB.
func routed(t testing.TB, seed uint64, cfgA, cfgB PipeConfig) (*Sim, *Host, *Router, *Host) {
	t.Helper()
	s := New(seed)
	a := must(s.NewHost("a"))
	b := must(s.NewHost("b"))
	r := must(s.NewRouter("r"))
	ia := must(a.AddInterface("eth0", netip.MustParsePrefix("10.0.1.2/24"), netip.MustParsePrefix("2001:db8:1::2/64")))
	ib := must(b.AddInterface("eth0", netip.MustParsePrefix("10.0.2.2/24"), netip.MustParsePrefix("2001:db8:2::2/64")))
	r0 := must(r.AddInterface("eth0", netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("2001:db8:1::1/64")))
	r1 := must(r.AddInterface("eth1", netip.MustParsePrefix("10.0.2.1/24"), netip.MustParsePrefix("2001:db8:2::1/64")))
	must(s.Connect(ia, r0, cfgA))
	must(s.Connect(r1, ib, cfgB))
	a.SetStack(&testStack{})
	b.SetStack(&testStack{})
	return s, a, r, b
}

func stackOf(h *Host) *testStack { return h.Stack().(*testStack) }

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
