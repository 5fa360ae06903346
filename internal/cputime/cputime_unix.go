//go:build unix

package cputime

import (
	"syscall"
	"time"
)

// Process returns the process's user plus system CPU time, and whether it
// could be measured.
func Process() (time.Duration, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
