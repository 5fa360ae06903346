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
		if code, _, e := runCmd("sim", "--duration", "2s", "--pcap", p, "--json", "handover"); code != 0 {
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
