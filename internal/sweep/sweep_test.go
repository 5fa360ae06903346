package sweep

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestMedianCI(t *testing.T) {
	s := MedianCI([]float64{5, 1, 3})
	if s.Median != 3 || s.Lo != 1 || s.Hi != 5 || math.Abs(s.Level-0.75) > 1e-9 {
		t.Fatalf("three values: %+v", s)
	}
	var xs []float64
	for i := range 20 {
		xs = append(xs, float64(i))
	}
	s = MedianCI(xs)
	// n=20: [x(6), x(15)] covers the median with 95.9%.
	if s.Median != 9.5 || s.Lo != 5 || s.Hi != 14 || s.Level < 0.95 {
		t.Fatalf("twenty values: %+v", s)
	}
}

func TestPlanAndCollect(t *testing.T) {
	p1, err := ParseParam("cc=lia,olia")
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := ParseParam("rate=10Mbit,20Mbit,40Mbit")
	m := Plan("s.yaml", []Param{p1, p2}, []uint64{1, 2})
	if len(m.Runs) != 12 {
		t.Fatalf("%d runs, want 2*3*2", len(m.Runs))
	}
	r := m.Runs[3] // cc=lia, rate=20Mbit, seed 2
	want := []string{"sim", "s.yaml", "--json", "--seed", "2", "--cc", "lia", "--var", "rate=20Mbit"}
	if !slices.Equal(r.Args, want) || r.Point["rate"] != "20Mbit" {
		t.Fatalf("run 3: %v %v", r.Args, r.Point)
	}
	if _, err := ParseParam("cc"); err == nil {
		t.Fatal("a parameter without values parsed")
	}
	dir := t.TempDir()
	if err := m.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, r := range m.Runs[:11] { // the last run "failed"
		body := `{"goodput_bps": ` + r.Point["rate"][:2] + `, "integrity_ok": true, "scenario": "x"}`
		if err := os.WriteFile(filepath.Join(dir, r.Output), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, sums, err := Collect(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 6 || sums[1].Metrics["goodput_bps"].Median != 20 || sums[5].Missing != 1 || sums[5].Runs != 1 {
		t.Fatalf("%+v", sums)
	}
	if sums[0].Metrics["integrity_ok"].Median != 1 {
		t.Fatalf("booleans: %+v", sums[0].Metrics)
	}
}
