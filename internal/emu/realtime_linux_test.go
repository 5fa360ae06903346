//go:build linux

package emu

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// childPolicy starts a process from the calling thread and returns the
// scheduling policy it started in (field 41 of /proc/self/stat).
func childPolicy(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("cat", "/proc/self/stat").Output()
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // field 3 onwards
	return fields[41-3]
}

// A process started by a real-time thread (a loop, or any thread of a
// process under RealtimeProcess) starts in the normal class: a Go child in
// SCHED_FIFO on two CPUs can livelock (see resetOnFork).
func TestChildrenStartInNormalClass(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("real-time scheduling needs root (CAP_SYS_NICE)")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, c := range []Sched{SchedFIFO, SchedNice} {
		if err := setThreadSched(c, 1); err != nil {
			t.Skipf("scheduling class %v refused here: %v", c, err)
		}
		a, err := unix.SchedGetAttr(0, 0)
		if err != nil || (c == SchedFIFO && a.Policy != unix.SCHED_FIFO) {
			t.Fatalf("thread not raised to %v: %+v %v", c, a, err)
		}
		got := childPolicy(t)
		if err := setThreadSched(SchedNormal, 0); err != nil {
			t.Fatal(err)
		}
		if got != "0" {
			t.Errorf("child of a %v thread started with policy %s, want 0 (SCHED_NORMAL)", c, got)
		}
	}
	restore := RealtimeProcess(1)
	got := childPolicy(t)
	restore()
	if got != "0" {
		t.Errorf("child of a RealtimeProcess thread started with policy %s, want 0 (SCHED_NORMAL)", got)
	}
}
