package core

import (
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/tcp"
	"github.com/mptcp-go/mptcp/wire"
)

// Listener accepts MPTCP connections on one address and port. Joins
// (MP_JOIN SYNs) that arrive on it are attached to their connections and
// never appear in Accept; plain TCP clients are accepted as connections
// that fell back.
type Listener struct {
	stack    *Stack
	addr     netip.AddrPort
	tl       *tcp.Listener
	joinOnly bool // an announced port: MP_JOIN only
	queue    []*Conn
	closed   bool
	notify   func()
}

// Addr returns the address the listener listens on.
func (l *Listener) Addr() netip.AddrPort { return l.addr }

// Accept returns the next established connection, or ErrWouldBlock.
func (l *Listener) Accept() (*Conn, error) {
	if l.closed {
		return nil, ErrClosed
	}
	for len(l.queue) > 0 {
		c := l.queue[0]
		l.queue[0] = nil
		l.queue = l.queue[1:]
		c.listener = nil
		if c.state == StateClosed && c.rcv.buffered() == 0 {
			continue // died before it was accepted
		}
		return c, nil
	}
	return nil, ErrWouldBlock
}

// Ready returns the number of connections waiting for Accept.
func (l *Listener) Ready() int { return len(l.queue) }

// SetNotify installs f, called (from the goroutine driving the stack,
// after it finished its work) whenever a connection becomes ready for
// Accept.
func (l *Listener) SetNotify(f func()) { l.notify = f }

// Close stops listening. Connections not yet accepted are aborted.
func (l *Listener) Close() error {
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	if l.tl != nil {
		l.tl.Close()
	}
	delete(l.stack.listeners, l.addr)
	for _, o := range l.stack.cfg.ListenerObservers {
		o.ListenerClosed(l.stack.now, l.addr)
	}
	l.stack.emitListener(EventListenerClosed, l.addr)
	for _, c := range l.queue {
		c.Abort()
	}
	l.queue = nil
	return nil
}

func (l *Listener) tcpNotify(*tcp.Listener, time.Time) {}

// enqueue makes c available to Accept.
func (l *Listener) enqueue(c *Conn) {
	if l.closed {
		c.Abort()
		return
	}
	l.queue = append(l.queue, c)
	if f := l.notify; f != nil {
		l.stack.notifyQ = append(l.stack.notifyQ, notification{f: f})
	}
}

// SYN implements tcp.ListenHooks: it decides, from its options, what an
// incoming SYN opens: a new MPTCP connection, a subflow of an existing
// one, or a plain TCP connection.
func (l *Listener) SYN(now time.Time, req *tcp.Request) (tcp.Hooks, error) {
	s := l.stack
	s.now = now
	mp := &req.Options.MPTCP
	if req.Cookie {
		return l.cookie(now, req)
	}
	switch {
	case mp.Has(wire.SubtypeMPJoin) && mp.Join.Form == wire.MPJoinSYN:
		return s.joinRequest(now, req, l)
	case mp.Has(wire.SubtypeMPCapable) && mp.Capable.Form == wire.MPCapableSYN:
		if !l.takesCapable() {
			return nil, tcp.ErrDrop
		}
		return l.capableRequest(now, req)
	}
	if l.joinOnly {
		return nil, tcp.ErrDrop
	}
	return l.plainRequest(now, req)
}

// capableRequest starts a server-side MPTCP connection.
func (l *Listener) capableRequest(now time.Time, req *tcp.Request) (tcp.Hooks, error) {
	s := l.stack
	cap := &req.Options.MPTCP.Capable
	if s.cfg.DisableMPTCP || !capableUnderstood(cap) {
		// RFC 8684 section 3.1: a version-0 request (or one without an
		// algorithm we know, or with the B flag) is answered as plain TCP.
		return l.plainRequest(now, req)
	}
	c, err := newConn(s, true, ConnOptions{})
	if err != nil {
		return nil, err
	}
	ks, err := s.tokens.newKey(s.rand, c)
	if err != nil {
		s.mib.Inc(MPFallbackTokenInit)
		return l.plainRequest(now, req)
	}
	c.setLocalKeys(ks)
	c.csum = s.cfg.Checksum || cap.Flags&wire.MPCapableChecksum != 0
	sf := c.newSubflow(true, false)
	sf.requestMPC = true
	l.adopt(c, req)
	return sf, nil
}

// plainRequest accepts a SYN without MPTCP as a connection that fell
// back from the start.
func (l *Listener) plainRequest(now time.Time, req *tcp.Request) (tcp.Hooks, error) {
	c, err := newConn(l.stack, true, ConnOptions{})
	if err != nil {
		return nil, err
	}
	c.earlyFallback()
	sf := c.newSubflow(true, false)
	l.adopt(c, req)
	return sf, nil
}

// takesCapable counts an MP_CAPABLE SYN and reports whether the listener
// takes it: a port announced for joins takes no new connection, as the
// kernel refuses MP_CAPABLE on a port-based endpoint.
func (l *Listener) takesCapable() bool {
	mib := &l.stack.mib
	mib.Inc(MPCapableSYNRX)
	if l.joinOnly {
		mib.Inc(MPCapableEndpAttempt)
		return false
	}
	return true
}

