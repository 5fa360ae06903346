package core

import (
	"time"

	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/tcp"
	"github.com/mptcp-go/mptcp/wire"
)

// input processes the MPTCP options of a segment received after the
// handshake (the kernel's mptcp_incoming_options with
// check_fully_established).
func (sf *subflow) input(now time.Time, seg *tcp.Segment, mp *wire.MPTCPOptions) tcp.Verdict {
	c := sf.conn
	s := c.stack
	if c.fallen {
		// After a fallback only mappings still matter: an infinite
		// mapping is the peer's own fallback point, which may move its
		// stream back; and a peer that has not fallen back yet (it did
		// not see our options vanish) still maps its data, reinjected
		// data included, which the implicit mapping would misplace.
		if mp.Has(wire.SubtypeDSS) && mp.DSS.HasMap && sf.initial && seg.Len > 0 {
			if mp.DSS.DataLen == 0 {
				s.mib.Inc(InfiniteMapRx)
				return sf.infiniteReceived(now, seg, &mp.DSS)
			}
			if !c.csum || mp.DSS.HasChecksum {
				m := mapping{off: ssnToOffset(seg.Offset, mp.DSS.SubflowSeq), n: uint64(mp.DSS.DataLen),
					hasCsum: mp.DSS.HasChecksum, csum: mp.DSS.Checksum, dsn: expandIf(c.rcv.nxt, mp.DSS.DSN, mp.DSS.DSN64)}
				if mp.DSS.DataFIN {
					m.n--
				}
				if ro := sf.tc.ReadOffset(); m.off >= ro && m.n > 0 {
					_ = sf.rx.add(m, seg.Offset, seg.Len)
					// The peer still maps (it has not noticed our
					// fallback yet). As long as its mappings continue
					// the stream linearly, bytes without one can be
					// placed by position; once one does not (the peer
					// sent data again), they no longer can.
					if m.dsn != c.rcv.nxt+(m.off-ro) {
						sf.fbPeerMaps = true
					}
				}
			}
		}
		return tcp.Accept
	}
	// Server side of an MP_JOIN: the third ACK must carry the
	// initiator's HMAC (RFC 8684 section 3.2).
	if sf.join && !sf.active && !sf.fullyEstablished {
		if !mp.Has(wire.SubtypeMPJoin) || mp.Join.Form != wire.MPJoinACK {
			if seg.Offset == 0 && seg.Len == 0 && !sf.tcpEstablished {
				sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
				return tcp.Reset
			}
			// A data segment before the fourth ACK is a protocol
			// violation (the kernel resets too).
			sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
			return tcp.Reset
		}
		want := wire.JoinAckHMAC(c.remoteKey, c.local.key, sf.remoteNonce, sf.localNonce)
		if want != mp.Join.HMAC {
			s.mib.Inc(MPJoinAckHMacFailure)
			sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonAdminProhibited
			return tcp.Reset
		}
		s.mib.Inc(MPJoinAckRx)
		if sf.local.Port() != c.initialLocal.Port() {
			s.mib.Inc(MPJoinPortAckRx)
		}
		sf.fullyEstablished = true
		if sf.tcpEstablished {
			sf.sendACK()
			sf.subEstablished()
		}
		return tcp.Accept
	}
	// Server side of MP_CAPABLE: the first segment in sequence after the
	// SYN/ACK carries the client's key (third ACK or first data).
	if sf.initial && !sf.active && !c.remoteKnown {
		if seg.Offset != 0 && seg.Len > 0 {
			// Out of order before the keys: keep any 64-bit mapping, the
			// data waits in the TCP receive buffer.
			if mp.Has(wire.SubtypeDSS) && mp.DSS.HasMap && mp.DSS.DSN64 && mp.DSS.DataLen > 0 {
				sf.addMapping(now, seg, &mp.DSS)
			}
			return tcp.Accept
		}
		if !mp.Has(wire.SubtypeMPCapable) || (mp.Capable.Form != wire.MPCapableACK && mp.Capable.Form != wire.MPCapableData) {
			cause := MPCapableFallbackACK
			if seg.Len > 0 {
				// The first data after the handshake, without the keys.
				cause = MPCapableDataFallback
			}
			if !c.fallback(cause, sf) {
				sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
				return tcp.Reset
			}
			return tcp.Accept
		}
		mc := &mp.Capable
		if mc.ReceiverKey != c.local.key || mc.SenderKey == 0 || mc.Version != wire.MPTCPVersion {
			sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
			return tcp.Reset
		}
		s.mib.Inc(MPCapableACKRX)
		if mc.Flags&wire.MPCapableChecksum != 0 {
			c.csum = true
		}
		c.setRemoteKey(mc.SenderKey)
		c.pmEvent(pm.Event{Kind: pm.Created})
		c.setFully()
		if mc.Form == wire.MPCapableData && seg.Len > 0 {
			m := mapping{dsn: c.remote.idsn + 1, off: 0, n: uint64(mc.DataLen), hasCsum: mc.HasChecksum, csum: mc.Checksum}
			if err := sf.rx.add(m, seg.Offset, seg.Len); err != nil {
				return sf.badMapping(now, err)
			}
		}
		return tcp.Accept
	}
	// MP_CAPABLE data form repeated by the client (retransmitted first
	// data): its mapping is implicit.
	if mp.Has(wire.SubtypeMPCapable) && mp.Capable.Form == wire.MPCapableData && sf.initial && !sf.active &&
		seg.Offset == 0 && seg.Len > 0 {
		mc := &mp.Capable
		m := mapping{dsn: c.remote.idsn + 1, off: 0, n: uint64(mc.DataLen), hasCsum: mc.HasChecksum, csum: mc.Checksum}
		if err := sf.rx.add(m, seg.Offset, seg.Len); err != nil {
			return sf.badMapping(now, err)
		}
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
		d := &mp.DSS
		if d.HasAck {
			sf.plainAcks = 0
			if sf.initial && sf.active && !c.fully {
				// The server acknowledged at data level: it has our key.
				c.setFully()
			}
			if sf.join && sf.active && !sf.fullyEstablished && sf.tcpEstablished {
				// The fourth ACK.
				sf.fullyEstablished = true
				sf.subEstablished()
				c.markDirty()
			}
			c.dataAcked(now, expandIf(c.snd.una, d.DataAck, d.Ack64), uint64(seg.Window)<<sf.sndShift, sf)
		}
		if d.HasMap {
			if v := sf.mappingReceived(now, seg, d); v != tcp.Accept {
				return v
			}
		}
	} else if seg.Len > 0 && !sf.fullyEstablishedForData() && sf.join {
		sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
		return tcp.Reset
	}
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
		if c.fastcloseRcvd {
			return tcp.Accept
		}
	}
	return tcp.Accept
}

