//go:build !unix

package simtest

import "time"

// cpuTime is unavailable here; the benchmark then reports wall time only.
func cpuTime() time.Duration { return 0 }
