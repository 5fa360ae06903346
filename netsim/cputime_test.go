package netsim

import (
	"time"

	"github.com/mptcp-go/mptcp/internal/cputime"
)

// cpuTime returns the process's CPU time, 0 where it is not measured, so
// benchmarks can report a rate that holds up on a busy machine.
func cpuTime() time.Duration {
	d, _ := cputime.Process()
	return d
}
