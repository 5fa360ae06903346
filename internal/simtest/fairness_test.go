package simtest

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/internal/fairness"
)

var (
	fairConns   = flag.Int("fairness.conns", 1000, "connections of BenchmarkScaleFairness")
	fairDeciles = flag.Bool("fairness.deciles", false, "print completion, retransmissions and timeouts by tenth of the dial order")
	fairBytes   = flag.Int("fairness.bytes", 2<<20, "bytes each connection of BenchmarkScaleFairness sends")
)

// fairFlow is one bulk connection of the fairness benchmark: the client
// sends size bytes of the test pattern and closes; the server reads and
// checks them.
type fairFlow struct {
	c, s      *core.Conn
	sent, got int
	bad       int
	done      time.Time // when the server read the last byte
}

// BenchmarkScaleFairness runs -fairness.conns concurrent bulk
// connections through one pair of stacks over two paths (every
// connection joins a second subflow on the second path), each sending
// -fairness.bytes, and reports Jain's fairness index across them: "jain"
// of the bytes each had delivered when the first finished (the shares
// while all compete), "jain_done" of their goodputs to completion. Every
// connection must complete byte-exact. One iteration is one whole run:
// use -benchtime=1x.
func BenchmarkScaleFairness(b *testing.B) {
	paths := []Path{
		{Rate: 1e9, Delay: 2 * time.Millisecond, Queue: 4 << 20},
		{Rate: 1e9, Delay: 5 * time.Millisecond, Queue: 4 << 20},
	}
	n, size := *fairConns, *fairBytes
	for range b.N {
		b.StopTimer()
		s := newScaleNet(b, n, paths)
		b.StartTimer()
		flows := make([]fairFlow, n)
		out := make([]byte, 64<<10) // shared: the simulation runs on one goroutine
		in := make([]byte, 64<<10)
		want := make([]byte, 64<<10)
		start := s.Sim.Now()
		var first time.Time
		var atFirst []float64
		finished := 0
		for i := range flows {
			f := &flows[i]
			f.c, f.s = s.clients[i], s.servers[i]
			pump := func() {
				for f.sent < size {
					k := min(len(out), size-f.sent)
					fillPattern(1, uint64(f.sent), out[:k])
					w, _ := f.c.Write(out[:k])
					f.sent += w
					if w < k {
						return
					}
				}
				_ = f.c.CloseWrite()
			}
			f.c.SetNotify(pump)
			f.s.SetNotify(func() {
				for {
					r, _ := f.s.Read(in)
					if r == 0 {
						return
					}
					fillPattern(1, uint64(f.got), want[:r])
					for j := range r {
						if in[j] != want[j] {
							f.bad++
						}
					}
					f.got += r
					if f.got == size && f.done.IsZero() {
						f.done = s.Sim.Now()
						finished++
						if first.IsZero() {
							first = f.done
							atFirst = make([]float64, n)
							for k := range flows {
								atFirst[k] = float64(flows[k].got)
							}
						}
					}
				}
			})
			pump()
		}
		s.Client.Wake()
		limit := start.Add(10 * time.Minute)
		for finished < n && s.Sim.Now().Before(limit) {
			s.Sim.RunFor(100 * time.Millisecond)
		}
		b.StopTimer()
		goodput := make([]float64, n)
		for i, f := range flows {
			if f.bad > 0 || f.got != size {
				b.Fatalf("connection %d: %d of %d bytes, %d corrupted", i, f.got, size, f.bad)
			}
			goodput[i] = float64(size) / f.done.Sub(start).Seconds()
		}
		last := start
		for _, f := range flows {
			if f.done.After(last) {
				last = f.done
			}
		}
		sfs := 0
		for _, f := range flows {
			sfs += len(f.c.Info().Subflows) + len(f.c.Info().ClosedSubflows)
		}
		b.ReportMetric(float64(sfs)/float64(n), "subflows/conn")
		b.ReportMetric(fairness.Jain(atFirst), "jain")
		b.ReportMetric(fairness.Jain(goodput), "jain_done")
		b.ReportMetric(float64(n)*float64(size)*8/last.Sub(start).Seconds()/1e9, "Gbit/s")
		b.ReportMetric(last.Sub(start).Seconds(), "sim-s")
		if *fairDeciles {
			printDeciles(flows, start)
		}
		b.Logf("%d connections x %d bytes, two paths: first done after %v, last after %v", n, size, first.Sub(start), last.Sub(start))
	}
}

// printDeciles prints, for each tenth of the connections in the order
// they were dialled (and first wrote), their mean completion time,
// retransmitted segments and retransmission timeouts: where an unfair
// share comes from.
func printDeciles(flows []fairFlow, start time.Time) {
	fmt.Fprintf(os.Stderr, "%-11s %14s %10s %9s\n", "connections", "completion ms", "retrans", "timeouts")
	tenth := max(1, len(flows)/10)
	for lo := 0; lo < len(flows); lo += tenth {
		hi := min(lo+tenth, len(flows))
		var done time.Duration
		var retr, rtos uint64
		for _, f := range flows[lo:hi] {
			done += f.done.Sub(start)
			ci := f.c.Info()
			for _, sf := range append(ci.Subflows, ci.ClosedSubflows...) {
				retr += sf.Retransmits
				rtos += sf.TCP.RTOs
			}
		}
		k := float64(hi - lo)
		fmt.Fprintf(os.Stderr, "%4d-%-6d %14.0f %10.1f %9.2f\n", lo, hi-1, float64(done.Milliseconds())/k, float64(retr)/k, float64(rtos)/k)
	}
}
