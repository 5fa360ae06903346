package core

import (
	"time"

	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/tcp"
	"github.com/mptcp-go/mptcp/wire"
)

// input processes the MPTCP options of a segment received after the
// handshake (the kernel's mptcp_incoming_options with
// check_fully_established): the handshake's completion first (join.go,
// capable.go), then option loss, the DSS and the signals.
func (sf *subflow) input(now time.Time, seg *tcp.Segment, mp *wire.MPTCPOptions) tcp.Verdict {
	c := sf.conn
	if c.fallen {
		return sf.fallenInput(now, seg, mp)
	}
	if sf.join && !sf.active && !sf.fullyEstablished {
		return sf.joinAckReceived(seg, mp)
	}
	if sf.initial && !sf.active && !c.remoteKnown {
		return sf.capableAckReceived(now, seg, mp)
	}
	if v := sf.capableDataRepeated(now, seg, mp); v != tcp.Accept {
		return v
	}

	// A subflow whose MPTCP options vanish after the handshake is behind
	// a middlebox that strips them (RFC 8684 section 3.7), or the peer
	// fell back (after our MP_FAIL its ACKs carry no DSS): we fall back
	// too. After an MP_FAIL, drain still discards the failed data until
	// the infinite mapping arrives.
	if mp.Present == 0 && (seg.Len > 0 || c.fully) && sf.fullyEstablishedForData() {
		return sf.optionsLost(now, seg)
	}

	if mp.Has(wire.SubtypeDSS) {
		if v := sf.dssReceived(now, seg, &mp.DSS); v != tcp.Accept {
			return v
		}
	} else if seg.Len > 0 && !sf.fullyEstablishedForData() && sf.join {
		sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
		return tcp.Reset
	}
	sf.signalsReceived(now, mp)
	return tcp.Accept
}

// dssReceived handles a DSS option: its DATA_ACK (which may complete
// either handshake) and its mapping.
func (sf *subflow) dssReceived(now time.Time, seg *tcp.Segment, d *wire.DSS) tcp.Verdict {
	c := sf.conn
	if d.HasAck {
		sf.plainAcks = 0
		if sf.initial && sf.active && !c.fully {
			// The server acknowledged at data level: it has our key.
			c.setFully()
		}
		sf.fourthAckReceived()
		c.dataAcked(now, expandIf(c.snd.una, d.DataAck, d.Ack64), uint64(seg.Window)<<sf.tc.PeerWindowScale())
	}
	if seg.Len > 0 {
		sf.noDSSData = 0 // a real segment: only a run of optionless ones counts
	}
	if d.HasMap {
		return sf.mappingReceived(now, seg, d)
	}
	return tcp.Accept
}

// signalsReceived handles the options that signal rather than carry
// data: ADD_ADDR, REMOVE_ADDR, MP_PRIO, MP_FAIL and MP_FASTCLOSE.
func (sf *subflow) signalsReceived(now time.Time, mp *wire.MPTCPOptions) {
	c := sf.conn
	s := c.stack
	if mp.Has(wire.SubtypeAddAddr) {
		c.addAddrReceived(now, sf, &mp.AddAddr)
		if !mp.AddAddr.Echo && sf.initial && sf.active && !c.fully && c.remoteKnown {
			c.setFully()
		}
	}
	if mp.Has(wire.SubtypeRemoveAddr) {
		c.removeAddrReceived(now, mp.RemoveAddr.List())
	}
	if mp.Has(wire.SubtypeMPPrio) {
		s.mib.Inc(MPPrioRx)
		if sf.peerBackup != mp.Prio.Backup {
			sf.peerBackup = mp.Prio.Backup
			c.pmEvent(pm.Event{Kind: pm.SubPriority, Subflow: sf.pmInfo()})
			c.markDirty()
		}
	}
	if mp.Has(wire.SubtypeMPFail) {
		s.mib.Inc(MPFailRx)
		sf.failReceived(now, mp.Fail.DSN)
	}
	if mp.Has(wire.SubtypeMPFastclose) {
		sf.fastcloseReceived(mp.Fastclose.ReceiverKey)
	}
}

// mappingReceived handles the mapping part of a DSS option.
func (sf *subflow) mappingReceived(now time.Time, seg *tcp.Segment, d *wire.DSS) tcp.Verdict {
	c := sf.conn
	s := c.stack
	if seg.Len == 0 && !d.DataFIN {
		// A mapping on a segment without data maps nothing: ignored, as
		// Linux does (it reads mappings only from data and DATA_FIN).
		return tcp.Accept
	}
	if d.DataLen == 0 {
		// The infinite mapping: the peer falls back (RFC 8684 section
		// 3.7) and every byte from this subflow sequence number on maps
		// linearly.
		s.mib.Inc(InfiniteMapRx)
		return sf.infiniteReceived(now, seg, d)
	}
	if c.csum && !d.HasChecksum {
		// Checksums were negotiated: a mapping without one is invalid
		// (RFC 8684 section 3.3.0).
		return sf.badMapping(now, errMapCsum)
	}
	if d.DataFIN && d.DataLen == 1 && seg.Len == 0 {
		// A DATA_FIN alone, on a segment without data.
		dsn := expandIf(c.rcv.nxt, d.DSN, d.DSN64)
		if c.csum && d.Checksum != wire.DSSChecksum(dsn, d.SubflowSeq, 1, nil) {
			s.mib.Inc(DataCsumErr)
			return tcp.Accept
		}
		if !c.rcv.dataFin(dsn) {
			s.mib.Inc(DSSNotMatching)
			return tcp.Accept
		}
		c.dataFinReceived(now)
		return tcp.Accept
	}
	return sf.addMapping(now, seg, d)
}

