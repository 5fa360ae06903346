package mptcp_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/core"
)

// TestLoopsSimulated runs stacks of four protocol loops each over the
// simulated two-path network: connections spread over every loop on both
// sides, their joins (to the server's listening port, from the client's
// per-loop ports) reach the loop that owns the connection, and every
// byte arrives in both directions.
func TestLoopsSimulated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const loops, conns, size = 4, 12, 96 << 10
		n := startSimLoops(t, "aggregate", loops)
		ln, err := n.server.Listen("tcp", netip.AddrPortFrom(n.top.ServerAddr, 80).String())
		if err != nil {
			t.Fatal(err)
		}
		// The server echoes each connection's bytes back, reversed in
		// direction only.
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					io.Copy(c, c)
					c.Close()
				}()
			}
		}()
		var wg sync.WaitGroup
		for i := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				echo(t, n.client, netip.AddrPortFrom(n.top.ServerAddr, 80), i, size)
			}()
		}
		wg.Wait()
		for side, st := range map[string]*mptcp.Stack{"client": n.client, "server": n.server} {
			if st.Loops() != loops {
				t.Errorf("%s: %d loops, want %d", side, st.Loops(), loops)
			}
			used := 0
			for i, ls := range st.LoopStats() {
				// Each connection opened in a loop (dialled, or accepted)
				// was joined there once: the client has two addresses.
				opened := ls.MIB.Get(core.MPCapableSYNTX) + ls.MIB.Get(core.MPCapableACKRX)
				joined := ls.MIB.Get(core.MPJoinSynAckRx) + ls.MIB.Get(core.MPJoinAckRx)
				if opened != joined {
					t.Errorf("%s loop %d: %d connections, %d joins", side, i, opened, joined)
				}
				if opened > 0 {
					used++
				}
				if ls.HandoffDrops != 0 {
					t.Errorf("%s loop %d: %d packets dropped between loops", side, i, ls.HandoffDrops)
				}
			}
			if used < 2 {
				t.Errorf("%s: connections on %d loops: %+v", side, used, st.LoopStats())
			}
			if got := st.MIB().Get(core.MPJoinSynAckRx) + st.MIB().Get(core.MPJoinAckRx); got != conns {
				t.Errorf("%s: %d joins, want one per connection (%d)", side, got, conns)
			}
			// A segment for no connection means a loop got another's
			// packets, unless a subflow was reset for data that arrived
			// after its connection closed (TCPAbortOnData, as Linux
			// does): copies of the end of an answer, sent again on the
			// fast path, can complete a connection while the originals
			// are still on the slow one: the first of them resets the
			// subflow, and those behind it find no connection.
			if ts := st.TCPStats(); ts.NoPort != 0 && ts.AbortOnData == 0 {
				t.Errorf("%s answered %d segments for no connection: a loop got another's packets", side, ts.NoPort)
			}
		}
		ln.Close()
		n.stop()
	})
}

// echo dials an echo server and checks its connection (echoConn) and
// its joins.
func echo(t *testing.T, st *mptcp.Stack, to netip.AddrPort, seed, size int) {
	c, err := st.Dial("tcp", to.String())
	if err != nil {
		t.Error(err)
		return
	}
	defer c.Close()
	echoConn(t, c, seed, size)
	if info := c.(*mptcp.Conn).Info(); len(info.Subflows) < 2 {
		t.Errorf("connection %d: %d subflows", seed, len(info.Subflows))
	}
}

// echoConn sends size bytes drawn from seed over a connection to an echo
// server, closes its sending side, and checks that the same bytes come
// back.
func echoConn(t *testing.T, c net.Conn, seed, size int) {
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	go func() {
		c.Write(data)
		c.(interface{ CloseWrite() error }).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Errorf("connection %d: %v", seed, err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("connection %d: %d bytes back, want the %d sent", seed, len(got), len(data))
	}
}
