package tcp

import (
	"net/netip"
	"slices"
	"time"

	"github.com/mptcp-go/mptcp/internal/bufcache"
	"github.com/mptcp-go/mptcp/wire"
)

// tuple identifies a connection from the local side.
type tuple struct {
	local, remote netip.AddrPort
}

// Stack is a host's TCP: the listeners, connections and TIME-WAIT entries
// of a set of local addresses, driven by Deliver and Poll. It implements
// the shape of netsim.Stack; a TUN driver drives it the same way with the
// real clock.
//
// A Stack is not safe for concurrent use: one goroutine drives it and its
// connections.
type Stack struct {
	cfg      Config
	secret   secretKey
	tfoKeys  fastOpenKeys
	tfoCache fastOpenCache

	epoch   time.Time
	started bool
	now     time.Duration // since epoch; never 0 once started
	nowWall time.Time     // epoch + now, for hooks and the congestion controller

	addrs     []netip.Addr
	bufs      *bufcache.Cache // the connections' send and receive rings
	conns     map[tuple]*Conn
	listeners map[netip.AddrPort]*Listener
	tw        timeWaitTable
	timers    connHeap

	dirty      []*Conn
	notifyList []*Conn
	lnotify    []*Listener
	ctl        ctlQueue
	send       func([]byte) // Poll's send, nil outside Poll

	// What the driver does with TCP checksums (OffloadChecksums).
	csumTx bool // sent segments carry the pseudo-header sum only
	csumRx bool // delivered segments were verified

	// Scratch reused for every packet.
	out  []byte
	optb wire.OptionBuilder
	inOp wire.TCPOptions
	seg  inSeg
	sack [wire.MaxSACKBlocks]wire.SACKBlock
	rng  []Range

	// Scratch for hook calls, so that passing them by pointer through an
	// interface does not allocate. Hooks run synchronously and never
	// nest, so one of each suffices.
	hookOut Segment
	hookIn  Segment
	ackInfo AckInfo

	lastConn *Conn // one-entry demux cache: bulk transfers hit it

	portNext      uint32
	challengeT    time.Duration
	challengeN    int
	cookieRecent  time.Duration // last time a SYN cookie was sent
	stats         StackStats
	dispatchDepth int
}

// NewStack returns a stack with no addresses. cfg.Rand is required.
func NewStack(cfg Config) (*Stack, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Stack{
		cfg:       cfg,
		conns:     make(map[tuple]*Conn),
		listeners: make(map[netip.AddrPort]*Listener),
		bufs:      bufcache.New(0),
	}
	s.secret = secretKey{cfg.Rand.Uint64(), cfg.Rand.Uint64()}
	s.tfoCache.max = cfg.FastOpenCache
	if cfg.FastOpenKey != (FastOpenKey{}) {
		s.SetFastOpenKey(cfg.FastOpenKey)
		s.tfoKeys.hasBackup = false
	} else {
		// Derived from the stack's secret: no draw from Rand, so that
		// the rest of a seeded run is unchanged.
		s.tfoKeys.primary = secretKey{s.secret.hashTuple(netip.AddrPort{}, netip.AddrPort{}, saltFastOpen1),
			s.secret.hashTuple(netip.AddrPort{}, netip.AddrPort{}, saltFastOpen2)}
	}
	s.portNext = uint32(cfg.Rand.Uint64())
	s.tw.init()
	s.out = make([]byte, 0, 65536+120)
	return s, nil
}

// OffloadChecksums implements link.ChecksumOffloader: the driver tells
// the stack, before it first delivers or polls, that it completes the
// checksums of the segments the stack sends (tx: the stack writes the
// pseudo-header sum only, as Linux does for a card with checksum offload)
// and that every segment it delivers was verified (rx: the stack verifies
// none; ICMP checksums are verified still).
func (s *Stack) OffloadChecksums(tx, rx bool) { s.csumTx, s.csumRx = tx, rx }

// Config returns the stack's configuration with defaults filled in.
func (s *Stack) Config() Config { return s.cfg }

// AddAddress makes a a local address: the stack accepts segments sent to
// it and may use it as a source.
func (s *Stack) AddAddress(a netip.Addr) {
	a = a.Unmap()
	if !slices.Contains(s.addrs, a) {
		s.addrs = append(s.addrs, a)
	}
}

// RemoveAddress stops accepting segments for a. Connections using it stay
// until they time out or are closed.
func (s *Stack) RemoveAddress(a netip.Addr) {
	a = a.Unmap()
	if i := slices.Index(s.addrs, a); i >= 0 {
		s.addrs = slices.Delete(s.addrs, i, i+1)
	}
}

// Addresses returns the local addresses.
func (s *Stack) Addresses() []netip.Addr { return slices.Clone(s.addrs) }

