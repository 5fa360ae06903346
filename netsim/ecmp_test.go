package netsim

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

// Every packet of a flow hashes alike, whatever its payload; flows that
// differ only in a port spread evenly over the next hops; and another
// salt gives independent choices.
func TestFlowHash(t *testing.T) {
	for _, pair := range [][2]string{{"10.0.0.1", "10.9.0.1"}, {"fd00::1", "fd00:9::1"}} {
		src, dst := netip.MustParseAddr(pair[0]), netip.MustParseAddr(pair[1])
		hl := 20
		if src.Is6() {
			hl = 40
		}
		const flows, hops = 800, 4
		var count [hops]int
		agree := 0
		for port := range flows {
			a := udpPacket(src, dst, 1, 200)
			b := udpPacket(src, dst, 2, 900)
			binary.BigEndian.PutUint16(a[hl:], uint16(10000+port))
			binary.BigEndian.PutUint16(b[hl:], uint16(10000+port))
			if flowHash(a, 7) != flowHash(b, 7) {
				t.Fatalf("%v: one flow, two hashes", src)
			}
			count[flowHash(a, 7)%hops]++
			if flowHash(a, 7)%hops == flowHash(a, 8)%hops {
				agree++
			}
		}
		for i, n := range count {
			if n < flows/hops*2/3 || n > flows/hops*4/3 {
				t.Fatalf("%v: next hop %d got %d of %d flows: %v", src, i, n, flows, count)
			}
		}
		if agree > flows/hops*3/2 {
			t.Fatalf("%v: two salts agree on %d of %d flows: routers would polarise", src, agree, flows)
		}
	}
}

func TestMultipathRouteErrors(t *testing.T) {
	s := New(1)
	r := must(s.NewRouter("r"))
	other := must(s.NewRouter("o"))
	a := must(r.AddInterface("a"))
	x := must(other.AddInterface("x"))
	dst := netip.MustParsePrefix("10.0.0.0/8")
	if err := r.AddMultipathRoute(dst); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("no next hop: %v", err)
	}
	if err := r.AddMultipathRoute(dst, a, x); !errors.Is(err, ErrForeign) {
		t.Fatalf("foreign next hop: %v", err)
	}
	if err := r.AddMultipathRoute(dst, a); err != nil || r.Lookup(netip.MustParseAddr("10.1.1.1")) != a {
		t.Fatalf("one next hop: %v", err)
	}
}
