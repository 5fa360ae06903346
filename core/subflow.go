package core

import (
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/cc"
	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/tcp"
	"github.com/mptcp-go/mptcp/wire"
)

// subflow is one TCP connection of an MPTCP connection, and the hooks
// through which the TCP engine lets it add and read MPTCP options (the
// kernel's subflow.c with the per-subflow half of options.c).
type subflow struct {
	conn *Conn
	tc   *tcp.Conn
	id   int

	initial bool // the MP_CAPABLE subflow
	join    bool // opened with MP_JOIN
	active  bool // we sent the SYN

	local, remote     netip.AddrPort
	localID, remoteID uint8
	backup            bool // we asked for it to be a backup path
	peerBackup        bool // the peer asked
	prioPending       bool // an MP_PRIO with our backup flag is due

	// MP_CAPABLE.
	requestMPC bool // MP_CAPABLE on our SYN, or answered on our SYN/ACK
	synRetrans int  // MP_CAPABLE SYNs retransmitted
	mpcDropped bool // we stopped putting MP_CAPABLE on SYNs
	mpcAcks    int  // pure ACKs sent with the MP_CAPABLE third ACK
	tfoWritten int  // bytes given to the Fast Open SYN (fastopen.go)

	// MP_JOIN (RFC 8684 section 3.2).
	localNonce, remoteNonce uint32
	joinTHMAC               uint64 // listener: truncated HMAC for the SYN/ACK
	joinHMAC                [wire.MPJoinHMACLen]byte
	thirdAckAt              time.Time // initiator: repeat the third ACK then
	thirdAckRTO             time.Duration

	tcpEstablished   bool
	fullyEstablished bool // may carry data (a join: after the fourth ACK)
	closed           bool
	abortPending     bool
	ackPending       bool
	removedByPeer    bool // REMOVE_ADDR named its remote address
	removedByUs      bool // its local address went away
	// Closing (closing.go): no new data, its outstanding data sent again
	// elsewhere, closed after the REMOVE_ADDR went out (closeAfterRm),
	// reset if the close does not end by closeBy.
	closing      bool
	closeAfterRm bool
	resetAfterRm bool
	closeBy      time.Time
	finPending   bool
	peerFIN      bool // the peer's FIN arrived on the subflow
	announcedEst bool // SubEstablished reported

	rx rxMappings
	tx txMappings

	// MP_FAIL and the infinite mapping (RFC 8684 section 3.7).
	sendFail     bool
	failOnRST    bool // the RST carries MP_FAIL (failDSN): a checksum failed
	failDSN      uint64
	waitInfinite bool      // receiver: discard until the infinite mapping
	failBy       time.Time // with waitInfinite: reset the subflow if none came by then
	sendInfinite bool      // sender: carry the infinite mapping from infOff
	infOff       uint64
	infDSN       uint64
	infSent      bool
	fbPeerMaps   bool // after our fallback the peer still sent mappings

	// MP_TCPRST and MP_FASTCLOSE on our RST.
	rstSet    bool
	rstReason wire.MPTCPRstReason
	rstFlags  wire.MPTCPRstFlags
	fastclose bool
	peerRst   wire.MPTCPRst // what the peer's RST said
	peerRstOK bool

	// Stale detection.
	rtoFired bool // the engine reported a retransmission timeout
	stale    bool
	// sentStale: data was given to the subflow while it was stale (the
	// scheduler uses stale subflows when no other is usable): a later
	// timeout sends that data elsewhere too.
	sentStale bool

	// Cached engine state, refreshed by refresh().
	info tcp.Stats

	// Liveness probing of idle subflows (probe.go).
	lastRecv, lastProbe time.Time
	lastData            time.Time // last segment with payload, or acknowledging ours

	// sentStarts remembers the DSNs at which recent mappings sent here
	// began, so an MP_FAIL can be checked against them.
	sentStarts [64]uint64
	sentN      int

	// ACKs without MPTCP options (fallback.go optionsLost, plainAcked).
	plainAck  bool // the segment being processed is one
	plainAcks int  // those that acknowledged data since the last DATA_ACK
	// csumOK: a DSS checksum was verified on this subflow, so the path
	// carries MPTCP options on data unchanged: no fallback any more
	// (unprotectedData). noDSSData counts data segments without options
	// dropped since the last one with a DSS.
	csumOK    bool
	noDSSData int
	// uniform: every data segment carries its mapping (dsslayout.go).
	uniform bool

	bytesSent, bytesRecv uint64 // data-level payload
}

