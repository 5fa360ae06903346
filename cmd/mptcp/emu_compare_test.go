//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mptcp-go/mptcp/internal/compare"
	"github.com/mptcp-go/mptcp/internal/lab"
)

// TestEmuCompare runs the whole comparison with short transfers and
// requires every row to hold, in every column, a figure or an explained
// n/a, with the kernel's and our transfers verified.
func TestEmuCompare(t *testing.T) {
	lab.Require(t)
	if _, err := exec.LookPath("ethtool"); err != nil {
		t.Skip("needs ethtool (the emulator turns offloads off with it)")
	}
	old := emuSelf
	emuSelf = func(args ...string) *exec.Cmd {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(exe, args...)
		cmd.Env = append(os.Environ(), emuExecEnv+"=1")
		return cmd
	}
	defer func() { emuSelf = old }()
	var out, errOut bytes.Buffer
	code := run([]string{"emu", "compare", "--duration", "3s", "--requests", "5", "--sim-seeds", "2", "--json", "--quiet"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
	}
	var rep compare.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not one JSON report: %v\n%s", err, out.String())
	}
	want := []string{"aggregate", "short flows", "short flows", "handover", "handover", "fairness"}
	var got []string
	for _, row := range rep.Rows {
		got = append(got, row.Case)
		for _, c := range []struct {
			name string
			v    compare.Value
		}{{"kernel", row.Kernel}, {"ours", row.Ours}, {"simulator", row.Sim}} {
			v := c.v
			switch {
			case v.Error != "":
				t.Errorf("%s %s, %s: failed: %s", row.Case, row.Metric, c.name, v.Error)
			case v.NA != "":
				// An explained n/a is a valid cell.
			case v.Number == nil && v.Bool == nil:
				t.Errorf("%s %s, %s: neither a figure nor an n/a", row.Case, row.Metric, c.name)
			case !v.Verified:
				t.Errorf("%s %s, %s: bytes not verified", row.Case, row.Metric, c.name)
			case v.Number != nil && (*v.Number <= 0 || *v.Number != *v.Number):
				t.Errorf("%s %s, %s: figure %v, want a positive number", row.Case, row.Metric, c.name, *v.Number)
			}
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("rows %q, want %q", got, want)
	}
}

func TestEmuCompareFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--duration", "10ms"},
		{"--requests", "0"},
		{"--request-size", "-1"},
		{"--sim-seeds", "0"},
		{"--emu-sched", "rt"},
		{"extra"},
		{"--nope"},
	} {
		var out, errOut bytes.Buffer
		if code := run(append([]string{"emu", "compare"}, args...), &out, &errOut); code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, errOut.String())
		}
	}
}
