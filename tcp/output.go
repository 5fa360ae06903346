package tcp

import (
	"net/netip"

	"github.com/mptcp-go/mptcp/cc"
	"github.com/mptcp-go/mptcp/wire"
)

// output sends whatever the connection has to send now: SYN or SYN/ACK,
// retransmissions, new data, FIN, and an ACK if one is owed and nothing
// else carried it.
func (c *Conn) output() {
	switch c.state {
	case StateSynSent, StateSynReceived:
		if c.synPending {
			c.sendSYN()
		}
		if c.SendsEarly() {
			c.startCC()
			c.sendData()
		}
		return
	case StateClosed, StateListen, StateTimeWait:
		return
	}
	c.sendData()
	if c.ackNow {
		c.sendControl(wire.FlagACK, c.sndNxt, false)
	}
}

// sendData sends retransmissions and new data while the congestion and
// receive windows, and the pacer, allow.
func (c *Conn) sendData() {
	now := c.stack.now
	sent := false
	c.appBound = false
	for !c.paceBlocked(now) {
		inflight := c.inflight()
		win := c.window()
		if i := c.nextLost(); i != none {
			sg := c.txq.at(i)
			if inflight > 0 && inflight+int(sg.end-sg.start) > win {
				c.appBound = false
				break
			}
			c.retransmit(i, false)
			sent = true
			continue
		}
		if c.sendNew(inflight, win) == 0 {
			break
		}
		sent = true
	}
	if sent {
		c.armTimers(false)
	} else if c.state.synchronized() {
		// Data written while the window is closed and nothing is in
		// flight: no ACK will come to arm the persist timer.
		c.armPersist()
	}
}

// nextLost returns the first segment marked lost and not yet
// retransmitted, or none.
func (c *Conn) nextLost() int64 {
	q := &c.txq
	if q.lost == 0 {
		return none
	}
	for i := max(q.hint, q.head); i < q.tail(); i++ {
		sg := q.at(i)
		if sg.flags&(segLost|segRetrans|segSACKed) == segLost {
			q.hint = i
			return i
		}
	}
	q.hint = q.tail()
	return none
}

// rwndRoom returns how much new data the peer's window admits.
func (c *Conn) rwndRoom() int {
	right := c.sndUna + c.sndWnd
	if right <= c.sndNxt {
		return 0
	}
	return int(right - c.sndNxt)
}

// sendsData reports whether the state lets new data leave: after the
// handshake, and before it for a Fast Open server (SendsEarly).
func (c *Conn) sendsData() bool {
	return c.state == StateEstablished || c.state == StateCloseWait || c.SendsEarly()
}

// SendsEarly reports a Fast Open server in SYN-RECEIVED that took the
// SYN's data and sent its SYN/ACK: it may send its answer before the
// handshake's last ACK (RFC 7413 section 4.2.2), so the layer above may
// write it now. Until the handshake completes only the SYN/ACK's timer
// runs, and a timeout sends the SYN/ACK again, not the data.
func (c *Conn) SendsEarly() bool {
	return c.state == StateSynReceived && !c.active && c.tfoAcked > 0 && c.synAt != 0
}

// finDue reports whether a FIN should follow the data already sent.
func (c *Conn) finDue() bool {
	return c.writeClosed && !c.finSent && c.sndDataNxt() == c.sb.tail &&
		(c.state == StateEstablished || c.state == StateCloseWait)
}

// sendNew sends one new segment if the windows allow, and returns the
// sequence space it used (0 if nothing was sent).
func (c *Conn) sendNew(inflight, win int) int {
	off := c.sndDataNxt()
	avail := int(c.sb.tail - off)
	if avail == 0 {
		if c.finDue() {
			return c.transmitNew(off, 0, true, false)
		}
		// The sender is held back by the application only if it could
		// have sent a full segment: with less room than that, the engine
		// waits for the window (below) whatever the application does. A
		// sender that fills its window with whole segments (an MPTCP
		// subflow) always leaves such room, and Linux, counting its
		// window in segments, calls that window full.
		if inflight == 0 || inflight+c.maxPayload(false) <= win {
			c.markAppLimited(inflight)
		}
		return 0
	}
	if !c.sendsData() {
		return 0
	}
	rwnd := c.rwndRoom()
	if rwnd == 0 {
		c.markAppLimited(inflight)
		return 0
	}
	limit, first := c.sb.segment(off)
	maxPay := c.maxPayload(first)
	l := min(avail, maxPay, limit)
	if rwnd < l {
		// Sender silly window avoidance (RFC 9293 section 3.8.6.2.1):
		// wait for a useful window while something is in flight.
		if inflight > 0 && uint64(rwnd) < c.maxSndWnd/2 {
			c.markAppLimited(inflight)
			return 0
		}
		l = rwnd
	}
	if c.opts.Nagle && l < maxPay && l == avail && c.sndNxt > c.sndUna && !c.writeClosed {
		c.appBound = true
		return 0
	}
	if inflight > 0 && inflight+l > win {
		c.appBound = false
		return 0
	}
	fin := c.writeClosed && l == avail
	return c.transmitNew(off, l, fin, false)
}

