//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mptcp-go/mptcp/internal/compare"
)

// TestPerfWebFlags checks that perf web refuses bad flags in one line
// naming the flag, before it needs root or builds anything.
func TestPerfWebFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--sizes", "10XB"}, "--sizes"},
		{[]string{"--sizes", "0"}, "--sizes"},
		{[]string{"--concurrency", "0"}, "--concurrency"},
		{[]string{"--impl", "bsd"}, "--impl"},
		{[]string{"--budget", "10ms"}, "--budget"},
		{[]string{"--emu-sched", "rt"}, "--emu-sched"},
		{[]string{"--warmup", "-1"}, "--warmup"},
		{[]string{"--procs", "-1"}, "--procs"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		var out, errOut bytes.Buffer
		code := run(append([]string{"perf", "web"}, c.args...), &out, &errOut)
		if code == 0 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error naming %s", c.args, code, errOut.String(), c.want)
		}
	}
	sizes, err := parseWebSizes("1KB, 10kb,1MB,500")
	if err != nil || len(sizes) != 4 || sizes[0] != 1000 || sizes[1] != 10000 || sizes[2] != 1_000_000 || sizes[3] != 500 {
		t.Errorf("parseWebSizes = %v, %v", sizes, err)
	}
}

// TestPerfWebSimulator runs the simulator column alone, which needs no
// root: every cell, concurrent and reused ones included, is measured.
func TestPerfWebSimulator(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"perf", "web", "--impl", "simulator", "--sizes", "10KB", "--concurrency", "1,10", "--requests", "10", "--sim-seeds", "2", "--json", "--quiet"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var rep compare.WebReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(rep.Cells) != 4 {
		t.Fatalf("%d cells, want 4 (new and reused, 1 and 10 in flight): %s", len(rep.Cells), out.String())
	}
	for _, c := range rep.Cells {
		if c.Impl != compare.Sim || c.P50Ms == nil || c.TTFBP50Ms == nil || c.PerSecond == nil || c.Requests != 20 || c.NA != "" || c.Error != "" {
			t.Errorf("cell %+v: want 20 requests (10 per seed) with their figures", c)
		}
	}
}
