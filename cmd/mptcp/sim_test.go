package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestSimList(t *testing.T) {
	code, out, _ := runCmd("sim", "--list")
	if code != 0 || !strings.Contains(out, "handover (default)") || !strings.Contains(out, "aggregate") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
}

func TestSimJSON(t *testing.T) {
	code, out, errOut := runCmd("sim", "aggregate", "--json", "--duration", "3s")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"scenario", "seed", "duration_s", "bytes_delivered", "goodput_bps", "capacity_bps", "max_stall_ms", "integrity_ok", "subflows", "intervals"} {
		if _, ok := res[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if res["integrity_ok"] != true || res["scenario"] != "aggregate" || res["duration_s"] != 3.0 {
		t.Errorf("unexpected values: %v %v %v", res["integrity_ok"], res["scenario"], res["duration_s"])
	}
	sfs, _ := res["subflows"].([]any)
	if len(sfs) < 2 {
		t.Fatalf("subflows: %v", res["subflows"])
	}
	for _, k := range []string{"id", "local", "remote", "bytes", "backup"} {
		if _, ok := sfs[0].(map[string]any)[k]; !ok {
			t.Errorf("subflow lacks %q", k)
		}
	}
	ivs, _ := res["intervals"].([]any)
	if len(ivs) != 3 {
		t.Fatalf("%d intervals, want 3", len(ivs))
	}
}

func TestSimErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("paths:\n  - rate: 10Mbt\n"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sim", "nosuchscenario"}, 2, `no built-in scenario "nosuchscenario"`},
		{[]string{"sim", bad}, 1, `paths[0].rate: "10Mbt" is not a rate`},
		{[]string{"sim", "--scheduler", "bogus", "--duration", "1s"}, 2, "bogus"},
		{[]string{"sim", "--cc", "bogus", "--duration", "1s"}, 2, "cubic"},
		{[]string{"sim", "--frobnicate"}, 2, "flag provided but not defined"},
		{[]string{"sim", "a", "b"}, 2, "one scenario at a time"},
	} {
		code, _, errOut := runCmd(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d containing %q", c.args, code, errOut, c.code, c.want)
		}
		if lines := strings.Count(strings.TrimSpace(errOut), "\n"); lines > 0 && c.code == 1 {
			t.Errorf("%v: error spans %d lines: %q", c.args, lines+1, errOut)
		}
	}
}

func TestSimPcapIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	var caps [2][]byte
	for i := range caps {
		p := filepath.Join(dir, "run.pcap")
		if code, _, e := runCmd("sim", "--duration", "2s", "--pcap", p, "--json", "aggregate"); code != 0 {
			t.Fatalf("exit %d: %s", code, e)
		}
		caps[i], _ = os.ReadFile(p)
	}
	if len(caps[0]) < 10000 || !bytes.Equal(caps[0], caps[1]) {
		t.Fatalf("captures of %d and %d bytes differ", len(caps[0]), len(caps[1]))
	}
}

// TestSimPcapDissects has tshark read a simulated capture: MPTCP is
// recognised and nothing is malformed.
func TestSimPcapDissects(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (CI installs it): " + err.Error())
	}
	p := filepath.Join(t.TempDir(), "run.pcap")
	if code, _, e := runCmd("sim", "--duration", "2s", "--pcap", p, "--json", "aggregate"); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	out, err := exec.Command(tshark, "-r", p, "-T", "fields", "-e", "tcp.options.mptcp.subtype", "-e", "_ws.malformed").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	subtypes := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) > 1 && f[1] != "" {
			t.Fatalf("tshark finds a malformed packet: %q", line)
		}
		for _, s := range strings.Split(f[0], ",") {
			subtypes[s] = true
		}
	}
	for _, want := range []string{"0", "1", "2"} { // MP_CAPABLE, MP_JOIN, DSS
		if !subtypes[want] {
			t.Errorf("tshark saw no MPTCP subtype %s; saw %v", want, subtypes)
		}
	}
}

