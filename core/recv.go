package core

import (
	"time"

	"github.com/mptcp-go/mptcp/tcp"
	"github.com/mptcp-go/mptcp/wire"
)

// drain moves the bytes the TCP engine has in order on this subflow into
// the connection's reassembly, mapping each through the DSS mapping that
// covers it (the kernel's subflow_check_data_avail and
// __mptcp_move_skbs_from_subflow).
func (sf *subflow) drain(now time.Time) {
	c := sf.conn
	tc := sf.tc
	if tc == nil || tc.State() == tcp.StateClosed {
		// A reset subflow's data is gone with it (the engine released its
		// buffer); the data is reinjected at data level.
		return
	}
	delivered := 0
	for guard := 0; guard < 1<<20; guard++ {
		avail := tc.Readable()
		if avail == 0 {
			break
		}
		off := tc.ReadOffset()
		m, ok := sf.rx.lookup(off)
		if !ok {
			if sf.unmapped(now, off, avail) {
				continue
			}
			return
		}
		if m.discard {
			// Bytes of a forged or overruled segment (replaceTentative).
			sf.tc.Discard(min(avail, int(m.end()-off)))
			sf.rx.prune(off + uint64(min(avail, int(m.end()-off))))
			c.stack.mib.Inc(UnmappedDrop)
			c.rcvMisaligned = true
			continue
		}
		if c.csum && m.hasCsum && !m.infinite {
			switch sf.verifyMapping(now, m, off, avail) {
			case mappingSkip:
				continue
			case mappingWait:
				return
			}
		}
		if m.infinite && sf.waitInfinite {
			sf.waitInfinite = false
		}
		if m.dataFin && c.csum && m.hasCsum && off == m.off && avail >= int(m.n) {
			// The checksum of the mapping, just verified, covers its
			// DATA_FIN: only now is the DATA_FIN trusted.
			if c.rcv.dataFin(m.dsn + m.n) {
				defer c.dataFinReceived(now)
			}
		}
		n := min(avail, int(min(m.end()-off, 1<<30)))
		if c.fallen && !c.appClosed && !tc.EOF() && !sf.peerFIN {
			// The TCP engine acknowledged these bytes: take only what the
			// buffer holds, the rest waits in the subflow (whose window
			// then closes) until the application reads. Once the peer's
			// FIN is in, everything is taken, before the engine lets the
			// connection go.
			if n = min(n, c.rcv.window()); n == 0 {
				break
			}
		}
		delivered += sf.take(m, off, n)
	}
	sf.drained(now, delivered)
}

// drained tells the application what drain brought: new bytes, the end of
// the stream.
func (sf *subflow) drained(now time.Time, delivered int) {
	c := sf.conn
	if c.fallen && sf.tc.EOF() && !c.peerFin {
		c.peerFin = true
		c.wake()
	}
	if delivered > 0 {
		c.wake()
		c.markDirty()
	}
	if c.rcv.finDone {
		c.dataFinReceived(now)
	}
}

// unmapped handles in-order bytes at off that no mapping covers. It
// reports whether drain may go on (the bytes were discarded or mapped
// implicitly).
func (sf *subflow) unmapped(now time.Time, off uint64, avail int) bool {
	c := sf.conn
	switch {
	case sf.waitInfinite:
		// After MP_FAIL, until the infinite mapping: the bytes before it
		// belong to the failed data.
		k := avail
		if sf.rx.len() > 0 && sf.rx.m[0].off > off {
			k = min(k, int(sf.rx.m[0].off-off))
		}
		sf.tc.Discard(k)
		return true
	case c.fallen && sf.fbPeerMaps:
		// The peer still maps its data after our fallback, so it may have
		// sent some twice: bytes without a mapping cannot be placed. Give
		// up rather than guess.
		c.stack.mib.Inc(FallbackFailed)
		sf.reset(wire.MPTCPRstReasonMPTCPError)
		return false
	case c.fallen:
		// TCP after a fallback: the bytes continue the data stream where
		// it stands (RFC 8684 section 3.7). The implicit mapping covers
		// only what is readable, up to the next explicit mapping (an
		// infinite mapping the peer sent when it fell back takes
		// precedence).
		sf.rx.prune(off)
		k := uint64(avail)
		if sf.rx.len() > 0 && sf.rx.m[0].off > off {
			k = min(k, sf.rx.m[0].off-off)
		}
		if err := sf.rx.add(mapping{dsn: c.rcv.nxt, off: off, n: k}, off, 0); err != nil {
			sf.rx.reset()
		}
		return true
	case !c.remoteKnown:
		return false // the keys are still to come (server side)
	}
	return sf.unmappedWait(now, off, avail)
}

