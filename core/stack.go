package core

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/mptcp-go/mptcp/internal/bufcache"
	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/tcp"
)

// Stack is a host's MPTCP: the TCP engine that runs the subflows, the
// MPTCP connections and listeners on top of it, the token table, the
// host's addresses with their IDs, and the MIB counters. It implements
// netsim's Stack (Deliver, Poll); a TUN driver drives it the same way with
// the real clock.
//
// A Stack is not safe for concurrent use: one goroutine drives it and its
// connections. A blocking wrapper serialises calls with a lock and waits
// on the notifications set with Conn.SetNotify and Listener.SetNotify.
type Stack struct {
	cfg  Config
	tcp  *tcp.Stack
	rand Rand
	mib  MIB
	bufs *bufcache.Cache // the connections' send and receive rings

	tokens tokenTable[*Conn]
	// joinCookies holds joins answered with SYN cookies (joincookie.go).
	joinCookies map[joinCookieKey]joinCookie
	conns       []*Conn
	listeners   map[netip.AddrPort]*Listener
	joinLns     map[netip.AddrPort]*tcp.Listener // announced ports: joins only

	locals      []pm.LocalAddr // the host's addresses with their IDs
	nextLocalID uint8

	bh  blackholes
	pms pm.Set // path managers built from names with parameters: this stack's own

	// Scheduling (sched.go): connections with work wait in runq, the
	// others' deadlines in timers; a poll visits only the former and the
	// due ones.
	connSeq uint64
	runq    []*Conn
	batch   []*Conn // the round being polled
	timers  deadlineHeap
	inbox   []*Conn // connections whose path manager takes outside commands

	now       time.Time
	hookDepth int // >0 inside a TCP hook: the engine must not be re-entered
	// segOffload: the driver sends runs of segments as super-packets
	// that repeat the first one's options (OffloadSegmentation).
	segOffload bool
	notifyQ    []notification // application notifications, run after the work
	inNotify   bool
}

// NewStack returns a stack with no addresses.
func NewStack(cfg Config) (*Stack, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	t, err := tcp.NewStack(cfg.TCP)
	if err != nil {
		return nil, fmt.Errorf("mptcp: TCP engine: %w", err)
	}
	s := &Stack{
		cfg:       cfg,
		tcp:       t,
		rand:      cfg.Rand,
		listeners: make(map[netip.AddrPort]*Listener),
		joinLns:   make(map[netip.AddrPort]*tcp.Listener),
		bh:        blackholes{timeout: cfg.BlackholeTimeout},
		bufs:      bufcache.New(0),
	}
	s.tokens.shard, s.tokens.shards = uint32(cfg.Shard), uint32(cfg.Shards)
	for _, a := range cfg.Announce {
		s.addLocal(a.Addr(), a.Port(), true)
	}
	return s, nil
}

// Config returns the stack's configuration with defaults filled in.
func (s *Stack) Config() Config { return s.cfg }

// TCP returns the TCP engine under the stack, for its counters.
func (s *Stack) TCP() *tcp.Stack { return s.tcp }

// OffloadChecksums implements link.ChecksumOffloader: the TCP engine
// leaves to the driver what the driver says it does with TCP checksums
// (tcp.Stack.OffloadChecksums). DSS checksums are the stack's own.
func (s *Stack) OffloadChecksums(tx, rx bool) { s.tcp.OffloadChecksums(tx, rx) }

// OffloadSegmentation implements link.SegmentOffloader: on subflows fast
// enough for the CPU to be the limit, each mapping goes on every segment
// it covers, as Linux sends it, so that the driver can hand a record's
// segments to the kernel as one super-packet (dsslayout.go).
func (s *Stack) OffloadSegmentation() { s.segOffload = true }

// MIB returns a snapshot of the stack's MPTcpExt counters.
func (s *Stack) MIB() MIBSnapshot { return s.mib.Snapshot() }

// Conns returns the stack's MPTCP connections (including ones not yet
// accepted), in creation order.
func (s *Stack) Conns() []*Conn { return slices.Clone(s.conns) }

// NumConns returns how many connections the stack holds.
func (s *Stack) NumConns() int { return len(s.conns) }