// attach binds the subflow to its TCP connection.
func (sf *subflow) attach(tc *tcp.Conn) {
	if sf.tc == tc {
		return
	}
	sf.tc = tc
	sf.local, sf.remote = tc.LocalAddr(), tc.RemoteAddr()
	if !sf.conn.fallen {
		sf.applyReserve()
		// The peer sends within the connection-level window, which this
		// subflow's own right edge may lag (finding 1 of issue 14).
		tc.SetSharedWindow(sf.conn.rcv.limit)
	}
	sf.applySockOpts()
	sf.refresh()
}

// refresh caches the engine's estimates for the scheduler: the figures
// that move with every segment (tcp.Conn.Live), on every poll and send.
// The counters in sf.info are refreshed only by refreshAll.
func (sf *subflow) refresh() {
	if sf.tc != nil {
		sf.tc.Live(&sf.info)
		if u := sf.wantUniform(); u != sf.uniform {
			sf.uniform = u
			sf.applyReserve()
		}
	}
}

// refreshAll caches the engine's whole state, counters included, for
// ConnInfo.
func (sf *subflow) refreshAll() {
	if sf.tc != nil {
		sf.info = sf.tc.Info()
	}
}

// ack64 reports whether DATA_ACKs go in the 8-octet form: until the
// handshake is complete, and while the peer maps its data with 8-octet
// DSNs (Linux's use_64bit_ack); otherwise 4 octets, as Linux sends them.
func (c *Conn) ack64() bool { return !c.fully || c.peerDSN64 }

// dsn64 reports whether mappings carry the 8-octet DSN: until the peer is
// known to have our key (fully established) it cannot expand a 4-byte
// one; Config.DSN64 asks for it always, as Linux does.
func (c *Conn) dsn64() bool { return !c.fully || c.stack.cfg.DSN64 }

func (sf *subflow) srtt() time.Duration { return sf.info.SRTT }

// usable reports whether the subflow may carry data.
func (sf *subflow) usable() bool {
	return sf.tc != nil && !sf.closed && !sf.closing && sf.tcpEstablished && sf.fullyEstablishedForData()
}

// otherUsable reports whether a subflow other than sf may carry data.
func (c *Conn) otherUsable(sf *subflow) bool {
	for _, o := range c.subflows {
		if o != sf && o.usable() {
			return true
		}
	}
	return false
}

func (sf *subflow) fullyEstablishedForData() bool {
	c := sf.conn
	if c.fallen {
		return true
	}
	if sf.initial {
		return c.remoteKnown || c.fallen
	}
	return sf.fullyEstablished
}

// canSignal reports whether options may be sent on the subflow.
func (sf *subflow) canSignal() bool {
	return sf.tc != nil && !sf.closed && !sf.closing && sf.tcpEstablished && (sf.initial || sf.fullyEstablished)
}

// sentMappingAt reports whether a recent mapping sent on the subflow
// began at dsn.
func (sf *subflow) sentMappingAt(dsn uint64) bool {
	for i := range min(sf.sentN, len(sf.sentStarts)) {
		if sf.sentStarts[i] == dsn {
			return true
		}
	}
	return false
}

// abort resets the subflow (MP_TCPRST or MP_FASTCLOSE go on its RST).
// Inside a TCP hook, where the engine must not be re-entered, the reset
// waits for the connection's next poll.
func (sf *subflow) abort() {
	if sf.tc == nil || sf.closed {
		return
	}
	if sf.conn.stack.hookDepth > 0 {
		sf.abortPending = true
		sf.conn.markDirty()
		return
	}
	sf.abortPending = false
	sf.tc.Abort()
}

// sendACK asks the engine for an ACK (to carry signals, a DATA_ACK or a
// window update), deferred like abort when inside a hook.
func (sf *subflow) sendACK() {
	if sf.tc == nil || sf.closed {
		return
	}
	if sf.conn.stack.hookDepth > 0 {
		sf.ackPending = true
		sf.conn.markDirty()
		return
	}
	sf.ackPending = false
	sf.tc.SendACK()
}

// reset resets the subflow with an MP_TCPRST reason.
func (sf *subflow) reset(reason wire.MPTCPRstReason) {
	sf.rstSet, sf.rstReason = true, reason
	sf.abort()
}