// unmappedWaitLimit is how many unmapped in-order bytes a subflow holds
// while it waits for their mapping: more than a coalescing middlebox
// merges (64 KB), a little of the receive buffer.
const unmappedWaitLimit = 128 << 10

// unmappedWait handles in-order bytes without a mapping on a subflow that
// still carries options (segments without any go to optionsLost). A
// middlebox that coalesces segments (receive offload) keeps the first
// one's options, so a mapping that began in a merged segment is learnt
// only from the next segment of the same mapping: wait for it. Bytes that
// no mapping can cover any more (every byte up to the next known mapping
// is in, and none mapped them) are dropped: never DATA_ACKed, they are
// sent again at data level, so nothing is lost. Only a lot of unmapped
// data ends the subflow (fallback or reset, RFC 8684 section 3.7).
func (sf *subflow) unmappedWait(now time.Time, off uint64, avail int) bool {
	if sf.rx.len() > 0 && sf.rx.m[0].off > off && off+uint64(avail) >= sf.rx.m[0].off {
		sf.tc.Discard(int(sf.rx.m[0].off - off))
		sf.conn.stack.mib.Inc(UnmappedDrop)
		sf.conn.rcvMisaligned = true
		return true
	}
	if avail < unmappedWaitLimit {
		return false
	}
	sf.unmappedData(now)
	return false
}

// What verifyMapping tells drain.
const (
	mappingOK   = iota // the mapping's bytes may be taken
	mappingSkip        // the mapping was dropped: look again
	mappingWait        // stop draining: wait for more, or the subflow failed
)

// verifyMapping checks the DSS checksum of the checksummed mapping m
// before any of its bytes is taken: the whole mapping must be there,
// starting at its first byte.
func (sf *subflow) verifyMapping(now time.Time, m *mapping, off uint64, avail int) int {
	c := sf.conn
	if off != m.off {
		// Part of a checksummed mapping was consumed without its start
		// (a mapping learnt after a fallback, over bytes already mapped
		// implicitly): it cannot be verified.
		if c.fallen {
			sf.rx.dropCovering(off)
			return mappingSkip
		}
		sf.unmappedData(now)
		return mappingWait
	}
	if avail < int(m.n) {
		return mappingWait // wait for the whole mapping
	}
	p1, p2 := sf.tc.Peek()
	if !mappingChecksumOK(m, sf.rcvWireSSN(m.off), p1, p2) {
		c.stack.mib.Inc(DataCsumErr)
		sf.checksumFailed(now, m)
		return mappingWait
	}
	sf.csumOK = true
	return mappingOK
}

// take moves n bytes at off, mapped by m, from the engine into the
// connection's reassembly, and returns how many the application may now
// read.
func (sf *subflow) take(m *mapping, off uint64, n int) int {
	c := sf.conn
	if m.dsnAt(off) != c.rcv.nxt {
		c.rcvMisaligned = true
	}
	insert := c.rcv.insert
	if c.fallen {
		// Taken from the engine, these bytes are gone from the subflow:
		// none may be dropped at the window's edge (the implicit mapping
		// of the next ones would then start where this one was cut,
		// shifting the stream).
		insert = c.rcv.insertAcked
	}
	delivered := 0
	p1, p2 := sf.tc.Peek()
	k := 0
	for _, p := range [2][]byte{p1, p2} {
		if k >= n || len(p) == 0 {
			continue
		}
		p = p[:min(len(p), n-k)]
		if !c.appClosed {
			delivered += insert(m.dsnAt(off+uint64(k)), p, &c.stack.mib)
		} else {
			// Close discarded the read side; keep the data sequence
			// moving so the peer is acknowledged.
			insert(m.dsnAt(off+uint64(k)), p, &c.stack.mib)
			c.rcv.ready.discard(c.rcv.ready.len())
		}
		k += len(p)
	}
	sf.tc.Discard(n)
	c.autotuneSkipped(c.stack.now)
	sf.bytesRecv += uint64(n)
	c.bytesRecv += uint64(n)
	sf.rx.prune(off + uint64(n))
	return delivered
}

