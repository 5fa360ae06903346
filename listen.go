package mptcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/tcp"
)

// ListenConfig holds the options for listening on a Stack, as
// net.ListenConfig does for the host's.
type ListenConfig struct {
	// Stack is the stack to listen on. Required.
	Stack *Stack

	// KeepAlive is the keepalive period of accepted connections: zero
	// takes the default (15 s), a negative value turns keepalive off,
	// unless KeepAliveConfig.Enable is set, which then rules.
	KeepAlive       time.Duration
	KeepAliveConfig net.KeepAliveConfig

	// FastOpen takes the data of SYNs that carry a valid TCP Fast Open
	// cookie (RFC 7413; with MPTCP, RFC 8684 appendix B), as Linux's
	// TCP_FASTOPEN socket option: the request reaches the application a
	// round trip earlier. Clients without a cookie get one. The data of a
	// SYN can be a replay: use it for requests that are safe to repeat.
	FastOpen bool
}

// fastOpenQueue bounds the connections of a FastOpen listener whose SYN
// data was taken before their handshake completed (Linux's max_qlen; the
// value applications commonly give TCP_FASTOPEN).
const fastOpenQueue = 256

// Listen listens on address over network "tcp", "tcp4" or "tcp6", as
// net.ListenConfig.Listen does: an empty or wildcard host with "tcp"
// accepts IPv4 and IPv6 connections (and joins of either family); "tcp4"
// and "tcp6" take one family. A host name is resolved to its first
// address. Port 0 picks a free port (Addr tells which).
func (lc *ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	l, err := lc.listen(ctx, network, address)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: tcpAddrString(address), Err: withErrno(err)}
	}
	return l, nil
}

func (lc *ListenConfig) listen(ctx context.Context, network, address string) (*Listener, error) {
	s := lc.Stack
	if s == nil {
		return nil, errors.New("mptcp: ListenConfig has no Stack")
	}
	addrs, err := listenAddrs(ctx, network, address)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drv == nil {
		return nil, ErrNoDriver
	}
	var ls []*core.Listener
	if addrs[0].Port() != 0 {
		ls, err = s.listenAll(addrs)
	} else {
		ls, err = s.listenFree(addrs)
	}
	if err != nil {
		return nil, err
	}
	l := &Listener{s: s, ls: ls, signal: make(chan struct{}), keepAlive: lc.keepAlive()}
	for _, cl := range ls {
		cl.SetNotify(l.notify)
		if lc.FastOpen {
			cl.SetFastOpen(fastOpenQueue)
		}
	}
	return l, nil
}

// keepAlive is the keepalive of accepted connections.
func (lc *ListenConfig) keepAlive() tcp.KeepAlive {
	return keepAlive(acceptKeepAlive(lc.KeepAlive, lc.KeepAliveConfig))
}

// acceptKeepAlive applies the net package's rules for a KeepAlive period
// beside a KeepAliveConfig.
func acceptKeepAlive(period time.Duration, cfg net.KeepAliveConfig) net.KeepAliveConfig {
	if cfg.Enable {
		return cfg
	}
	if period < 0 {
		return net.KeepAliveConfig{}
	}
	return net.KeepAliveConfig{Enable: true, Idle: period, Interval: period}
}

// listenAll opens a core listener on each address, or none; s.mu is held.
func (s *Stack) listenAll(addrs []netip.AddrPort) ([]*core.Listener, error) {
	var ls []*core.Listener
	for _, ap := range addrs {
		cl, err := s.core.Listen(ap)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, err
		}
		ls = append(ls, cl)
	}
	return ls, nil
}

// The ports port 0 picks from: the upper part of the dynamic range, below
// Linux's default ephemeral ports for outgoing connections.
const (
	firstFreePort = 32768
	lastFreePort  = 60999
)

// listenFree listens on the first port from firstFreePort up that is free
// on every address (the choice is deterministic, for the simulator); s.mu
// is held.
func (s *Stack) listenFree(addrs []netip.AddrPort) ([]*core.Listener, error) {
	for p := firstFreePort; p <= lastFreePort; p++ {
		try := make([]netip.AddrPort, len(addrs))
		for i, ap := range addrs {
			try[i] = netip.AddrPortFrom(ap.Addr(), uint16(p))
		}
		ls, err := s.listenAll(try)
		if !errors.Is(err, tcp.ErrAddrInUse) {
			return ls, err
		}
	}
	return nil, fmt.Errorf("no free port: %w", tcp.ErrAddrInUse)
}

