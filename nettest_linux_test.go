//go:build linux

package mptcp_test

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/net/nettest"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/internal/tunhost"
	"github.com/mptcp-go/mptcp/link/tun"
)

// TestNetConnConformanceTUN runs x/net/nettest's conformance test over
// our Conn on a TUN device with two paths, against the kernel's MPTCP at
// the other end (root only: lab namespaces).
func TestNetConnConformanceTUN(t *testing.T) {
	tp := lab.New(t, lab.Config{Paths: 2})
	ifc, err := tp.StackInterface(tp.Client, "tun0", 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	h, err := tunhost.New(tunhost.Config{
		Addrs:      []netip.Addr{tp.Paths[0].ClientStack.V4, tp.Paths[1].ClientStack.V4},
		Interfaces: []tun.Interface{ifc},
		OnError:    func(err error) { t.Logf("tun: %v", err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	srv := netip.AddrPortFrom(tp.Paths[0].Server.V4, 7777)
	var ln net.Listener
	if err := tp.Server.Do(func() (err error) {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		ln, err = lc.Listen(context.Background(), "tcp", srv.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	nettest.TestConn(t, connPair(t, ln, func() (net.Conn, error) { return h.Stack.Dial("tcp", srv.String()) }))
}