// mappingChecksumOK checks the DSS checksum of a whole mapping whose bytes
// start p1 and continue in p2 (RFC 8684 section 3.3.1).
func mappingChecksumOK(m *mapping, ssn uint32, p1, p2 []byte) bool {
	n := int(m.n)
	dataLen := uint16(m.n)
	if m.dataFin {
		dataLen++
	}
	sum := wire.DSSPseudoHeaderSum(m.dsn, ssn, dataLen)
	sum = wire.ChecksumCombine(sum, m.csum)
	a := p1[:min(len(p1), n)]
	sum = wire.ChecksumCombine(sum, wire.Checksum(a, 0))
	if rest := n - len(a); rest > 0 {
		b := p2[:min(len(p2), rest)]
		s2 := wire.Checksum(b, 0)
		if len(a)%2 == 1 {
			s2 = s2<<8 | s2>>8 // the piece starts at an odd position
		}
		sum = wire.ChecksumCombine(sum, s2)
	}
	return sum == 0xffff
}

// checksumFailed handles a mapping whose DSS checksum failed: a middlebox
// changed the payload (RFC 8684 section 3.7). With other subflows, this
// one is reset with MP_FAIL and its data goes again elsewhere; alone, the
// receiver asks the sender for an infinite mapping with MP_FAIL and
// discards data until it comes.
func (sf *subflow) checksumFailed(now time.Time, m *mapping) {
	c := sf.conn
	sf.failDSN = m.dsn
	if c.fallbackAllowed() && sf.initial {
		sf.sendFail = true
		sf.waitInfinite = true
		sf.failBy = now.Add(mpFailTimeout)
		sf.rx.reset()
		sf.tc.Discard(sf.tc.Readable())
		sf.sendACK()
		c.markDirty()
		return
	}
	c.stack.mib.Inc(DSSCorruptionReset)
	sf.resetWithFail()
}

// failReceived handles MP_FAIL from the peer: its checksum of our data at
// dsn failed. With one subflow we send an infinite mapping from there and
// fall back; otherwise the peer resets the subflow and we reinject.
func (sf *subflow) failReceived(now time.Time, dsn uint64) {
	c := sf.conn
	if c.fallen || !sf.initial || !c.fallbackAllowed() {
		return
	}
	// The option carries all 64 bits. Only the start of a mapping we sent
	// and the peer has not acknowledged can have failed: anything else is
	// forged or garbled, and rewinding to it would corrupt the stream.
	if before64(dsn, c.snd.una) || !before64(dsn, c.snd.nxt) || !sf.sentMappingAt(dsn) {
		return
	}
	// Everything from dsn is sent again, as new subflow bytes preceded by
	// the infinite mapping.
	c.snd.rewind(dsn)
	sf.sendInfinite = true
	sf.infOff = sf.tc.SendOffset()
	sf.infDSN = dsn
	c.fbTx = linearMap{off0: sf.infOff, dsn0: dsn}
	c.fbTxSet = true
	c.fallen = true
	c.stack.mib.Inc(DSSCorruptionFallback)
	c.afterFallback(sf)
	c.markDirty()
}

// dataAcked processes a DATA_ACK: data-level acknowledgement and the
// peer's connection-level window (RFC 8684 sections 3.3.2 and 3.3.4).
// The window is the one carried by the same segment as the DATA_ACK
// (wnd, already scaled), never an older one: paired with a newer DATA_ACK
// an older, larger window would put the edge beyond what the peer
// offered. The edge only moves right.
func (c *Conn) dataAcked(now time.Time, ack uint64, wnd uint64) {
	if n := c.snd.ack(ack); n > 0 {
		c.lastUnaMove = now
		c.plainStalls = 0
		c.wake()
		c.markDirty()
	}
	// An ACK of data never sent is ignored (sendBuffer.ack), its window
	// with it: the edge would count from a made-up point.
	if !before64(ack, c.snd.una) && !after64(ack, c.snd.ackLimit()) {
		c.dataAckSeen = true
		if e := ack + wnd; after64(e, c.wndEnd) {
			c.wndEnd = e
			c.markDirty()
		}
	}
}

// dataFinReceived handles the peer's DATA_FIN once every byte before it
// arrived: acknowledge it, and report the end of the stream.
func (c *Conn) dataFinReceived(now time.Time) {
	if !c.rcv.finDone || c.peerFinAcked {
		return
	}
	c.peerFinAcked = true
	for _, sf := range c.subflows {
		if sf.canSignal() {
			sf.sendACK()
		}
	}
	c.wake()
	c.markDirty()
}