// listenAddrs returns the addresses to listen on: two wildcards for a
// dual-stack listener (IPv6 first, as its Addr), else one.
func listenAddrs(ctx context.Context, network, address string) ([]netip.AddrPort, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, net.UnknownNetworkError(network)
	}
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	port, err := lookupPort(ctx, nil, network, portStr)
	if err != nil {
		return nil, err
	}
	var a netip.Addr
	if host != "" {
		ips, err := resolve(ctx, nil, network, host)
		if err != nil {
			return nil, err
		}
		a = ips[0]
	}
	if !a.IsValid() || a.IsUnspecified() {
		v4 := netip.AddrPortFrom(netip.IPv4Unspecified(), port)
		v6 := netip.AddrPortFrom(netip.IPv6Unspecified(), port)
		switch network {
		case "tcp4":
			return []netip.AddrPort{v4}, nil
		case "tcp6":
			return []netip.AddrPort{v6}, nil
		}
		return []netip.AddrPort{v6, v4}, nil
	}
	return []netip.AddrPort{netip.AddrPortFrom(a, port)}, nil
}

// lookupPort reads a port number or service name.
func lookupPort(ctx context.Context, r *net.Resolver, network, port string) (uint16, error) {
	if n, err := strconv.ParseUint(port, 10, 16); err == nil {
		return uint16(n), nil
	}
	if r == nil {
		r = net.DefaultResolver
	}
	n, err := r.LookupPort(ctx, network, port)
	if err != nil {
		return 0, err
	}
	return uint16(n), nil
}

// Listener accepts MPTCP connections, and plain TCP ones from peers
// without MPTCP. It implements net.Listener.
type Listener struct {
	s  *Stack
	ls []*core.Listener // guarded by s.mu; one, or two for dual-stack

	// The fields below are guarded by s.mu.
	signal    chan struct{}
	waiters   int
	closed    bool
	deadline  time.Time
	next      int // the core listener Accept looks at first, for fairness
	keepAlive tcp.KeepAlive
}

var _ net.Listener = (*Listener)(nil)

// notify runs on the driver's goroutine with s.mu held.
func (l *Listener) notify() {
	if l.waiters > 0 {
		l.wakeAll()
	}
}

// wakeAll wakes every waiter; s.mu is held.
func (l *Listener) wakeAll() {
	close(l.signal)
	l.signal = make(chan struct{})
}

// Accept waits for the next connection, until Close or the deadline.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.AcceptMPTCP()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptMPTCP is Accept returning the concrete type, as
// net.TCPListener.AcceptTCP does.
func (l *Listener) AcceptMPTCP() (*Conn, error) {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		cc, err := l.acceptReady()
		if cc != nil {
			c := newConn(s, cc)
			cc.SetKeepAlive(l.keepAlive)
			return c, nil
		}
		if err == nil {
			err = l.wait()
		}
		if err != nil {
			return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: withErrno(err)}
		}
	}
}

// acceptReady returns a connection ready to be accepted, or nil; s.mu is
// held.
func (l *Listener) acceptReady() (*core.Conn, error) {
	if l.closed {
		return nil, net.ErrClosed
	}
	if !l.deadline.IsZero() && !time.Now().Before(l.deadline) {
		return nil, os.ErrDeadlineExceeded
	}
	for i := range l.ls {
		k := (l.next + i) % len(l.ls)
		cc, err := l.ls[k].Accept()
		if err == nil {
			l.next = k + 1
			return cc, nil
		}
		if !errors.Is(err, core.ErrWouldBlock) {
			return nil, err
		}
	}
	return nil, nil
}

// wait releases s.mu until a listener notifies, Close or SetDeadline is
// called, or the deadline passes, and takes it again.
func (l *Listener) wait() error {
	ch, deadline := l.signal, l.deadline
	l.waiters++
	l.s.mu.Unlock()
	err := waitSignal(context.Background(), ch, deadline)
	l.s.mu.Lock()
	l.waiters--
	return err
}

// SetDeadline sets the deadline of Accept calls, pending ones included; the
// zero time means none.
func (l *Listener) SetDeadline(t time.Time) error {
	l.s.mu.Lock()
	l.deadline = t
	l.wakeAll()
	l.s.mu.Unlock()
	return nil
}

// Close stops listening; connections not yet accepted are reset and a
// blocked Accept returns net.ErrClosed.
func (l *Listener) Close() error {
	s := l.s
	s.mu.Lock()
	if l.closed {
		s.mu.Unlock()
		return &net.OpError{Op: "close", Net: "tcp", Addr: l.Addr(), Err: net.ErrClosed}
	}
	l.closed = true
	var err error
	for _, cl := range l.ls {
		err = errors.Join(err, cl.Close())
	}
	l.wakeAll()
	s.mu.Unlock()
	s.wake()
	return err
}

// Addr returns the listening address ("[::]:port" for a dual-stack
// listener, as with the net package).
func (l *Listener) Addr() net.Addr { return net.TCPAddrFromAddrPort(l.ls[0].Addr()) }

type tcpAddrString string

func (a tcpAddrString) Network() string { return "tcp" }
func (a tcpAddrString) String() string  { return string(a) }
