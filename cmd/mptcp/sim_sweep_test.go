package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for mptcp in the processes a
// sweep starts: with MPTCP_TEST_AS_MAIN set it runs the command line.
func TestMain(m *testing.M) {
	if os.Getenv("MPTCP_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const sweepScenario = `name: sw
duration: 300ms
paths:
  - {name: a, rate: "${rate:-10Mbit}", delay: 5ms, queue: 1bdp, loss: 0.5%}
  - {name: b, rate: 5Mbit, delay: 20ms, queue: 1bdp}
`

func sweepFixture(t *testing.T) (dir, scen, self string) {
	t.Helper()
	dir = t.TempDir()
	scen = filepath.Join(dir, "sw.yaml")
	if err := os.WriteFile(scen, []byte(sweepScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("MPTCP_TEST_AS_MAIN", "1")
	return dir, scen, self
}

// A local sweep runs every grid point and seed in child processes and
// merges them by point.
func TestSweepLocal(t *testing.T) {
	dir, scen, self := sweepFixture(t)
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	err := runSim([]string{"sweep", scen, "--param", "rate=10Mbit,20Mbit", "--param", "cc=lia,olia", "--seeds", "1-2", "--jobs", "2", "--out", out, "--bin", self}, &stdout, &stderr)
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	got := stdout.String()
	for _, want := range []string{"rate    cc    runs  goodput_bps", "10Mbit  lia   2", "20Mbit  olia  2"} {
		if !strings.Contains(got, want) {
			t.Fatalf("no %q in\n%s", want, got)
		}
	}
	files, _ := filepath.Glob(filepath.Join(out, "run-*.json"))
	if len(files) != 8 {
		t.Fatalf("%d result files, want 8", len(files))
	}
	stdout.Reset()
	if err := runSim([]string{"collect", "--format", "csv", out}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(stdout.String()), "\n"); len(lines) != 5 || !strings.HasPrefix(lines[0], "rate,cc,runs,missing,goodput_bps,") {
		t.Fatalf("CSV:\n%s", stdout.String())
	}
}

// The emitted commands run under GNU parallel and collect merges them.
func TestSweepGNUParallel(t *testing.T) {
	par, err := exec.LookPath("parallel")
	if err != nil {
		t.Skip("GNU parallel is not installed (apt-get install parallel): the emitted commands are not run")
	}
	dir, scen, self := sweepFixture(t)
	out := filepath.Join(dir, "out")
	var cmds, stderr bytes.Buffer
	if err := runSim([]string{"sweep", scen, "--param", "rate=10Mbit,20Mbit", "--seeds", "1,2", "--emit", "parallel", "--out", out, "--bin", self}, &cmds, &stderr); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(cmds.String(), "\n"); n != 4 {
		t.Fatalf("%d commands:\n%s", n, cmds.String())
	}
	cmd := exec.Command(par, "-j", "2", "--halt", "now,fail=1")
	cmd.Stdin = &cmds
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("parallel: %v\n%s", err, b)
	}
	var stdout bytes.Buffer
	if err := runSim([]string{"collect", out}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "10Mbit  2     ") || strings.Contains(stdout.String(), "missing") {
		t.Fatalf("collect:\n%s", stdout.String())
	}
}

// Slurm and Kubernetes get one job per run.
func TestSweepEmitEngines(t *testing.T) {
	dir, scen, _ := sweepFixture(t)
	for engine, want := range map[string]string{"slurm": "#SBATCH --array=0-5", "k8s": "completions: 6"} {
		var out, stderr bytes.Buffer
		if err := runSim([]string{"sweep", scen, "--param", "cc=lia,olia,balia", "--seeds", "1-2", "--emit", engine, "--out", filepath.Join(dir, engine)}, &out, &stderr); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "5) mptcp sim ") {
			t.Fatalf("%s:\n%s", engine, out.String())
		}
	}
	var out, stderr bytes.Buffer
	if err := runSim([]string{"sweep", scen, "--emit", "pbs", "--out", filepath.Join(dir, "x")}, &out, &stderr); err == nil || !strings.Contains(err.Error(), `--emit "pbs"`) {
		t.Fatalf("unknown engine: %v", err)
	}
}
