package tcpsim

import (
	"runtime"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/tcp"
)

// BenchmarkGoodput measures how fast the engine and the simulator run
// together: one CUBIC flow over 1 Gbit/s with a 10 ms RTT and a
// one-BDP queue, receiver verifying every byte. One op is 100 ms of
// simulated time. Metrics: simulated goodput per wall-clock second and per
// CPU second of the process (the honest figure on a shared machine), and
// heap allocations per packet (data and ACKs, both directions).
//
//	go test ./internal/tcpsim -run '^$' -bench Goodput -benchmem -cpu 1
func BenchmarkGoodput(b *testing.B) {
	for _, bc := range []struct {
		name   string
		verify bool
	}{{"checksums", true}, {"trusted", false}} {
		b.Run(bc.name, func(b *testing.B) {
			pc := netsim.PipeConfig{Rate: 1e9, Delay: 5 * time.Millisecond, QueueBytes: 1_250_000}
			p := newPath(b, 1, pc, "cubic", func(c *tcp.Config) {
				c.SkipChecksumVerify = !bc.verify
				c.SendBuffer = 8 << 20
			})
			_, srv := p.transfer(b, -1, 0)
			p.sim.RunFor(3 * time.Second) // slow start, buffers and pools at size
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			recv0 := srv.recv
			pk0 := p.client.Stats().Sent + p.server.Stats().Sent
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for range b.N {
				p.sim.RunFor(100 * time.Millisecond)
			}
			wall, cpu := time.Since(start), cpuTime()-cpu0
			b.StopTimer()
			runtime.ReadMemStats(&m1)
			bytes := srv.recv - recv0
			pkts := p.client.Stats().Sent + p.server.Stats().Sent - pk0
			b.ReportMetric(float64(bytes)*8/wall.Seconds()/1e9, "sim-Gbit/s")
			if cpu > 0 {
				b.ReportMetric(float64(bytes)*8/cpu.Seconds()/1e9, "sim-Gbit/cpu-s")
			}
			b.ReportMetric(float64(bytes)*8/(float64(b.N)*0.1)/1e6, "Mbit/s-simulated")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(max(pkts, 1)), "allocs/pkt")
			b.ReportMetric(float64(wall.Nanoseconds())/float64(max(pkts, 1)), "ns/pkt")
			if srv.bad != 0 {
				b.Fatalf("%d corrupt bytes", srv.bad)
			}
		})
	}
}