// Closing returns how many connections the application closed whose peer
// has not yet acknowledged all that was written to them and the end of
// the stream: a host that stops its driver before then loses that data.
func (s *Stack) Closing() int {
	n := 0
	for _, c := range s.conns {
		if c.appClosed && !c.finDelivered() {
			n++
		}
	}
	return n
}

// AddAddress gives the host a local address: the TCP engine accepts
// segments for it, and path managers of existing connections learn of it
// (a new interface coming up, say).
func (s *Stack) AddAddress(a netip.Addr) {
	a = a.Unmap()
	s.tcp.AddAddress(a)
	la, added := s.addLocal(a, 0, false)
	if !added {
		return
	}
	for _, c := range s.conns {
		c.pmEvent(pm.Event{Kind: pm.LocalAdded, Local: la})
	}
}

// RemoveAddress takes an address away: connections stop using it, and
// announce its removal (REMOVE_ADDR) where their path manager says so.
func (s *Stack) RemoveAddress(a netip.Addr) {
	a = a.Unmap()
	s.tcp.RemoveAddress(a)
	i := slices.IndexFunc(s.locals, func(l pm.LocalAddr) bool { return l.Addr == a && l.Port == 0 })
	if i < 0 {
		return
	}
	la := s.locals[i]
	s.locals = slices.Delete(s.locals, i, i+1)
	for _, c := range s.conns {
		c.localRemoved(la)
		s.queue(c)
	}
}

// AddEndpoint gives the host an address with the path-manager flags of
// la (the kernel's "ip mptcp endpoint add ADDR [port P] [id N] signal |
// subflow | backup | fullmesh | laminar"). ID 0 assigns the next free ID.
// It returns the endpoint as recorded. The address becomes a local
// address of the TCP engine too, unless it carries a port (an announced
// port for joins: its address must already be the host's).
func (s *Stack) AddEndpoint(la pm.LocalAddr) (pm.LocalAddr, error) {
	la.Addr = la.Addr.Unmap()
	if !la.Addr.IsValid() || la.Addr.IsUnspecified() {
		return la, fmt.Errorf("%w: endpoint address %v", ErrInvalid, la.Addr)
	}
	for _, l := range s.locals {
		if la.ID != 0 && l.ID == la.ID {
			return la, fmt.Errorf("%w: endpoint ID %d in use", ErrInvalid, la.ID)
		}
		if l.Addr == la.Addr && l.Port == la.Port {
			return la, fmt.Errorf("%w: endpoint %v port %d exists (ID %d)", ErrInvalid, la.Addr, la.Port, l.ID)
		}
	}
	if la.ID == 0 {
		for {
			s.nextLocalID++
			if s.nextLocalID == 0 {
				continue
			}
			if !slices.ContainsFunc(s.locals, func(l pm.LocalAddr) bool { return l.ID == s.nextLocalID }) {
				break
			}
		}
		la.ID = s.nextLocalID
	}
	if la.Port == 0 {
		s.tcp.AddAddress(la.Addr)
	}
	s.locals = append(s.locals, la)
	for _, c := range s.conns {
		c.pmEvent(pm.Event{Kind: pm.LocalAdded, Local: la})
	}
	return la, nil
}

// SetAddressBackup marks subflows from local address a as backup paths
// (or not): new joins from it carry the B flag, and existing subflows
// tell the peer with MP_PRIO (RFC 8684 section 3.3.8). It reports whether
// a is a known address.
func (s *Stack) SetAddressBackup(a netip.Addr, backup bool) bool {
	a = a.Unmap()
	found := false
	for i := range s.locals {
		if s.locals[i].Addr == a {
			s.locals[i].Backup = backup
			found = true
		}
	}
	if !found {
		return false
	}
	for _, c := range s.conns {
		for _, sf := range c.subflows {
			if sf.local.Addr() == a && sf.backup != backup {
				sf.backup = backup
				sf.prioPending = true
				c.markDirty()
			}
		}
	}
	return true
}

// Addresses returns the host's addresses with their address IDs.
func (s *Stack) Addresses() []pm.LocalAddr { return slices.Clone(s.locals) }

