package tcp

import (
	"io"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/cc"
)

// Conn is one TCP connection: a sans-I/O state machine owned by a Stack.
// Its methods are not safe for concurrent use; a driver serialises calls to
// a Stack and its connections (one goroutine, or a lock around each).
//
// The application side is Write, WriteRecord, Read, Peek/Discard,
// CloseWrite, Close and Abort. None of them blocks: Write takes what fits in
// the send buffer, Read returns what has arrived. Changes are reported
// through Hooks.Notify (readable, writable, closed ...), which is what a
// blocking wrapper waits on.
type Conn struct {
	stack    *Stack
	local    netip.AddrPort
	remote   netip.AddrPort
	state    State
	opts     Options
	hooks    Hooks
	listener *Listener // until accepted or handed to hooks
	active   bool      // opened by Dial
	viaHooks bool      // passive, handed over through hooks rather than Accept
	err      error     // why the connection closed
	softErr  error     // last soft ICMP error, reported with a timeout

	// Application intent.
	writeClosed bool // CloseWrite or Close: FIN after the queued data
	appClosed   bool // Close: the application reads no more either
	finSent     bool

	// Send sequence space, as offsets from iss (SYN = 0, first data byte = 1).
	iss        uint32
	sndUna     uint64
	sndNxt     uint64
	sndWnd     uint64 // peer's window, scaled
	maxSndWnd  uint64
	sndWl1     uint64 // receive offset of the segment that last updated sndWnd
	sndWl2     uint64 // send offset it acknowledged
	sndShift   uint8  // peer's window scale
	sndMSS     int    // segment size limit: payload plus options
	optReserve int    // option bytes kept free for hooks on data segments
	optFirst   int    // the same on the first segment of a record
	sb         sendBuffer
	synPending bool // a SYN or SYN/ACK is due
	synRetries int

	// TCP Fast Open (fastopen.go).
	tfoActive     bool      // dialled with Fast Open
	tfoHaveCookie bool      // and holds a cookie for the server: the SYN carries data
	tfoCookie     bool      // the SYN/ACK carries a cookie
	tfoSYNData    int       // bytes the first SYN carried
	tfoAcked      int       // SYN data the peer took (client) or we took (server)
	tfoListener   *Listener // counts this connection in its FastOpenQueue
	tfoQueued     bool      // queued for Accept at its SYN

	// Receive sequence space, as offsets from irs.
	irs         uint32
	rcvShift    uint8  // our window scale
	rcvAdvRight uint64 // highest right edge advertised
	rcvBuf      int    // current receive buffer target
	sharedWnd   int    // SetSharedWindow: accepted beyond RCV.NXT past rcvAdvRight
	advMSS      int    // MSS we announced
	rcvMSS      int    // estimate of the peer's segment size
	rb          recvBuffer
	finRcvd     bool   // peer's FIN seen (maybe out of order)
	finOff      uint64 // its sequence offset
	rcvWndRTT   rcvRTT
	space       rcvSpace
	synAt       time.Duration // when the first SYN or SYN/ACK was sent

	// Negotiated options.
	wsOK, tsOK, sackOK bool
	tsOffset           uint32
	tsRecent           uint32
	tsPrev             uint32 // TS.Recent before its last change (tsrecent.go)
	tsRecentAge        time.Duration
	lastTSecr          uint32 // TSecr of the segment being processed
	lastAckOff         uint64 // the acknowledgment we last sent (Last.ACK.sent)

	// Loss detection and recovery.
	txq          txQueue
	sackedRanges rangeSet // what the peer SACKed, as sequence offsets
	rtt          rttEstimator
	cc           cc.Controller
	ccGroupOf    *cc.Group // the Group cc joined, left when the connection closes
	rec          recovery
	rack         rackState
	tlp          tlpState
	delivered    uint64 // bytes delivered (acked or SACKed) so far
	delivTime    time.Duration
	firstSent    time.Duration
	appLimit     uint64        // delivery count until which the flow is app-limited
	appBound     bool          // the last send attempt ran out of data or receive window, not congestion window
	rtoCount     int           // RTOs in a row without progress
	lastPenalty  time.Duration // when Penalize last acted
	pace         pacer

	// Acknowledgment state.
	ackNow    bool // send an ACK at the next output
	ackSegs   int  // full segments received since the last ACK
	dupAcks   int  // duplicate ACKs in a row (loss detection without SACK)
	quickAcks int  // segments to acknowledge at once (start, after idle)
	// lastDataSent is when a data segment last left (Linux lsndtime),
	// from which an idle period is measured; 0 before the first.
	lastDataSent   time.Duration
	dsack          Range
	hasDSACK       bool
	sackRecent     [4]uint64 // receive offsets of recent out-of-order arrivals
	nSACKRecent    int
	lastOOWAck     time.Duration // out-of-window ACK rate limit
	lastRecv       time.Duration
	kaProbes       int
	probesUnacked  int  // zero-window probes without an answer
	persistBackoff int  // zero-window probes sent since the window closed
	notifyWrite    bool // a Write came up short: report EventWritable

	// Timers: absolute deadlines since the stack's epoch, 0 when off.
	rtoAt, tlpAt, reoAt, persistAt, delackAt, kaAt, closeAt time.Duration

	// Stack bookkeeping.
	heapIdx  int
	deadline time.Duration
	dirty    bool
	events   Event
	queued   bool // on the stack's notify list
	stats    Stats
}