// pmInfo describes the subflow to the path manager.
func (sf *subflow) pmInfo() pm.SubflowInfo {
	return pm.SubflowInfo{
		ID: sf.id, Local: sf.local, Remote: sf.remote,
		LocalID: sf.localID, RemoteID: sf.remoteID,
		Backup: sf.backup || sf.peerBackup, Established: sf.fullyEstablished || (sf.initial && sf.tcpEstablished),
		Initial: sf.initial,
	}
}

// poll runs what hooks deferred and the subflow's timers: the repeated
// third ACK of a join.
func (sf *subflow) poll(now time.Time) {
	if sf.abortPending {
		sf.abort()
		return
	}
	if sf.ackPending {
		sf.sendACK()
	}
	sf.closingTimers(now)
	sf.joinAckTimer(now)
	sf.failTimer(now)
}

// mpFailTimeout is how long a receiver that sent MP_FAIL on its only
// subflow waits for the infinite mapping before it resets the subflow
// (Linux waits TCP_RTO_MAX). A peer that echoes MP_FAIL and sends nothing
// more, as Linux 6.18 does when our window is closed, would otherwise
// leave the application's read waiting for ever.
const mpFailTimeout = 120 * time.Second

// failTimer resets the subflow when the infinite mapping asked for with
// MP_FAIL did not come in time.
func (sf *subflow) failTimer(now time.Time) {
	if !sf.waitInfinite || now.Before(sf.failBy) || sf.closed {
		return
	}
	sf.waitInfinite = false
	sf.conn.stack.mib.Inc(MPFailNoResponse)
	sf.resetWithFail()
}

// resetWithFail resets the subflow for a failed DSS checksum: "the
// receiver MUST close the affected subflow with a RST with an MP_FAIL
// option" (RFC 8684 section 3.7), beside MP_TCPRST "middlebox
// interference".
func (sf *subflow) resetWithFail() {
	sf.failOnRST = true
	sf.reset(wire.MPTCPRstReasonMiddleboxInterferes)
}

func (sf *subflow) nextWake() time.Time {
	var t time.Time
	if sf.joinAckPending() {
		t = sf.thirdAckAt
	}
	if sf.closing && !sf.closed {
		t = Earliest(t, sf.closeBy)
	}
	if sf.waitInfinite && !sf.closed {
		t = Earliest(t, sf.failBy)
	}
	return t
}

// touch queues the connection for its next poll: a TCP hook ran, which
// may have changed what it has to do or when.
func (sf *subflow) touch() { sf.conn.stack.queue(sf.conn) }

// CCGroup implements tcp.CCGrouper: every subflow of a connection,
// accepted ones included, shares the connection's congestion-control
// group, so coupled algorithms (lia, olia, ...) see all of them.
func (sf *subflow) CCGroup() *cc.Group { return sf.conn.ccGroup }

// ---- tcp.Hooks ----

// WriteOptions implements tcp.Hooks.
func (sf *subflow) WriteOptions(tc *tcp.Conn, seg *tcp.Segment, b *wire.OptionBuilder) {
	sf.touch()
	sf.conn.stack.hookDepth++
	defer func() { sf.conn.stack.hookDepth-- }()
	sf.attach(tc)
	c := sf.conn
	mib := &c.stack.mib
	switch seg.Kind {
	case tcp.KindSYN:
		sf.synOptions(seg, b)
	case tcp.KindSYNACK:
		if sf.join {
			sf.joinSynAckOption(b)
		} else if sf.requestMPC && !c.fallen {
			_ = b.AddMPCapable(&wire.MPCapable{Form: wire.MPCapableSYNACK, Version: wire.MPTCPVersion,
				Flags: c.capableFlags(), SenderKey: c.local.key})
		}
	case tcp.KindRST:
		switch {
		case sf.fastclose:
			if b.AddMPFastclose(&wire.MPFastclose{ReceiverKey: c.fastcloseKey}) == nil {
				mib.Inc(MPFastcloseTx)
			}
		case sf.rstSet:
			if sf.failOnRST && b.AddMPFail(&wire.MPFail{DSN: sf.failDSN}) == nil {
				mib.Inc(MPFailTx)
			}
			if b.AddMPTCPRst(&wire.MPTCPRst{Flags: sf.rstFlags, Reason: sf.rstReason}) == nil {
				mib.Inc(MPRstTx)
			}
		}
	default:
		sf.establishedOptions(seg, b)
	}
}

