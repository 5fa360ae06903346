//go:build linux

package main

import (
	"bytes"
	"strings"
	"testing"
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
