package mptcp_test

import (
	"net"
	"net/netip"
	"testing"

	"golang.org/x/net/nettest"
)

// TestNetConnConformance runs x/net/nettest's conformance test for
// net.Conn implementations over two connected Conns in the simulator.
func TestNetConnConformance(t *testing.T) {
	// nettest runs subtests, which a synctest bubble forbids: the
	// simulation runs at wall speed here.
	func() {
		n := startSim(t, "aggregate")
		defer n.stop()
		ln, err := n.server.Listen("tcp", ":5000")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		nettest.TestConn(t, connPair(t, ln, func() (net.Conn, error) {
			return n.client.Dial("tcp", netip.AddrPortFrom(n.top.ServerAddr, 5000).String())
		}))
	}()
}

// connPair makes nettest's pipes: a connection dialled by dial and its
// other end, accepted from ln.
func connPair(t *testing.T, ln net.Listener, dial func() (net.Conn, error)) nettest.MakePipe {
	return func() (c1, c2 net.Conn, stop func(), err error) {
		acc := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				t.Error(err)
			}
			acc <- c
		}()
		if c1, err = dial(); err != nil {
			return nil, nil, nil, err
		}
		c2 = <-acc
		return c1, c2, func() { c1.Close(); c2.Close() }, nil
	}
}
