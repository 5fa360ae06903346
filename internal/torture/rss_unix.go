//go:build unix

package torture

import (
	"os"
	"runtime"
	"syscall"
)

// peakRSS returns the largest resident set of a finished process, in
// bytes.
func peakRSS(ps *os.ProcessState) uint64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return uint64(ru.Maxrss) // bytes there
	}
	return uint64(ru.Maxrss) * 1024 // kilobytes elsewhere
}
