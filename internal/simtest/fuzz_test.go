package simtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// runMutated runs a transfer through Mutators on the first path and
// returns an error if a byte was delivered wrong. The connection may
// fail: forged options can legitimately reset subflows or the whole
// connection, but never make it deliver bytes that were not sent.
func runMutated(seed uint64, paths int, rate float64, checksum bool) (string, error) {
	n, err := NewNet(seed, twoPaths(paths), Options{
		Client: func(c *core.Config) { c.Checksum = checksum },
		Server: func(c *core.Config) { c.Checksum = checksum },
	})
	if err != nil {
		return "", err
	}
	ab := &Mutator{Rng: n.Sim.Rand("mutate-ab"), Rate: rate, NoDSS: !checksum, SYNs: seed%4 == 0}
	ba := &Mutator{Rng: n.Sim.Rand("mutate-ba"), Rate: rate, NoDSS: !checksum, SYNs: seed%4 == 1}
	n.PathLinks[0].AB().AddProcessor(ab)
	n.PathLinks[0].BA().AddProcessor(ba)
	const up, down = 256 << 10, 1 << 20
	p, err := n.StartTransfer(up, down, core.ConnOptions{})
	if err != nil {
		return "", err
	}
	n.RunUntilDone(p, 60*time.Second)
	summary := fmt.Sprintf("mutated %d+%d injected %d+%d; client got %d/%d err %v; server got %d err %v",
		ab.Mutated, ba.Mutated, ab.Injected, ba.Injected, p.C.Got, down, p.C.Conn.Err(), func() int {
			if p.S == nil {
				return -1
			}
			return p.S.Got
		}(), func() error {
			if p.S == nil {
				return nil
			}
			return p.S.Conn.Err()
		}())
	for _, e := range []*Endpoint{p.C, p.S} {
		if e != nil && e.Bad > 0 {
			return summary, fmt.Errorf("server=%v: %d wrong bytes, first at %d", e.Conn.Server(), e.Bad, e.FirstBad)
		}
	}
	// Whatever happened, the stacks settle: no connection stays forever.
	n.Sim.RunFor(10 * time.Minute)
	if k := len(n.CS.Conns()) + len(n.SS.Conns()); k != 0 && p.Finished() {
		return summary, fmt.Errorf("%d connections left after the transfer", k)
	}
	return summary, nil
}

// TestMutatedOptions corrupts MPTCP options at live connections over
// many seeds: with DSS checksums every option may be hit; without them
// every option but the DSS (whose mapping is what checksums protect).
func TestMutatedOptions(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	for _, csum := range []bool{true, false} {
		for seed := range seeds {
			paths := 1 + seed%2
			t.Run(fmt.Sprintf("csum=%v/seed=%d", csum, seed), func(t *testing.T) {
				s, err := runMutated(uint64(1000+seed), paths, 0.02, csum)
				t.Log(s)
				if err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// FuzzMutatedOptions lets the fuzzer choose the seed and the rate.
func FuzzMutatedOptions(f *testing.F) {
	f.Add(uint64(1), uint8(5), true, uint8(1))
	f.Add(uint64(7), uint8(20), false, uint8(2))
	f.Fuzz(func(t *testing.T, seed uint64, rate uint8, csum bool, paths uint8) {
		s, err := runMutated(seed, 1+int(paths%2), float64(rate%64)/256, csum)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	})
}