// sendNewSegment sends one new segment regardless of the congestion
// window, for a tail loss probe. It returns the bytes sent.
func (c *Conn) sendNewSegment(probe bool) int {
	off := c.sndDataNxt()
	avail := int(c.sb.tail - off)
	rwnd := c.rwndRoom()
	if avail == 0 || rwnd == 0 || !c.sendsData() {
		return 0
	}
	limit, first := c.sb.segment(off)
	l := min(avail, c.maxPayload(first), limit, rwnd)
	fin := c.writeClosed && l == avail
	return c.transmitNew(off, l, fin, probe)
}

// markAppLimited notes that the sender is not using its window for lack
// of data or of receive window, so the delivery rate and window growth
// discount this period.
func (c *Conn) markAppLimited(inflight int) {
	c.appLimit = max(c.delivered+uint64(inflight), 1)
	c.appBound = true
}

// transmitNew sends new data [off, off+l) of the stream, with a FIN if
// fin, records the segment and returns the sequence space it used.
func (c *Conn) transmitNew(off uint64, l int, fin, probe bool) int {
	s := c.stack
	now := s.now
	inflight := c.inflight()
	if inflight == 0 {
		c.firstSent, c.delivTime = now, now
	}
	start := c.sndNxt
	flags := wire.FlagACK
	if l > 0 && off+uint64(l) == c.sb.tail {
		flags |= wire.FlagPSH
	}
	if fin {
		flags |= wire.FlagFIN
	}
	sent := c.transmit(flags, start, off, l, false, probe, false)
	if sent < l {
		// Options took payload space: the FIN waits for the rest.
		l, fin = sent, false
	}
	n := l
	sf := segFlags(0)
	if fin {
		n++
		sf = segFIN
	}
	i := c.txq.push(txSeg{
		start:         start,
		end:           start + uint64(n),
		xmit:          now,
		flags:         sf,
		delivered:     c.delivered,
		deliveredTime: c.delivTime,
		firstSent:     c.firstSent,
		appLimited:    c.appLimit != 0,
	})
	c.txq.tsAppend(i)
	c.sndNxt += uint64(n)
	if fin {
		c.finSent = true
		switch c.state {
		case StateEstablished:
			c.state = StateFinWait1
		case StateCloseWait:
			c.state = StateLastAck
		}
	}
	if l > 0 {
		if inflight == 0 {
			c.restartAfterIdle(now)
		}
		c.lastDataSent = now
		c.cc.OnPacketSent(s.nowWall, cc.Sent{Bytes: l, PriorInFlight: inflight})
		c.paceSent(now, l)
	}
	if c.rec.state == recFast {
		c.rec.prrOut += n
	}
	return n
}

// retransmit sends segment i again, with its original boundaries.
func (c *Conn) retransmit(i int64, probe bool) {
	s := c.stack
	now := s.now
	q := &c.txq
	sg := q.at(i)
	inflight := c.inflight()
	l := sg.dataLen()
	flags := wire.FlagACK
	if sg.has(segFIN) {
		flags |= wire.FlagFIN
	}
	if l > 0 && sg.start-1+uint64(l) == c.sb.tail {
		flags |= wire.FlagPSH
	}
	if inflight == 0 {
		c.firstSent, c.delivTime = now, now
	}
	c.transmit(flags, sg.start, sg.start-1, l, true, probe, true)
	if i == q.head {
		// Retransmitting the oldest segment restarts the timer (RFC 6298
		// rule 5.4 in spirit, as Linux does): its answer takes a round
		// trip from now, and the RTO must not fire while it is on its way.
		c.rtoAt = now + c.rtt.currentRTO()
	}
	q.sentRetransmission(i, now)
	sg.delivered, sg.deliveredTime, sg.firstSent = c.delivered, c.delivTime, c.firstSent
	sg.appLimited = c.appLimit != 0
	c.stats.Retransmits++
	c.stats.BytesRetrans += uint64(l)
	s.stats.RetransSegs++
	c.noteRetransmission(l, c.tsvalAt(now))
	if c.rec.state == recFast {
		c.rec.prrOut += int(sg.end - sg.start)
	}
	if l > 0 {
		c.lastDataSent = now
		c.cc.OnPacketSent(s.nowWall, cc.Sent{Bytes: l, PriorInFlight: inflight})
		c.paceSent(now, l)
	}
}

// sendControl sends a segment without data: an ACK, a FIN-less window
// update, a probe. seq is the sequence offset it carries.
func (c *Conn) sendControl(flags wire.TCPFlags, seq uint64, probe bool) {
	c.transmit(flags, seq, 0, 0, false, probe, false)
}