// LocalAddr returns the local address and port.
func (c *Conn) LocalAddr() netip.AddrPort { return c.local }

// RemoteAddr returns the peer's address and port.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.remote }

// State returns the connection state. A connection that moved to TIME-WAIT
// reports StateTimeWait (the stack keeps a compact entry, not the Conn).
func (c *Conn) State() State { return c.state }

// Err returns why the connection closed: nil while open and after an
// orderly close, else ErrConnectionReset, ErrConnectionRefused,
// ErrTimeout or ErrConnectionAborted.
func (c *Conn) Err() error { return c.err }

// Hooks returns the connection's hooks.
func (c *Conn) Hooks() Hooks { return c.hooks }

// SetHooks installs hooks, for a connection taken from Accept. Hooks that
// shape the handshake must be given to Dial or by ListenHooks instead.
func (c *Conn) SetHooks(h Hooks) {
	if h == nil {
		h = NopHooks{}
	}
	c.hooks = h
}

// SetOptionReserve keeps n bytes of option space free for hooks on data
// segments, by carrying n fewer payload bytes in each.
func (c *Conn) SetOptionReserve(n int) { c.SetRecordOptionReserve(n, n) }

// SetRecordOptionReserve keeps first bytes of option space free for hooks
// on the first segment of each record (WriteRecord) and rest on the
// others: an MPTCP mapping covers its whole record, so only the segment
// that starts it needs to carry it (RFC 8684 section 3.3.1), and the
// others carry more payload. PayloadMSS follows rest, RecordBytes both.
func (c *Conn) SetRecordOptionReserve(first, rest int) {
	c.optFirst, c.optReserve = min(max(first, 0), 40), min(max(rest, 0), 40)
	if c.cc != nil {
		c.cc.SetMSS(c.payloadMSS())
	}
}

// SetSharedWindow makes the connection accept data up to n bytes beyond
// RCV.NXT even past the right edge it advertised (0, the default, keeps to
// the edge, RFC 9293 section 3.10.7.4). An MPTCP subflow needs it: its
// peer sends within the connection-level window, relative to the DATA_ACK
// (RFC 8684 section 3.3.4), which the subflow's own edge lags when data
// arrived on other subflows; Linux's sender raises each subflow's send
// window to the connection's. The layer above bounds what it keeps at
// connection level; n bounds what this subflow buffers.
func (c *Conn) SetSharedWindow(n int) {
	c.sharedWnd = max(n, 0)
}

// MSS returns the largest segment (payload plus options) the connection
// sends.
func (c *Conn) MSS() int { return c.sndMSS }

// Write queues as much of p as the send buffer has room for and returns
// the count; 0 with a nil error means the buffer is full (EventWritable
// follows when it drains). Data written before the handshake completes is
// sent once it does.
func (c *Conn) Write(p []byte) (int, error) {
	return c.write(p, nil, false)
}

