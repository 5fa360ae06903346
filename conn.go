package mptcp

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// Conn is an MPTCP connection: a net.Conn whose bytes may travel over
// several paths. It also has CloseWrite, as *net.TCPConn does, and Info.
type Conn struct {
	s *Stack
	c *core.Conn // guarded by s.mu

	// The fields below are guarded by s.mu.
	signal        chan struct{} // closed and replaced when the core notifies
	waiters       int
	readDeadline  time.Time
	writeDeadline time.Time
	closed        bool
}

var _ net.Conn = (*Conn)(nil)

// newConn wraps cc; s.mu is held.
func newConn(s *Stack, cc *core.Conn) *Conn {
	c := &Conn{s: s, c: cc, signal: make(chan struct{})}
	cc.SetNotify(c.notify)
	return c
}

// notify runs on the driver's goroutine with s.mu held.
func (c *Conn) notify() {
	if c.waiters > 0 {
		close(c.signal)
		c.signal = make(chan struct{})
	}
}

// wait releases s.mu until the core notifies, the deadline passes or ctx
// is done, and takes it again. It reports why it returned.
func (c *Conn) wait(ctx context.Context, deadline time.Time) error {
	ch := c.signal
	c.waiters++
	c.s.mu.Unlock()
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			c.s.mu.Lock()
			c.waiters--
			return os.ErrDeadlineExceeded
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	var err error
	select {
	case <-ch:
	case <-timeout:
		err = os.ErrDeadlineExceeded
	case <-ctx.Done():
		err = ctx.Err()
	}
	c.s.mu.Lock()
	c.waiters--
	return err
}

// waitEstablished blocks until the handshake completes or fails.
func (c *Conn) waitEstablished(ctx context.Context) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	deadline, _ := ctx.Deadline()
	for {
		switch c.c.State() {
		case core.StateEstablished:
			return nil
		case core.StateClosed:
			if err := c.c.Err(); err != nil {
				return err
			}
			return core.ErrConnectionReset
		}
		if err := c.wait(ctx, deadline); err != nil {
			c.c.Abort()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = context.DeadlineExceeded
			}
			return err
		}
	}
}

func (c *Conn) opError(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &net.OpError{Op: op, Net: "mptcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// Read reads data from the connection, blocking until some arrives, the
// peer closes its direction (io.EOF), or the read deadline passes.
func (c *Conn) Read(p []byte) (int, error) {
	s := c.s
	s.mu.Lock()
	for {
		if c.closed {
			s.mu.Unlock()
			return 0, c.opError("read", net.ErrClosed)
		}
		if len(p) == 0 {
			s.mu.Unlock()
			return 0, nil
		}
		n, err := c.c.Read(p)
		if n > 0 || !errors.Is(err, core.ErrWouldBlock) {
			s.mu.Unlock()
			if n > 0 {
				// Reading opened the receive window: let the stack tell
				// the peer.
				s.wake()
				return n, nil
			}
			return 0, c.opError("read", err)
		}
		if err := c.wait(context.Background(), c.readDeadline); err != nil {
			s.mu.Unlock()
			return 0, c.opError("read", err)
		}
	}
}

// Write writes p to the connection, blocking while the send buffer is
// full, until all of p is queued or the write deadline passes.
func (c *Conn) Write(p []byte) (int, error) {
	s := c.s
	s.mu.Lock()
	written := 0
	for {
		if c.closed {
			s.mu.Unlock()
			return written, c.opError("write", net.ErrClosed)
		}
		n, err := c.c.Write(p[written:])
		written += n
		if err != nil {
			s.mu.Unlock()
			return written, c.opError("write", err)
		}
		if n > 0 {
			s.mu.Unlock()
			s.wake()
			if written == len(p) {
				return written, nil
			}
			s.mu.Lock()
			continue
		}
		if written == len(p) {
			s.mu.Unlock()
			return written, nil
		}
		if err := c.wait(context.Background(), c.writeDeadline); err != nil {
			s.mu.Unlock()
			return written, c.opError("write", err)
		}
	}
}

// CloseWrite shuts down the sending side: the peer reads io.EOF after the
// data already written (a DATA_FIN).
func (c *Conn) CloseWrite() error {
	c.s.mu.Lock()
	err := c.c.CloseWrite()
	c.s.mu.Unlock()
	c.s.wake()
	return c.opError("close", err)
}

// Close closes the connection. Data already written is still delivered;
// blocked Read and Write calls return net.ErrClosed.
func (c *Conn) Close() error {
	s := c.s
	s.mu.Lock()
	if c.closed {
		s.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	c.closed = true
	_ = c.c.Close()
	c.notifyAll()
	s.mu.Unlock()
	s.wake()
	return nil
}

// Abort resets the connection at once (MP_FASTCLOSE, or a RST for a
// plain TCP peer); unsent and unacknowledged data is lost.
func (c *Conn) Abort() {
	s := c.s
	s.mu.Lock()
	c.closed = true
	c.c.Abort()
	c.notifyAll()
	s.mu.Unlock()
	s.wake()
}

// notifyAll wakes every waiter, whatever the core said; s.mu is held.
func (c *Conn) notifyAll() {
	close(c.signal)
	c.signal = make(chan struct{})
}

// LocalAddr returns the local address of the initial subflow.
func (c *Conn) LocalAddr() net.Addr { return net.TCPAddrFromAddrPort(c.c.LocalAddr()) }

// RemoteAddr returns the remote address of the initial subflow.
func (c *Conn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.c.RemoteAddr()) }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.s.mu.Lock()
	c.readDeadline, c.writeDeadline = t, t
	c.notifyAll()
	c.s.mu.Unlock()
	return nil
}

// SetReadDeadline sets the deadline for Read calls, pending ones included.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.s.mu.Lock()
	c.readDeadline = t
	c.notifyAll()
	c.s.mu.Unlock()
	return nil
}

// SetWriteDeadline sets the deadline for Write calls, pending ones included.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.s.mu.Lock()
	c.writeDeadline = t
	c.notifyAll()
	c.s.mu.Unlock()
	return nil
}

// ConnInfo describes a connection: state, policies, and each subflow's
// addresses, RTT, window and byte counts.
type ConnInfo = core.ConnInfo

// Info returns a snapshot of the connection's state.
func (c *Conn) Info() ConnInfo {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.c.Info()
}
