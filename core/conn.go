package core

import (
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/mptcp-go/mptcp/cc"
	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/sched"
	"github.com/mptcp-go/mptcp/tcp"
)

// ConnState is an MPTCP connection's state as the application sees it.
type ConnState uint8

// The connection states.
const (
	// StateConnecting: the initial subflow's handshake is running.
	StateConnecting ConnState = iota
	// StateEstablished: data can flow (MPTCP, or TCP after a fallback).
	StateEstablished
	// StateClosed: the connection is over; Err says why (nil for an
	// orderly close in both directions).
	StateClosed
)

var connStateNames = [...]string{"connecting", "established", "closed"}

// String names the state.
func (s ConnState) String() string {
	if int(s) < len(connStateNames) {
		return connStateNames[s]
	}
	return "?"
}

// Conn is one MPTCP connection: a byte stream carried by one or more
// subflows (RFC 8684), or by one TCP connection after a fallback. Like the
// TCP engine's Conn it never blocks: Write takes what fits, Read returns
// what has arrived (or ErrWouldBlock), and SetNotify reports changes.
type Conn struct {
	stack  *Stack
	server bool
	state  ConnState
	err    error

	sched sched.Scheduler
	pm    pm.PathManager

	// schedSnap and schedPos are the scheduler's snapshot and its
	// choices, reused from one decision to the next (schedview.go).
	schedSnap []sched.Subflow
	schedPos  []int

	ccName  string
	ccGroup *cc.Group

	// Keys (RFC 8684 section 3.1).
	local       keys
	remoteKey   uint64
	remote      keys
	remoteKnown bool
	csum        bool // DSS checksums in use
	sockOpts    sockOpts
	denyJoinID0 bool // the peer set the C flag

	// fully: the MP_CAPABLE handshake is complete on both sides (the
	// kernel's fully_established): joins and address signals may flow.
	fully bool
	// peerDSN64: the peer's latest mapping with data used an 8-octet
	// DSN; our DATA_ACKs are 8 octets too (Linux's use_64bit_ack, which
	// follows each mapping the same way).
	peerDSN64 bool

	// inCurrEstab: the connection counts in the MPCurrEstab gauge (from
	// established until it closes or falls back), so it leaves it once.
	inCurrEstab bool

	// Fallback (RFC 8684 section 3.7).
	fallen        bool
	fallbackCause Counter
	joinedEver    bool // a second subflow existed: infinite fallback forbidden
	reinjected    bool // data was sent twice: infinite fallback forbidden
	// rcvMisaligned: bytes taken from a subflow did not continue the
	// data stream where it stood (discarded unmapped, to come again at
	// data level; duplicates; mapped elsewhere): the subflow's stream no
	// longer lines up with the data stream, so mapping the rest one to
	// one (infinite fallback) is forbidden too.
	rcvMisaligned bool
	fbTx          linearMap
	fbTxSet       bool
	fbFinSent     bool // the FIN that stands for DATA_FIN after a fallback

	subflows   []*subflow
	sfBuf      []*subflow // scratch copy of subflows for poll
	nextSubID  int
	initialSub *subflow

	initialLocal, initialRemote netip.AddrPort
	initialLocalStackID         uint8 // the stack's ID of the initial local address

	snd    sendBuffer
	wndEnd uint64 // right edge of the peer's connection-level window: the largest DATA_ACK + window
	// hsEnd is the edge the handshake gave: the first DSN plus the initial
	// subflow's window when it was established. It counts until the first
	// DATA_ACK (dataAckSeen), never after (see sendEdge).
	hsEnd       uint64
	dataAckSeen bool
	rcv         reassembly

	// What the application asked for.
	writeClosed   bool // CloseWrite: DATA_FIN after the data
	appClosed     bool // Close: no more reading either
	finSentAt     time.Time
	finTryAt      time.Time // a DATA_FIN due but not yet sent is tried again then
	finRTO        time.Duration
	peerFin       bool // the peer's DATA_FIN (or FIN after fallback) consumed
	peerFinAcked  bool // our DATA_ACK covers the peer's DATA_FIN
	lastWndAdv    int  // receive window last advertised, for window updates
	fastcloseKey  uint64
	fastcloseRcvd bool // a valid MP_FASTCLOSE arrived

	// Addresses (RFC 8684 section 3.4).
	remotes   []pm.RemoteAddr
	announced []*announcement
	echoQ     []echo
	rmQ       []uint8
	accepted  int // announced addresses accepted (Limits.AddAddrAccepted)

	reinjectQ []dsnRange

	closedInfo []SubflowInfo
	nextProbe  time.Time
	oppUna     uint64                     // the DSN last sent again opportunistically ...
	oppAt      time.Time                  // ... and when
	oppWake    time.Time                  // when the data holding the DATA_ACK up turns overdue (opportunistic)
	pairsSeen  map[[2]netip.AddrPort]bool // (local addr, remote) pairs joined before

	// Timers and bookkeeping. The stack polls a connection when it is
	// queued (dirty, or touched by a packet, a hook or the application)
	// or when its deadline, kept in the stack's heap, is due (sched.go).
	seq               uint64    // creation order: connections are polled in it
	queued            bool      // in the stack's run queue
	heapIdx           int       // index in the stack's deadline heap, -1 if none
	deadline          time.Time // nextWake when last computed
	dirty             bool
	noSubflowSince    time.Time
	handshakeDeadline time.Time
	pmNext            time.Time
	tuneAt            time.Time
	tuneLast          time.Time
	tuneBytes         uint64
	lastUnaMove       time.Time
	plainStalls       int // data-level timeouts in a row with DATA_ACKs stripped everywhere
	listener          *Listener
	reaped            bool
	notify            func()
	notifyQueued      bool

	// probeBusy is the latest data movement liveness probing saw, and
	// busySince when data began to move after the connection's last idle
	// period (probe.go).
	probeBusy, busySince time.Time

	bytesSent, bytesRecv uint64
	eventCreated         bool // EventCreated was emitted: EventClosed follows
}

