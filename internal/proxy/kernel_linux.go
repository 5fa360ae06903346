//go:build linux

package proxy

import (
	"context"
	"net"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mptcp-go/mptcp/internal/sockdiag"
	"github.com/mptcp-go/mptcp/observe"
)

// tfoQueue is the listener's queue of pending TCP Fast Open requests.
const tfoQueue = 1024

// KernelDialer returns a dialer for the kernel's MPTCP. With tfo, the
// socket gets TCP_FASTOPEN_CONNECT, so that connect returns at once and
// the first write rides in the SYN (RFC 7413; the kernel's MPTCP supports
// it since Linux 6.2): the Convert message reaches the converter with the
// SYN. Without a cached cookie the kernel sends a cookie request and the
// data after the handshake, so the first connection to a converter costs
// the usual round trip and the following ones none. TFO also needs
// net.ipv4.tcp_fastopen with bit 1 (client) set.
func KernelDialer(tfo bool) Dialer {
	d := &net.Dialer{}
	d.SetMultipathTCP(true)
	if tfo {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			return setsockopt(c, unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT, 1)
		}
	}
	return d
}

// ListenKernel listens on addr with the kernel's MPTCP; with tfo, the
// listener accepts data in SYNs (TCP_FASTOPEN; net.ipv4.tcp_fastopen bit 2,
// server, must be set).
func ListenKernel(ctx context.Context, addr string, tfo bool) (net.Listener, error) {
	lc := net.ListenConfig{}
	lc.SetMultipathTCP(true)
	if tfo {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			return setsockopt(c, unix.IPPROTO_TCP, unix.TCP_FASTOPEN, tfoQueue)
		}
	}
	return lc.Listen(ctx, "tcp", addr)
}

func setsockopt(c syscall.RawConn, level, opt, v int) error {
	var serr error
	if err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), level, opt, v) }); err != nil {
		return err
	}
	return serr
}

// kernelSockets lists the kernel's MPTCP connections and their subflows
// in this network namespace (sock_diag, as mptcp stat -t -i).
func kernelSockets() ([]observe.Socket, error) { return sockdiag.List(sockdiag.Options{TCP: true}) }