// setPeerDSN64 records the DSN form of the peer's last mapping, which our
// DATA_ACK follows (ack64).
func (c *Conn) setPeerDSN64(on bool) {
	if c.peerDSN64 != on {
		c.peerDSN64 = on
		c.refreshReserve()
	}
}

// addMapping records a mapping carried with data.
func (sf *subflow) addMapping(now time.Time, seg *tcp.Segment, d *wire.DSS) tcp.Verdict {
	c := sf.conn
	m := mapping{off: sf.ssnToOffset(seg.Offset, d.SubflowSeq), n: uint64(d.DataLen),
		hasCsum: d.HasChecksum, csum: d.Checksum, dataFin: d.DataFIN}
	if d.DataFIN {
		m.n--
	}
	m.dsn = expandIf(c.rcv.nxt, d.DSN, d.DSN64)
	if seg.Len > 0 {
		c.setPeerDSN64(d.DSN64)
	}
	if err := sf.rx.add(m, seg.Offset, seg.Len); err != nil {
		if v := sf.mappingRefused(now, seg, m, err); v != tcp.Accept {
			return v
		}
	}
	if m.dataFin && !(c.csum && m.hasCsum) {
		// With checksums the DATA_FIN waits for the mapping's checksum
		// (drain).
		if c.rcv.dataFin(m.dsn + m.n) {
			c.dataFinReceived(now)
		}
	}
	return tcp.Accept
}

// ssnToOffset turns a DSS relative subflow sequence number into a stream
// offset, near the segment's own offset.
func ssnToOffset(segOff uint64, ssn uint32) uint64 {
	return expandSeq(segOff+1, ssn) - 1
}

// mappingRefused decides about a mapping the receive table refused. Linux
// checks a mapping only once its segment's bytes are next in order
// (get_mapping_status, on the head of the subflow's receive queue); here
// mappings are learnt when their segments arrive, so a conflict among
// bytes still out of order is only a disagreement between two segments,
// either of which may be forged (RFC 5961 leaves an attacker who knows
// the window free to inject one), and the later one wins, as its bytes
// do in the TCP receive buffer (DSSConflictReplaced; replaceTentative
// keeps bytes and mappings agreeing). A segment out of order whose
// mapping misses it is dropped (DSSOutOfOrderDrop): if it was the peer's,
// it comes again. Only a conflict with a settled mapping (some of whose
// bytes are in order), or a mapping missing its in-order segment, is the
// protocol error of RFC 8684 section 3.7 (fallback or reset); out of
// order such a segment is dropped too.
func (sf *subflow) mappingRefused(now time.Time, seg *tcp.Segment, m mapping, err error) tcp.Verdict {
	mib := &sf.conn.stack.mib
	rcvNxt := sf.tc.ReadOffset() + uint64(sf.tc.Readable())
	switch {
	case err == errMapConflict && sf.rx.replaceTentative(m, rcvNxt, seg.Offset, seg.Offset+uint64(seg.Len), m.hasCsum):
		mib.Inc(DSSConflictReplaced)
		return tcp.Accept
	case (err == errMapConflict || err == errMapTCP) && seg.Offset > rcvNxt:
		mib.Inc(DSSOutOfOrderDrop)
		return tcp.Drop
	}
	return sf.badMapping(now, err)
}

// badMapping handles a mapping the peer should not have sent: counted,
// then the connection falls back to TCP if it still may (one subflow,
// nothing sent twice: the data stream is then the subflow's byte stream,
// whatever the mappings said), else the subflow is reset with
// "MPTCP-specific error" and its data is sent again on the others (RFC
// 8684 section 3.7).
func (sf *subflow) badMapping(now time.Time, err error) tcp.Verdict {
	c := sf.conn
	switch err {
	case errMapConflict:
		c.stack.mib.Inc(DSSNotMatching)
	case errMapTCP:
		c.stack.mib.Inc(DSSNoMatchTCP)
	case errMapFull:
		c.stack.mib.Inc(RcvPruned)
		return tcp.Drop
	case errMapCsum:
		// The kernel's get_mapping_status calls this mapping invalid
		// and counts only what follows: the fallback (DssFallback) or
		// the failed fallback and the reset (FallbackFailed).
	}
	if sf.initial && c.fallback(DssFallback, sf) {
		return tcp.Accept
	}
	sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
	return tcp.Reset
}
