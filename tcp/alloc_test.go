package tcp

import (
	"testing"
	"time"
)

// wirePair moves packets between two stacks through preallocated buffers,
// with no delay: the leanest possible driver, to measure the engine alone.
type wirePair struct {
	a, b *Stack
	now  time.Time
	bufs [2][][]byte // pending packets towards a (0) and b (1)
	n    [2]int
	toA  func([]byte)
	toB  func([]byte)
}

func newWirePair(a, b *Stack, now time.Time) *wirePair {
	w := &wirePair{a: a, b: b, now: now}
	for d := range 2 {
		w.bufs[d] = make([][]byte, 4096)
		for i := range w.bufs[d] {
			w.bufs[d][i] = make([]byte, 0, 1600)
		}
	}
	w.toA = func(p []byte) { w.push(0, p) }
	w.toB = func(p []byte) { w.push(1, p) }
	return w
}

func (w *wirePair) push(d int, p []byte) {
	if w.n[d] < len(w.bufs[d]) {
		w.bufs[d][w.n[d]] = append(w.bufs[d][w.n[d]][:0], p...)
		w.n[d]++
	}
}

// step advances the clock by dt and exchanges one round of packets.
func (w *wirePair) step(dt time.Duration) {
	w.now = w.now.Add(dt)
	w.a.Poll(w.now, w.toB)
	for i := 0; i < w.n[1]; i++ {
		w.b.Deliver(w.now, w.bufs[1][i])
	}
	w.n[1] = 0
	w.b.Poll(w.now, w.toA)
	for i := 0; i < w.n[0]; i++ {
		w.a.Deliver(w.now, w.bufs[0][i])
	}
	w.n[0] = 0
}

func TestSteadyStateDoesNotAllocate(t *testing.T) {
	t.Run("checksums", func(t *testing.T) { testSteadyStateAllocs(t, false) })
	// A driver that completes and verifies the checksums.
	t.Run("offloaded", func(t *testing.T) { testSteadyStateAllocs(t, true) })
}

func testSteadyStateAllocs(t *testing.T, offload bool) {
	n := newTestNet(t, time.Millisecond)
	a, b := n.pair(nil, nil)
	c, sc := n.connect(a, b, 80, nil)
	a.OffloadChecksums(offload, offload)
	b.OffloadChecksums(offload, offload)
	w := newWirePair(a, b, n.now)
	src := make([]byte, 64<<10)
	dst := make([]byte, 64<<10)
	var sent, got int
	pump := func() {
		k, _ := c.Write(src)
		sent += k
		for {
			r, _ := sc.Read(dst)
			if r == 0 {
				break
			}
			got += r
		}
		w.step(100 * time.Microsecond)
	}
	for range 2000 { // warm up: windows, buffers and rings at size
		pump()
	}
	allocs := testing.AllocsPerRun(1000, pump)
	if allocs != 0 {
		t.Fatalf("%.2f allocations per round in steady state", allocs)
	}
	if got < 10<<20 {
		t.Fatalf("only %d bytes moved", got)
	}
	t.Logf("%d bytes moved, %v", got, c.Info().Cwnd)
}

// BenchmarkEngine measures the engine alone over wirePair: one op is one
// round (a Poll and deliveries each way); bytes/op is payload moved.
func BenchmarkEngine(b *testing.B) {
	n := newTestNet(b, time.Millisecond)
	sa, sb := n.pair(func(c *Config) { c.SkipChecksumVerify = true }, func(c *Config) { c.SkipChecksumVerify = true })
	c, sc := n.connect(sa, sb, 80, nil)
	w := newWirePair(sa, sb, n.now)
	src := make([]byte, 256<<10)
	dst := make([]byte, 256<<10)
	got := 0
	round := func() {
		c.Write(src)
		for {
			r, _ := sc.Read(dst)
			if r == 0 {
				break
			}
			got += r
		}
		w.step(100 * time.Microsecond)
	}
	for range 2000 {
		round()
	}
	got = 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		round()
	}
	b.SetBytes(int64(got / max(b.N, 1)))
	b.ReportMetric(float64(got)*8/b.Elapsed().Seconds()/1e9, "Gbit/s")
}
