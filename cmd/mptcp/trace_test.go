package main

import (
	"bytes"
	"flag"
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
	code, out, errOut = runCmd("trace", "show", tr)
	if code != 0 || !strings.Contains(out, "policies   scheduler default") || strings.Count(out, "10.0.0.1:5201") != 2 {
		t.Errorf("trace show: exit %d: %s%s", code, out, errOut)
	}
	first, _, _ := strings.Cut(readFile(t, tr), "\n")
	if code, out, _ = runCmd("trace", "show", "-n", "1", tr); code != 0 || out != first+"\n" {
		t.Errorf("trace show -n 1: exit %d, %q; want the file's first line %q", code, out, first)
	}
	if code, out, _ = runCmd("trace", "show", "-n", "2", "--kind", "sample", tr); code != 0 || strings.Count(out, `"kind":"sample"`) != 2 {
		t.Errorf("trace show -n 2 --kind sample: exit %d, %q", code, out)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"kind\":\"trace\"}\nnot json\n"), 0o644)
	for _, args := range [][]string{
		{"trace", "plot", bad},
		{"trace", "plot", "-o", filepath.Join(dir, "x.gif"), tr},
		{"trace", "plot"},
		{"trace", "show", bad},
		{"trace", "show", "--kind", "sample", tr},
		{"trace", "show", "-n", "1", "--kind", "packet", tr},
		{"trace", "show", "-n", "-1", tr},
	} {
		code, _, errOut := runCmd(args...)
		if code == 0 || strings.Count(strings.TrimSpace(errOut), "\n") > 2 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

// updateFigures rewrites the figures the docs show from the commands
// that make them.
var updateFigures = flag.Bool("update-figures", false, "rewrite docs/images from the commands the docs show")

// traceFigure is the figure README.md and docs/observe.md show, made as
// their transcripts make it.
const traceFigure = "../../docs/images/trace-aggregate.svg"

// TestTraceFigureInDocs: the figure of a trace the docs show is what
// "mptcp sim aggregate --duration 3s --trace agg.jsonl" and "mptcp trace
// plot agg.jsonl" make today (the simulator is deterministic).
func TestTraceFigureInDocs(t *testing.T) {
	dir := t.TempDir()
	tr, fig := filepath.Join(dir, "agg.jsonl"), filepath.Join(dir, "agg.svg")
	if code, _, errOut := runCmd("sim", "aggregate", "--duration", "3s", "--interval", "0", "--trace", tr); code != 0 {
		t.Fatalf("sim --trace: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCmd("trace", "plot", tr); code != 0 {
		t.Fatalf("trace plot: exit %d: %s", code, errOut)
	}
	got, err := os.ReadFile(fig)
	if err != nil {
		t.Fatal(err)
	}
	if *updateFigures {
		if err := os.WriteFile(traceFigure, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(traceFigure)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not the figure the docs' commands draw now (the simulation or the plot changed): check the new one and the docs' trace transcripts, then go test ./cmd/mptcp -run TestTraceFigureInDocs -update-figures", traceFigure)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
