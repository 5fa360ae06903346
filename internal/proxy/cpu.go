package proxy

import (
	"runtime"
	"sync"
	"time"

	"github.com/mptcp-go/mptcp/internal/cputime"
	"github.com/mptcp-go/mptcp/observe"
)

// CPUUse is how busy the CPUs were between two readings of the status:
// the proxy process's CPU time per second of wall time (in cores), and on
// Linux the machine's idle fraction (from /proc/stat; -1 elsewhere).
type CPUUse struct {
	IntervalS    float64 `json:"interval_s"`
	ProcessCores float64 `json:"process_cores"`
	MachineIdle  float64 `json:"machine_idle"`
	// Limited says the CPU, not a path, holds the transfers back: the
	// machine was under 5% idle, or the process used 95% of the cores it
	// may run on.
	Limited bool `json:"limited"`
}

// cpuMeter reads CPU use between successive calls of read: the status
// endpoint's readers (a monitoring system, mptcp proxy status) make the
// intervals. Readings closer than minInterval return the last result.
type cpuMeter struct {
	mu      sync.Mutex
	at      time.Time
	proc    time.Duration
	busy    uint64 // machine jiffies not idle
	total   uint64
	last    *CPUUse
	now     func() time.Time
	process func() (time.Duration, bool)
	machine func() (busy, total uint64, ok bool)
	cores   int
}

const minCPUInterval = 200 * time.Millisecond

func newCPUMeter() *cpuMeter {
	return &cpuMeter{now: time.Now, process: cputime.Process, machine: machineCPU, cores: runtime.GOMAXPROCS(0)}
}

// read returns the use since the previous reading, or nil on the first.
func (m *cpuMeter) read() *CPUUse {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if !m.at.IsZero() && now.Sub(m.at) < minCPUInterval {
		return m.last
	}
	proc, okP := m.process()
	busy, total, okM := m.machine()
	if m.at.IsZero() || !okP {
		m.at, m.proc, m.busy, m.total = now, proc, busy, total
		return nil
	}
	dt := now.Sub(m.at)
	u := &CPUUse{IntervalS: dt.Seconds(), ProcessCores: float64(proc-m.proc) / float64(dt), MachineIdle: -1}
	if okM && total > m.total {
		u.MachineIdle = 1 - float64(busy-m.busy)/float64(total-m.total)
	}
	u.Limited = (u.MachineIdle >= 0 && u.MachineIdle < 0.05) || u.ProcessCores >= 0.95*float64(m.cores)
	m.at, m.proc, m.busy, m.total, m.last = now, proc, busy, total, u
	return u
}

// markCPU names the CPU as the limit of every connection that nothing of
// its own (a full receive buffer) holds back, when the CPU use says so.
func (s *Snapshot) markCPU() {
	if s.CPU == nil || !s.CPU.Limited {
		return
	}
	for i := range s.Limits {
		if s.Limits[i].Limit == observe.LimitNone {
			s.Limits[i].Limit = observe.LimitCPU
		}
	}
}
