//go:build linux

package interop

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp"
)

// network is the case's family as Go's net package names it.
func (e *env) network() string {
	if e.v6 {
		return "tcp6"
	}
	return "tcp4"
}

// kernelListen listens in the kernel's namespace on every address of the
// case's family, with MPTCP if mp. Every address: a join to an announced
// address reaches the listener that covers it, and a listener bound to the
// path-1 address only would answer joins to path 2 with a RST.
func (e *env) kernelListen(mp bool) net.Listener {
	e.t.Helper()
	var ln net.Listener
	if err := e.kern.Do(func() (err error) {
		var lc net.ListenConfig
		lc.SetMultipathTCP(mp)
		ln, err = lc.Listen(context.Background(), e.network(), fmt.Sprintf(":%d", port))
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { ln.Close() })
	return ln
}

// kernelAccept accepts one connection within the case's time.
func (e *env) kernelAccept(ln net.Listener) (*net.TCPConn, error) {
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(caseTimeout))
	c, err := ln.Accept()
	if err != nil {
		return nil, fmt.Errorf("kernel accept: %w", err)
	}
	e.t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(caseTimeout))
	return c.(*net.TCPConn), nil
}

// kernelDial connects from the kernel's namespace to our stack's path-1
// address, with MPTCP if mp.
func (e *env) kernelDial(mp bool) (*net.TCPConn, error) {
	var c net.Conn
	err := e.kern.Do(func() (err error) {
		d := net.Dialer{Timeout: 10 * time.Second}
		d.SetMultipathTCP(mp)
		c, err = d.Dial("tcp", netip.AddrPortFrom(e.ourAddr(1), port).String())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kernel dial: %w", err)
	}
	e.t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(caseTimeout))
	return c.(*net.TCPConn), nil
}

// listen listens on every address of our stack of the case's family
// (see kernelListen).
func (e *env) listen() *mptcp.Listener {
	e.t.Helper()
	ln, err := e.st.Listen(e.network(), fmt.Sprintf(":%d", port))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { ln.Close() })
	return ln.(*mptcp.Listener)
}

// accept accepts one connection on our listener within the case's time.
func (e *env) accept(ln *mptcp.Listener) (*mptcp.Conn, error) {
	type res struct {
		c   *mptcp.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.AcceptMPTCP()
		ch <- res{c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("our accept: %w", r.err)
		}
		r.c.SetDeadline(time.Now().Add(caseTimeout))
		return r.c, nil
	case <-time.After(caseTimeout):
		return nil, fmt.Errorf("our accept: nothing within %v", caseTimeout)
	}
}

// dial connects our stack from its path-1 address to the kernel's.
func (e *env) dial(d mptcp.Dialer) (*mptcp.Conn, error) {
	d.Stack = e.st
	if d.LocalAddr == nil {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(e.ourAddr(1), 0))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(e.kernAddr(1), port).String())
	if err != nil {
		return nil, fmt.Errorf("our dial: %w", err)
	}
	c.SetDeadline(time.Now().Add(caseTimeout))
	return c.(*mptcp.Conn), nil
}

// conns is a case's connection, both ends.
type conns struct {
	ours   *mptcp.Conn
	kernel *net.TCPConn
	// client and server are the same two, by role.
	client, server duplex
	// info is our end's state once the data has moved, before the close.
	info mptcp.ConnInfo
}

// connOpts are the per-case connection settings.
type connOpts struct {
	dial          mptcp.Dialer // our client's (its Stack is set by dial)
	kernelNoMPTCP bool         // the kernel's socket is plain TCP
}

// connect opens the case's connection: our client to the kernel's
// listener, or the kernel's client to our listener.
func (e *env) connect(o connOpts) *conns {
	e.t.Helper()
	cs := &conns{}
	var err error
	if e.side == ourClient {
		ln := e.kernelListen(!o.kernelNoMPTCP)
		acc := make(chan error, 1)
		go func() {
			var err error
			cs.kernel, err = e.kernelAccept(ln)
			acc <- err
		}()
		if cs.ours, err = e.dial(o.dial); err != nil {
			e.t.Fatal(err)
		}
		if err := <-acc; err != nil {
			e.t.Fatal(err)
		}
		cs.client, cs.server = cs.ours, cs.kernel
	} else {
		ln := e.listen()
		acc := make(chan error, 1)
		go func() {
			var err error
			cs.ours, err = e.accept(ln)
			acc <- err
		}()
		if cs.kernel, err = e.kernelDial(!o.kernelNoMPTCP); err != nil {
			e.t.Fatal(err)
		}
		if err := <-acc; err != nil {
			e.t.Fatal(err)
		}
		cs.client, cs.server = cs.kernel, cs.ours
	}
	return cs
}

// kernelMPTCP reports whether the kernel's socket is MPTCP and has not
// fallen back, as the kernel tells (MPTCP_INFO).
func kernelMPTCP(c *net.TCPConn) bool {
	mp, err := c.MultipathTCP()
	return err == nil && mp
}