// synOptions puts MP_CAPABLE or MP_JOIN on our SYN. After
// SYNRetransBeforeFallback retransmissions an MP_CAPABLE SYN goes out as
// plain TCP: a middlebox may be dropping it (the kernel's
// mptcp_active_detect_blackhole).
func (sf *subflow) synOptions(seg *tcp.Segment, b *wire.OptionBuilder) {
	c := sf.conn
	mib := &c.stack.mib
	if sf.join {
		if b.AddMPJoin(&wire.MPJoin{Form: wire.MPJoinSYN, Backup: sf.backup, AddrID: sf.localID,
			Token: c.remote.token, Nonce: sf.localNonce}) == nil && !seg.Retransmit {
			mib.Inc(MPJoinSynTx)
		}
		return
	}
	if !sf.requestMPC {
		return
	}
	if seg.Retransmit {
		sf.synRetrans++
		if n := c.stack.cfg.SYNRetransBeforeFallback; n >= 0 && sf.synRetrans > n {
			sf.requestMPC = false
			sf.mpcDropped = true
			c.fallback(MPCapableSYNTXDrop, sf)
			return
		}
	}
	if b.AddMPCapable(&wire.MPCapable{Form: wire.MPCapableSYN, Version: wire.MPTCPVersion, Flags: c.capableFlags()}) == nil {
		mib.Inc(MPCapableSYNTX)
	}
}

// establishedOptions adds the options of a segment after the handshake:
// the MP_CAPABLE or MP_JOIN third ACK while it is needed, else the DSS
// (DATA_ACK, mapping, DATA_FIN) and pending signals.
func (sf *subflow) establishedOptions(seg *tcp.Segment, b *wire.OptionBuilder) {
	c := sf.conn
	if c.fallen && !sf.sendInfinite {
		return
	}
	if sf.capableAckOption(seg, b) || sf.joinAckOption(seg, b) {
		return
	}
	var d wire.DSS
	if c.remoteKnown && !c.fallen {
		d.HasAck, d.Ack64, d.DataAck = true, c.ack64(), c.rcv.nxt
	}
	mib := &c.stack.mib
	switch {
	case seg.Kind == tcp.KindData && sf.sendInfinite && seg.Offset >= sf.infOff:
		d.HasMap, d.DSN64, d.DSN = true, true, sf.infDSN
		d.SubflowSeq = sf.wireSSN(sf.infOff)
		d.DataLen = 0
		d.HasChecksum = c.csum
		if !sf.infSent {
			sf.infSent = true
			mib.Inc(InfiniteMapTx)
		}
	case seg.Kind == tcp.KindData && !c.fallen:
		sf.mapData(seg, b, &d)
	case seg.Kind == tcp.KindACK && !c.fallen:
		if sf.sendFail {
			if b.AddMPFail(&wire.MPFail{DSN: sf.failDSN}) == nil {
				mib.Inc(MPFailTx)
				sf.sendFail = false
			}
		}
		sf.signals(b, &d)
		if c.dataFinPending() {
			fin := c.snd.end()
			d.HasMap, d.DSN64, d.DSN, d.SubflowSeq, d.DataLen, d.DataFIN = true, true, fin, 0, 1, true
			if c.csum {
				d.HasChecksum, d.Checksum = true, wire.DSSChecksum(fin, 0, 1, nil)
			}
			if b.Free() >= d.Len() {
				c.dataFinSent()
			}
		}
	}
	if d.HasAck || d.HasMap {
		addDSS(seg, b, &d)
	}
}

// ReadOptions implements tcp.Hooks.
func (sf *subflow) ReadOptions(tc *tcp.Conn, now time.Time, seg *tcp.Segment, opts *wire.TCPOptions) tcp.Verdict {
	sf.touch()
	sf.conn.stack.hookDepth++
	defer func() { sf.conn.stack.hookDepth-- }()
	sf.attach(tc)
	c := sf.conn
	c.stack.now = now
	sf.lastRecv = now
	if seg.Len > 0 {
		sf.lastData = now
	}
	sf.plainAck = false
	mp := &opts.MPTCP
	switch seg.Kind {
	case tcp.KindSYNACK:
		return sf.synAckReceived(now, mp)
	case tcp.KindRST:
		sf.rstReceived(mp)
		return tcp.Accept
	case tcp.KindOldACK:
		// Dropped by TCP; only what the peer signals counts.
		if c.state != StateClosed && !c.fallen && c.remoteKnown {
			sf.signalsReceived(now, mp)
		}
		return tcp.Drop
	}
	if c.state == StateClosed && !c.fallen {
		return tcp.Accept
	}
	return sf.input(now, seg, mp)
}

