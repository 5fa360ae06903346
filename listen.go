package mptcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
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
	// A plain TCP client then has the answer a round trip sooner too: it
	// leaves right after the SYN/ACK. Over MPTCP it leaves once the
	// handshake completes, as from Linux's MPTCP: a Linux client falls
	// back to TCP on data that comes before it has the server's DATA_ACK,
	// so the client's first byte comes no sooner and what is gained is the
	// server's head start (docs/perf.md).
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
	// Every loop listens, so that each takes the connections hashed to
	// it (demux.go): all of them locked, in order, as one.
	s.lk.Lock()
	defer s.lk.Unlock()
	if s.shards[0].drv == nil {
		return nil, ErrNoDriver
	}
	var parts [][]*core.Listener
	if addrs[0].Port() != 0 {
		parts, err = s.listenAll(addrs)
	} else {
		parts, err = s.listenFree(addrs)
	}
	if err != nil {
		return nil, err
	}
	l := &Listener{st: s, addr: parts[0][0].Addr(), signal: make(chan struct{}), keepAlive: lc.keepAlive()}
	for i, ls := range parts {
		sh := s.shards[i]
		l.parts = append(l.parts, listenPart{sh: sh, ls: ls})
		for _, cl := range ls {
			cl.SetNotify(func() { l.notify(sh) })
			if lc.FastOpen {
				cl.SetFastOpen(fastOpenQueue)
			}
		}
	}
	if s.dm != nil {
		for range addrs {
			s.dm.listen(l.addr.Port())
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

// listenAll opens a core listener on each address in every shard, or
// none; every shard's lock is held.
func (s *Stack) listenAll(addrs []netip.AddrPort) ([][]*core.Listener, error) {
	var parts [][]*core.Listener
	for _, sh := range s.shards {
		var ls []*core.Listener
		for _, ap := range addrs {
			cl, err := sh.core.Listen(ap)
			if err != nil {
				parts = append(parts, ls)
				for _, p := range parts {
					for _, l := range p {
						l.Close()
					}
				}
				return nil, err
			}
			ls = append(ls, cl)
		}
		parts = append(parts, ls)
	}
	return parts, nil
}

// The ports port 0 picks from: the upper part of the dynamic range, below
// Linux's default ephemeral ports for outgoing connections.
const (
	firstFreePort = 32768
	lastFreePort  = 60999
)

// listenFree listens on the first port from firstFreePort up that is free
// on every address (the choice is deterministic, for the simulator); every
// shard's lock is held.
func (s *Stack) listenFree(addrs []netip.AddrPort) ([][]*core.Listener, error) {
	for p := firstFreePort; p <= lastFreePort; p++ {
		try := make([]netip.AddrPort, len(addrs))
		for i, ap := range addrs {
			try[i] = netip.AddrPortFrom(ap.Addr(), uint16(p))
		}
		parts, err := s.listenAll(try)
		if !errors.Is(err, tcp.ErrAddrInUse) {
			return parts, err
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
	st    *Stack
	parts []listenPart // one per protocol loop
	addr  netip.AddrPort

	// The fields below are guarded by mu, which a loop takes with its
	// own lock held (notify): never the other way round.
	mu        sync.Mutex
	signal    chan struct{}
	waiters   int
	closed    bool
	deadline  time.Time
	next      int // the part Accept looks at first, for fairness
	keepAlive tcp.KeepAlive
}

// listenPart is a Listener's core listeners in one protocol loop: one,
// or two for dual-stack.
type listenPart struct {
	sh   *shard
	ls   []*core.Listener // guarded by sh.mu
	next int              // the core listener looked at first; sh.mu
}

var _ net.Listener = (*Listener)(nil)

// notify runs on a loop's goroutine with the lock of its shard sh held;
// the waiters wake once a driver's round lets go of it (shard.signal).
func (l *Listener) notify(sh *shard) {
	l.mu.Lock()
	if l.waiters > 0 {
		l.wakeAll(sh)
	}
	l.mu.Unlock()
}

// wakeAll wakes every waiter through sh.signal (nil sh: at once); l.mu
// is held.
func (l *Listener) wakeAll(sh *shard) {
	sh.signal(l.signal)
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
	for {
		l.mu.Lock()
		err := l.check()
		// Waiting from here on: a connection that becomes ready while
		// the loops are looked at closes this signal.
		ch, deadline, first := l.signal, l.deadline, l.next
		l.waiters++
		l.mu.Unlock()
		var c *Conn
		if err == nil {
			c, err = l.acceptReady(first)
		}
		if c == nil && err == nil {
			err = waitSignal(context.Background(), ch, deadline)
		}
		l.mu.Lock()
		l.waiters--
		l.mu.Unlock()
		if c != nil {
			return c, nil
		}
		if err != nil {
			return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: withErrno(err)}
		}
	}
}

// check reports why Accept cannot go on: the listener closed or its
// deadline passed; l.mu is held.
func (l *Listener) check() error {
	if l.closed {
		return net.ErrClosed
	}
	if !l.deadline.IsZero() && !time.Now().Before(l.deadline) {
		return os.ErrDeadlineExceeded
	}
	return nil
}

// acceptReady returns a connection ready to be accepted in any loop,
// starting from part first, or nil.
func (l *Listener) acceptReady(first int) (*Conn, error) {
	for i := range l.parts {
		k := (first + i) % len(l.parts)
		p := &l.parts[k]
		p.sh.mu.Lock()
		cc, err := p.accept()
		var c *Conn
		if cc != nil {
			c = newConn(p.sh, cc)
			cc.SetKeepAlive(l.keepAlive)
		}
		p.sh.mu.Unlock()
		if c != nil {
			l.mu.Lock()
			l.next = k + 1
			l.mu.Unlock()
			return c, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// accept returns a connection ready to be accepted from the part's core
// listeners, or nil; p.sh.mu is held.
func (p *listenPart) accept() (*core.Conn, error) {
	for i := range p.ls {
		k := (p.next + i) % len(p.ls)
		cc, err := p.ls[k].Accept()
		if err == nil {
			p.next = k + 1
			return cc, nil
		}
		if !errors.Is(err, core.ErrWouldBlock) {
			return nil, err
		}
	}
	return nil, nil
}

// SetDeadline sets the deadline of Accept calls, pending ones included; the
// zero time means none.
func (l *Listener) SetDeadline(t time.Time) error {
	l.mu.Lock()
	l.deadline = t
	l.wakeAll(nil)
	l.mu.Unlock()
	return nil
}

// Close stops listening; connections not yet accepted are reset and a
// blocked Accept returns net.ErrClosed.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return &net.OpError{Op: "close", Net: "tcp", Addr: l.Addr(), Err: net.ErrClosed}
	}
	l.closed = true
	l.mu.Unlock()
	var err error
	for _, p := range l.parts {
		p.sh.mu.Lock()
		for _, cl := range p.ls {
			err = errors.Join(err, cl.Close())
		}
		p.sh.mu.Unlock()
		p.sh.wake()
	}
	if dm := l.st.dm; dm != nil {
		for range l.parts[0].ls {
			dm.unlisten(l.addr.Port())
		}
	}
	l.mu.Lock()
	l.wakeAll(nil)
	l.mu.Unlock()
	return err
}

// Addr returns the listening address ("[::]:port" for a dual-stack
// listener, as with the net package).
func (l *Listener) Addr() net.Addr { return net.TCPAddrFromAddrPort(l.addr) }

type tcpAddrString string

func (a tcpAddrString) Network() string { return "tcp" }
func (a tcpAddrString) String() string  { return string(a) }
