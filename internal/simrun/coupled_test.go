package simrun

import (
	"fmt"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/scenario"
)

// The tests in this file show RFC 6356's three goals for the loss-based
// coupled congestion controls with the real stack in netsim (issue 5), on
// the built-in scenarios `mptcp sim` runs: fairness (goal 2, do no harm at
// a shared bottleneck), disjoint-paths (goal 1, at least the best path's
// throughput) and congested-path (goal 3, move traffic off congested
// paths). Uncoupled subflows (reno) run alongside as a control where they
// should fail, so that passing says something. cc/multipath_test.go checks
// the same goals on a packet model; these check the whole stack.
//
// Every run is deterministic. A drop-tail queue in a simulation without
// randomness locks flows into phase with it, and the phase, not the
// congestion control, can then decide who loses: two TCP flows whose RTTs
// differ by 4 ms share the fairness bottleneck 1.44 to 1. So the fairness
// goal is checked both on the built-in scenario (the figure `mptcp sim
// fairness` reports) and on a copy whose access links jitter by up to a
// millisecond (which never reorders), where the RTTs differ too.
//
// The competitor's sender is the server's stack, which simrun configures
// with the connection's congestion control: against lia the TCP flow runs
// lia on its single path, which is NewReno (each algorithm's single-path
// special case, cc/coupled.go), as the scenario's `cc: reno` intends.

// coupledCCs are the algorithms RFC 6356's goals apply to as stated.
var coupledCCs = []string{"lia", "olia", "balia"}

// fairnessJitter is the fairness scenario with jittering access links and
// the competitor 4 ms closer to the server than the MPTCP paths.
const fairnessJitter = `
name: fairness-jitter
seed: 1
duration: 60s
server_link: {rate: 20Mbit, delay: 5ms, queue: 1bdp}
paths:
  - {name: a, rate: 1Gbit, delay: 10ms, jitter: 1ms}
  - {name: b, rate: 1Gbit, delay: 10ms, jitter: 1ms}
competitors:
  - {name: tcp, cc: reno, rate: 1Gbit, delay: 8ms, jitter: 1ms}
transfer: {direction: download}
`

// runCC runs sc with cc and fails the test if the run did not go cleanly.
func runCC(t *testing.T, sc *scenario.Scenario, cc string, d time.Duration) *Result {
	t.Helper()
	res, err := Run(sc, Options{CC: cc, Duration: d})
	if err != nil {
		t.Fatal(err)
	}
	if !res.IntegrityOK || res.Error != "" || res.FellBack {
		t.Fatalf("%s with %s: integrity %v, error %q, fell back %v", sc.Name, cc, res.IntegrityOK, res.Error, res.FellBack)
	}
	return res
}

// ratio returns MPTCP's goodput over the TCP competitor's.
func ratio(t *testing.T, res *Result) float64 {
	t.Helper()
	if res.MPTCPToTCPRatio == nil {
		t.Fatalf("%s: no MPTCP/TCP ratio (TCP goodput %v)", res.Scenario, res.TCPGoodputBps)
	}
	return *res.MPTCPToTCPRatio
}

// pathBytes returns the bytes the subflows on each path carried.
func pathBytes(res *Result) map[string]uint64 {
	m := map[string]uint64{}
	for _, s := range res.Subflows {
		m[s.Path] += s.Bytes
	}
	return m
}

func mbit(bps float64) string { return fmt.Sprintf("%.2f Mbit/s", bps/1e6) }