// sendSYN sends our SYN (SYN-SENT) or SYN/ACK (SYN-RECEIVED).
func (c *Conn) sendSYN() {
	s := c.stack
	now := s.now
	c.synPending = false
	flags := wire.FlagSYN
	if c.state == StateSynReceived {
		flags |= wire.FlagACK
	}
	if c.synAt == 0 {
		c.synAt = now
		c.firstSent = now
	}
	n := 0
	if c.active && c.state == StateSynSent {
		if n = c.fastOpenSYNData(); n > 0 {
			// SYN data is in flight until the SYN/ACK says how much of it
			// the server took; a retransmitted SYN carries none, but the
			// bytes stay in flight for a SYN/ACK answering the first.
			c.tfoSYNData = n
			c.sndNxt = 1 + uint64(n)
		}
	}
	c.transmit(flags, 0, 0, n, c.synRetries > 0, false, true)
	c.rtoAt = now + c.rtt.currentRTO()
}

// transmit builds and emits one segment of this connection: seq is its
// sequence offset, [off, off+l) the stream bytes it carries. fixed means
// the payload length must not change (a retransmission), so SACK blocks
// give way instead. It returns the payload bytes actually sent.
func (c *Conn) transmit(flags wire.TCPFlags, seq uint64, off uint64, l int, retrans, probe, fixed bool) int {
	s := c.stack
	syn := flags&wire.FlagSYN != 0
	seg := &s.hookOut
	*seg = Segment{
		Kind:       segKind(flags, l),
		Flags:      flags,
		Seq:        c.sndWire(seq),
		Offset:     off,
		Len:        l,
		Retransmit: retrans,
		Probe:      probe,
		OptionRoom: min(c.sndMSS-l, wire.MaxOptionLen),
	}
	if retrans {
		seg.Retransmits = 1
	}
	if syn {
		seg.Retransmits = c.synRetries
	}
	var ackOff uint64
	if flags&wire.FlagACK != 0 {
		ackOff = c.rcvNxt()
		seg.Ack = c.rcvWire(ackOff)
	}
	b := &s.optb
	b.Reset()
	hasDSACK := c.hasDSACK
	sackRoom := wire.MaxOptionLen
	if fixed {
		sackRoom = c.sndMSS - l
	}
	c.writeOptions(seg, b, sackRoom)
	if l > 0 && !fixed && l+b.Len() > c.sndMSS {
		l = max(c.sndMSS-b.Len(), 1)
		seg.Len = l
		flags &^= wire.FlagFIN | wire.FlagPSH
	}
	f := wire.TCPFields{
		SrcPort: c.local.Port(),
		DstPort: c.remote.Port(),
		Seq:     seg.Seq,
		Ack:     seg.Ack,
		Flags:   flags,
	}
	if flags&wire.FlagRST == 0 {
		f.Window = c.windowField(syn)
	}
	p1, p2 := c.sb.slices(off, l)
	pkt := s.buildPacket(c.local.Addr(), c.remote.Addr(), &f, b.Bytes(), p1, p2)
	s.emit(pkt)

	c.stats.SegsOut++
	if l > 0 {
		c.stats.DataSegsOut++
		c.stats.BytesSent += uint64(l)
	}
	if flags&wire.FlagACK != 0 {
		c.lastAckOff = ackOff
		c.ackNow = false
		c.delackAt = 0
		c.ackSegs = 0
		if hasDSACK {
			c.hasDSACK = false
			c.stats.DSACKsSent++
		}
	}
	return l
}

// buildPacket writes an IP packet with one TCP segment into the stack's
// output buffer and returns it. The payload comes in two pieces because a
// ring buffer may wrap; it is copied once, into the packet.
func (s *Stack) buildPacket(src, dst netip.Addr, f *wire.TCPFields, opts, p1, p2 []byte) []byte {
	ipLen := wire.IPv4MinHeaderLen
	if !src.Is4() {
		ipLen = wire.IPv6HeaderLen
	}
	tcpLen := wire.TCPMinHeaderLen + len(opts) + len(p1) + len(p2)
	n := ipLen + tcpLen
	if cap(s.out) < n {
		s.out = make([]byte, 0, n)
	}
	b := s.out[:n]
	if src.Is4() {
		wire.EncodeIPv4(b, &wire.IPv4Fields{DF: true, Protocol: wire.ProtoTCP, Src: src, Dst: dst}, tcpLen)
	} else {
		wire.EncodeIPv6(b, &wire.IPv6Fields{NextHeader: wire.ProtoTCP, Src: src, Dst: dst}, tcpLen)
	}
	seg := wire.TCP(b[ipLen:])
	hl := wire.EncodeTCP(seg, f, opts)
	k := copy(seg[hl:], p1)
	copy(seg[hl+k:], p2)
	if s.csumTx {
		// The driver sums the segment from the pseudo-header sum on
		// (OffloadChecksums).
		seg.SetChecksum(wire.PseudoHeaderChecksum(wire.ProtoTCP, src, dst, uint32(tcpLen)))
	} else {
		seg.SetChecksum(seg.ComputeChecksum(src, dst))
	}
	return b
}
