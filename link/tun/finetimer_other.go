//go:build !linux

package tun

import "time"

// sleepPrecise sleeps for d; elsewhere than on Linux, as precisely as the
// runtime's timers.
func sleepPrecise(d time.Duration) { time.Sleep(d) }
