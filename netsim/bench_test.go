package netsim

import (
	"testing"
	"time"
)

// paceSource sends copies of one packet at a fixed rate, burst packets at
// a time, until it has sent limit.
type paceSource struct {
	pkt   []byte
	gap   time.Duration // per packet
	burst int
	next  time.Time
	sent  int
	limit int
}

func (p *paceSource) Deliver(time.Time, []byte) {}

func (p *paceSource) Poll(now time.Time, send func([]byte)) time.Time {
	if p.sent >= p.limit {
		return time.Time{}
	}
	if now.Before(p.next) {
		return p.next
	}
	for i := 0; i < p.burst && p.sent < p.limit; i++ {
		send(p.pkt)
		p.sent++
	}
	if p.next.IsZero() {
		p.next = now
	}
	p.next = p.next.Add(time.Duration(p.burst) * p.gap)
	return p.next
}

// sink counts deliveries and, if reply is set, answers every ackEvery-th
// packet with it, as a receiver's ACKs would.
type sink struct {
	n        int
	reply    []byte
	ackEvery int
	pending  int
}

func (s *sink) Deliver(time.Time, []byte) {
	s.n++
	if s.reply != nil && s.n%s.ackEvery == 0 {
		s.pending++
	}
}

func (s *sink) Poll(now time.Time, send func([]byte)) time.Time {
	for ; s.pending > 0; s.pending-- {
		send(s.reply)
	}
	return time.Time{}
}

// benchPath measures packets through host -> router -> host at 10 Gbit/s
// with 1500-byte packets. One op is one data packet delivered, so allocs/op
// is allocations per packet; pkts/s and sim-Gbit/s are per wall second.
func benchPath(b *testing.B, burst int, ackEvery int, cfg PipeConfig) {
	const size = 1500
	s, a, _, dst := routed(b, 1, cfg, cfg)
	src := &paceSource{pkt: udpPacket(addrA, addrB, 1, size), burst: burst, limit: 1 << 62}
	if cfg.Rate > 0 {
		src.gap = time.Duration(size * 8 * 1e9 / cfg.Rate)
	}
	snk := &sink{}
	if ackEvery > 0 {
		snk.reply = udpPacket(addrB, addrA, 1, 52)
		snk.ackEvery = ackEvery
	}
	a.SetStack(src)
	dst.SetStack(snk)
	// Warm up: fill the pools and grow the rings to their working size.
	s.RunFor(50 * time.Millisecond)
	b.ReportAllocs()
	b.ResetTimer()
	start, simStart, cpuStart := snk.n, s.Elapsed(), cpuTime()
	// Run in slices of virtual time until b.N packets have arrived.
	step := time.Duration(b.N) * src.gap / time.Duration(10)
	if step < time.Microsecond {
		step = time.Microsecond
	}
	for snk.n-start < b.N {
		s.RunFor(step)
	}
	b.StopTimer()
	cpu := (cpuTime() - cpuStart).Seconds()
	pkts := float64(snk.n - start)
	secs := b.Elapsed().Seconds()
	b.ReportMetric(pkts/secs, "pkts/s")
	b.ReportMetric(pkts*size*8/secs/1e9, "sim-Gbit/s")
	b.ReportMetric((s.Elapsed()-simStart).Seconds()/secs, "sim-s/s")
	if cpu > 0 {
		// The same rate per second of CPU the process used: steadier than
		// wall time when other processes compete for the cores.
		b.ReportMetric(pkts*size*8/cpu/1e9, "sim-Gbit/cpu-s")
	}
}

// BenchmarkPathLineRate: one packet at a time at exactly line rate, so the
// queues stay empty (one poll, two transmissions, two arrivals per packet).
func BenchmarkPathLineRate(b *testing.B) {
	benchPath(b, 1, 0, PipeConfig{Rate: 10e9, Delay: time.Millisecond})
}

// BenchmarkPathBursts: bursts of 64 at line rate on average, so a queue
// forms at the first hop and drains; the transmitter timer runs per packet.
func BenchmarkPathBursts(b *testing.B) {
	benchPath(b, 64, 0, PipeConfig{Rate: 10e9, Delay: time.Millisecond})
}

// BenchmarkPathWithAcks: the receiver answers every second packet with a
// 52-byte packet, the shape of a TCP bulk transfer.
func BenchmarkPathWithAcks(b *testing.B) {
	benchPath(b, 1, 2, PipeConfig{Rate: 10e9, Delay: time.Millisecond})
}

// BenchmarkPathImpaired: with loss, jitter, reordering and duplication on.
func BenchmarkPathImpaired(b *testing.B) {
	benchPath(b, 1, 2, PipeConfig{Rate: 10e9, Delay: time.Millisecond, Loss: 0.01,
		Jitter: 10 * time.Microsecond, Reorder: 0.01, ReorderDelay: 20 * time.Microsecond, Duplicate: 0.01})
}

// BenchmarkTimerReset measures moving one timer among 1000 pending ones,
// what a TCP stack does to its retransmission timer on every ACK.
func BenchmarkTimerReset(b *testing.B) {
	s := New(1)
	for i := range 1000 {
		s.NewTimer(func() {}).ResetAfter(time.Duration(i) * time.Millisecond)
	}
	tm := s.NewTimer(func() {})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tm.ResetAfter(time.Duration(i%1000) * time.Millisecond)
	}
}
