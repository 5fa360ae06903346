//go:build !linux

package proxy

import (
	"context"
	"net"

	"github.com/mptcp-go/mptcp/observe"
)

// KernelDialer returns a dialer for the kernel's MPTCP where Go supports it;
// elsewhere Go falls back to TCP. TCP Fast Open is only used on Linux.
func KernelDialer(bool) Dialer {
	d := &net.Dialer{}
	d.SetMultipathTCP(true)
	return d
}

// ListenKernel listens with the kernel's MPTCP where Go supports it
// (elsewhere TCP); TCP Fast Open is only used on Linux.
func ListenKernel(ctx context.Context, addr string, _ bool) (net.Listener, error) {
	lc := net.ListenConfig{}
	lc.SetMultipathTCP(true)
	return lc.Listen(ctx, "tcp", addr)
}

// kernelSockets is nil: sock_diag is Linux's.
var kernelSockets func() ([]observe.Socket, error)
