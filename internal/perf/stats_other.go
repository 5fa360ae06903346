//go:build !linux

package perf

import "net"

// kernelStats has nothing to read outside Linux.
func kernelStats(*net.TCPConn) ConnStats { return ConnStats{Stack: "kernel"} }

func kernelUnacked(*net.TCPConn) (int64, bool) { return 0, false }