// synAckReceived handles the SYN/ACK answering our SYN.
func (sf *subflow) synAckReceived(now time.Time, mp *wire.MPTCPOptions) tcp.Verdict {
	if sf.join {
		return sf.joinSynAckReceived(mp)
	}
	return sf.capableSynAckReceived(now, mp)
}

// rstReceived notes what an acceptable RST said.
func (sf *subflow) rstReceived(mp *wire.MPTCPOptions) {
	c := sf.conn
	mib := &c.stack.mib
	if mp.Has(wire.SubtypeMPTCPRst) {
		mib.Inc(MPRstRx)
		sf.peerRst, sf.peerRstOK = mp.Rst, true
	}
	if mp.Has(wire.SubtypeMPFail) {
		// The peer's checksum of our data on this subflow failed (RFC
		// 8684 section 3.7); the RST closes it, and what it carried goes
		// again on the others.
		mib.Inc(MPFailRx)
	}
	if mp.Has(wire.SubtypeMPFastclose) {
		sf.fastcloseReceived(mp.Fastclose.ReceiverKey)
	}
}

// fastcloseReceived handles MP_FASTCLOSE (RFC 8684 section 3.5): with our
// key it resets the whole connection.
func (sf *subflow) fastcloseReceived(key uint64) {
	c := sf.conn
	if c.fallen || key != c.local.key || c.local.key == 0 {
		c.stack.mib.Inc(FastcloseBadKey)
		return
	}
	c.stack.mib.Inc(MPFastcloseRx)
	c.fastcloseRcvd = true
}

// Acked implements tcp.Hooks.
func (sf *subflow) Acked(tc *tcp.Conn, now time.Time, a *tcp.AckInfo) {
	sf.touch()
	sf.conn.stack.hookDepth++
	defer func() { sf.conn.stack.hookDepth-- }()
	c := sf.conn
	sf.tx.acked(a.Una)
	if a.NewlyAcked > 0 {
		sf.lastData = now
	}
	if sf.plainAck && !c.fallen {
		sf.plainAck = false
		sf.plainAcked(a.NewlyAcked > 0)
	}
	if a.NewlyAcked > 0 && sf.stale {
		sf.stale = false
		c.stack.mib.Inc(SubflowRecover)
	}
	if c.fallen && c.fbTxSet && a.Una > c.fbTx.off0 {
		if n := c.snd.ack(c.fbTx.dsn0 + (a.Una - c.fbTx.off0)); n > 0 {
			c.lastUnaMove = now
			c.wake()
		}
	}
	if sf.sendInfinite && a.Una > sf.infOff {
		sf.sendInfinite = false
	}
	c.markDirty()
}

// ReceiveWindow implements tcp.Hooks: every subflow advertises the one
// connection-level window, relative to the DATA_ACK (RFC 8684 section
// 3.3.4).
func (sf *subflow) ReceiveWindow(_ *tcp.Conn, wnd int) int {
	sf.touch()
	sf.conn.stack.hookDepth++
	defer func() { sf.conn.stack.hookDepth-- }()
	c := sf.conn
	if c.fallen || !c.remoteKnown {
		return wnd
	}
	w := c.rcv.window()
	c.lastWndAdv = w
	c.rcv.shown(c.rcv.nxt + uint64(sf.tc.WindowBound(w)))
	return w
}

