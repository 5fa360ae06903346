package netsim

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestRouteIndexMatchesScan checks that a table long enough to be looked
// up through its index answers every address as the longest-prefix scan
// does, through additions, replacements and removals.
func TestRouteIndexMatchesScan(t *testing.T) {
	var ifcs [4]Interface
	var tb routeTable
	rng := rand.New(rand.NewPCG(1, 2))
	prefix := func() netip.Prefix {
		bits := []int{0, 8, 16, 24, 24, 24, 32}[rng.IntN(7)]
		a := netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(4)), byte(rng.IntN(4))})
		return netip.PrefixFrom(a, bits)
	}
	scan := func(a netip.Addr) *Interface {
		for _, r := range tb.v4.routes {
			if r.Dst.Contains(a) {
				return r.Out
			}
		}
		return nil
	}
	for step := range 400 {
		if step%5 == 4 {
			tb.remove(prefix())
		} else {
			tb.add(Route{Dst: prefix(), Out: &ifcs[rng.IntN(len(ifcs))]})
		}
		for range 20 {
			a := netip.AddrFrom4([4]byte{10, byte(rng.IntN(5)), byte(rng.IntN(5)), byte(rng.IntN(5))})
			if got, want := tb.lookup(a), scan(a); got != want {
				t.Fatalf("step %d, %d routes: lookup(%v) = %p, the scan finds %p", step, len(tb.v4.routes), a, got, want)
			}
		}
	}
	if tb.v4.at4 == nil {
		t.Fatalf("%d routes and no index: the test did not exercise it", len(tb.v4.routes))
	}
}
