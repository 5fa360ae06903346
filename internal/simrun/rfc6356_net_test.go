package simrun

import (
	"os"
	"testing"

	"github.com/mptcp-go/mptcp/scenario"
)

// TestResearchSharedBottleneck runs docs/research/rfc6356-shared.yaml, RFC
// 6356's goal 2 as docs/research.md reproduces it: a single-path Reno flow
// in the multipath flow's place shares the bottleneck about evenly with
// its competitor (the scenario is fair to start with), coupled subflows
// take no more than the competitor, and uncoupled ones about twice as
// much, so the scenario tells the two apart. 60 simulated seconds at
// 10 Mbit/s, a fraction of a CPU second each.
func TestResearchSharedBottleneck(t *testing.T) {
	src, err := os.ReadFile("../../docs/research/rfc6356-shared.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, protocol, cc string
		lo, hi             float64
	}{
		{"single-path", "tcp", "lia", 0.8, 1.25},
		{"lia", "mptcp", "lia", 0, 1},
		{"olia", "mptcp", "olia", 0, 1},
		{"uncoupled-reno", "mptcp", "reno", 1.6, 2.5},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b, err := scenario.Substitute(src, map[string]string{"protocol": c.protocol, "cc": c.cc})
			if err != nil {
				t.Fatal(err)
			}
			n, err := scenario.ParseNet(b)
			if err != nil {
				t.Fatal(err)
			}
			res, err := RunNet(n, NetOptions{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if !res.IntegrityOK || len(res.Flows) != 2 {
				t.Fatalf("integrity %v, %d flows", res.IntegrityOK, len(res.Flows))
			}
			m, tcp := res.Flows[0].GoodputBps, res.Flows[1].GoodputBps
			r := m / tcp
			t.Logf("%s %s, competitor %s: ratio %.3f", c.name, mbit(m), mbit(tcp), r)
			if r < c.lo || r > c.hi {
				t.Errorf("the flow in m's place gets %.3f times the competitor's goodput, want %.2f..%.2f", r, c.lo, c.hi)
			}
		})
	}
}
