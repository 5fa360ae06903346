package mptcp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/netsim"
)

// addIPv6 gives every host interface of the simulation an IPv6 address
// beside its IPv4 one (fd00:N::2, the router fd00:N::1) and the router
// its routes, and returns each host's new addresses.
func addIPv6(t *testing.T, n *simNet) (client []netip.Addr, server netip.Addr) {
	t.Helper()
	k := 0
	add := func(h *netsim.Host) []netip.Addr {
		var out []netip.Addr
		for _, ifc := range h.Interfaces() {
			k++
			hp := netip.MustParsePrefix(fmt.Sprintf("fd00:%x::2/64", k))
			rp := netip.MustParsePrefix(fmt.Sprintf("fd00:%x::1/64", k))
			if err := ifc.AddAddress(hp); err != nil {
				t.Fatal(err)
			}
			if err := ifc.Peer().AddAddress(rp); err != nil {
				t.Fatal(err)
			}
			if err := n.top.Router.AddRoute(hp.Masked(), ifc.Peer()); err != nil {
				t.Fatal(err)
			}
			out = append(out, hp.Addr())
		}
		return out
	}
	server = add(n.top.Server)[0]
	client = add(n.top.Client)
	return client, server
}

// startDualSim is startSim with IPv4 and IPv6 on every path; the stacks
// have both families' addresses.
func startDualSim(t *testing.T) (n *simNet, client6 []netip.Addr, server6 netip.Addr) {
	n = startSim(t, "aggregate")
	done := make(chan struct{})
	n.rt.Do(func() {
		client6, server6 = addIPv6(t, n)
		close(done)
	})
	<-done
	for _, a := range client6 {
		n.client.AddAddress(a)
	}
	n.server.AddAddress(server6)
	return n, client6, server6
}

// acceptOne accepts a connection in the background.
func acceptOne(t *testing.T, ln net.Listener) <-chan net.Conn {
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		ch <- c
	}()
	return ch
}

// TestDualStackListener: ":port" accepts IPv4 and IPv6 connections, and
// the joins of each family, as net.Listen("tcp", ":port") does.
func TestDualStackListener(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, _, server6 := startDualSim(t)
		defer n.stop()
		ln, err := n.server.Listen("tcp", ":8000")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		if got := ln.Addr().String(); got != "[::]:8000" {
			t.Errorf("Addr() = %s, want [::]:8000", got)
		}
		for _, srv := range []netip.Addr{n.top.ServerAddr, server6} {
			acc := acceptOne(t, ln)
			c, err := n.client.Dial("tcp", netip.AddrPortFrom(srv, 8000).String())
			if err != nil {
				t.Fatalf("dial %s: %v", srv, err)
			}
			sc := <-acc
			// The server reads it all and says so: by then the joins
			// have carried data.
			const size = 4 << 20
			go func() {
				io.CopyN(io.Discard, sc, size)
				sc.Write([]byte("ok"))
				sc.Close()
			}()
			c.Write(make([]byte, size))
			if got, err := io.ReadAll(c); err != nil || string(got) != "ok" {
				t.Fatalf("to %s: read %q, %v", srv, got, err)
			}
			info := c.(*mptcp.Conn).Info()
			subflows := 0
			for _, sf := range append(info.Subflows, info.ClosedSubflows...) {
				if sf.Remote.Addr().Is4() == srv.Is4() && sf.Established {
					subflows++
				}
			}
			if subflows < 2 {
				t.Errorf("to %s: %d established subflows of its family, want 2: %+v", srv, subflows, info.Subflows)
			}
			if mp, err := c.(*mptcp.Conn).MultipathTCP(); !mp || err != nil {
				t.Errorf("MultipathTCP() = %v, %v", mp, err)
			}
			c.Close()
		}
	})
}

