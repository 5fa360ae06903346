package tcp

import (
	"testing"
	"time"
)

// TestRingsReused: the rings of a connection that ended go back to the
// stack's cache, and the next connection grows its rings from there
// instead of from fresh memory (which costs page faults on every short
// request over a real device), with every byte still checked.
func TestRingsReused(t *testing.T) {
	n := newTestNet(t, time.Millisecond)
	a, b := n.pair(nil, nil)
	for round := range 2 {
		c, sc := n.connect(a, b, 80, nil)
		ca := newApp(c, uint64(round), 100<<10)
		sa := newApp(sc, uint64(round)^0xff, 100<<10)
		ca.closeOnDone, sa.closeOnDone = true, true
		n.pumps = append(n.pumps[:0], ca.pump, sa.pump)
		if !n.runUntil(30*time.Second, func() bool { return ca.eof && sa.eof }) {
			t.Fatalf("round %d: transfer incomplete: %d and %d bytes", round, sa.got, ca.got)
		}
		checkApps(t, ca, sa)
		n.Advance(time.Second)
		for _, s := range []*Stack{a, b} {
			if s.bufs.Held() == 0 {
				t.Fatalf("round %d: no ring went back to the cache: %+v", round, s.bufs.Stats())
			}
		}
	}
	for i, s := range []*Stack{a, b} {
		if st := s.bufs.Stats(); st.Hits == 0 {
			t.Errorf("stack %d: the second connection took no ring from the cache: %+v", i, st)
		}
	}
}
