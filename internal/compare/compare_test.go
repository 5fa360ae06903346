package compare

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	data := make([]byte, 3*patternPeriod+17)
	for off := 0; off < len(data); {
		off += copy(data[off:], patternAt(int64(off), len(data)-off))
	}
	if err := verify(0, data); err != nil {
		t.Fatal(err)
	}
	if err := verify(5, data[5:1000]); err != nil {
		t.Fatal(err)
	}
	// A chunk at the wrong offset, as a lost or duplicated segment
	// would leave it.
	if err := verify(1460, data[:1460]); !errors.Is(err, errCorrupt) {
		t.Errorf("shifted chunk: %v, want errCorrupt", err)
	}
	data[2*patternPeriod+3] ^= 1
	if err := verify(0, data); !errors.Is(err, errCorrupt) {
		t.Errorf("flipped bit: %v, want errCorrupt", err)
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.5, 3}, {0.99, 5}, {1, 5}} {
		if got := quantile(xs, c.q); got != c.want {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if xs[0] != 5 {
		t.Error("quantile sorted its argument")
	}
}

func TestScaled(t *testing.T) {
	src, sc, err := scaled("handover", 6*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Duration != 6*time.Second {
		t.Errorf("duration %v, want 6s", sc.Duration)
	}
	// The built-in: 30 s, down at 10 s for 5 s.
	down, up, err := firstOutage(sc)
	if err != nil {
		t.Fatal(err)
	}
	if down != 2*time.Second || up != 3*time.Second {
		t.Errorf("outage %v..%v, want 2s..3s\n%s", down, up, src)
	}
	if len(sc.Paths) != 2 || sc.Paths[0].Link.Down.Rate != 20e6 {
		t.Errorf("paths changed: %+v", sc.Paths)
	}
	if _, _, err := scaled("nonesuch", time.Second); err == nil {
		t.Error("unknown scenario: no error")
	}
	_, agg, err := scaled("aggregate", 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := firstOutage(agg); err == nil {
		t.Error("aggregate has no outage, yet firstOutage found one")
	}
}

func TestBytesBetween(t *testing.T) {
	b := &bulk{Timeline: []int64{1, 2, 4, 8, 16}}
	if got := b.bytesBetween(bucket, 3*bucket); got != 6 {
		t.Errorf("got %d, want 6", got)
	}
	if got := b.bytesBetween(bucket/2, 2*bucket); got != 2 {
		t.Errorf("partial buckets counted: got %d, want 2", got)
	}
}

func TestWriteTable(t *testing.T) {
	yes := true
	rep := &Report{KernelRelease: "6.18", DurationS: 3, Requests: 5, RequestBytes: 100000, Ours: "both ends",
		Rows: []Row{
			{Case: "aggregate", Metric: "goodput / sum of capacities", Unit: "ratio",
				Kernel: Value{Number: number(0.91)}, Ours: Value{Error: "dial: refused"}, Sim: Value{Number: number(0.95)}},
			{Case: "handover", Metric: "continued", Unit: "yes/no",
				Kernel: Value{Bool: &yes}, Ours: Value{NA: "not measurable"}, Sim: Value{Number: number(12), Failed: 2}},
		}}
	var b bytes.Buffer
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"0.91", "error*", "0.95", "yes", "n/a*", "12.00 (2 failed)",
		"* aggregate goodput / sum of capacities, ours: failed: dial: refused",
		"* handover continued, ours: n/a: not measurable"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if errs := rep.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "refused") {
		t.Errorf("Errors() = %q", errs)
	}
}