// TestErrorsAreErrnos: errors are *net.OpError around the errno a kernel
// socket gives, as the net package's are.
func TestErrorsAreErrnos(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := startSim(t, "aggregate")
		defer n.stop()
		_, err := n.client.Dial("tcp", netip.AddrPortFrom(n.top.ServerAddr, 1).String())
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial to a closed port: %v, want a dial *net.OpError with ECONNREFUSED", err)
		}

		ln, err := n.server.Listen("tcp", ":9000")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		acc := acceptOne(t, ln)
		c, err := n.client.Dial("tcp", netip.AddrPortFrom(n.top.ServerAddr, 9000).String())
		if err != nil {
			t.Fatal(err)
		}
		sc := (<-acc).(*mptcp.Conn)
		cc := c.(*mptcp.Conn)
		if err := cc.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if _, err := cc.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
			t.Errorf("write after CloseWrite: %v, want EPIPE", err)
		}
		// SetLinger(0): Close resets, and the peer reads ECONNRESET.
		sc.SetLinger(0)
		sc.Close()
		if _, err := cc.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &op) || op.Op != "read" {
			t.Errorf("read after the peer's reset: %v, want a read *net.OpError with ECONNRESET", err)
		}
		cc.Close()
		if _, err := cc.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("read after Close: %v, want net.ErrClosed", err)
		}
		if _, err := n.server.Listen("tcp", ":9000"); !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("second listen on a port: %v, want EADDRINUSE", err)
		}
	})
}

// TestAcceptDeadlineAndClose: Accept honours a deadline and returns when
// the listener is closed.
func TestAcceptDeadlineAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := startSim(t, "aggregate")
		defer n.stop()
		ln, err := n.server.Listen("tcp", ":9001")
		if err != nil {
			t.Fatal(err)
		}
		ml := ln.(*mptcp.Listener)
		ml.SetDeadline(time.Now().Add(time.Second))
		_, err = ln.Accept()
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Fatalf("accept past its deadline: %v, want a timeout", err)
		}
		ml.SetDeadline(time.Time{})
		done := make(chan error, 1)
		go func() {
			_, err := ln.Accept()
			done <- err
		}()
		time.Sleep(time.Second)
		ln.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("accept across Close: %v, want net.ErrClosed", err)
		}
	})
}

// TestCloseReadKeepAlive: CloseRead makes Read say EOF while writing goes
// on; an idle connection sends keepalive probes at the Dialer's period;
// MultipathTCP says false for a plain TCP connection.
func TestCloseReadKeepAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := startSim(t, "aggregate")
		defer n.stop()
		ln, err := n.server.Listen("tcp", ":9002")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		acc := acceptOne(t, ln)
		// One subflow (plain TCP): with two, the core's liveness probes
		// of idle subflows keep the connection from being idle.
		d := mptcp.Dialer{Stack: n.client, KeepAlive: 2 * time.Second, DisableMPTCP: true}
		c, err := d.DialContext(context.Background(), "tcp", netip.AddrPortFrom(n.top.ServerAddr, 9002).String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sc := <-acc
		defer sc.Close()
		cc := c.(*mptcp.Conn)
		if mp, err := cc.MultipathTCP(); mp || err != nil {
			t.Errorf("MultipathTCP() = %v, %v on a plain TCP connection", mp, err)
		}
		sc.Write([]byte("dropped"))
		if err := cc.CloseRead(); err != nil {
			t.Fatal(err)
		}
		if n, err := cc.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Errorf("read after CloseRead: %d, %v, want 0, EOF", n, err)
		}
		if _, err := cc.Write([]byte("still")); err != nil {
			t.Errorf("write after CloseRead: %v", err)
		}
		buf := make([]byte, 5)
		if _, err := io.ReadFull(sc, buf); err != nil || string(buf) != "still" {
			t.Errorf("peer read %q, %v", buf, err)
		}
		time.Sleep(10 * time.Second)
		var probes uint64
		for _, sf := range cc.Info().Subflows {
			probes += sf.TCP.KeepaliveProbes
		}
		if probes == 0 {
			t.Errorf("no keepalive probe in 10 s of idleness with a 2 s period: %+v", cc.Info().Subflows)
		}
	})
}
