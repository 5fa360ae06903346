package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mptcp-go/mptcp/internal/compare"
)

// TestSimWeb runs the web-shaped requests in the simulator: every cell
// measured, the same figures from the same seeds.
func TestSimWeb(t *testing.T) {
	args := []string{"sim", "web", "--sizes", "10KB", "--concurrency", "1,10", "--requests", "10", "--seeds", "2", "--json"}
	var out, errOut bytes.Buffer
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var rep compare.WebReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(rep.Cells) != 4 || !strings.Contains(rep.Paths, "wifi 20 Mbit/s 10ms one-way") {
		t.Fatalf("paths %q, %d cells, want aggregate's paths and 4 cells (new and reused, 1 and 10 in flight)", rep.Paths, len(rep.Cells))
	}
	for _, c := range rep.Cells {
		if c.P50Ms == nil || c.TTFBP50Ms == nil || c.PerSecond == nil || c.Requests != 20 || c.NA != "" || c.Error != "" {
			t.Errorf("cell %+v: want 20 requests (10 per seed) with their figures", c)
		}
	}
	var again bytes.Buffer
	if code := run(args, &again, &errOut); code != 0 || !bytes.Equal(out.Bytes(), again.Bytes()) {
		t.Errorf("a second run (exit %d) gave other figures:\n%s\nthen\n%s", code, out.String(), again.String())
	}
}

// TestSimWebFlags checks that bad flags and scenarios get one line naming
// the problem.
func TestSimWebFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--sizes", "10XB"}, "--sizes"},
		{[]string{"--concurrency", "0"}, "--concurrency"},
		{[]string{"--requests", "0"}, "--requests"},
		{[]string{"--seeds", "0"}, "--seeds"},
		{[]string{"--max-bytes", "0"}, "--max-bytes"},
		{[]string{"--cc", "nope"}, "--cc"},
		{[]string{"no-such-scenario"}, "no-such-scenario"},
		{[]string{"aggregate", "handover"}, "one scenario"},
		{[]string{"--pcap-dir", "/no/such/dir"}, "--pcap-dir"},
	} {
		var out, errOut bytes.Buffer
		code := run(append([]string{"sim", "web"}, c.args...), &out, &errOut)
		msg := strings.TrimSpace(errOut.String())
		if code == 0 || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want one line naming %s", c.args, code, msg, c.want)
		}
	}
}

// TestSimWebPcap captures each seed of each cell, the same bytes for the
// same seed.
func TestSimWebPcap(t *testing.T) {
	var caps [2][]byte
	for i := range caps {
		dir := t.TempDir()
		var out, errOut bytes.Buffer
		args := []string{"sim", "web", "--sizes", "1KB", "--concurrency", "2", "--requests", "2", "--seeds", "1", "--pcap-dir", dir}
		if code := run(args, &out, &errOut); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		for _, name := range []string{"1KB-x2-new-seed1.pcap", "1KB-x2-reused-seed1.pcap"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			// pcap, little-endian, micro- or nanosecond stamps.
			if len(b) < 24+16 || !bytes.Equal(b[2:4], []byte{0xb2, 0xa1}) {
				t.Fatalf("%s: %d bytes, not a pcap file with packets", name, len(b))
			}
			if name == "1KB-x2-new-seed1.pcap" {
				caps[i] = b
			}
		}
	}
	if !bytes.Equal(caps[0], caps[1]) {
		t.Error("the same seed gave different captures")
	}
}

// --per-request writes one JSON line per request of each cell and seed:
// its cell, client, times, and what each subflow of the answering
// connection sent of it; a file that cannot be created is an error.
func TestSimWebPerRequest(t *testing.T) {
	file := filepath.Join(t.TempDir(), "requests.jsonl")
	var out, errOut bytes.Buffer
	args := []string{"sim", "web", "--sizes", "10KB", "--concurrency", "2", "--requests", "4", "--seeds", "2", "--per-request", file}
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	// 2 cells (new, reused) x 2 seeds x 4 requests.
	if len(lines) != 16 {
		t.Fatalf("%d lines, want 16:\n%s", len(lines), b)
	}
	cells := map[string]int{}
	for _, l := range lines {
		var q struct {
			Cell     string  `json:"cell"`
			Seed     int     `json:"seed"`
			Client   int     `json:"client"`
			DoneMs   float64 `json:"done_ms"`
			Subflows []struct {
				Path  string `json:"path"`
				Bytes uint64 `json:"bytes"`
			} `json:"subflows"`
		}
		if err := json.Unmarshal(l, &q); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		cells[q.Cell]++
		var sent uint64
		for _, sf := range q.Subflows {
			sent += sf.Bytes
		}
		if q.DoneMs <= 0 || sent < 10_000 || q.Seed < 1 || q.Seed > 2 || q.Client > 1 || q.Subflows[0].Path != "wifi" {
			t.Errorf("line %s", l)
		}
	}
	if cells["10KB-x2-new"] != 8 || cells["10KB-x2-reused"] != 8 {
		t.Errorf("lines per cell %v, want 8 each", cells)
	}
	args[len(args)-1] = filepath.Join(t.TempDir(), "no", "such", "dir", "f")
	if code := run(args, &out, &errOut); code == 0 {
		t.Error("--per-request into a missing directory: exit 0")
	}
}

// A scenario's competitors run beside the requests, and the report says
// so.
func TestSimWebCompetitors(t *testing.T) {
	var out, errOut bytes.Buffer
	args := []string{"sim", "web", "fairness", "--sizes", "10KB", "--concurrency", "1", "--requests", "2", "--seeds", "1"}
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "competitors downloading beside the requests, from each run's first dial: tcp (reno)") {
		t.Errorf("no competitors named:\n%s", out.String())
	}
}