// setFully marks the MP_CAPABLE handshake complete on both sides.
func (c *Conn) setFully() {
	if c.fully {
		return
	}
	c.fully = true
	if c.initialSub != nil {
		c.initialSub.fullyEstablished = true
	}
	c.pmEvent(pm.Event{Kind: pm.Established})
	if c.state == StateConnecting && c.initialSub != nil && c.initialSub.tcpEstablished {
		// The server's TCP handshake completed on a segment that did not
		// carry the keys (the first data was lost): now they are here.
		c.established()
	}
	c.markDirty()
}

// mappingReceived handles the mapping part of a DSS option.
func (sf *subflow) mappingReceived(now time.Time, seg *tcp.Segment, d *wire.DSS) tcp.Verdict {
	c := sf.conn
	s := c.stack
	if d.DataLen == 0 {
		// The infinite mapping: the peer falls back (RFC 8684 section
		// 3.7) and every byte from this subflow sequence number on maps
		// linearly.
		s.mib.Inc(InfiniteMapRx)
		return sf.infiniteReceived(now, seg, d)
	}
	if c.csum && !d.HasChecksum {
		// Checksums were negotiated: a mapping without one is invalid.
		return sf.badMapping(now, errMapTCP)
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

// addMapping records a mapping carried with data.
func (sf *subflow) addMapping(now time.Time, seg *tcp.Segment, d *wire.DSS) tcp.Verdict {
	c := sf.conn
	m := mapping{off: ssnToOffset(seg.Offset, d.SubflowSeq), n: uint64(d.DataLen),
		hasCsum: d.HasChecksum, csum: d.Checksum, dataFin: d.DataFIN}
	if d.DataFIN {
		m.n--
	}
	m.dsn = expandIf(c.rcv.nxt, d.DSN, d.DSN64)
	if err := sf.rx.add(m, seg.Offset, seg.Len); err != nil {
		return sf.badMapping(now, err)
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
	}
	if sf.initial && c.fallback(DssFallback, sf) {
		return tcp.Accept
	}
	sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
	return tcp.Reset
}
