//go:build !linux

package checkserve

import "net"

// Kernel inspects a kernel socket; outside Linux it knows only whether
// Go opened it as MPTCP.
func Kernel(c net.Conn) Result {
	r := base(c, "kernel")
	if tc, ok := c.(*net.TCPConn); ok {
		r.MPTCP, _ = tc.MultipathTCP()
	}
	return r
}