// policies makes a new connection's scheduler and path manager and names
// its congestion control: the connection's factory, else its name, else
// the stack's factory, else the stack's name.
func (s *Stack) policies(opts ConnOptions) (sched.Scheduler, pm.PathManager, string, error) {
	ccName := cmp.Or(opts.CongestionControl, s.cfg.CongestionControl)
	if err := cc.Check(ccName); err != nil {
		return nil, nil, "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var sc sched.Scheduler
	var err error
	switch {
	case opts.NewScheduler != nil:
		sc = opts.NewScheduler()
	case opts.Scheduler == "" && s.cfg.NewScheduler != nil:
		sc = s.cfg.NewScheduler()
	default:
		if sc, err = sched.New(cmp.Or(opts.Scheduler, s.cfg.Scheduler)); err != nil {
			return nil, nil, "", fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	var p pm.PathManager
	switch {
	case opts.NewPathManager != nil:
		p = opts.NewPathManager()
	case opts.PathManager == "" && s.cfg.NewPathManager != nil:
		p = s.cfg.NewPathManager()
	default:
		if p, err = s.pms.New(cmp.Or(opts.PathManager, s.cfg.PathManager)); err != nil {
			return nil, nil, "", fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	return sc, p, ccName, nil
}

// dsnRange is a range of data sequence numbers waiting to be sent again.
type dsnRange struct {
	dsn  uint64
	n    int
	from int // the subflow it is leaving
}

// linearMap relates subflow stream offsets to data sequence numbers
// after a fallback: dsn = dsn0 + (off - off0).
type linearMap struct {
	off0, dsn0 uint64
}

func newConn(s *Stack, server bool, opts ConnOptions) (*Conn, error) {
	sc, p, ccName, err := s.policies(opts)
	if err != nil {
		return nil, err
	}
	c := &Conn{
		stack:   s,
		server:  server,
		sched:   sc,
		pm:      p,
		ccName:  ccName,
		ccGroup: cc.NewGroup(),
		csum:    s.cfg.Checksum || opts.Checksum,
	}
	if opts.KeepAlive != nil {
		c.sockOpts = sockOpts{set: true, keepAlive: *opts.KeepAlive}
	}
	c.snd.init(0, s.cfg.SendBuffer)
	c.rcv.init(0, s.cfg.ReceiveBuffer)
	c.snd.q.bufs, c.rcv.ready.bufs = s.bufs, s.bufs
	c.lastUnaMove = s.now
	s.connSeq++
	c.seq = s.connSeq
	c.heapIdx = -1
	return c, nil
}

// setLocalKeys installs the local key; the data sequence space starts
// after the IDSN.
func (c *Conn) setLocalKeys(k keys) {
	c.local = k
	c.snd.init(k.idsn+1, c.stack.cfg.SendBuffer)
	c.wndEnd, c.hsEnd = c.snd.nxt, c.snd.nxt
}

// setRemoteKey records the peer's key, from which its IDSN follows.
func (c *Conn) setRemoteKey(key uint64) {
	if c.remoteKnown {
		return
	}
	c.remoteKey = key
	c.remote = newKeys(key)
	c.remoteKnown = true
	c.rcv.init(c.remote.idsn+1, c.rcv.limit)
}

// subflowOptions are the TCP options of the connection's subflows.
func (c *Conn) subflowOptions() tcp.Options {
	return tcp.Options{CongestionControl: c.ccName, CCGroup: c.ccGroup, ReceiveBufferMax: c.stack.subflowRcvMax()}
}

// Server reports whether the connection was accepted by a listener.
func (c *Conn) Server() bool { return c.server }

// State returns the connection's state.
func (c *Conn) State() ConnState { return c.state }

// Err returns why the connection closed: nil while open and after an
// orderly close.
func (c *Conn) Err() error { return c.err }

// FellBack reports whether the connection runs as plain TCP.
func (c *Conn) FellBack() bool { return c.fallen }

// LocalAddr returns the local address of the initial subflow.
func (c *Conn) LocalAddr() netip.AddrPort { return c.initialLocal }

// RemoteAddr returns the remote address of the initial subflow.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.initialRemote }

// SetNotify installs f, called (on the goroutine driving the stack, after
// it finished the packet or poll at hand) whenever the connection may have
// become readable, writable, established or closed. A blocking wrapper
// wakes its waiters from it.
func (c *Conn) SetNotify(f func()) { c.notify = f }

// wake queues the application notification, once per batch of work.
func (c *Conn) wake() {
	if c.notify == nil || c.notifyQueued {
		return
	}
	c.notifyQueued = true
	c.stack.notifyQ = append(c.stack.notifyQ, notification{c: c})
}

// Write queues as much of p as the send buffer takes and returns how
// much; 0 with a nil error means the buffer is full (wait for a
// notification). The data leaves at the next Poll.
func (c *Conn) Write(p []byte) (int, error) {
	switch {
	case c.state == StateClosed:
		if c.err != nil {
			return 0, c.err
		}
		return 0, ErrClosed
	case c.writeClosed:
		return 0, ErrWriteClosed
	}
	n := c.snd.write(p)
	if n > 0 {
		c.fastOpenFill()
		c.markDirty()
	}
	return n, nil
}

// Writable returns the free space in the send buffer.
func (c *Conn) Writable() int {
	if c.state == StateClosed || c.writeClosed {
		return 0
	}
	return c.snd.free()
}

// Read copies in-order data into p. It returns io.EOF after the peer's
// DATA_FIN (FIN after a fallback) once everything before it is read, and
// ErrWouldBlock when nothing has arrived yet.
func (c *Conn) Read(p []byte) (int, error) {
	if c.appClosed {
		return 0, ErrClosed
	}
	if c.rcv.ready.len() > 0 {
		n := c.rcv.ready.read(p)
		c.readDone()
		return n, nil
	}
	if c.rcv.eof() || c.peerFin {
		return 0, io.EOF
	}
	if c.state == StateClosed {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	return 0, ErrWouldBlock
}

// Readable returns the bytes ready to be read.
func (c *Conn) Readable() int { return c.rcv.ready.len() }

// readDone sends a window update when reading opened the window enough
// that the peer would otherwise stall: from (nearly) zero, or by a
// quarter of the buffer.
func (c *Conn) readDone() {
	after := c.rcv.window()
	if c.fallen {
		// The TCP engine manages the window of a plain connection; pull
		// what waited in it for room.
		for _, sf := range c.subflows {
			if sf.tc != nil && !sf.closed && sf.tc.Readable() > 0 {
				sf.drain(c.stack.now)
			}
		}
		return
	}
	mss := 1400
	if after-c.lastWndAdv >= c.rcv.limit/4 || (c.lastWndAdv < 2*mss && after >= 2*mss) {
		c.announceWindow()
	}
}

// announceWindow sends a window update on the best subflow, and on every
// other usable one whose last window showed less than two segments: the
// peer's TCP sender holds each subflow's window apart, and on a subflow
// that saw its window close it would wait for a zero-window probe with
// whatever the peer's connection gave it, holding the connection's
// window meanwhile (Linux's mptcp_cleanup_rbuf also updates every
// subflow). Subflows with room need no update: the window counts from
// the DATA_ACK, which any subflow brings.
func (c *Conn) announceWindow() {
	best := c.bestSubflow()
	for _, sf := range c.subflows {
		if sf.usable() && (sf == best || sf.tc.AdvertisedWindow() < 2*sf.tc.PayloadMSS()) {
			sf.sendACK()
		}
	}
	c.markDirty()
}

// CloseWrite half-closes: a DATA_FIN follows the data already written
// (a FIN after a fallback). Reading goes on.
func (c *Conn) CloseWrite() error {
	if c.state == StateClosed {
		return ErrClosed
	}
	if c.writeClosed {
		return nil
	}
	c.writeClosed = true
	c.snd.finQueued = true
	if c.FastOpenPending() {
		c.Connect() // nothing to carry: the SYN goes without waiting
	}
	c.markDirty()
	return nil
}

// Close closes both directions: the data written is still delivered,
// then a DATA_FIN; data arriving from now on is discarded. The subflows
// close once both DATA_FINs are acknowledged.
func (c *Conn) Close() error {
	if c.appClosed {
		return ErrClosed
	}
	c.appClosed = true
	c.rcv.ready.discard(c.rcv.ready.len())
	if c.state == StateClosed {
		return nil
	}
	_ = c.CloseWrite()
	return nil
}

// Abort resets the connection at once: MP_FASTCLOSE on every subflow
// (RFC 8684 section 3.5), or a RST after a fallback.
func (c *Conn) Abort() {
	if c.state == StateClosed {
		c.appClosed = true
		return
	}
	c.appClosed = true
	c.markFastclose()
	for _, sf := range slices.Clone(c.subflows) {
		sf.abort()
	}
	c.close(ErrConnectionAborted)
}

// markFastclose puts MP_FASTCLOSE with the peer's key on the RSTs the
// subflows send next (RFC 8684 section 3.5), unless the connection fell
// back or never learnt the key.
func (c *Conn) markFastclose() {
	if c.fallen || !c.remoteKnown {
		return
	}
	c.fastcloseKey = c.remoteKey
	for _, sf := range c.subflows {
		sf.fastclose = true
	}
}

// close ends the connection with err (nil: orderly).
func (c *Conn) close(err error) {
	if c.state == StateClosed {
		return
	}
	c.state = StateClosed
	c.stack.queue(c)
	if c.err == nil {
		c.err = err
	}
	c.leaveCurrEstab()
	c.stack.tokens.remove(c.local.token, c)
	for _, sf := range slices.Clone(c.subflows) {
		if err != nil {
			sf.abort()
		} else if sf.tc != nil { // a subflow may have no TCP connection yet (abort and dropUnsent allow for it)
			// Everything was DATA_ACKed: what a subflow still holds
			// unsent is needed nowhere.
			sf.dropUnsent()
			sf.tc.Close()
		}
	}
	c.pmEvent(pm.Event{Kind: pm.Closed})
	c.wake()
}

// leaveCurrEstab takes the connection out of the MPCurrEstab gauge, if it
// is counted there: it closed, or fell back to TCP.
func (c *Conn) leaveCurrEstab() {
	if c.inCurrEstab {
		c.inCurrEstab = false
		c.stack.mib.Dec(MPCurrEstab)
	}
}

// markDirty asks for the connection to be pushed at the next poll.
func (c *Conn) markDirty() {
	c.dirty = true
	c.stack.queue(c)
}

// established moves a connecting connection to established, hands a
// server connection to its listener, and tells the application.
func (c *Conn) established() {
	if c.state != StateConnecting {
		return
	}
	c.state = StateEstablished
	if !c.fallen {
		c.inCurrEstab = true
		c.stack.mib.Inc(MPCurrEstab)
	}
	if c.listener != nil {
		c.listener.enqueue(c)
	}
	c.markDirty()
	c.wake()
}

// newSubflow creates a subflow (its TCP connection is attached later).
func (c *Conn) newSubflow(initial, active bool) *subflow {
	sf := &subflow{conn: c, id: c.nextSubID, initial: initial, active: active, join: !initial}
	c.nextSubID++
	c.subflows = append(c.subflows, sf)
	if initial {
		c.initialSub = sf
	} else {
		c.joinedEver = true
	}
	return sf
}

// removeSubflow forgets a closed subflow, sends again what it carried,
// and tells the path manager.
func (c *Conn) removeSubflow(sf *subflow, err error) {
	i := slices.Index(c.subflows, sf)
	if i < 0 {
		return
	}
	c.subflows = slices.Delete(c.subflows, i, i+1)
	if len(c.closedInfo) >= maxClosedInfo {
		c.closedInfo = slices.Delete(c.closedInfo, 0, 1)
	}
	sf.refreshAll() // the engine's last state, not the one cached at the handshake
	snap := sf.snapshot()
	snap.Established = false
	c.closedInfo = append(c.closedInfo, snap)
	if c.state != StateClosed {
		c.reinjectFrom(sf)
	}
	if !c.hasEstablishedSubflow() && c.noSubflowSince.IsZero() {
		c.noSubflowSince = c.stack.now
	}
	c.pmEvent(pm.Event{Kind: pm.SubClosed, Subflow: sf.pmInfo(), Err: err})
	c.markDirty()
	if c.fallen && c.state != StateClosed {
		// A connection that fell back lives and dies with its subflow;
		// an orderly close of it is the end of the peer's stream.
		if err == nil {
			c.peerFin = true
		}
		c.close(err)
	}
	if len(c.subflows) == 0 && c.state != StateClosed && (c.state == StateConnecting || !c.fully) {
		// No subflow can follow: joins need the connection fully
		// established (RFC 8684 section 3.2: the peer must have shown
		// it holds our key), so a connection that lost its only
		// subflow before that can never resume. It fails at once with
		// the subflow's error, as a TCP connection would and as Linux's
		// MPTCP does (6.18: ECONNRESET at once on a RST before the
		// handshake is confirmed; after it, the close timeout), rather
		// than wait NoSubflowTimeout for a path that cannot come.
		if err == nil {
			err = ErrConnectionReset
		}
		c.close(err)
	}
}

// hasEstablishedSubflow reports whether a subflow finished its TCP
// handshake and is still open.
func (c *Conn) hasEstablishedSubflow() bool {
	for _, sf := range c.subflows {
		if sf.tcpEstablished && !sf.closed {
			return true
		}
	}
	return false
}

// bestSubflow returns the usable subflow with the lowest RTT, for
// signalling.
func (c *Conn) bestSubflow() *subflow {
	var best *subflow
	for _, sf := range c.subflows {
		if !sf.canSignal() {
			continue
		}
		if best == nil || sf.srtt() < best.srtt() {
			best = sf
		}
	}
	return best
}

// poll runs the connection's timers and pushes data; it reports whether
// it did something that needs the TCP engine to run again.
func (c *Conn) poll(now time.Time) bool {
	if c.reaped {
		return false
	}
	wasDirty := c.dirty
	c.dirty = false
	if c.state == StateConnecting && !c.handshakeDeadline.IsZero() && !now.Before(c.handshakeDeadline) {
		for _, sf := range slices.Clone(c.subflows) {
			sf.abort()
		}
		c.close(ErrTimeout)
		return true
	}
	if c.state == StateClosed {
		return wasDirty
	}
	// A subflow may go away while polled: poll a copy (kept, so a poll
	// allocates nothing).
	c.sfBuf = append(c.sfBuf[:0], c.subflows...)
	for _, sf := range c.sfBuf {
		sf.poll(now)
	}
	clear(c.sfBuf)
	c.checkStale(now)
	c.probeIdle(now)
	c.autotune(now)
	c.sendAutotune()
	c.signalTimers(now)
	if c.state == StateEstablished {
		c.push(now)
		c.dataFinTimer(now)
	}
	c.checkClosed(now)
	if c.fully && !c.fallen && (!c.pmNext.IsZero() && !now.Before(c.pmNext) || c.pmInbox()) {
		c.pmNext = c.pm.Poll(now, pmView{c})
	}
	if !c.noSubflowSince.IsZero() && c.state != StateClosed && !c.hasEstablishedSubflow() &&
		now.Sub(c.noSubflowSince) >= c.stack.cfg.NoSubflowTimeout {
		// Subflows being opened do not count: joins the peer keeps
		// refusing (it forgot the connection) must not keep it alive.
		c.close(ErrTimeout)
	}
	return wasDirty || c.dirty
}

// nextWake returns when the connection's own timers next need a poll: the
// one source of the connection's deadline in the stack's heap. Only
// timers that poll acts on, moving them on, are included, so a due timer
// never makes the stack spin.
func (c *Conn) nextWake(now time.Time) time.Time {
	if c.state == StateClosed || c.reaped {
		return time.Time{}
	}
	if c.dirty {
		return now
	}
	var t time.Time
	if c.state == StateConnecting {
		t = Earliest(t, c.handshakeDeadline)
	}
	if !c.noSubflowSince.IsZero() {
		t = Earliest(t, c.noSubflowSince.Add(c.stack.cfg.NoSubflowTimeout))
	}
	if c.fallen {
		return t
	}
	if c.fully {
		t = Earliest(t, c.pmNext)
		t = Earliest(t, c.announceWake())
		if len(c.echoQ) > 0 || len(c.rmQ) > 0 {
			t = Earliest(t, now.Add(10*time.Millisecond))
		}
	}
	if c.snd.finSent && !c.snd.finAcked && c.remoteKnown {
		t = Earliest(t, c.finSentAt.Add(c.finRTO))
	} else if c.state == StateEstablished && c.dataFinDue() {
		t = Earliest(t, c.finTryAt)
	}
	for _, sf := range c.subflows {
		t = Earliest(t, sf.nextWake())
	}
	t = Earliest(t, c.nextProbe)
	if c.state == StateEstablished {
		if c.snd.nxt != c.snd.una {
			t = Earliest(t, c.lastUnaMove.Add(c.dataRTO()))
		}
		t = Earliest(t, c.autotuneWake())
		t = Earliest(t, c.oppWake)
	}
	return t
}