// WriteRecord is Write for data that must not share a segment with the
// bytes written before or after it: the bytes accepted form one record,
// and every segment, first transmission or retransmission, holds bytes of
// one record only. The MPTCP layer writes each data-sequence mapping as a
// record.
func (c *Conn) WriteRecord(p []byte) (int, error) {
	return c.write(p, nil, true)
}

// WriteRecordSplit is WriteRecord for a record that lies in two pieces,
// head then tail (the two ends of a ring buffer that wraps): the bytes
// accepted of both form one record, as if they were contiguous.
func (c *Conn) WriteRecordSplit(head, tail []byte) (int, error) {
	return c.write(head, tail, true)
}

// write queues p, then tail once all of p fit.
func (c *Conn) write(p, tail []byte, record bool) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.writeClosed {
		return 0, ErrWriteClosed
	}
	if !c.state.sendOpen() {
		return 0, ErrNotConnected
	}
	if record && c.sb.recN == 0 && c.sb.tail > 0 {
		// The bytes before the first record form a record of their own.
		c.sb.markRecord()
	}
	n := c.sb.write(p)
	if n == len(p) {
		n += c.sb.write(tail)
	}
	if record && n > 0 {
		c.sb.markRecord()
	}
	if n < len(p)+len(tail) {
		c.notifyWrite = true
	}
	if n > 0 {
		if c.state == StateSynSent && c.synAt == 0 {
			c.synPending = true // a Fast Open SYN waited for data
		}
		c.stack.markDirty(c)
	}
	return n, nil
}

// Writable returns the free space in the send buffer.
func (c *Conn) Writable() int {
	if !c.state.sendOpen() || c.writeClosed {
		return 0
	}
	return c.sb.free()
}

// Unsent returns the bytes written but not yet sent once.
func (c *Conn) Unsent() int {
	return int(c.sb.tail - c.sndDataNxt())
}

// DropUnsent discards the bytes written from stream offset from on that
// were never sent (from below the first unsent byte means from that
// byte), and returns how many there were. The MPTCP layer calls it on a
// subflow it closes while the connection goes on, or once the peer
// acknowledged everything at the connection level: those bytes are sent
// elsewhere or needed nowhere, and a peer that closed the subflow would
// answer each with a RST (Linux counts TCPAbortOnData). It passes the end
// of a record already partly sent, whose header the peer holds. Bytes sent
// once stay, to be acknowledged or retransmitted; after the FIN there is
// nothing unsent.
func (c *Conn) DropUnsent(from uint64) int {
	if c.finSent {
		return 0
	}
	from = max(from, c.sndDataNxt())
	if from >= c.sb.tail {
		return 0
	}
	n := int(c.sb.tail - from)
	c.sb.truncate(from)
	c.stack.markDirty(c)
	return n
}

// Unacked returns the bytes written and not yet acknowledged.
func (c *Conn) Unacked() int { return c.sb.len() }

// SendOffset returns the stream offset the next byte written will have.
func (c *Conn) SendOffset() uint64 { return c.sb.tail }

// Read copies received in-order bytes into p. It returns io.EOF once the
// peer's FIN has been reached, and the connection's error after a reset or
// timeout; (0, nil) means nothing has arrived yet.
func (c *Conn) Read(p []byte) (int, error) {
	if c.appClosed {
		return 0, ErrClosed
	}
	if c.rb.buffered() == 0 {
		return 0, c.readErr()
	}
	n := c.rb.read(p)
	c.consumed(n)
	return n, nil
}

// Peek returns the in-order received bytes as up to two slices, valid
// until the next call into the stack, without consuming them. With Discard
// it lets the MPTCP layer copy straight from the receive buffer into its
// reassembly, without an intermediate copy.
func (c *Conn) Peek() ([]byte, []byte) { return c.rb.peek() }

// Discard consumes n bytes of what Peek returned, and returns how many it
// consumed.
func (c *Conn) Discard(n int) int {
	n = c.rb.discard(n)
	c.consumed(n)
	return n
}