// simFile writes a scenario file for a test.
func simFile(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// intervalRows returns the rows of sim's interval table.
func intervalRows(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.Count(f[0], "-") == 1 && strings.Count(f[0], ".") == 2 {
			rows = append(rows, f)
		}
	}
	return rows
}

// TestSimSizedTransferTable (issue 19, points 4 and 8): the table says
// what its columns are, ends with the transfer (its last, partial row
// with the subflows' share), and the subflows' bytes cover the transfer.
func TestSimSizedTransferTable(t *testing.T) {
	p := simFile(t, `duration: 4s
paths:
  - {name: a, rate: 20Mbit, delay: 10ms, queue: 2bdp}
  - {name: b, rate: 10Mbit, delay: 30ms, queue: 2bdp}
transfer: {direction: download, size: 3MB}
`)
	code, out, errOut := runCmd("sim", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"each subflow's receive rate", "goodput the application read in order", "bytes delivered  3000000 of 3000000", "verified"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	rows := intervalRows(out)
	if len(rows) == 0 || len(rows) > 2 {
		t.Fatalf("%d interval rows for a transfer of about a second, want 1 or 2:\n%s", len(rows), out)
	}
	for _, r := range rows {
		if r[1] == "0.00" && r[2] == "0.00" {
			t.Errorf("row %v: no subflow received anything:\n%s", r, out)
		}
	}
	code, out, errOut = runCmd("sim", p, "--json")
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errOut)
	}
	var res struct {
		Delivered int64 `json:"bytes_delivered"`
		Subflows  []struct {
			Bytes int64 `json:"bytes"`
		} `json:"subflows"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, sf := range res.Subflows {
		sum += sf.Bytes
	}
	if len(res.Subflows) != 2 || sum < res.Delivered {
		t.Errorf("--json: %d subflows received %d bytes of the %d delivered", len(res.Subflows), sum, res.Delivered)
	}
}

// TestSimIncompleteTransfer (issue 19, point 7): a transfer that did not
// complete says so, never that it was verified, and exits 1.
func TestSimIncompleteTransfer(t *testing.T) {
	p := simFile(t, `duration: 2s
paths:
  - {name: a, rate: 10Mbit, delay: 10ms, loss: 100%}
transfer: {size: 1MB}
`)
	code, out, errOut := runCmd("sim", p)
	if code != 1 || !strings.Contains(errOut, "transfer incomplete: 0 of 1000000 bytes delivered") {
		t.Errorf("exit %d, stderr %q; want 1 and the transfer incomplete", code, errOut)
	}
	if !strings.Contains(out, "did not complete") || strings.Contains(out, "verified") {
		t.Errorf("output:\n%s", out)
	}
	if code, _, _ := runCmd("sim", p, "--json"); code != 1 {
		t.Errorf("--json: exit %d, want 1", code)
	}
}

// TestSimUnlimitedRate (issue 19, point 6): a path without a rate is
// printed as unlimited, and the goodput is not set against a capacity.
func TestSimUnlimitedRate(t *testing.T) {
	p := simFile(t, `duration: 2s
paths:
  - {name: a, rate: 10Mbit, delay: 10ms, queue: 2bdp}
  - {name: b, delay: 10ms}
transfer: {size: 2MB}
`)
	code, out, errOut := runCmd("sim", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "path b          unlimited rate") || strings.Contains(out, "%") || !strings.Contains(out, "no rate limit") {
		t.Errorf("output:\n%s", out)
	}
}

// TestSimLimits (issue 19, point 5): a scenario file is read up to a size
// limit, and an interval that would make too many samples is refused
// before the run, each in one line.
func TestSimLimits(t *testing.T) {
	big := simFile(t, strings.Repeat("#", 4<<20+1))
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sim", big}, 1, "larger than 4 MiB"},
		{[]string{"sim", "--interval", "1us"}, 2, "--interval: interval 1µs over 30s makes 30000000 samples, more than the 50000 a run keeps: use 600µs or longer"},
	} {
		code, _, errOut := runCmd(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line containing %q", c.args, code, errOut, c.code, c.want)
		}
	}
}