// addLocal records an address (with an optional announced port) under a
// new ID; added is false if it was known.
func (s *Stack) addLocal(a netip.Addr, port uint16, signal bool) (pm.LocalAddr, bool) {
	for i := range s.locals {
		if s.locals[i].Addr == a && s.locals[i].Port == port {
			if signal {
				s.locals[i].Signal = true
			}
			return s.locals[i], false
		}
	}
	s.nextLocalID++
	if s.nextLocalID == 0 {
		s.nextLocalID = 1 // 0 is the initial subflow's address
	}
	la := pm.LocalAddr{ID: s.nextLocalID, Addr: a, Port: port, Signal: signal}
	s.locals = append(s.locals, la)
	return la, true
}

// localID returns the ID of local address a (port 0), or false.
func (s *Stack) localID(a netip.Addr) (uint8, bool) {
	for _, l := range s.locals {
		if l.Addr == a && l.Port == 0 {
			return l.ID, true
		}
	}
	return 0, false
}

// Deliver hands the stack one IP packet. Call Poll afterwards to let the
// stack answer.
func (s *Stack) Deliver(now time.Time, pkt []byte) {
	s.now = now
	s.tcp.Deliver(now, pkt)
	s.runNotify()
}

// Poll lets the connections that have work send and run their timers
// (sched.go), sending packets through send, which must copy each packet
// before it returns. It returns when the stack next wants to be polled,
// or the zero Time.
func (s *Stack) Poll(now time.Time, send func(pkt []byte)) time.Time {
	s.now = now
	s.queueDue(now)
	s.queueInbox()
	var next time.Time
	for round := 0; round < 4; round++ {
		busy := s.pollQueued(now)
		next = s.tcp.Poll(now, send)
		// The TCP engine ran the hooks that may have moved timers (an
		// ADD_ADDR or DATA_FIN sent): deadlines are taken after it.
		s.settle(now)
		if !busy && !s.anyDirty() {
			break
		}
	}
	// Connections touched by the last round's output are polled at the
	// next Poll (as they are after a Deliver); their timers may have
	// moved meanwhile.
	for _, c := range s.runq {
		s.reschedule(c, now)
	}
	if s.timers.Len() > 0 {
		next = Earliest(next, s.timers.Min().deadline)
	}
	s.runNotify()
	if !next.IsZero() && next.Before(now) {
		next = now
	}
	return next
}

// notification is an application notification waiting to run: a
// connection's, or a listener's function.
type notification struct {
	c *Conn
	f func()
}

func (s *Stack) runNotify() {
	if s.inNotify {
		return
	}
	s.inNotify = true
	for i := 0; i < len(s.notifyQ); i++ {
		n := s.notifyQ[i]
		s.notifyQ[i] = notification{}
		if c := n.c; c != nil {
			c.notifyQueued = false
			if c.notify != nil {
				c.notify()
			}
			continue
		}
		n.f()
	}
	s.notifyQ = s.notifyQ[:0]
	s.inNotify = false
}

// Earliest returns the earlier of two wake-up times as Stack.Poll returns
// them, zero meaning none: a caller that polls several stacks (the mptcp
// package's loops) waits for the earliest of theirs.
func Earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}

