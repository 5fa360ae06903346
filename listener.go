package mptcp

import (
	"errors"
	"net"

	"github.com/mptcp-go/mptcp/core"
)

// Listener accepts MPTCP connections, and plain TCP ones from peers
// without MPTCP. It implements net.Listener.
type Listener struct {
	s *Stack
	l *core.Listener // guarded by s.mu

	signal  chan struct{}
	waiters int
	closed  bool
}

var _ net.Listener = (*Listener)(nil)

func newListener(s *Stack, cl *core.Listener) *Listener {
	l := &Listener{s: s, l: cl, signal: make(chan struct{})}
	cl.SetNotify(l.notify)
	return l
}

func (l *Listener) notify() {
	if l.waiters > 0 {
		close(l.signal)
		l.signal = make(chan struct{})
	}
}

// Accept waits for the next connection.
func (l *Listener) Accept() (net.Conn, error) { return l.AcceptMPTCP() }

// AcceptMPTCP is Accept returning the concrete type.
func (l *Listener) AcceptMPTCP() (*Conn, error) {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if l.closed {
			return nil, &net.OpError{Op: "accept", Net: "mptcp", Addr: l.Addr(), Err: net.ErrClosed}
		}
		cc, err := l.l.Accept()
		if err == nil {
			return newConn(s, cc), nil
		}
		if !errors.Is(err, core.ErrWouldBlock) {
			return nil, &net.OpError{Op: "accept", Net: "mptcp", Addr: l.Addr(), Err: err}
		}
		ch := l.signal
		l.waiters++
		s.mu.Unlock()
		<-ch
		s.mu.Lock()
		l.waiters--
	}
}

// Close stops listening; connections not yet accepted are reset and a
// blocked Accept returns net.ErrClosed.
func (l *Listener) Close() error {
	s := l.s
	s.mu.Lock()
	if l.closed {
		s.mu.Unlock()
		return &net.OpError{Op: "close", Net: "mptcp", Addr: l.Addr(), Err: net.ErrClosed}
	}
	l.closed = true
	err := l.l.Close()
	close(l.signal)
	l.signal = make(chan struct{})
	s.mu.Unlock()
	s.wake()
	return err
}

// Addr returns the listening address.
func (l *Listener) Addr() net.Addr { return net.TCPAddrFromAddrPort(l.l.Addr()) }
