//go:build !unix

package torture

import "os"

// peakRSS is unknown on this system.
func peakRSS(*os.ProcessState) uint64 { return 0 }
