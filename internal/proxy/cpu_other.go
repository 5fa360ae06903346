//go:build !linux

package proxy

// machineCPU is not read off Linux: only the process's use is reported.
func machineCPU() (busy, total uint64, ok bool) { return 0, 0, false }