// Notify implements tcp.Hooks.
func (sf *subflow) Notify(tc *tcp.Conn, now time.Time, ev tcp.Event) {
	sf.touch()
	sf.attach(tc)
	c := sf.conn
	c.stack.now = now
	if ev&tcp.EventReadable != 0 && tc.State() == tcp.StateSynReceived {
		sf.fastOpenAccept()
	}
	if ev&tcp.EventEstablished != 0 {
		sf.fastOpenEstablished()
		sf.fastOpenDeliver()
		sf.tcpEstablished = true
		c.noSubflowSince = time.Time{}
		sf.refresh()
		if sf.initial {
			// The handshake's window, from the SYN/ACK (ours a client)
			// or the third ACK (a server), counts from the first DSN,
			// its implicit DATA_ACK, until a DATA_ACK comes (sendEdge).
			c.hsEnd = c.snd.first + uint64(sf.info.SendWindow)
		}
		sf.onEstablished(now)
	}
	if ev&tcp.EventFIN != 0 {
		sf.peerFIN = true
		if !c.fallen && c.state == StateEstablished && !sf.closed && (c.snd.finAcked || c.otherUsable(sf)) {
			// A FIN on one subflow closes only that subflow (RFC 8684
			// section 3.3.3): the peer is done with it, so are we, when
			// our data can go elsewhere or is all acknowledged. On the
			// last subflow our half stays open, as Linux keeps it, to
			// carry what the application still writes and our DATA_FIN;
			// the connection's close ends it.
			sf.removedByPeer = true
			sf.closeGracefully(now)
		}
	}
	if ev&(tcp.EventReadable|tcp.EventFIN|tcp.EventClosed) != 0 {
		sf.drain(now)
	}
	if ev&(tcp.EventWritable|tcp.EventSendAcked) != 0 {
		c.markDirty()
	}
	if ev&tcp.EventRTO != 0 {
		// Handled at the next poll (checkStale): mark the subflow stale
		// and send its outstanding data elsewhere.
		sf.rtoFired = true
		c.markDirty()
	}
	if ev&tcp.EventClosed != 0 && !sf.closed {
		sf.closed = true
		err := tc.Err()
		if sf.peerRstOK && err != nil {
			err = &SubflowResetError{Reason: sf.peerRst.Reason, Transient: sf.peerRst.Flags&wire.MPTCPRstTransient != 0, Err: err}
		}
		if c.fastcloseRcvd {
			c.fastcloseClosed(sf)
		}
		c.removeSubflow(sf, err)
	}
	if c.fastcloseRcvd && c.state != StateClosed {
		c.fastcloseClosed(nil)
	}
}

// fastcloseClosed ends the connection after a valid MP_FASTCLOSE: every
// subflow but done (already closed by it) is reset. The RSTs carry
// MP_FASTCLOSE with the peer's key: RFC 8684 section 3.5 asks only for
// RSTs, but a peer that did not send the MP_FASTCLOSE (an attacker who
// learnt our key on the path did) otherwise sees its subflows reset one by
// one and keeps the connection waiting for a new one: Linux for ever,
// this stack until NoSubflowTimeout. Both end the connection on a RST
// carrying MP_FASTCLOSE with their key.
func (c *Conn) fastcloseClosed(done *subflow) {
	c.fastcloseRcvd = false
	c.markFastclose()
	for _, o := range c.subflows {
		if o != done {
			o.abort()
		}
	}
	c.close(ErrConnectionReset)
}

// SubflowResetError is the error a path manager sees for a subflow the
// peer reset with MP_TCPRST.
type SubflowResetError struct {
	Reason    wire.MPTCPRstReason
	Transient bool
	Err       error
}

// Error gives the reason the peer gave for the reset.
func (e *SubflowResetError) Error() string {
	return "mptcp: subflow reset by peer: " + e.Reason.String()
}

// Unwrap returns the TCP engine's error.
func (e *SubflowResetError) Unwrap() error { return e.Err }

// Permanent reports whether the peer said the error is not transient (T
// flag clear): the path is not to be tried again (pm.IsPermanent).
func (e *SubflowResetError) Permanent() bool { return !e.Transient }

// onEstablished handles the end of a subflow's TCP handshake.
func (sf *subflow) onEstablished(now time.Time) {
	c := sf.conn
	switch {
	case sf.initial && sf.active:
		// Data may flow now: with MP_CAPABLE (the keys went on the third
		// ACK) or as TCP after a fallback.
		c.established()
	case sf.initial:
		// The server learns the client's key from the third ACK (or the
		// first data), seen in input before this.
		if c.fully || c.fallen {
			c.established()
		}
	case sf.join && sf.active:
		sf.thirdAckRTO = max(sf.info.RTO, 200*time.Millisecond)
		sf.thirdAckAt = now.Add(sf.thirdAckRTO)
		c.joinedEver = true
	case sf.join:
		// The HMAC of the third ACK was checked in input; the fourth ACK
		// tells the initiator it may send.
		if sf.fullyEstablished {
			sf.sendACK()
			sf.subEstablished()
		}
	}
	c.markDirty()
}

// subEstablished reports an established subflow once.
func (sf *subflow) subEstablished() {
	if sf.announcedEst {
		return
	}
	sf.announcedEst = true
	sf.conn.pmEvent(pm.Event{Kind: pm.SubEstablished, Subflow: sf.pmInfo()})
}
