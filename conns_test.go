package mptcp_test

import (
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
)

// TestConnsSnapshotChunks checks that Stack.Conns, which takes a loop's
// lock for a chunk of connections at a time, still describes every
// connection once when there are several chunks' worth on several loops.
func TestConnsSnapshotChunks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const loops, conns = 2, 300
		n := startSimLoops(t, "aggregate", loops)
		ln, err := n.server.Listen("tcp", netip.AddrPortFrom(n.top.ServerAddr, 80).String())
		if err != nil {
			t.Fatal(err)
		}
		accepted := make(chan net.Conn, conns)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted <- c
			}
		}()
		var open []net.Conn
		for range conns {
			c, err := n.client.Dial("tcp", netip.AddrPortFrom(n.top.ServerAddr, 80).String())
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, c, <-accepted)
		}
		synctest.Wait()
		infos := n.server.Conns()
		if len(infos) != conns {
			t.Fatalf("server Conns: %d connections, want %d", len(infos), conns)
		}
		tokens := map[uint32]bool{}
		for _, ci := range infos {
			tokens[ci.LocalToken] = true
		}
		if len(tokens) != conns {
			t.Errorf("server Conns: %d distinct tokens among %d connections", len(tokens), conns)
		}
		sum := 0
		for _, ls := range n.server.LoopStats() {
			sum += ls.Conns
		}
		if sum != conns {
			t.Errorf("LoopStats: %d connections, want %d", sum, conns)
		}
		for _, c := range open {
			c.Close()
		}
		ln.Close()
		n.stop()
	})
}