// Knows reports whether the stack holds a connection (half-open ones
// included) or a TIME-WAIT entry for the 4-tuple: a host that runs
// several stacks side by side asks the one it routed a flow to whether
// the flow still needs routing there.
func (s *Stack) Knows(local, remote netip.AddrPort) bool {
	k := tuple{local, remote}
	_, ok := s.conns[k]
	return ok || s.tw.has(k)
}

func (s *Stack) owns(a netip.Addr) bool {
	for _, x := range s.addrs {
		if x == a {
			return true
		}
	}
	return false
}

// Stats returns the stack's counters.
func (s *Stack) Stats() StackStats {
	st := s.stats
	st.Conns = len(s.conns)
	st.TimeWaitConns = s.tw.len()
	st.CurrEstab = 0
	for _, c := range s.conns {
		if c.state == StateEstablished || c.state == StateCloseWait {
			st.CurrEstab++
		}
	}
	return st
}

// Conns returns the connections the stack holds (TIME-WAIT excluded), in
// no particular order.
func (s *Stack) Conns() []*Conn {
	cs := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		cs = append(cs, c)
	}
	return cs
}

// advance moves the stack's clock to now. Time never goes backwards; the
// epoch sits a second before the first call so that no deadline is 0,
// which means "off".
func (s *Stack) advance(now time.Time) {
	if !s.started {
		s.started = true
		s.epoch = now.Add(-time.Second)
	}
	if d := now.Sub(s.epoch); d > s.now {
		s.now = d
		s.nowWall = now
	} else if s.nowWall.IsZero() {
		s.nowWall = s.wall(s.now)
	}
}

// wall converts an internal time back to a time.Time.
func (s *Stack) wall(d time.Duration) time.Time { return s.epoch.Add(d) }

// Deliver hands the stack one IP packet. pkt is only read during the call.
// Call Poll afterwards to let the stack answer.
func (s *Stack) Deliver(now time.Time, pkt []byte) {
	s.advance(now)
	src, dst, proto, payload, err := wire.ParseIP(pkt)
	if err != nil {
		s.stats.InErrs++
		return
	}
	src, dst = src.Unmap(), dst.Unmap()
	if !s.owns(dst) {
		s.stats.NotOurs++
		return
	}
	if proto != wire.ProtoTCP {
		s.deliverICMP(src, dst, proto, payload)
		s.dispatch()
		return
	}
	t, err := wire.ParseTCP(payload)
	if err != nil {
		s.stats.InErrs++
		return
	}
	if !s.cfg.SkipChecksumVerify && !s.csumRx && !t.ValidChecksum(src, dst) {
		s.stats.InCsumErrors++
		s.stats.InErrs++
		return
	}
	if !(src.IsGlobalUnicast() || src.IsLoopback() || src.IsLinkLocalUnicast()) ||
		t.SrcPort() == 0 || t.DstPort() == 0 {
		// RFC 9293 section 3.10.7.2: no connection from broadcast,
		// multicast or unspecified sources; port 0 is never valid.
		s.stats.InErrs++
		return
	}
	s.stats.InSegs++
	g := &s.seg
	g.hdr = t
	g.seq, g.ack = t.Seq(), t.Ack()
	g.flags = t.Flags()
	g.wnd = t.Window()
	g.payload = t.Payload()
	g.local = netip.AddrPortFrom(dst, t.DstPort())
	g.remote = netip.AddrPortFrom(src, t.SrcPort())
	g.opts = &s.inOp
	if err := wire.ParseTCPOptions(t.Options(), g.flags, &s.inOp); err != nil {
		s.stats.BadOptions++
	}
	s.demux(g)
	g.payload, g.hdr = nil, nil
	s.dispatch()
}

// demux hands a segment to its connection, TIME-WAIT entry or listener,
// or answers it with a RST.
func (s *Stack) demux(g *inSeg) {
	c := s.lastConn
	if c == nil || c.local != g.local || c.remote != g.remote {
		c = s.conns[tuple{g.local, g.remote}]
		if c != nil {
			s.lastConn = c
		}
	}
	if c != nil {
		c.input(g)
		s.reschedule(c)
		return
	}
	if s.tw.input(s, g) {
		return
	}
	if l := s.listenerFor(g.local); l != nil {
		l.input(g)
		return
	}
	s.stats.NoPort++
	s.replyRST(g, nil)
}

