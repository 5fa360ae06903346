package policytest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/pm"
)

// probe is a path manager that only records whether the MPTCP layer
// offers pm.AnotherConnector, which ndiffports needs.
type probe struct{}

var layerHasAnother bool

func (probe) Name() string { return "policytest-probe" }
func (probe) Event(_ time.Time, c pm.Conn, _ pm.Event) {
	_, layerHasAnother = c.(pm.AnotherConnector)
}
func (probe) Poll(time.Time, pm.Conn) time.Time { return time.Time{} }

func init() { pm.Register("policytest-probe", func() pm.PathManager { return probe{} }) }

// The ECMP fabric of the ndiffports tests: 4 equal-cost spines of 10
// Mbit/s and 10 ms RTT between a client and a server on 1 Gbit/s links.
const (
	spines     = 4
	spineRate  = 10e6
	spineDelay = 5 * time.Millisecond
)

// utilisation runs a bulk download over the fabric for 5 s and returns
// the goodput from 1 s on over the fabric's capacity, and the subflows
// the connection had.
func utilisation(t testing.TB, seed uint64, pmName string, addrs int) (float64, int) {
	t.Helper()
	f := newFabric(t, seed, spines, spineRate, spineDelay, addrs,
		func(c *core.Config) { c.PathManager = pmName }, nil)
	fl := f.startDownload(t, 1400, true, core.ConnOptions{})
	const dur = 5 * time.Second
	f.Sim.RunFor(dur)
	from := f.Sim.Now().Add(-dur + time.Second)
	g := float64(fl.dst.bytesAt(f.Sim.Now())-fl.dst.bytesAt(from)) * 8 / (dur - time.Second).Seconds()
	return g / (spines * spineRate), len(fl.dst.c.Info().Subflows)
}

// ecmpSweep measures the mean utilisation for each number of subflows,
// logs the table and checks that it rises with the number of subflows,
// from about one spine's share with one subflow to most of the fabric
// with eight.
func ecmpSweep(t *testing.T, title string, config func(n int) (pmName string, addrs int)) {
	seeds := 4
	if *sweep {
		seeds = 16
	}
	counts := []int{1, 2, 4, 8}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d spines of %d Mbit/s (ECMP on the 5-tuple), bulk download, %d seeds\n", title, spines, int(spineRate/1e6), seeds)
	fmt.Fprintf(&b, "%9s  %12s  %12s  %s\n", "subflows", "utilisation", "expected", "per seed")
	var means []float64
	for _, n := range counts {
		name, addrs := config(n)
		var sum float64
		var per []string
		for seed := 1; seed <= seeds; seed++ {
			u, got := utilisation(t, uint64(seed), name, addrs)
			if got != n {
				t.Fatalf("%s seed %d: %d subflows, want %d", name, seed, got, n)
			}
			sum += u
			per = append(per, fmt.Sprintf("%.2f", u))
		}
		mean := sum / float64(seeds)
		means = append(means, mean)
		// With n subflows hashed at random onto k spines, the expected
		// share of spines in use is 1 - (1 - 1/k)^n.
		exp := 1.0
		for range n {
			exp *= 1 - 1.0/spines
		}
		fmt.Fprintf(&b, "%9d  %12.3f  %12.3f  %s\n", n, mean, 1-exp, strings.Join(per, " "))
	}
	t.Log("\n" + b.String())
	for i := 1; i < len(means); i++ {
		if means[i] <= means[i-1] {
			t.Errorf("utilisation %.3f with %d subflows, not above %.3f with %d", means[i], counts[i], means[i-1], counts[i-1])
		}
	}
	if means[0] > 0.3 || means[len(means)-1] < 0.6 {
		t.Errorf("utilisation %.3f with 1 subflow and %.3f with 8: want at most 0.3 and at least 0.6", means[0], means[len(means)-1])
	}
}

// TestNDiffPortsECMP: ndiffports opens N subflows over the one pair of
// addresses, ECMP spreads them by source port, and utilisation rises
// with N (SIGCOMM 2011).
func TestNDiffPortsECMP(t *testing.T) {
	utilisation(t, 1, "policytest-probe", 1)
	if !layerHasAnother {
		t.Skip("the MPTCP layer does not yet let a path manager open a second subflow over one address pair " +
			"(pm.AnotherConnector on core's pmView, /work/notes/core-requests.md item 1); TestECMPFabric shows the fabric meanwhile")
	}
	ecmpSweep(t, "ndiffports", func(n int) (string, int) { return fmt.Sprintf("ndiffports:%d", n), 1 })
}

// TestECMPFabric runs the same sweep with the subflows made by fullmesh
// from N addresses of the client's one interface: the fabric hashes them
// as it hashes ndiffports' source ports.
func TestECMPFabric(t *testing.T) {
	ecmpSweep(t, "fullmesh over N client addresses", func(n int) (string, int) { return "fullmesh", n })
}
