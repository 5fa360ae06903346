package core

import (
	"slices"
	"time"

	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/tcp"
	"github.com/mptcp-go/mptcp/wire"
)

// Fallback to TCP (RFC 8684 section 3.7). A connection falls back when
// MPTCP cannot work on its path: the SYN/ACK or the third ACK lacks
// MP_CAPABLE, MP_CAPABLE SYNs go unanswered, a middlebox strips the
// options or changes the payload. After it the connection is the TCP
// connection of its one subflow: bytes map one to one onto the data
// stream, no MPTCP option is sent, FIN stands for DATA_FIN. Each cause is
// counted under its kernel counter.
//
// A connection may fall back only while data-sequence state is implied by
// its single subflow's: no other subflow has existed, and no data was
// sent twice at data level (the kernel's allow_infinite_fallback).
// Otherwise the offending subflow is reset instead (FallbackFailed).

// fallbackAllowed reports whether the connection may still fall back.
func (c *Conn) fallbackAllowed() bool {
	if c.fallen {
		return true
	}
	return !c.joinedEver && !c.reinjected && len(c.subflows) <= 1
}

// earlyFallback makes a connection that has not started MPTCP plain TCP
// (MPTCP disabled, blackholed path, plain client, no token); nothing is
// counted beyond what the caller counted.
func (c *Conn) earlyFallback() {
	c.fallen = true
	c.fbTx = linearMap{off0: 0, dsn0: c.snd.una}
	c.fbTxSet = true
}

// fallback switches the connection to TCP because of cause, counted in
// the MIB. It reports false, counting FallbackFailed, if the connection
// may no longer fall back.
func (c *Conn) fallback(cause Counter, sf *subflow) bool {
	if c.fallen {
		return true
	}
	// The peer's bytes after it are mapped one to one from where the
	// data stream stands (unmapped): not if the subflow's stream already
	// strayed from it (rcvMisaligned). An infinite mapping, which names
	// its DSN, needs no such care.
	if !c.fallbackAllowed() || c.rcvMisaligned || (sf != nil && !sf.initial) {
		c.stack.mib.Inc(FallbackFailed)
		return false
	}
	c.fallen = true
	c.fallbackCause = cause
	c.stack.mib.Inc(cause)
	c.leaveCurrEstab()
	// Bytes sent on the subflow so far were mapped one after the other
	// (one subflow, nothing sent twice), so the first mapping gives the
	// linear relation for all of them.
	if sf != nil && len(sf.tx.m) > 0 {
		m := sf.tx.m[0]
		c.fbTx = linearMap{off0: m.off, dsn0: m.dsn}
	} else if sf != nil && sf.tc != nil {
		c.fbTx = linearMap{off0: sf.tc.SendOffset(), dsn0: c.snd.nxt}
	} else {
		c.fbTx = linearMap{off0: 0, dsn0: c.snd.una}
	}
	c.fbTxSet = true
	c.afterFallback(sf)
	return true
}

// fallbackInfinite completes the fallback that an infinite mapping from
// the peer announced.
func (c *Conn) fallbackInfinite(sf *subflow) {
	if c.fallen {
		return
	}
	c.fallen = true
	c.fallbackCause = InfiniteMapRx
	c.leaveCurrEstab()
	if len(sf.tx.m) > 0 {
		m := sf.tx.m[0]
		c.fbTx = linearMap{off0: m.off, dsn0: m.dsn}
	} else {
		c.fbTx = linearMap{off0: sf.tc.SendOffset(), dsn0: c.snd.nxt}
	}
	c.fbTxSet = true
	c.afterFallback(sf)
}

// afterFallback drops every subflow but sf, withdraws pending signals and
// tells the path manager.
func (c *Conn) afterFallback(sf *subflow) {
	for _, o := range append([]*subflow(nil), c.subflows...) {
		if o != sf {
			o.abort()
		}
	}
	c.announced, c.echoQ, c.rmQ, c.reinjectQ = nil, nil, nil, nil
	if sf != nil && sf.tc != nil {
		// Plain TCP: the subflow's own window is the connection's.
		sf.tc.SetSharedWindow(0)
		if !sf.sendInfinite {
			// No more DSS on data: the whole MSS is payload again.
			sf.tc.SetOptionReserve(0)
		}
	}
	c.pmEvent(pm.Event{Kind: pm.FellBack})
	c.markDirty()
}

