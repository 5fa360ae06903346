package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTracePlot: mptcp sim --trace writes a trace that mptcp trace plot
// draws; bad input gets one line and a non-zero exit.
func TestTracePlot(t *testing.T) {
	dir := t.TempDir()
	tr := filepath.Join(dir, "agg.jsonl")
	if code, _, errOut := runCmd("sim", "aggregate", "--duration", "1s", "--trace", tr); code != 0 {
		t.Fatalf("sim --trace: exit %d: %s", code, errOut)
	}
	code, out, errOut := runCmd("trace", "plot", tr)
	if code != 0 || !strings.Contains(out, "-> "+filepath.Join(dir, "agg.svg")) {
		t.Fatalf("trace plot: exit %d: %s%s", code, out, errOut)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "agg.svg"))
	if err != nil || !strings.Contains(string(svg), "cwnd (kB)") {
		t.Fatalf("figure: %v, %d bytes", err, len(svg))
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"kind\":\"trace\"}\nnot json\n"), 0o644)
	for _, args := range [][]string{
		{"trace", "plot", bad},
		{"trace", "plot", "-o", filepath.Join(dir, "x.gif"), tr},
		{"trace", "plot"},
	} {
		code, _, errOut := runCmd(args...)
		if code == 0 || strings.Count(strings.TrimSpace(errOut), "\n") > 2 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}
