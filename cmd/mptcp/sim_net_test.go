package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mptcp sim runs a version 2 file: the table, CSV files, and one-line
// errors naming the field.
func TestSimVersion2(t *testing.T) {
	dir := t.TempDir()
	scen := filepath.Join(dir, "ls.yaml")
	src := `version: 2
duration: 300ms
topology:
  leafspine: {leaves: 2, spines: 2, hosts_per_leaf: 1, rate: 50Mbit, delay: 100us, queue: 50p}
flows:
  - {from: h0_0, to: h1_0, subflows: ${n:-2}}
`
	if err := os.WriteFile(scen, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := runSim([]string{scen, "--var", "n=3", "--csv", filepath.Join(dir, "r")}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	for _, want := range []string{"scenario custom, seed 1, 0.3s simulated, 1 flows", "h1_0>h0_0  mptcp  cubic         3", "Jain index 1.000", "data integrity   verified"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("no %q in\n%s", want, out.String())
		}
	}
	for _, f := range []string{"r-flows.csv", "r-links.csv", "r-series.csv"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(src, "to: h1_0", "to: h9_9", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	err := runSim([]string{bad}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), `flows[0].to: "h9_9" is not a host of the topology`) {
		t.Fatalf("bad host: %v", err)
	}
}

// runSim runs "mptcp sim ARGS" through the command tree; a failure comes
// back as the error line the command printed.
func runSim(args []string, stdout, stderr io.Writer) error {
	var e bytes.Buffer
	if code := run(append([]string{"sim"}, args...), stdout, io.MultiWriter(stderr, &e)); code != 0 {
		return fmt.Errorf("exit %d: %s", code, strings.TrimSpace(e.String()))
	}
	return nil
}
