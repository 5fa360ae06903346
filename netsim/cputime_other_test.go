//go:build !unix

package netsim

import "time"

// cpuTime is not measured off Unix; benchmarks then omit the CPU-time rate.
func cpuTime() time.Duration { return 0 }
