package tcp

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestPortShare: a stack that is shard i of n dials from ports with
// port % n == i only, so an arriving segment's port names the shard.
func TestPortShare(t *testing.T) {
	s, err := NewStack(Config{Rand: rand.New(rand.NewPCG(1, 2)), Shard: 1, Shards: 3})
	if err != nil {
		t.Fatal(err)
	}
	local := netip.MustParseAddr("10.0.0.1")
	s.AddAddress(local)
	remote := netip.MustParseAddrPort("10.0.0.2:80")
	for range 100 {
		c, err := s.Dial(s.epoch, remote, &DialConfig{Local: netip.AddrPortFrom(local, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if p := c.LocalAddr().Port(); p%3 != 1 {
			t.Fatalf("port %d is not shard 1's", p)
		}
	}
	if _, err := NewStack(Config{Rand: rand.New(rand.NewPCG(1, 2)), Shard: 3, Shards: 3}); err == nil {
		t.Fatal("shard 3 of 3 accepted")
	}
}