// ReadOffset returns the stream offset of the next byte Read returns.
func (c *Conn) ReadOffset() uint64 { return c.rb.head }

// Readable returns the in-order bytes waiting to be read.
func (c *Conn) Readable() int { return c.rb.buffered() }

// EOF reports whether the peer's FIN has been received and every byte
// before it read.
func (c *Conn) EOF() bool {
	return c.finRcvd && c.rb.buffered() == 0 && c.rcvNxt() > c.finOff
}

func (c *Conn) readErr() error {
	if c.EOF() {
		return io.EOF
	}
	if c.err != nil {
		return c.err
	}
	if c.state == StateClosed {
		return io.EOF
	}
	return nil
}

// consumed reacts to the application taking n bytes: auto-tuning, and a
// window update if the window grew enough to matter.
func (c *Conn) consumed(n int) {
	if n == 0 || !c.state.synchronized() {
		return
	}
	s := c.stack
	c.rcvSpaceAdjust(s.now)
	// Linux's tcp_cleanup_rbuf rule: announce the window once it can at
	// least double.
	cur := c.heldWindow()
	if nw := uint64(c.advertisable()); nw >= 2*cur && nw-cur >= uint64(c.advMSS) {
		c.ackNow = true
		s.markDirty(c)
	}
}

// SendACK asks for an ACK to be sent at the next poll, even if none is
// due: for the MPTCP layer, to carry a DATA_ACK or an address option.
func (c *Conn) SendACK() {
	if c.state.synchronized() && c.state != StateTimeWait {
		c.ackNow = true
		c.stack.markDirty(c)
	}
}

// CloseWrite half-closes the connection: a FIN follows the data already
// written. Reading goes on until the peer closes.
func (c *Conn) CloseWrite() error {
	if c.err != nil {
		return c.err
	}
	if c.writeClosed {
		return nil
	}
	switch c.state {
	case StateSynSent:
		// Nothing sent yet that the peer knows of: give up the attempt.
		c.writeClosed = true
		c.close(nil)
		return nil
	case StateClosed:
		return ErrClosed
	}
	c.writeClosed = true
	c.stack.markDirty(c)
	return nil
}

// Close closes both directions. Queued data is still delivered, then a FIN;
// the stack keeps running the connection until it is closed. If received
// data was left unread, the peer is reset instead (RFC 9293 section
// 3.10.4, RFC 2525 section 2.17), as Linux does.
func (c *Conn) Close() error {
	if c.appClosed {
		return nil
	}
	c.appClosed = true
	if c.state == StateClosed || c.state == StateTimeWait {
		return nil
	}
	if c.rb.buffered() > 0 || len(c.rb.ooo.r) > 0 {
		c.stats.ResetsOnClose++
		c.stack.stats.AbortOnClose++
		c.reset(ErrConnectionAborted)
		return nil
	}
	c.CloseWrite()
	if c.state == StateFinWait2 {
		c.closeAt = c.stack.now + c.stack.cfg.FinTimeout
		c.stack.reschedule(c)
	}
	return nil
}

// Abort resets the connection: a RST goes out at once (hooks may add
// options to it) and the connection closes with ErrConnectionAborted.
func (c *Conn) Abort() {
	if c.state == StateClosed {
		return
	}
	c.appClosed = true
	c.reset(ErrConnectionAborted)
}

// Info returns a snapshot of the connection's counters and estimates.
func (c *Conn) Info() Stats {
	st := c.stats
	st.State = c.state
	st.SRTT = c.rtt.srtt
	st.RTTVar = c.rtt.rttvar
	st.MinRTT = c.rtt.minRTT()
	st.RTO = c.rtt.currentRTO()
	if c.cc != nil {
		st.Cwnd = c.cc.Window()
		st.Ssthresh = c.cc.SlowStartThreshold()
		st.PacingRate = c.cc.PacingRate()
	}
	st.InFlight = c.inflight()
	st.RTOsInRow = c.rtoCount
	st.SendWindow = int(c.sndWnd)
	st.ReceiveBuffer = c.rcvBuf
	st.MSS = c.sndMSS
	st.SACKed = c.txq.sacked
	st.Lost = c.txq.lost
	return st
}

