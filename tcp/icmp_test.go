package tcp

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

var routerAddr = netip.MustParseAddr("10.0.0.254")
var router6Addr = netip.MustParseAddr("2001:db8::fe")

// icmpAbout builds the ICMP error a router would send to orig's source.
func icmpAbout(orig []byte, typ, code uint8, rest uint32) []byte {
	src, _, _, _, _ := wire.ParseIP(orig)
	quote := orig[:min(len(orig), 548)]
	if src.Is4() {
		m := wire.AppendICMPv4(nil, typ, code, rest, quote)
		b := make([]byte, wire.IPv4MinHeaderLen, wire.IPv4MinHeaderLen+len(m))
		wire.EncodeIPv4(b, &wire.IPv4Fields{Protocol: wire.ProtoICMP, Src: routerAddr, Dst: src}, len(m))
		return append(b, m...)
	}
	quote = orig[:min(len(orig), 1232)]
	m := wire.AppendICMPv6(nil, router6Addr, src, typ, code, rest, quote)
	b := make([]byte, wire.IPv6HeaderLen, wire.IPv6HeaderLen+len(m))
	wire.EncodeIPv6(b, &wire.IPv6Fields{NextHeader: wire.ProtoICMPv6, Src: router6Addr, Dst: src}, len(m))
	return append(b, m...)
}

func TestPathMTUDiscovery(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		name := "IPv4"
		if v6 {
			name = "IPv6"
		}
		t.Run(name, func(t *testing.T) {
			n := newTestNet(t, 5*time.Millisecond)
			a, b := n.pair(nil, nil)
			srv, dst := addrB, addr6B
			if !v6 {
				dst = srv
			}
			l, _ := b.Listen(ap(dst, 80), nil)
			c, _ := a.Dial(n.now, ap(dst, 80), nil)
			var sc *Conn
			n.runUntil(time.Second, func() bool { sc, _ = l.Accept(); return sc != nil })
			// A 1280-byte link on the path (IPv6's minimum MTU; for IPv4,
			// 1100): larger packets are dropped with an ICMP error.
			const mtu4, mtu6 = 1100, 1280
			mtu := mtu4
			if v6 {
				mtu = mtu6
			}
			var pending [][]byte
			big := 0
			n.drop = func(p []byte) bool {
				if len(p) <= mtu {
					return false
				}
				big++
				if v6 {
					pending = append(pending, icmpAbout(p, wire.ICMPv6PacketTooBig, 0, uint32(mtu)))
				} else {
					pending = append(pending, icmpAbout(p, wire.ICMPv4DestUnreachable, wire.ICMPv4FragmentationNeeded, uint32(mtu)))
				}
				return true
			}
			n.pumps = append(n.pumps, func() {
				for _, p := range pending {
					a.Deliver(n.now, p)
				}
				pending = pending[:0]
			})
			ca, sa := newApp(c, 6, 500000), newApp(sc, 6^0xff, 0)
			ca.closeOnDone = true
			n.pumps = append(n.pumps, ca.pump, sa.pump)
			if !n.runUntil(10*time.Second, func() bool { return sa.eof }) {
				t.Fatalf("got %d; %+v", sa.got, c.Info())
			}
			checkApps(t, ca, sa)
			st := c.Info()
			if st.PMTUUpdates != 1 || c.MSS() != mtu-(len(pkthdr(v6))) {
				t.Fatalf("PMTU updates %d, MSS %d", st.PMTUUpdates, c.MSS())
			}
			if st.RTOs != 0 {
				t.Errorf("%d RTOs: resegmented data should go at once", st.RTOs)
			}
			t.Logf("%d oversized packets dropped, MSS now %d", big, c.MSS())
		})
	}
}

// pkthdr returns a slice as long as the IP and TCP headers of a family.
func pkthdr(v6 bool) []byte {
	if v6 {
		return make([]byte, 60)
	}
	return make([]byte, 40)
}

func TestICMPPortUnreachableRefuses(t *testing.T) {
	n := newTestNet(t, time.Millisecond)
	a, _ := n.pair(nil, nil)
	var syn []byte
	n.drop = func(p []byte) bool { syn = append([]byte(nil), p...); return true }
	c, _ := a.Dial(n.now, ap(addrB, 80), nil)
	n.Advance(time.Millisecond)
	a.Deliver(n.now, icmpAbout(syn, wire.ICMPv4DestUnreachable, wire.ICMPv4PortUnreachable, 0))
	if !errors.Is(c.Err(), ErrConnectionRefused) {
		t.Fatalf("err %v", c.Err())
	}
}

func TestICMPSoftErrorAndValidation(t *testing.T) {
	n, a, _, c, _ := established(t, func(c *Config) { c.Retries = 3 })
	var last []byte
	n.drop = func(p []byte) bool { last = append([]byte(nil), p...); return true }
	c.Write([]byte("lost"))
	n.Advance(time.Millisecond)
	// An error quoting a sequence number outside SND.UNA..SND.NXT is a
	// forgery: ignored.
	forged := append([]byte(nil), last...)
	wire.TCP(forged[20:]).SetSeq(c.sndWire(c.sndNxt) + 100000)
	a.Deliver(n.now, icmpAbout(forged, wire.ICMPv4DestUnreachable, wire.ICMPv4HostUnreachable, 0))
	if a.Stats().ICMPOutOfWindow != 1 || c.softErr != nil {
		t.Fatalf("forged ICMP: %+v", a.Stats())
	}
	// A real host unreachable does not abort an established connection
	// (RFC 5461), but is reported once it times out.
	a.Deliver(n.now, icmpAbout(last, wire.ICMPv4DestUnreachable, wire.ICMPv4HostUnreachable, 0))
	if c.State() != StateEstablished {
		t.Fatalf("state %v", c.State())
	}
	n.Advance(30 * time.Second)
	if !errors.Is(c.Err(), ErrTimeout) || !errors.Is(c.Err(), ErrUnreachable) {
		t.Fatalf("err %v", c.Err())
	}
}
