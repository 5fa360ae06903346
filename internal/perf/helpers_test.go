package perf

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"
)

// pipeNet is an in-memory network: Dial returns one end of a net.Pipe
// and its Listener accepts the other.
type pipeNet struct {
	conns  chan net.Conn
	done   chan struct{}
	once   sync.Once
	server func(net.Conn) net.Conn // wraps the server's end, if set
}

func newPipeNet() *pipeNet {
	return &pipeNet{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (n *pipeNet) Dial(ctx context.Context) (net.Conn, error) {
	c, s := net.Pipe()
	if n.server != nil {
		s = n.server(s)
	}
	select {
	case n.conns <- s:
		return c, nil
	case <-n.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (n *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-n.conns:
		return c, nil
	case <-n.done:
		return nil, net.ErrClosed
	}
}

func (n *pipeNet) Close() error {
	n.once.Do(func() { close(n.done) })
	return nil
}

func (n *pipeNet) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// serveOne runs a server for one test in the background.
func serveOne(t *testing.T, s *Server, ln net.Listener) <-chan serverResult {
	t.Helper()
	ch := make(chan serverResult, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	go func() {
		rep, err := s.ServeOne(ctx, ln)
		ch <- serverResult{rep, err}
	}()
	return ch
}

type serverResult struct {
	rep *Report
	err error
}

// corruptConn flips one byte of what it reads at offset at.
type corruptConn struct {
	net.Conn
	at, off int64
}

func (c *corruptConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.at >= c.off && c.at < c.off+int64(n) {
		p[c.at-c.off] ^= 0x40
	}
	c.off += int64(n)
	return n, err
}

// deafConn stops reading after the hello of a data connection: a peer
// whose receiver hangs. Control connections work.
type deafConn struct {
	net.Conn
	deaf   bool
	closed chan struct{}
	once   sync.Once
}

func newDeafConn(c net.Conn) net.Conn { return &deafConn{Conn: c, closed: make(chan struct{})} }

func (c *deafConn) Read(p []byte) (int, error) {
	if c.deaf {
		<-c.closed
		return 0, net.ErrClosed
	}
	n, err := c.Conn.Read(p)
	if n >= helloLen && string(p[:len(magic)]) == magic && p[len(magic)+1] == kindData {
		c.deaf = true
	}
	return n, err
}

func (c *deafConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