// fallenInput handles the options of a segment after the fallback. Only
// mappings still matter: an infinite mapping is the peer's own fallback
// point, which may move its stream back; and a peer that has not fallen
// back yet (it did not see our options vanish) still maps its data,
// reinjected data included, which the implicit mapping would misplace.
func (sf *subflow) fallenInput(now time.Time, seg *tcp.Segment, mp *wire.MPTCPOptions) tcp.Verdict {
	c := sf.conn
	if !mp.Has(wire.SubtypeDSS) || !mp.DSS.HasMap || !sf.initial || seg.Len == 0 {
		return tcp.Accept
	}
	d := &mp.DSS
	if d.DataLen == 0 {
		c.stack.mib.Inc(InfiniteMapRx)
		return sf.infiniteReceived(now, seg, d)
	}
	if c.csum && !d.HasChecksum {
		return tcp.Accept
	}
	m := mapping{off: sf.ssnToOffset(seg.Offset, d.SubflowSeq), n: uint64(d.DataLen),
		hasCsum: d.HasChecksum, csum: d.Checksum, dsn: expandIf(c.rcv.nxt, d.DSN, d.DSN64)}
	if d.DataFIN {
		m.n--
	}
	if ro := sf.tc.ReadOffset(); m.off >= ro && m.n > 0 {
		_ = sf.rx.add(m, seg.Offset, seg.Len)
		// The peer still maps (it has not noticed our fallback yet). As
		// long as its mappings continue the stream linearly, bytes
		// without one can be placed by position; once one does not (the
		// peer sent data again), they no longer can.
		if m.dsn != c.rcv.nxt+(m.off-ro) {
			sf.fbPeerMaps = true
		}
	}
	return tcp.Accept
}

// infiniteReceived handles an infinite mapping: the peer fell back after
// our MP_FAIL (or its own decision). Bytes from its subflow sequence
// number on continue the data stream at its DSN.
func (sf *subflow) infiniteReceived(now time.Time, seg *tcp.Segment, d *wire.DSS) tcp.Verdict {
	c := sf.conn
	if !sf.initial || !c.fallbackAllowed() && !c.fallen {
		sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
		return tcp.Reset
	}
	off := sf.ssnToOffset(seg.Offset, d.SubflowSeq)
	dsn := expandIf(c.rcv.nxt, d.DSN, d.DSN64)
	if off > seg.Offset || seg.Len == 0 {
		// An infinite mapping starts at the segment that carries it (and
		// is repeated on the segments after it until acknowledged).
		sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
		return tcp.Reset
	}
	for _, m := range sf.rx.m {
		if !m.infinite || m.off > off {
			continue
		}
		// The peer's infinite mapping is its word for every byte after
		// it: a repetition changes nothing, and one that contradicts it
		// was mangled on the way.
		if m.dsnAt(off) != dsn {
			c.stack.mib.Inc(DSSNotMatching)
		}
		return tcp.Accept
	}
	if sf.waitInfinite {
		// We asked for it with MP_FAIL: it must start at the failed
		// mapping, and the bytes before it (the failed data) are
		// discarded by drain.
		if dsn != sf.failDSN {
			sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
			return tcp.Reset
		}
		sf.rx.reset()
	} else {
		// The peer fell back on its own. Its stream may go back (it
		// resends from an earlier DSN: duplicates are dropped) but must
		// not skip ahead of where the bytes before it take ours, or data
		// would be missing.
		limit := c.rcv.nxt + (off - min(off, sf.tc.ReadOffset()))
		if after64(dsn, limit) {
			sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
			return tcp.Reset
		}
		// Keep the mappings of the bytes before it.
		kept := sf.rx.m[:0]
		for _, m := range sf.rx.m {
			if m.off < off && !m.infinite {
				if m.end() > off {
					m.n = off - m.off
				}
				kept = append(kept, m)
			}
		}
		sf.rx.m = kept
	}
	_ = sf.rx.add(mapping{dsn: dsn, off: off, infinite: true}, off, 0)
	c.fallbackInfinite(sf)
	return tcp.Accept
}

// unmappedData handles in-order bytes that no mapping covers: the
// options were stripped (RFC 8684 section 3.7). The connection falls back
// if it still may, else the subflow is reset.
func (sf *subflow) unmappedData(now time.Time) {
	c := sf.conn
	if sf.initial && !c.fallen && c.fallback(DssFallback, sf) {
		sf.drain(now)
		return
	}
	c.stack.mib.Inc(FallbackFailed)
	sf.reset(wire.MPTCPRstReasonMiddleboxInterferes)
}

// optionsLost handles a segment without any MPTCP option on a subflow
// that had them: a middlebox strips them, the peer fell back (after a
// mapping it could not use), or someone forged it. Data on it cannot be
// mapped: the first subflow of a connection that never had another falls
// back to TCP, any other subflow is reset. A pure ACK never resets
// anything (the kernel ignores it): plainAcked decides once the engine
// saw whether it acknowledged our data.
func (sf *subflow) optionsLost(now time.Time, seg *tcp.Segment) tcp.Verdict {
	c := sf.conn
	if seg.Len == 0 {
		sf.plainAck = true
		return tcp.Accept
	}
	if c.csum && sf.csumOK {
		return sf.unprotectedData()
	}
	if sf.initial && c.fallback(DssFallback, sf) {
		return tcp.Accept
	}
	c.stack.mib.Inc(FallbackFailed)
	sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMiddleboxInterferes
	return tcp.Reset
}

