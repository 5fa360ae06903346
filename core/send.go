package core

import (
	"math/bits"
	"slices"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// maxMapping bounds the bytes of one record, hence of one DSS mapping
// (its data-level length is 16 bits; smaller mappings spread data over
// subflows more finely and keep checksummed data waiting less).
const maxMapping = 32 << 10

// push sends what the application wrote: first data to be sent again
// (reinjection), then new data, each on the subflows the scheduler picks,
// within the peer's connection-level window (the kernel's
// __mptcp_push_pending and __mptcp_retrans).
func (c *Conn) push(now time.Time) {
	if c.fallen {
		c.pushFallback()
		return
	}
	if !c.remoteKnown {
		return
	}
	c.dropStale()
	for _, sf := range c.subflows {
		sf.refresh()
	}
	c.pushReinject(now)
	c.oppWake = time.Time{} // until opportunistic asks for it again
	for guard := 0; guard < 4096 && c.snd.unsent() > 0; guard++ {
		room := c.sendRoom()
		if room <= 0 {
			c.opportunistic(now, true) // blocked by the peer's window
			break
		}
		pos := c.chosen(c.sched.Send(now, c.schedConn(), c.schedPos[:0]))
		if len(pos) == 0 {
			break
		}
		n := min(c.snd.unsent(), room, maxMapping)
		for _, i := range pos {
			n = min(n, c.schedSnap[i].Room)
		}
		if n <= 0 {
			break
		}
		// Whole segments, unless this is the end of what was written:
		// the peer's window or maxMapping must not cut a runt either.
		if k := c.subflows[pos[0]].tc.RecordBytes(n); k > 0 && n < c.snd.unsent() {
			n = k
		}
		dsn := c.snd.nxt
		sent := 0
		for _, i := range pos {
			if k := c.subflows[i].sendData(dsn, n); k > sent {
				sent = k
			}
		}
		if sent == 0 {
			break
		}
		if c.snd.nxt == c.snd.una {
			// Data is outstanding from now: the connection-level
			// timeout counts from here, not from the DATA_ACK that
			// ended the last busy period.
			c.lastUnaMove = now
		}
		c.snd.nxt += uint64(sent)
	}
	if c.snd.unsent() == 0 && c.snd.una != c.snd.nxt {
		c.opportunistic(now, false) // the tail: nothing new left to send
	}
	if c.dataFinDue() {
		c.sendDataFin(now)
	}
}

// dropStale discards what subflows were given but have not sent once the
// peer has DATA_ACKed everything handed out: the tail of a mapping sent
// again elsewhere (reinjection), which would otherwise trickle out on a
// slow subflow long after the data arrived, and after the connection's
// close reach a peer that answers with a RST (the kernel counts
// TCPAbortOnData).
func (c *Conn) dropStale() {
	if before64(c.snd.una, c.snd.nxt) {
		return
	}
	for _, sf := range c.subflows {
		sf.dropUnsent()
	}
}

// sendEdge is the right edge of the peer's connection-level window: the
// largest DATA_ACK + window it sent, on whichever subflow (RFC 8684
// section 3.3.4). Until the first DATA_ACK, the handshake's window counts
// from the first DSN, as the kernel's sender counts it; never after: a
// receiver like Linux takes data arriving out of order (on a join) only up
// to the edges its DATA_ACKs advertised, and a DATA_ACK lagging behind the
// subflow's TCP acknowledgment advertises less than the handshake's
// window. Counting it (or, worse, a later TCP window of an ACK without
// DSS) afterwards, a join sent data the kernel dropped (issue 14, finding
// 5: NoDSSInWindow at the start of a five-subflow upload).
func (c *Conn) sendEdge() uint64 {
	if !c.dataAckSeen && after64(c.hsEnd, c.wndEnd) {
		return c.hsEnd
	}
	return c.wndEnd
}

// sendRoom is how many new bytes the peer's window still allows.
func (c *Conn) sendRoom() int {
	e := c.sendEdge()
	if !after64(e, c.snd.nxt) {
		return 0
	}
	return int(min(e-c.snd.nxt, 1<<30))
}

// sendData writes the n bytes from dsn to the subflow as one record,
// with its mapping (and its checksum), and returns how many went.
func (sf *subflow) sendData(dsn uint64, n int) int {
	c := sf.conn
	n = min(n, sf.tc.Writable())
	if n <= 0 {
		return 0
	}
	p, q := c.snd.bytes(dsn, n)
	if len(p) == 0 {
		return 0
	}
	off := sf.tc.SendOffset()
	k, err := sf.tc.WriteRecordSplit(p, q)
	if err != nil || k == 0 {
		return 0
	}
	m := mapping{dsn: dsn, off: off, n: uint64(k)}
	if c.csum {
		m.hasCsum = true
		m.csum = dssChecksum(dsn, sf.wireSSN(off), uint16(k), p, q)
	} else if c.dataFinRides(dsn + uint64(k)) {
		m.dataFin = true
		c.dataFinSent()
	}
	sf.tx.push(m)
	sf.sentStale = sf.sentStale || sf.stale
	sf.sentStarts[sf.sentN%len(sf.sentStarts)] = dsn
	sf.sentN++
	sf.bytesSent += uint64(k)
	c.bytesSent += uint64(k)
	sf.refresh()
	sf.emitScheduled(dsn, k)
	return k
}

// dssChecksum is the DSS checksum (RFC 8684 section 3.3.1) of the k
// bytes that start with p and go on in q, where the send buffer's ring
// wraps. A piece after an odd-length one starts in the middle of a 16-bit
// word: its sum counts byte-swapped (RFC 1071 section 2(B)).
func dssChecksum(dsn uint64, seq uint32, k uint16, p, q []byte) uint16 {
	p = p[:min(len(p), int(k))]
	q = q[:int(k)-len(p)]
	if len(q) == 0 {
		return wire.DSSChecksum(dsn, seq, k, p)
	}
	sum := wire.Checksum(p, wire.DSSPseudoHeaderSum(dsn, seq, k))
	t := wire.Checksum(q, 0)
	if len(p)%2 == 1 {
		t = bits.ReverseBytes16(t)
	}
	return ^wire.ChecksumCombine(sum, t)
}

// dataFinDue reports whether a DATA_FIN should go out: the application
// closed its side, every byte has been sent once, and the DATA_FIN is not
// yet acknowledged.
func (c *Conn) dataFinDue() bool {
	return c.dataFinPending() && (!c.snd.finSent || !c.stack.now.Before(c.finSentAt.Add(c.finRTO)))
}

// dataFinRides reports whether the DATA_FIN goes in the mapping of data
// that ends at end, as Linux sends it, sparing the peer a segment and a
// wake-up: the application has closed its side and the mapping takes
// the last byte written. Not before the connection is fully established
// (the MP_CAPABLE data form has no DATA_FIN bit) nor with DSS checksums
// (kept to the DATA_FIN alone on a pure ACK, whose checksum is simple).
func (c *Conn) dataFinRides(end uint64) bool {
	return c.snd.finQueued && end == c.snd.end() && c.fully && !c.fallen && !c.csum && c.remoteKnown
}

// dataFinPending reports whether the DATA_FIN is to be signalled: every
// pure ACK carries it until it is acknowledged (as the kernel's DSS does
// once its DATA_FIN is enabled), so a repetition reaches the peer on
// whichever subflow still works, not only on the first one asked.
func (c *Conn) dataFinPending() bool {
	return c.snd.finQueued && !c.fallen && c.snd.unsent() == 0 && !c.snd.finAcked && c.remoteKnown
}

// sendDataFin asks for the DATA_FIN to go out on a pure ACK of every
// subflow that can carry it (the kernel's mptcp_send_ack after
// mptcp_write_data_fin). It is repeated with backoff until acknowledged.
func (c *Conn) sendDataFin(now time.Time) {
	if !c.snd.finSent {
		// The ACK may have no room for it (the MP_CAPABLE third ACK goes
		// first): try again after a while.
		c.finTryAt = now.Add(max(c.maxRTT(), 100*time.Millisecond))
	}
	for _, sf := range c.subflows {
		if sf.canSignal() && sf.usable() {
			sf.sendACK()
		}
	}
	if c.snd.finSent && !now.Before(c.finSentAt.Add(c.finRTO)) {
		// Nothing can carry it yet (no usable subflow, or its ACK has no
		// room): back off as if it went, or its due timer would have the
		// stack poll again at once, forever, and no later timer
		// (NoSubflowTimeout) would ever come (issue 21). The pure ACKs of
		// a new subflow carry it meanwhile (dataFinPending).
		c.dataFinSent()
	}
}

// dataFinSent records that a DATA_FIN went out, arming its timer.
func (c *Conn) dataFinSent() {
	now := c.stack.now
	if c.snd.finSent && now.Before(c.finSentAt.Add(c.finRTO)) {
		return
	}
	if !c.snd.finSent {
		c.finRTO = c.dataRTO()
	} else {
		c.finRTO = min(2*c.finRTO, 60*time.Second)
	}
	c.snd.finSent = true
	c.finSentAt = now
}

// dataFinTimer repeats an unacknowledged DATA_FIN.
func (c *Conn) dataFinTimer(now time.Time) {
	if !c.fallen && c.snd.finSent && !c.snd.finAcked && !now.Before(c.finSentAt.Add(c.finRTO)) {
		c.sendDataFin(now)
	}
}

// dataRTO is the connection-level retransmission timeout: a little more
// than the largest subflow RTO, so that subflows recover their own losses
// first. Stale subflows do not count while another is not: their RTO
// doubles at each expiry, and the timeout that followed it ran ahead of
// the time since the DATA_ACK last moved for ever, so data a subflow
// acknowledged and the peer then discarded (a forged mapping won over
// it) was never sent again.
func (c *Conn) dataRTO() time.Duration {
	live := slices.ContainsFunc(c.subflows, func(sf *subflow) bool { return !sf.stale })
	d := 200 * time.Millisecond
	for _, sf := range c.subflows {
		if sf.info.RTO > d && (!live || !sf.stale) {
			d = sf.info.RTO
		}
	}
	return 2 * d
}

// checkClosed closes the connection once both DATA_FINs are
// acknowledged, or the FIN exchange of a fallen-back connection is done.
func (c *Conn) checkClosed(now time.Time) {
	if c.state != StateEstablished {
		return
	}
	if c.fallen {
		return // removeSubflow closes it with its subflow
	}
	if c.snd.finAcked && c.rcv.finDone {
		c.close(nil)
	}
}
