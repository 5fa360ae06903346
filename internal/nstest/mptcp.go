//go:build linux

package nstest

import (
	"context"
	"net"
	"testing"
	"time"
)

// ListenMPTCP opens a kernel MPTCP listener in ns; it is closed with the test.
func ListenMPTCP(t testing.TB, ns *NS, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := ns.Do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		var err error
		ln, err = lc.Listen(context.Background(), "tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, ns.Name, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// DialMPTCP opens a kernel MPTCP connection from ns; it is closed with the test.
func DialMPTCP(t testing.TB, ns *NS, addr string) net.Conn {
	t.Helper()
	var c net.Conn
	err := ns.Do(func() error {
		d := net.Dialer{Timeout: 10 * time.Second}
		d.SetMultipathTCP(true)
		var err error
		c, err = d.Dial("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ns.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	if mp, err := c.(*net.TCPConn).MultipathTCP(); err != nil || !mp {
		t.Fatalf("connection to %s is not MPTCP (err %v): the kernel fell back to TCP", addr, err)
	}
	return c
}