// CookieSYN implements tcp.CookieHooks: a SYN the listener answers with
// a SYN cookie, its half-open queue full. MPTCP survives the cookie as
// on Linux (subflow_check_req with req->syncookie): an MP_CAPABLE SYN gets
// MP_CAPABLE on the SYN/ACK with a fresh key, kept nowhere, since the
// third ACK carries both keys back (RFC 8684 section 3.1) and cookie
// completes the connection from them. A join is admitted or refused as
// without cookies, and an admitted one keeps its nonces in the stack's
// join-cookie table until its third ACK returns (joinCookieSYN).
func (l *Listener) CookieSYN(now time.Time, req *tcp.Request, b *wire.OptionBuilder) (tcp.Hooks, error) {
	s := l.stack
	s.now = now
	mp := &req.Options.MPTCP
	switch {
	case mp.Has(wire.SubtypeMPJoin) && mp.Join.Form == wire.MPJoinSYN:
		return s.joinCookieSYN(now, req, b)
	case mp.Has(wire.SubtypeMPCapable) && mp.Capable.Form == wire.MPCapableSYN:
		if !l.takesCapable() {
			return nil, tcp.ErrDrop
		}
		if s.cfg.DisableMPTCP || !capableUnderstood(&mp.Capable) {
			return nil, nil
		}
		// The key is kept nowhere: its token is only checked to be
		// unused now, as the third ACK's reserve checks it again.
		if ks, ok := s.tokens.draw(s.rand); ok {
			flags := wire.MPCapableHMACSHA256
			if s.cfg.Checksum || mp.Capable.Flags&wire.MPCapableChecksum != 0 {
				flags |= wire.MPCapableChecksum
			}
			if s.cfg.DenyJoinInitial {
				flags |= wire.MPCapableDenyJoinID0
			}
			_ = b.AddMPCapable(&wire.MPCapable{Form: wire.MPCapableSYNACK, Version: wire.MPTCPVersion,
				Flags: flags, SenderKey: ks.key})
			return nil, nil
		}
		s.mib.Inc(MPFallbackTokenInit)
	}
	if l.joinOnly {
		return nil, tcp.ErrDrop
	}
	return nil, nil
}

// cookie handles a handshake completed by a SYN cookie. An ACK carrying
// the MP_CAPABLE third ACK brings back the key our cookie SYN/ACK offered
// (as receiver's key) and the client's: the connection is MPTCP, as if
// the SYN had been kept (the kernel's mptcp_subflow_init_cookie_req). An
// ACK carrying MP_JOIN completes a join from the join-cookie table;
// anything else is plain TCP.
func (l *Listener) cookie(now time.Time, req *tcp.Request) (tcp.Hooks, error) {
	mp := &req.Options.MPTCP
	s := l.stack
	if mp.Has(wire.SubtypeMPJoin) {
		return s.joinCookieACK(now, req)
	}
	if l.joinOnly {
		return nil, tcp.ErrDrop
	}
	cap := &mp.Capable
	if s.cfg.DisableMPTCP || !mp.Has(wire.SubtypeMPCapable) || cap.Form == wire.MPCapableSYN ||
		cap.SenderKey == 0 || cap.ReceiverKey == 0 || !capableUnderstood(cap) {
		return l.plainRequest(now, req)
	}
	c, err := newConn(s, true, ConnOptions{})
	if err != nil {
		return nil, err
	}
	ks := newKeys(cap.ReceiverKey)
	if s.connByToken(ks.token) != nil || !s.tokens.reserve(ks.token, c) {
		// The token was taken since the SYN/ACK: no MPTCP (the kernel
		// fails the request).
		s.mib.Inc(MPFallbackTokenInit)
		return l.plainRequest(now, req)
	}
	c.setLocalKeys(ks)
	c.csum = s.cfg.Checksum || cap.Flags&wire.MPCapableChecksum != 0
	s.mib.Inc(MPCapableSYNCookie)
	sf := c.newSubflow(true, false)
	sf.requestMPC = true
	l.adopt(c, req)
	return sf, nil
}

func (l *Listener) adopt(c *Conn, req *tcp.Request) {
	s := l.stack
	c.listener = l
	c.initialLocal, c.initialRemote = req.Local, req.Remote
	if id, ok := s.localID(req.Local.Addr()); ok {
		c.initialLocalStackID = id
	}
	c.remotes = append(c.remotes, pm.RemoteAddr{ID: 0, AddrPort: req.Remote})
	c.handshakeDeadline = s.now.Add(handshakeTimeout)
	s.addConn(c)
}

// handshakeTimeout bounds how long a server-side connection waits for
// its initial subflow to complete, in case the engine drops the half-open
// connection without telling (SYN/ACK retransmissions exhausted).
const handshakeTimeout = 3 * time.Minute

// rstHooks answers a refused SYN with a RST carrying MP_TCPRST.
type rstHooks struct {
	tcp.NopHooks
	reason wire.MPTCPRstReason
	mib    *MIB
}

// WriteOptions implements tcp.Hooks.
func (h *rstHooks) WriteOptions(_ *tcp.Conn, seg *tcp.Segment, b *wire.OptionBuilder) {
	if seg.Kind == tcp.KindRST {
		if b.AddMPTCPRst(&wire.MPTCPRst{Reason: h.reason}) == nil {
			h.mib.Inc(MPRstTx)
		}
	}
}