// noDSSDataLimit is how many data segments without options in a row
// unprotectedData takes to conclude that they are not forged.
const noDSSDataLimit = 8

// unprotectedData handles data without MPTCP options on a subflow where a
// DSS checksum was verified before. Falling back at once would end the
// checksum's protection on the strength of one segment that may be forged
// (a copy of a real one whose data offset shrank, so that its options
// read as payload) and deliver its bytes unchecked. So the segment is
// dropped and counted (NoDSSDataDrop): the real one comes with its
// mapping. Only a run of them, which a forger's copies do not make while
// the real segments pass, shows that the peer fell back or a middlebox
// now strips the options; then the subflow falls back if the connection
// still may, else it is reset (RFC 8684 section 3.7), the bytes of the
// dropped segments coming again either way.
func (sf *subflow) unprotectedData() tcp.Verdict {
	c := sf.conn
	sf.noDSSData++
	if sf.noDSSData < noDSSDataLimit {
		c.stack.mib.Inc(NoDSSDataDrop)
		return tcp.Drop
	}
	if sf.initial && c.fallback(DssFallback, sf) {
		return tcp.Accept
	}
	c.stack.mib.Inc(FallbackFailed)
	sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMiddleboxInterferes
	return tcp.Reset
}

// plainAcked handles a pure ACK without MPTCP options after the engine
// processed it. If it acknowledged our data, RFC 8684 section 3.7 applies:
// "if an ACK is received for data ... without a DSS option containing a
// DATA_ACK, the sender determines the path is not MPTCP capable" and the
// first subflow falls back if it still may (the peer may also have fallen
// back on its own). Any other is ignored and counted, as a forged ACK at
// RCV.NXT or one from a middlebox that strips options from ACKs only.
func (sf *subflow) plainAcked(newlyAcked bool) {
	c := sf.conn
	if !newlyAcked {
		c.stack.mib.Inc(NoDSSAckIgnored)
		return
	}
	sf.plainAcks++
	if sf.initial && c.fallbackAllowed() && c.fallback(DssFallback, sf) {
		return
	}
	c.stack.mib.Inc(NoDSSAckIgnored)
}

// plainAcksBeforeAbort and plainStallsBeforeAbort: see dataAcksStripped.
const (
	plainAcksBeforeAbort   = 3
	plainStallsBeforeAbort = 10
)

// dataAcksStripped runs at a data-level timeout. When every subflow keeps
// acknowledging our data without DATA_ACKs and the connection may no
// longer fall back, no path carries MPTCP (RFC 8684 section 3.7: such
// subflows SHOULD be closed): after plainStallsBeforeAbort timeouts in a
// row the connection is reset with MP_FASTCLOSE and ends with ErrTimeout,
// instead of retransmitting forever. It reports whether it ended it.
func (c *Conn) dataAcksStripped() bool {
	if len(c.subflows) == 0 {
		return false
	}
	for _, sf := range c.subflows {
		if sf.plainAcks < plainAcksBeforeAbort {
			c.plainStalls = 0
			return false
		}
	}
	c.plainStalls++
	if c.plainStalls < plainStallsBeforeAbort {
		return false
	}
	// MP_FASTCLOSE, so the peer ends too (RFC 8684 section 3.5).
	c.markFastclose()
	for _, sf := range slices.Clone(c.subflows) {
		sf.reset(wire.MPTCPRstReasonMiddleboxInterferes)
	}
	c.close(ErrTimeout)
	return true
}

// pushFallback writes data straight to the one subflow of a connection
// that fell back: the byte stream is the TCP stream.
func (c *Conn) pushFallback() {
	if len(c.subflows) == 0 {
		return
	}
	sf := c.subflows[0]
	if sf.tc == nil || sf.closed || !sf.tcpEstablished && !sf.tc.SendsEarly() {
		return
	}
	for c.snd.unsent() > 0 {
		p, _ := c.snd.bytes(c.snd.nxt, c.snd.unsent()) // the rest next turn
		k, err := sf.tc.Write(p)
		if err != nil || k == 0 {
			break
		}
		c.snd.nxt += uint64(k)
		sf.bytesSent += uint64(k)
		c.bytesSent += uint64(k)
	}
	if c.writeClosed && c.snd.unsent() == 0 && !c.fbFinSent {
		c.fbFinSent = true
		_ = sf.tc.CloseWrite()
	}
}
