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
		nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
			acc := make(chan net.Conn, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					t.Error(err)
				}
				acc <- c
			}()
			c1, err = n.client.Dial("tcp", netip.AddrPortFrom(n.top.ServerAddr, 5000).String())
			if err != nil {
				return nil, nil, nil, err
			}
			c2 = <-acc
			return c1, c2, func() { c1.Close(); c2.Close() }, nil
		})
	}()
}