// Live updates, in st, the figures of Info that move with every segment
// (State, SRTT, RTTVar, RTO, Cwnd, InFlight, SendWindow, MSS and
// DeliveryRate) and leaves its counters as they were: a layer that reads
// them on every poll (the MPTCP scheduler) keeps one Stats and pays for
// neither the copy of the counters nor the figures it does not read.
func (c *Conn) Live(st *Stats) {
	st.State = c.state
	st.SRTT = c.rtt.srtt
	st.RTTVar = c.rtt.rttvar
	st.RTO = c.rtt.currentRTO()
	st.Cwnd = 0
	if c.cc != nil {
		st.Cwnd = c.cc.Window()
	}
	st.InFlight = c.inflight()
	st.SendWindow = int(c.sndWnd)
	st.MSS = c.sndMSS
	st.DeliveryRate = c.stats.DeliveryRate
}

// Stats is an alias for Info, for symmetry with Stack.Stats.
func (c *Conn) Stats() Stats { return c.Info() }

// Cheap accessors for schedulers, which ask on every decision and should
// not pay for a full Info snapshot.

// SRTT returns the smoothed round-trip time, or 0 before the first sample.
func (c *Conn) SRTT() time.Duration { return c.rtt.srtt }

// MinRTT returns the smallest RTT seen recently, or 0.
func (c *Conn) MinRTT() time.Duration { return c.rtt.minRTT() }

// Cwnd returns the congestion window in bytes (during fast recovery, the
// window proportional rate reduction allows), or 0 before establishment.
func (c *Conn) Cwnd() int {
	if c.cc == nil {
		return 0
	}
	return c.window()
}

// PayloadMSS returns the payload of a full-sized data segment: the MSS
// less the timestamp option and the hooks' option reserve. Congestion
// windows count in it. A layer that sizes its writes to the window (the
// MPTCP scheduler) writes records of whole segments (RecordBytes), so
// that records do not end in runt segments.
func (c *Conn) PayloadMSS() int { return c.payloadMSS() }

// RecordBytes returns the largest record of at most n bytes that fills
// whole segments (the first carrying the larger reserve of
// SetRecordOptionReserve), 0 if n is less than one segment.
func (c *Conn) RecordBytes(n int) int {
	first, rest := c.payloadFirst(), c.payloadMSS()
	if n < first {
		return 0
	}
	return first + (n-first)/rest*rest
}

// PeerWindowScale returns the shift the peer applies to the window field
// of its segments (RFC 7323), 0 without window scaling: learnt from its
// SYN or SYN/ACK, or from a SYN cookie.
func (c *Conn) PeerWindowScale() uint8 { return c.sndShift }

// InFlight returns the bytes sent and believed to be in the network.
func (c *Conn) InFlight() int { return c.inflight() }

// SentAt returns when the byte at stream offset off (SendOffset's count)
// was last transmitted, and false if no segment awaiting acknowledgment
// holds it (not sent yet, or acknowledged): the MPTCP layer estimates
// from it when data a subflow carries will arrive.
func (c *Conn) SentAt(off uint64) (time.Time, bool) {
	x := off + 1 // the SYN takes the stream's first sequence offset
	i := c.txq.find(x)
	if i >= c.txq.tail() {
		return time.Time{}, false
	}
	if sg := c.txq.at(i); sg.start <= x {
		return c.stack.wall(sg.xmit), true
	}
	return time.Time{}, false
}

// SendWindow returns the peer's advertised receive window in bytes.
func (c *Conn) SendWindow() int { return int(c.sndWnd) }

// CanSend returns how many new bytes the congestion and peer windows
// would let the connection send now (ignoring the pacer): what a
// scheduler can expect to leave at once if it writes them.
func (c *Conn) CanSend() int {
	if c.cc == nil || !c.state.synchronized() {
		return 0
	}
	return max(0, min(c.window()-c.inflight(), c.rwndRoom()-c.Unsent()))
}
