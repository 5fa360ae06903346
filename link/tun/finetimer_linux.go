package tun

import (
	"time"

	"golang.org/x/sys/unix"
)

// sleepPrecise sleeps for d with the kernel's high-resolution timer: the
// calling goroutine's thread blocks in nanosleep, and the runtime hands
// its other goroutines to another thread meanwhile.
func sleepPrecise(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}
