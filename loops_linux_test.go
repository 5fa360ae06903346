//go:build linux

package mptcp_test

import (
	"context"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/internal/tunhost"
	"github.com/mptcp-go/mptcp/link/tun"
)

// TestLoopsTUN runs stacks of two protocol loops on two-queue TUN devices,
// one driver per loop, against the kernel's MPTCP over two paths (root
// only: lab namespaces): kernel clients joining our server, whose joins
// must reach the loop that owns their token, and our client dialling a
// kernel server, whose replies come back to the loop whose port they
// name. Every connection echoes its bytes, checked byte for byte.
func TestLoopsTUN(t *testing.T) {
	const loops, conns, size = 2, 6, 256 << 10
	tp := lab.New(t, lab.Config{Paths: 2, Name: "lp"})
	host := func(side lab.Netns, addrs ...netip.Addr) *mptcp.Stack {
		ifs, err := tp.StackInterfaces(side, "tun0", loops, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		per := make([][]tun.Interface, loops)
		for j := range per {
			per[j] = []tun.Interface{ifs[j]}
		}
		h, err := tunhost.New(tunhost.Config{Stack: mptcp.Config{Loops: loops}, Addrs: addrs, Loops: per,
			OnError: func(err error) { t.Logf("tun: %v", err) }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		return h.Stack
	}
	server := host(tp.Server, tp.Paths[0].ServerStack.V4, tp.Paths[1].ServerStack.V4)
	client := host(tp.Client, tp.Paths[0].ClientStack.V4, tp.Paths[1].ClientStack.V4)
	if err := tp.Client.MPTCPLimits(8, 8); err != nil {
		t.Fatal(err)
	}
	if err := tp.Client.AddMPTCPEndpoint(lab.Endpoint{Addr: tp.Paths[1].Client.V4, Flags: []string{"subflow"}}); err != nil {
		t.Fatal(err)
	}
	if err := tp.Server.MPTCPLimits(8, 8); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Kernel clients to our server.
	ours := netip.AddrPortFrom(tp.Paths[0].ServerStack.V4, 7001)
	ln, err := server.Listen("tcp", ours.String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go echoServer(t, ln)
	transfers(t, conns, size, func() (net.Conn, error) {
		var c net.Conn
		err := tp.Client.Do(func() (err error) {
			var d net.Dialer
			d.SetMultipathTCP(true)
			c, err = d.DialContext(ctx, "tcp", ours.String())
			return err
		})
		return c, err
	})

	// Our client to a kernel server.
	kern := netip.AddrPortFrom(tp.Paths[0].Server.V4, 7002)
	var kln net.Listener
	if err := tp.Server.Do(func() (err error) {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		kln, err = lc.Listen(ctx, "tcp", kern.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer kln.Close()
	go echoServer(t, kln)
	transfers(t, conns, size, func() (net.Conn, error) { return client.DialContext(ctx, "tcp", kern.String()) })

	for side, st := range map[string]*mptcp.Stack{"server": server, "client": client} {
		stats := st.LoopStats()
		for i, ls := range stats {
			t.Logf("%s loop %d: %d packets handed over; %s", side, i, ls.Handoffs, ls.MIB)
			opened := ls.MIB.Get(core.MPCapableSYNTX) + ls.MIB.Get(core.MPCapableACKRX)
			joined := ls.MIB.Get(core.MPJoinSynAckRx) + ls.MIB.Get(core.MPJoinAckRx)
			if joined > opened || (side == "client" && opened == 0) {
				t.Errorf("%s loop %d: %d connections, %d joins", side, i, opened, joined)
			}
			if ls.HandoffDrops != 0 {
				t.Errorf("%s loop %d: %d packets lost between loops", side, i, ls.HandoffDrops)
			}
		}
		if m := st.MIB(); m.Get(core.MPJoinAckRx)+m.Get(core.MPJoinSynAckRx) == 0 {
			t.Errorf("%s: no subflow joined", side)
		}
	}
}

// echoServer echoes every connection ln accepts until it closes, after a
// byte that says it is ready.
func echoServer(t *testing.T, ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			// The client sends once the connection has its join: a
			// server that does not read advertises a zero window, which
			// the kernel's joins do not survive.
			joined(t, c)
			if _, err := c.Write([]byte{1}); err != nil {
				return
			}
			io.Copy(c, c)
			if cw, ok := c.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
		}()
	}
}

// transfers runs n connections at once, each echoing size bytes once the
// server said it is ready.
func transfers(t *testing.T, n, size int, dial func() (net.Conn, error)) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial()
			if err != nil {
				t.Errorf("connection %d: %v", i, err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
				t.Errorf("connection %d: %v", i, err)
				return
			}
			joined(t, c)
			echoConn(t, c, i, size)
		}()
	}
	wg.Wait()
}

// joined waits until a connection of our stack has its second subflow, so
// that every connection has a join however loaded the machine (a kernel
// connection is not waited for: its peer, ours, is).
func joined(t *testing.T, c net.Conn) {
	mc, ok := c.(*mptcp.Conn)
	if !ok {
		return
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if len(mc.Info().Subflows) >= 2 {
			return
		}
	}
	t.Errorf("%v: no second subflow in 20 s", c.LocalAddr())
}