// TestCoupledFairness: two subflows and one TCP flow at a 20 Mbit/s
// bottleneck; MPTCP gets 0.7 to 1.3 times the TCP flow's throughput. The
// runs last 60 s, the built-in's duration: over the first 30 s the ratio
// still swings with the slow starts and the first few loss epochs (olia
// on the built-in is at 0.74 after 30 s, 0.89 after 60).
func TestCoupledFairness(t *testing.T) {
	jitter, err := scenario.Parse([]byte(fairnessJitter))
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []*scenario.Scenario{builtin(t, "fairness"), jitter} {
		for _, cc := range coupledCCs {
			t.Run(sc.Name+"/"+cc, func(t *testing.T) {
				t.Parallel()
				res := runCC(t, sc, cc, 0)
				r := ratio(t, res)
				t.Logf("MPTCP %s, TCP %s: ratio %.3f; per path %v", mbit(res.GoodputBps), mbit(*res.TCPGoodputBps), r, pathBytes(res))
				if r < 0.7 || r > 1.3 {
					t.Errorf("MPTCP gets %.3f times TCP's throughput at a shared bottleneck, want 0.7..1.3", r)
				}
			})
		}
	}
	// The control: uncoupled subflows take about twice what TCP gets, so
	// the scenario does tell coupled from uncoupled. 20 s suffice.
	t.Run("fairness/uncoupled-reno", func(t *testing.T) {
		t.Parallel()
		res := runCC(t, builtin(t, "fairness"), "reno", 20*time.Second)
		r := ratio(t, res)
		t.Logf("MPTCP %s, TCP %s: ratio %.3f", mbit(res.GoodputBps), mbit(*res.TCPGoodputBps), r)
		if r < 1.6 {
			t.Errorf("uncoupled subflows get %.3f times TCP's throughput; the scenario should show them taking about twice", r)
		}
	})
}

// TestCoupledDisjointPaths: over disjoint paths of 20 and 10 Mbit/s MPTCP
// gets at least what a TCP flow alone on a path like the better one gets.
// The margin is wide (about 28 against 19 Mbit/s), so 10 s suffice.
func TestCoupledDisjointPaths(t *testing.T) {
	sc := builtin(t, "disjoint-paths")
	for _, cc := range coupledCCs {
		t.Run(cc, func(t *testing.T) {
			t.Parallel()
			res := runCC(t, sc, cc, 10*time.Second)
			best := *res.TCPGoodputBps
			t.Logf("MPTCP %s, TCP on the better path %s; per path %v", mbit(res.GoodputBps), mbit(best), pathBytes(res))
			if best < 15e6 {
				t.Fatalf("the TCP flow alone on a 20 Mbit/s path gets %s: the reference is broken", mbit(best))
			}
			if res.GoodputBps < best {
				t.Errorf("MPTCP gets %s over both paths, less than TCP's %s on the better one", mbit(res.GoodputBps), mbit(best))
			}
			if p := pathBytes(res); p["a"] == 0 || p["b"] == 0 {
				t.Errorf("a path carried nothing: %v", p)
			}
		})
	}
}

// TestCoupledCongestedPath: of two 10 Mbit/s paths, one loses 1 % of its
// packets. Coupled subflows put less than half as much on it as on the
// free path, and less than uncoupled subflows put there.
func TestCoupledCongestedPath(t *testing.T) {
	sc := builtin(t, "congested-path")
	control := runCC(t, sc, "reno", 0)
	uncoupled := pathBytes(control)
	t.Logf("uncoupled reno: per path %v", uncoupled)
	if uncoupled["busy"] == 0 || uncoupled["free"] == 0 {
		t.Fatalf("uncoupled subflows left a path unused: %v", uncoupled)
	}
	for _, cc := range coupledCCs {
		t.Run(cc, func(t *testing.T) {
			t.Parallel()
			res := runCC(t, sc, cc, 0)
			p := pathBytes(res)
			busy, free := float64(p["busy"]), float64(p["free"])
			t.Logf("MPTCP %s; busy/free %.3f, busy %.3f of uncoupled reno's; per path %v", mbit(res.GoodputBps), busy/free, busy/float64(uncoupled["busy"]), p)
			if busy > free/2 {
				t.Errorf("the lossy path carries %.0f bytes, the free one %.0f: want at most half", busy, free)
			}
			if busy >= float64(uncoupled["busy"]) {
				t.Errorf("the lossy path carries %.0f bytes, no less than uncoupled subflows' %d", busy, uncoupled["busy"])
			}
		})
	}
}
