//go:build !unix

package cputime

import "time"

// Process is not measured off Unix: it reports false, and callers fall
// back to wall-clock time or omit the CPU-time figure.
func Process() (time.Duration, bool) { return 0, false }
