package tcp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// ListenConfig configures a listener.
type ListenConfig struct {
	// Hooks decide each SYN and give accepted connections their hooks.
	Hooks ListenHooks
	// Options override the stack's defaults for accepted connections.
	Options Options
	// Backlog bounds the half-open connections and, separately, the
	// accept queue (0: the stack's Config.Backlog).
	Backlog int
	// Notify is called when a connection is ready for Accept, and when the
	// listener closes.
	Notify func(l *Listener, now time.Time)
	// FastOpenQueue enables TCP Fast Open (RFC 7413) on the listener, as
	// Linux's TCP_FASTOPEN socket option: it bounds the connections whose
	// SYN data was taken and whose handshake is not complete yet (Linux's
	// max_qlen). 0 disables Fast Open: SYN data waits for the handshake.
	FastOpenQueue int
}

// Listener accepts connections on a local address and port (the address
// may be unspecified to accept on all of the stack's addresses).
type Listener struct {
	stack    *Stack
	addr     netip.AddrPort
	cfg      ListenConfig
	opts     Options
	backlog  int
	halfOpen []*Conn // connections in SYN-RECEIVED, oldest first
	acceptQ  []*Conn
	closed   bool
	queued   bool

	tfoPending int // Fast Open connections in SYN-RECEIVED (fastopen.go)
}

// Listen starts accepting connections on addr.
func (s *Stack) Listen(addr netip.AddrPort, cfg *ListenConfig) (*Listener, error) {
	if cfg == nil {
		cfg = &ListenConfig{}
	}
	a := addr.Addr().Unmap()
	if addr.Port() == 0 || !a.IsValid() {
		return nil, fmt.Errorf("%w: listen on %v", ErrInvalid, addr)
	}
	if !a.IsUnspecified() && !s.owns(a) {
		return nil, fmt.Errorf("%w: %v is not a local address", ErrAddrNotAvailable, a)
	}
	addr = netip.AddrPortFrom(a, addr.Port())
	if _, busy := s.listeners[addr]; busy {
		return nil, fmt.Errorf("%w: listener on %v", ErrAddrInUse, addr)
	}
	opts, err := cfg.Options.merge(&s.cfg.Options, false)
	if err != nil {
		return nil, err
	}
	if err := checkCC(opts.CongestionControl); err != nil {
		return nil, err
	}
	l := &Listener{stack: s, addr: addr, cfg: *cfg, opts: opts, backlog: cfg.Backlog}
	if l.backlog <= 0 {
		l.backlog = s.cfg.Backlog
	}
	s.listeners[addr] = l
	return l, nil
}

// listenerFor finds the listener for a local address and port: an exact
// match first, then a wildcard of the same family.
func (s *Stack) listenerFor(local netip.AddrPort) *Listener {
	if l := s.listeners[local]; l != nil {
		return l
	}
	any := netip.IPv4Unspecified()
	if !local.Addr().Is4() {
		any = netip.IPv6Unspecified()
	}
	return s.listeners[netip.AddrPortFrom(any, local.Port())]
}

// Addr returns the listener's address.
func (l *Listener) Addr() netip.AddrPort { return l.addr }

// Pending returns the connections waiting for Accept.
func (l *Listener) Pending() int { return len(l.acceptQ) }

// HalfOpen returns the connections in SYN-RECEIVED.
func (l *Listener) HalfOpen() int { return len(l.halfOpen) }

// Accept returns the next established connection, or ErrWouldBlock when
// none is waiting (Notify says when one is), or ErrClosed.
func (l *Listener) Accept() (*Conn, error) {
	if l.closed {
		return nil, ErrClosed
	}
	for len(l.acceptQ) > 0 {
		c := l.acceptQ[0]
		copy(l.acceptQ, l.acceptQ[1:])
		l.acceptQ[len(l.acceptQ)-1] = nil
		l.acceptQ = l.acceptQ[:len(l.acceptQ)-1]
		c.listener = nil
		if c.state != StateClosed || c.rb.buffered() > 0 {
			return c, nil
		}
	}
	return nil, ErrWouldBlock
}

