//go:build unix

package tcpsim

import (
	"syscall"
	"time"
)

// cpuTime returns the process's user plus system CPU time (all threads,
// the garbage collector's included), so the benchmark can report a rate
// that holds up on a machine busy with other work.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
