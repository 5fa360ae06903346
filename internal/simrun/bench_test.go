package simrun

import (
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/cputime"
	"github.com/mptcp-go/mptcp/scenario"
)

// BenchmarkGigabitPath is one bulk download over one 1 Gbit/s path for one
// simulated second per iteration. It reports the simulated goodput carried
// per second of CPU (goal: at least 2 Gbit/s), the simulator's speed with
// the test data's cost reduced to slicing a precomputed pattern.
func BenchmarkGigabitPath(b *testing.B) {
	sc, err := scenario.Parse([]byte("name: gbit\nduration: 1s\npaths:\n  - {rate: 1Gbit, delay: 5ms, queue: 1bdp}\n"))
	if err != nil {
		b.Fatal(err)
	}
	var bits float64
	cpu0, _ := cputime.Process()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Run(sc, Options{Seed: uint64(i + 1)})
		if err != nil {
			b.Fatal(err)
		}
		bits += float64(res.BytesDelivered) * 8
	}
	cpu1, ok := cputime.Process()
	spent := b.Elapsed()
	if ok {
		spent = cpu1 - cpu0
	}
	b.ReportMetric(bits/1e9/spent.Seconds(), "sim-Gbit/cpu-s")
	b.ReportMetric(float64(time.Second)*float64(b.N)/float64(spent), "sim-s/cpu-s")
}

// BenchmarkWebRequest is one 1 KB request on a new connection per
// iteration, between two of our stacks over one unlimited 1 ms path: the
// CPU and memory a short connection costs both stacks together (the
// handshake, a join attempt's absence, the request, the answer, both
// closes), the simulator's own share small beside it.
func BenchmarkWebRequest(b *testing.B) {
	sc, err := scenario.Parse([]byte("name: short\nduration: 1s\npaths:\n  - {delay: 1ms}\n"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	r, err := Web(sc, WebOptions{Size: 1000, Concurrency: 1, Requests: b.N, Timeout: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	if done, _ := r.Completed(); len(done) != b.N {
		b.Fatalf("%d of %d requests done: %s", len(done), b.N, r.FirstError)
	}
}
