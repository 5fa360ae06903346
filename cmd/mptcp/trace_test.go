package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
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

// TestTraceFigureInDocs: the figure of a trace the docs show is one that
// "mptcp sim aggregate --duration 3s --trace agg.jsonl" and "mptcp trace
// plot agg.jsonl" draw: the same title (connection, side, policies),
// axes and legend (each subflow's addresses). Its curves and tick values
// follow the stack's every change, so they are not compared; with
// -update-figures the test draws the figure again into the docs.
func TestTraceFigureInDocs(t *testing.T) {
	dir := t.TempDir()
	tr, fig := filepath.Join(dir, "agg.jsonl"), filepath.Join(dir, "agg.svg")
	if code, _, errOut := runCmd("sim", "aggregate", "--duration", "3s", "--interval", "0", "--trace", tr); code != 0 {
		t.Fatalf("sim --trace: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCmd("trace", "plot", tr); code != 0 {
		t.Fatalf("trace plot: exit %d: %s", code, errOut)
	}
	got := readFile(t, fig)
	if *updateFigures {
		if err := os.WriteFile(traceFigure, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readFile(t, traceFigure)
	if g, w := svgWords(got), svgWords(want); !slices.Equal(g, w) {
		t.Errorf("%s is not a figure of the trace the docs' commands write now:\n  its words %q\n  drawn now %q\ncheck the docs' trace transcripts, then go test ./cmd/mptcp -run TestTraceFigureInDocs -update-figures", traceFigure, w, g)
	}
}

// svgTextRE matches an SVG text element; svgWords keeps the texts with a
// letter in them (title, axis labels, legend), not the tick values.
var svgTextRE = regexp.MustCompile(`(?s)<text[^>]*>([^<]*)</text>`)

func svgWords(svg string) []string {
	var out []string
	for _, m := range svgTextRE.FindAllStringSubmatch(svg, -1) {
		if strings.ContainsFunc(m[1], unicode.IsLetter) {
			out = append(out, m[1])
		}
	}
	return out
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
