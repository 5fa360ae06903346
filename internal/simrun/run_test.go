package simrun

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/scenario"
)

func builtin(t *testing.T, name string) *scenario.Scenario {
	t.Helper()
	s, err := scenario.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPattern(t *testing.T) {
	p := newPattern(7)
	a := bytes.Clone(p.at(13, 100))
	b := p.at(0, 113)
	if !bytes.Equal(a, b[13:]) {
		t.Fatal("pattern depends on how it is cut")
	}
	if !p.check(a, 13) || p.check(a, 14) {
		t.Fatal("check does not tell offsets apart")
	}
	// Across the period's end, and at power-of-two distances.
	w := bytes.Clone(p.at(patternPeriod-50, 100))
	if !p.check(w, patternPeriod-50) || !p.check(w[50:], 0) {
		t.Fatal("the period does not wrap")
	}
	for _, d := range []uint64{1 << 16, 1 << 20, 1 << 32} {
		if p.check(a, 13+d) {
			t.Fatalf("a shift of %d goes unnoticed", d)
		}
	}
}

// TestAggregateTarget is issue 4's aggregation target: on two paths whose
// RTTs differ fivefold, goodput reaches 90 % of the sum of their rates.
func TestAggregateTarget(t *testing.T) {
	res, err := Run(builtin(t, "aggregate"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.IntegrityOK || res.Error != "" {
		t.Fatalf("integrity %v, error %q", res.IntegrityOK, res.Error)
	}
	t.Logf("aggregate: %.1f Mbit/s of %.1f (%.1f %%)", res.GoodputBps/1e6, float64(res.CapacityBps)/1e6, 100*res.Utilisation)
	for _, sf := range res.Subflows {
		t.Logf("subflow %d on %s: %d bytes", sf.ID, sf.Path, sf.Bytes)
	}
	if len(res.Subflows) < 2 {
		t.Fatalf("%d subflows carried data, want 2", len(res.Subflows))
	}
	if res.Utilisation < 0.90 {
		t.Errorf("utilisation %.3f, want >= 0.90", res.Utilisation)
	}
}

// TestHandoverTarget is issue 4's handover target: the longest stall when
// WiFi dies is under a second, the download completes, and WiFi carries
// data again once it is back.
func TestHandoverTarget(t *testing.T) {
	res, err := Run(builtin(t, "handover"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.IntegrityOK || res.Error != "" {
		t.Fatalf("integrity %v, error %q", res.IntegrityOK, res.Error)
	}
	t.Logf("handover: max stall %.0f ms, %.1f Mbit/s of %.1f, completed %v in %.1f s", res.MaxStallMs, res.GoodputBps/1e6, float64(res.CapacityBps)/1e6, res.Completed, res.CompletionS)
	if !res.Completed {
		t.Errorf("the download did not complete")
	}
	if res.MaxStallMs >= 1000 {
		t.Errorf("longest stall %.0f ms, want < 1000", res.MaxStallMs)
	}
	// WiFi is back at 15 s; by 18-19 s it carries data again.
	var wifi float64
	for _, iv := range res.Intervals {
		if iv.T != 19 {
			continue
		}
		for _, sf := range res.Subflows {
			if sf.Path == "wifi" {
				wifi += iv.SubflowBps[strconv.Itoa(sf.ID)]
			}
		}
	}
	if wifi < 5e6 {
		t.Errorf("WiFi carries %.1f Mbit/s at 18-19 s, want it used again", wifi/1e6)
	}
}

func TestDeterministic(t *testing.T) {
	sc := builtin(t, "handover")
	var outs [2][]byte
	var caps [2]bytes.Buffer
	for i := range outs {
		res, err := Run(sc, Options{Duration: 12 * time.Second, Pcap: &caps[i]})
		if err != nil {
			t.Fatal(err)
		}
		outs[i], _ = json.Marshal(res)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Fatal("two runs with the same seed differ")
	}
	if !bytes.Equal(caps[0].Bytes(), caps[1].Bytes()) || caps[0].Len() < 1000 {
		t.Fatalf("captures differ or are empty (%d bytes)", caps[0].Len())
	}
	res, _ := Run(sc, Options{Duration: 12 * time.Second, Seed: 2})
	other, _ := json.Marshal(res)
	if bytes.Equal(other, outs[0]) {
		t.Fatal("a different seed gives the same run")
	}
}

func TestSizedTransferCompletes(t *testing.T) {
	sc := builtin(t, "aggregate")
	sc.Transfer.Size = 3 << 20
	sc.Transfer.Direction = scenario.Both
	res, err := Run(sc, Options{Duration: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Completed || !res.IntegrityOK || res.BytesDelivered != 6<<20 {
		t.Fatalf("completed %v, integrity %v, %d bytes", res.Completed, res.IntegrityOK, res.BytesDelivered)
	}
}

func TestBadPolicyName(t *testing.T) {
	if _, err := Run(builtin(t, "aggregate"), Options{Scheduler: "nope"}); err == nil {
		t.Fatal("unknown scheduler accepted")
	}
}

func TestPlot(t *testing.T) {
	res, err := Run(builtin(t, "aggregate"), Options{Duration: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"svg", "png"} {
		var b bytes.Buffer
		if err := Plot(&b, res, f); err != nil {
			t.Fatal(err)
		}
		head := map[string]string{"svg": "<?xml", "png": "\x89PNG"}[f]
		if !bytes.HasPrefix(b.Bytes(), []byte(head)) || b.Len() < 2000 {
			t.Errorf("%s: %d bytes starting %q", f, b.Len(), b.Bytes()[:min(8, b.Len())])
		}
	}
	if _, err := PlotFormat("x.gif"); err == nil {
		t.Error("gif accepted")
	}
}

// TestCompetitorRunsItsOwnCC: a competitor's data is sent by a server stack
// running the competitor's congestion control, whatever the MPTCP
// connection runs.
func TestCompetitorRunsItsOwnCC(t *testing.T) {
	res, err := Run(builtin(t, "fairness"), Options{CC: "cubic", Duration: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Competitors) != 1 || res.Competitors[0].CC != "reno" || res.CC != "cubic" {
		t.Fatalf("MPTCP runs %q, competitors %+v; want cubic and one reno competitor", res.CC, res.Competitors)
	}
	if !res.IntegrityOK || res.Competitors[0].BytesDelivered == 0 || res.BytesDelivered == 0 {
		t.Fatalf("integrity %v, MPTCP %d bytes, TCP %d bytes", res.IntegrityOK, res.BytesDelivered, res.Competitors[0].BytesDelivered)
	}
}

// TestBothDirectionsNoFalseCorruption runs a sized transfer both ways
// (issue 21 finding 9): the end of the direction that finishes first must
// not close the connection while the other direction still writes.
func TestBothDirectionsNoFalseCorruption(t *testing.T) {
	for _, slow := range []scenario.Direction{scenario.Upload, scenario.Download} {
		sc := builtin(t, "aggregate")
		sc.Transfer.Size = 2 << 20
		sc.Transfer.Direction = scenario.Both
		for i := range sc.Paths {
			l := &sc.Paths[i].Link.Down
			if slow == scenario.Upload {
				l = &sc.Paths[i].Link.Up
			}
			l.Rate /= 4
		}
		// A send buffer smaller than the transfer: the slow direction is
		// still writing when the other ends.
		res, err := Run(sc, Options{Duration: 20 * time.Second, Stack: func(c *core.Config) { c.SendBuffer = 256 << 10 }})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Completed || !res.IntegrityOK || res.BytesDelivered != 4<<20 {
			t.Errorf("%s slower: completed %v, integrity %v, %d bytes, error %q", slow, res.Completed, res.IntegrityOK, res.BytesDelivered, res.Error)
		}
	}
}