// Close stops listening and resets the connections not yet accepted, as
// Linux does when a listening socket closes.
func (l *Listener) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	s := l.stack
	if s.listeners[l.addr] == l {
		delete(s.listeners, l.addr)
	}
	for _, c := range l.acceptQ {
		c.listener = nil
		c.appClosed = true
		c.reset(ErrConnectionAborted)
	}
	l.acceptQ = nil
	for _, c := range l.halfOpen {
		c.listener = nil
		c.appClosed = true
		c.reset(ErrConnectionAborted)
	}
	l.halfOpen = nil
	l.notify()
	return nil
}

func (l *Listener) notify() {
	s := l.stack
	if !l.queued {
		l.queued = true
		s.lnotify = append(s.lnotify, l)
	}
}

// forget drops a connection that closed, in state prev, before being
// accepted.
func (l *Listener) forget(c *Conn, prev State) {
	if prev == StateSynReceived {
		l.removeHalfOpen(c)
		return
	}
	for i, x := range l.acceptQ {
		if x == c && c.err != nil {
			l.acceptQ = append(l.acceptQ[:i], l.acceptQ[i+1:]...)
			break
		}
	}
}

// removeHalfOpen takes c off the half-open list.
func (l *Listener) removeHalfOpen(c *Conn) {
	for i, x := range l.halfOpen {
		if x == c {
			l.halfOpen = append(l.halfOpen[:i], l.halfOpen[i+1:]...)
			return
		}
	}
}

// input handles a segment for no connection on a listening port (RFC
// 9293 section 3.10.7.2).
func (l *Listener) input(g *inSeg) {
	s := l.stack
	switch {
	case g.has(wire.FlagRST):
		return
	case g.has(wire.FlagACK):
		if !g.has(wire.FlagSYN) && s.cookiesActive() && l.cookieACK(g) {
			return
		}
		s.stats.NoPort++
		s.replyRST(g, nil)
	case g.has(wire.FlagSYN):
		if g.has(wire.FlagFIN) {
			return // SYN+FIN: nonsense, dropped as Linux does
		}
		l.syn(g)
	}
}

// syn handles a SYN: a new half-open connection, or a SYN cookie when the
// half-open queue is full.
func (l *Listener) syn(g *inSeg) {
	s := l.stack
	if l.usesAcceptQueue() && len(l.acceptQ) >= l.backlog {
		s.stats.ListenOverflows++
		s.stats.ListenDrops++
		return
	}
	if len(l.halfOpen) >= l.backlog {
		if s.cfg.DisableSYNCookies {
			s.stats.ListenDrops++
			return
		}
		l.sendCookie(g)
		return
	}
	var hooks Hooks
	if l.cfg.Hooks != nil {
		req := Request{Local: g.local, Remote: g.remote, Options: g.opts}
		h, err := l.cfg.Hooks.SYN(s.nowWall, &req)
		if err != nil {
			if !errors.Is(err, ErrDrop) {
				s.replyRST(g, h)
			}
			s.stats.ListenDrops++
			return
		}
		hooks = h
	}
	c := s.newConn(g.local, g.remote, l.opts, hooks)
	c.viaHooks = hooks != nil
	c.listener = l
	c.irs = g.seq
	c.applySYNOptions(g.opts)
	c.rcvAdvRight = 0 // set when the SYN/ACK announces it
	c.state = StateSynReceived
	c.synPending = true
	took := l.fastOpenSYN(c, g)
	if c.tfoCookie && hooks != nil {
		// The layer above adds its own SYN/ACK options (MP_CAPABLE's 12
		// bytes): beside the cookie, timestamps would leave no room, and
		// they are the ones to go (RFC 8684 appendix B.1, as Linux).
		c.tsOK = false
	}
	s.conns[tuple{g.local, g.remote}] = c
	s.markDirty(c)
	if took && l.usesAcceptQueue() {
		// The SYN's data is readable now: the application gets the
		// connection a round trip before the handshake completes, as
		// Linux's Fast Open listener gives it.
		c.tfoQueued = true
		l.acceptQ = append(l.acceptQ, c)
		l.notify()
		return
	}
	l.halfOpen = append(l.halfOpen, c)
	if took {
		// Hooks that own the connection learn of the data now, a round
		// trip before EventEstablished.
		s.notify(c, EventReadable)
	}
}

// usesAcceptQueue reports whether connections wait in the accept queue (no
// hooks to hand them to).
func (l *Listener) usesAcceptQueue() bool { return l.cfg.Hooks == nil }
