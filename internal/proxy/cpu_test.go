package proxy

import (
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/observe"
)

// fakeCPU feeds a cpuMeter readings: each step advances the clock by a
// second, the process's CPU time by proc and the machine's busy jiffies
// by busy out of 100.
type fakeCPU struct {
	now         time.Time
	proc        time.Duration
	busy, total uint64
}

func (f *fakeCPU) step(proc time.Duration, busy uint64) {
	f.now = f.now.Add(time.Second)
	f.proc += proc
	f.busy += busy
	f.total += 100
}

func TestCPUMeter(t *testing.T) {
	f := &fakeCPU{now: time.Unix(1000, 0)}
	m := &cpuMeter{now: func() time.Time { return f.now }, cores: 2,
		process: func() (time.Duration, bool) { return f.proc, true },
		machine: func() (uint64, uint64, bool) { return f.busy, f.total, true }}
	if m.read() != nil {
		t.Fatal("the first reading has nothing to compare with")
	}
	for _, c := range []struct {
		proc    time.Duration
		busy    uint64
		limited bool
	}{
		{300 * time.Millisecond, 40, false},  // room on both counts
		{500 * time.Millisecond, 97, true},   // the machine is busy with others
		{1950 * time.Millisecond, 98, true},  // this process uses both cores
		{1850 * time.Millisecond, 94, false}, // under 95% of two cores (1.9 s), 6% idle
	} {
		f.step(c.proc, c.busy)
		u := m.read()
		if u == nil || u.Limited != c.limited || u.IntervalS != 1 {
			t.Fatalf("process %v, machine %d%% busy: %+v, want limited %v", c.proc, c.busy, u, c.limited)
		}
	}
	// A reading right after the last one repeats it.
	last := m.read()
	f.now = f.now.Add(10 * time.Millisecond)
	if m.read() != last {
		t.Error("a reading 10 ms after the last one measured again")
	}
	// The connections with no limit of their own are limited by the CPU.
	s := Snapshot{CPU: &CPUUse{Limited: true}, Limits: []observe.ConnLimit{{Limit: observe.LimitReceiveBuffer}, {}}}
	s.markCPU()
	if s.Limits[0].Limit != observe.LimitReceiveBuffer || s.Limits[1].Limit != observe.LimitCPU {
		t.Errorf("limits %q, %q: want the receive buffer kept and the CPU named", s.Limits[0].Limit, s.Limits[1].Limit)
	}
}