// Dial opens an MPTCP connection to remote from local (any of the
// stack's addresses of remote's family when local is the zero Addr). The
// connection is returned at once, connecting; SetNotify reports when it is
// established or failed. A SYN/ACK without MP_CAPABLE makes it a plain TCP
// connection, which works the same for the application.
func (s *Stack) Dial(now time.Time, local netip.Addr, remote netip.AddrPort, opts ConnOptions) (*Conn, error) {
	s.now = now
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	if !remote.IsValid() || remote.Port() == 0 {
		return nil, fmt.Errorf("%w: remote address %v", ErrInvalid, remote)
	}
	if !local.IsValid() {
		for _, a := range s.tcp.Addresses() {
			if a.Is4() == remote.Addr().Is4() {
				local = a
				break
			}
		}
		if !local.IsValid() {
			return nil, fmt.Errorf("dial %v: %w", remote, ErrNoAddress)
		}
	}
	local = local.Unmap()
	c, err := newConn(s, false, opts)
	if err != nil {
		return nil, err
	}
	mpc := !s.cfg.DisableMPTCP && !opts.DisableMPTCP
	if mpc && s.bh.active(now, local, remote.Addr()) {
		s.mib.Inc(MPCapableSYNTXDisabled)
		mpc = false
	}
	if mpc {
		ks, err := s.tokens.newKey(s.rand, c)
		if err != nil {
			s.mib.Inc(MPFallbackTokenInit)
			mpc = false
		} else {
			c.setLocalKeys(ks)
		}
	}
	if !mpc {
		c.earlyFallback()
	}
	sf := c.newSubflow(true, true)
	sf.requestMPC = mpc
	sf.backup = opts.Backup
	// The B flag exists on MP_JOIN only: the initial subflow becomes a
	// backup for the peer through MP_PRIO, once it has the connection.
	sf.prioPending = opts.Backup
	tc, err := s.tcp.Dial(now, remote, &tcp.DialConfig{Local: netip.AddrPortFrom(local, 0), Hooks: sf, Options: c.subflowOptions(), FastOpen: opts.FastOpen})
	if err != nil {
		s.tokens.remove(c.local.token, c)
		return nil, fmt.Errorf("dial %v: %w", remote, err)
	}
	sf.attach(tc)
	c.initialLocal, c.initialRemote = tc.LocalAddr(), remote
	if id, ok := s.localID(local); ok {
		c.initialLocalStackID = id
	}
	c.remotes = append(c.remotes, pm.RemoteAddr{ID: 0, AddrPort: remote})
	s.addConn(c)
	return c, nil
}

// Listen accepts MPTCP (and plain TCP) connections on addr; an
// unspecified address listens on all of the host's addresses.
func (s *Stack) Listen(addr netip.AddrPort) (*Listener, error) {
	if addr.Port() == 0 {
		return nil, fmt.Errorf("%w: listen on port 0", ErrInvalid)
	}
	if _, dup := s.listeners[addr]; dup {
		return nil, fmt.Errorf("listen %v: %w", addr, tcp.ErrAddrInUse)
	}
	l := &Listener{stack: s, addr: addr}
	tl, err := s.tcp.Listen(addr, &tcp.ListenConfig{Hooks: l, Notify: l.tcpNotify, Options: tcp.Options{CongestionControl: s.cfg.CongestionControl, ReceiveBufferMax: s.subflowRcvMax()}})
	if err != nil {
		return nil, fmt.Errorf("listen %v: %w", addr, err)
	}
	l.tl = tl
	s.listeners[addr] = l
	for _, o := range s.cfg.ListenerObservers {
		o.ListenerCreated(s.now, addr)
	}
	s.emitListener(EventListenerCreated, addr)
	// Announced ports get a listener that takes joins only.
	for _, a := range s.cfg.Announce {
		if a.Port() == 0 || a.Port() == addr.Port() {
			continue
		}
		ap := netip.AddrPortFrom(a.Addr(), a.Port())
		if _, ok := s.joinLns[ap]; ok {
			continue
		}
		jl := &Listener{stack: s, addr: ap, joinOnly: true}
		if t, err := s.tcp.Listen(ap, &tcp.ListenConfig{Hooks: jl, Options: tcp.Options{CongestionControl: s.cfg.CongestionControl, ReceiveBufferMax: s.subflowRcvMax()}}); err == nil {
			jl.tl = t
			s.joinLns[ap] = t
		}
	}
	return l, nil
}

// connByToken returns the live connection owning a local token.
func (s *Stack) connByToken(token uint32) *Conn {
	c, ok := s.tokens.lookup(token)
	if !ok || c.reaped {
		return nil
	}
	return c
}

// subflowRcvMax is the receive-buffer maximum of subflows: at least the
// connection's. Every subflow advertises the connection-level window
// (RFC 8684 section 3.3.4), which the engine caps at its own maximum and
// whose window scale it chooses from it: with the TCP default (6 MiB) the
// connection could never offer more than that on a long fat path, whatever
// ReceiveBufferMax says. The subflow's own buffer holds only what arrived
// out of order or before its mapping, so this costs no memory up front.
func (s *Stack) subflowRcvMax() int {
	return max(s.cfg.ReceiveBufferMax, s.cfg.TCP.ReceiveBufferMax)
}