// Poll runs due timers and sends what the connections have to send through
// send, which must copy each packet before returning. It returns when the
// stack next wants to be polled, or the zero Time when only a packet or an
// application call can give it work.
func (s *Stack) Poll(now time.Time, send func(pkt []byte)) time.Time {
	s.advance(now)
	s.send = send
	s.ctl.flush(send)
	for guard := 0; s.timers.Len() > 0 && s.timers.Min().deadline <= s.now; guard++ {
		c := s.timers.Min()
		c.onTimers()
		s.reschedule(c)
		if c.heapIdx == 0 && c.deadline <= s.now && guard > 4*s.timers.Len()+16 {
			// A handler left its deadline in the past; never spin.
			c.deadline = s.now + time.Millisecond
			s.timers.Fix(0)
		}
	}
	s.tw.expire(s.now)
	for round := 0; round < 8; round++ {
		s.flushDirty()
		s.dispatch()
		if len(s.dirty) == 0 {
			break
		}
	}
	s.send = nil
	return s.nextWake()
}

// nextWake returns the next deadline as a time.Time, or zero.
func (s *Stack) nextWake() time.Time {
	d := time.Duration(0)
	if s.timers.Len() > 0 {
		d = s.timers.Min().deadline
	}
	if t := s.tw.next(); t != 0 && (d == 0 || t < d) {
		d = t
	}
	if len(s.dirty) > 0 || s.ctl.n > 0 {
		d = s.now
	}
	if d == 0 {
		return time.Time{}
	}
	return s.wall(d)
}

// markDirty queues c for output at the next Poll.
func (s *Stack) markDirty(c *Conn) {
	if !c.dirty {
		c.dirty = true
		s.dirty = append(s.dirty, c)
	}
}

// flushDirty lets every queued connection send.
func (s *Stack) flushDirty() {
	for i := 0; i < len(s.dirty); i++ {
		c := s.dirty[i]
		c.dirty = false
		if c.state != StateClosed {
			c.output()
			s.reschedule(c)
		}
		s.dirty[i] = nil
	}
	s.dirty = s.dirty[:0]
}

// notify records events for c, reported after the current work.
func (s *Stack) notify(c *Conn, ev Event) {
	c.events |= ev
	if !c.queued {
		c.queued = true
		s.notifyList = append(s.notifyList, c)
	}
}

// dispatch reports pending events. Hooks may call back into the stack,
// which may queue more events; they are reported in the same pass.
func (s *Stack) dispatch() {
	if s.dispatchDepth > 0 {
		return // a Notify called into the stack: the outer loop reports
	}
	s.dispatchDepth++
	defer func() { s.dispatchDepth-- }()
	now := s.nowWall
	for i := 0; i < len(s.notifyList); i++ {
		c := s.notifyList[i]
		s.notifyList[i] = nil
		ev := c.events
		c.events, c.queued = 0, false
		if ev != 0 && c.hooks != nil {
			c.hooks.Notify(c, now, ev)
		}
	}
	s.notifyList = s.notifyList[:0]
	for i := 0; i < len(s.lnotify); i++ {
		l := s.lnotify[i]
		s.lnotify[i] = nil
		l.queued = false
		if l.cfg.Notify != nil {
			l.cfg.Notify(l, now)
		}
	}
	s.lnotify = s.lnotify[:0]
}

// emit sends a packet built in s.out: at once during Poll, else through
// the control queue.
func (s *Stack) emit(pkt []byte) {
	s.stats.OutSegs++
	if s.send != nil {
		s.send(pkt)
		return
	}
	if !s.ctl.push(pkt) {
		s.stats.ControlDrops++
	}
}

// removeConn takes a closed connection out of the stack's tables.
func (s *Stack) removeConn(c *Conn) {
	k := tuple{c.local, c.remote}
	if s.conns[k] == c {
		delete(s.conns, k)
	}
	if s.lastConn == c {
		s.lastConn = nil
	}
	if c.heapIdx >= 0 {
		s.timers.Remove(c.heapIdx)
	}
}

// ctlQueue holds packets built outside Poll (RSTs to nowhere, TIME-WAIT
// ACKs, SYN-cookie SYN/ACKs, resets from Abort) until the next Poll. It is
// bounded: a flood of segments cannot make it grow.
type ctlQueue struct {
	bufs [][]byte
	n    int
}

const ctlQueueMax = 256

func (q *ctlQueue) push(pkt []byte) bool {
	if q.n == ctlQueueMax {
		return false
	}
	if q.n == len(q.bufs) {
		q.bufs = append(q.bufs, make([]byte, 0, len(pkt)))
	}
	q.bufs[q.n] = append(q.bufs[q.n][:0], pkt...)
	q.n++
	return true
}

func (q *ctlQueue) flush(send func([]byte)) {
	for i := 0; i < q.n; i++ {
		send(q.bufs[i])
	}
	q.n = 0
}

// Pending reports whether a connection waits to send at the next Poll
// (an ACK, a window update, data): a driver that is woken only when there
// is something to send asks it after an application call.
func (s *Stack) Pending() bool { return len(s.dirty) > 0 }
