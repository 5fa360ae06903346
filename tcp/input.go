package tcp

import (
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// pawsIdle is how old TS.Recent may grow before PAWS stops trusting it
// (RFC 7323 section 5.5: 24 days).
const pawsIdle = 24 * 24 * time.Hour

// oowACKInterval limits ACKs answering out-of-window segments without data,
// which would otherwise let two confused peers loop (Linux's
// tcp_invalid_ratelimit).
const oowACKInterval = 500 * time.Millisecond

// Helpers converting between wire values and sequence offsets.

func (c *Conn) sndWire(off uint64) uint32 { return c.iss + uint32(off) }
func (c *Conn) rcvWire(off uint64) uint32 { return c.irs + uint32(off) }

// rcvNxt returns RCV.NXT as an offset: past the in-order data, and past
// the FIN once it has been reached.
func (c *Conn) rcvNxt() uint64 {
	n := c.rb.nxt + 1
	if c.finRcvd && n == c.finOff {
		n++
	}
	return n
}

// sndDataNxt returns the stream offset of the next new byte to send.
func (c *Conn) sndDataNxt() uint64 {
	n := c.sndNxt - 1
	if c.finSent {
		n--
	}
	return n
}

// input processes one segment for the connection (RFC 9293 section
// 3.10.7, with RFC 5961 and RFC 7323).
func (c *Conn) input(g *inSeg) {
	c.stats.SegsIn++
	switch c.state {
	case StateSynSent:
		c.inputSynSent(g)
	case StateClosed, StateListen, StateTimeWait:
	default:
		c.inputSynchronized(g)
	}
}

// inputSynSent handles a segment answering our SYN (section 3.10.7.3).
func (c *Conn) inputSynSent(g *inSeg) {
	s := c.stack
	ackOK := false
	synAcked := uint64(0)
	if g.has(wire.FlagACK) {
		// SND.UNA < SEG.ACK =< SND.NXT: our SYN, and of the data a Fast
		// Open SYN carried as much as the server took.
		a := unwrap(c.sndUna, c.iss, g.ack)
		if a > int64(c.sndNxt) || a <= 0 {
			if !g.has(wire.FlagRST) {
				s.replyRST(g, nil)
			}
			return
		}
		ackOK = true
		synAcked = uint64(a - 1)
	}
	if g.has(wire.FlagRST) {
		// RFC 5961 section 3: a RST in SYN-SENT counts only if it
		// acknowledges the SYN.
		if ackOK {
			c.readHook(g, 0)
			c.fail(ErrConnectionRefused)
		}
		return
	}
	if !g.has(wire.FlagSYN) {
		return
	}
	c.irs = g.seq
	c.rb.head, c.rb.nxt = 0, 0
	c.applySYNOptions(g.opts)
	if ackOK {
		switch c.readHook(g, 0) {
		case Drop:
			return
		case Reset:
			// <SEQ=SEG.ACK><CTL=RST>, which is our SND.NXT.
			c.sendRST(wire.FlagRST)
			c.close(ErrConnectionAborted)
			return
		}
		c.ackedSYN(g)
		c.fastOpenSynAck(g, synAcked)
		c.sndWnd = uint64(g.wnd) // SYN windows are never scaled
		c.maxSndWnd = c.sndWnd
		c.sndWl1, c.sndWl2 = 0, 1
		if c.tsOK {
			c.initTSRecent(g.opts.TSVal, s.now)
		}
		c.lastRecv = s.now
		c.establish()
		c.ackNow = true
		s.markDirty(c)
		return
	}
	// Simultaneous open: answer with SYN/ACK from our ISS.
	if c.readHook(g, 0) != Accept {
		return
	}
	if c.tsOK {
		c.initTSRecent(g.opts.TSVal, s.now)
	}
	c.state = StateSynReceived
	c.synPending = true
	s.markDirty(c)
}

// ackedSYN records the acknowledgment of our SYN or SYN/ACK, and its RTT
// sample when it was sent once (Karn).
func (c *Conn) ackedSYN(g *inSeg) {
	s := c.stack
	c.sndUna = 1
	if c.synRetries == 0 && c.firstSent != 0 {
		c.rtt.sample(s.now, s.now-c.firstSent)
	} else if c.tsOK && g.opts.HasTimestamps && g.opts.TSEcr != 0 {
		if d := c.tsAge(g.opts.TSEcr); d >= 0 {
			c.rtt.sample(s.now, d)
		}
	}
	c.rtt.backoff = 0
	c.rtoAt = 0
}

// oldACKSignals shows the hooks a pure ACK below RCV.NXT by behind bytes
// (KindOldACK) when it is less than a window old and acknowledges what
// RFC 5961 section 5.2 allows, and reports whether it did. A Linux peer
// whose subflow times out sets SND.NXT back to SND.UNA, and the ACKs it
// sends before retransmitting carry that old sequence number, the
// REMOVE_ADDR of a deleted endpoint among them; every receiver drops
// them as unacceptable, and the signal, sent once, would be lost.
func (c *Conn) oldACKSignals(g *inSeg, behind int64) bool {
	if c.hooks == nil || g.flags&(wire.FlagSYN|wire.FlagFIN|wire.FlagRST) != 0 || g.flags&wire.FlagACK == 0 ||
		behind > int64(max(c.rcvBuf, 1)) || c.state < StateEstablished {
		return false
	}
	if !c.ackAcceptable(unwrap(c.sndUna, c.iss, g.ack)) {
		return false
	}
	c.showHooks(g, KindOldACK, 0)
	return true
}

// ackAcceptable reports whether an acknowledgment number (unwrapped)
// acknowledges nothing unsent and is not too old to be believed (RFC 5961
// section 5.2: at least SND.UNA - MAX.SND.WND).
func (c *Conn) ackAcceptable(ack int64) bool {
	return ack <= int64(c.sndNxt) && ack >= int64(c.sndUna)-int64(max(c.maxSndWnd, 1))
}

// readHook shows a validated segment to the hooks.
func (c *Conn) readHook(g *inSeg, off uint64) Verdict {
	if c.hooks == nil {
		return Accept
	}
	return c.showHooks(g, segKind(g.flags, len(g.payload)), off)
}

// showHooks shows the hooks an incoming segment as kind, its payload at
// stream offset off; c.hooks is set.
func (c *Conn) showHooks(g *inSeg, kind SegmentKind, off uint64) Verdict {
	seg := &c.stack.hookIn
	*seg = Segment{
		Kind:   kind,
		Flags:  g.flags,
		Seq:    g.seq,
		Ack:    g.ack,
		Window: g.wnd,
		Offset: off,
		Len:    len(g.payload),
	}
	return c.hooks.ReadOptions(c, c.stack.nowWall, seg, g.opts)
}

// acceptRight is the right edge incoming data is accepted up to (as a
// sequence offset, exclusive): the highest one advertised, or with a shared
// window (SetSharedWindow) as far beyond RCV.NXT as it reaches.
func (c *Conn) acceptRight() uint64 {
	return max(c.rcvAdvRight, c.rcvNxt()+uint64(c.sharedWnd))
}

// rcvWnd returns the receive window as advertised: from RCV.NXT to the
// highest right edge announced.
func (c *Conn) rcvWnd() uint64 {
	n := c.rcvNxt()
	if c.rcvAdvRight <= n {
		return 0
	}
	return c.rcvAdvRight - n
}

// acceptWnd returns the window incoming segments are checked against:
// from RCV.NXT to acceptRight.
func (c *Conn) acceptWnd() uint64 {
	return c.acceptRight() - c.rcvNxt()
}

// inputSynchronized handles a segment in SYN-RECEIVED and every later
// state (section 3.10.7.4), in the section's order of checks.
func (c *Conn) inputSynchronized(g *inSeg) {
	if c.state == StateSynReceived && g.has(wire.FlagSYN) && !g.has(wire.FlagRST) && g.seq == c.irs {
		c.synReceivedAgain(g)
		return
	}
	rollback, ok := c.checkPAWS(g)
	if !ok {
		return
	}
	// Sequence acceptability (first).
	rcvNxt := c.rcvNxt()
	wnd := c.acceptWnd()
	seq := unwrap(rcvNxt, c.irs, g.seq)
	if !c.checkSequence(g, seq, rcvNxt, wnd) {
		return
	}
	// RST (second), SYN (fourth): RFC 5961 sections 3.2 and 4.2.
	if g.has(wire.FlagRST) {
		c.inputRST(g, seq == int64(rcvNxt))
		return
	}
	if g.has(wire.FlagSYN) {
		c.challengeACK()
		return
	}
	// ACK (fifth).
	if !g.has(wire.FlagACK) {
		return
	}
	ack, ok := c.checkACK(g)
	if !ok {
		return
	}
	switch c.readHook(g, uint64(max(seq, 1))-1) {
	case Drop:
		return
	case Reset:
		c.reset(ErrConnectionAborted)
		return
	}
	c.segmentValid(g, seq, rollback)
	if c.state == StateSynReceived && !c.synReceivedAcked(g, seq, ack) {
		return
	}
	if ack >= int64(c.sndUna) {
		// An older ACK (SEG.ACK < SND.UNA) is a duplicate that tells
		// nothing new, not even about the window (section 3.10.7.4).
		c.processAck(g, uint64(seq), uint64(ack))
		if c.state == StateClosed || c.state == StateTimeWait {
			return
		}
	}
	// Segment text (seventh), FIN (eighth).
	if len(g.payload) > 0 && !c.inputText(g, seq, rcvNxt, wnd == 0) {
		return
	}
	if g.has(wire.FlagFIN) && !(wnd == 0 && len(g.payload) > 0) {
		c.inputFIN(uint64(seq) + uint64(len(g.payload)))
	}
	c.checkFIN()
}

// synReceivedAgain handles the peer's initial SYN again in SYN-RECEIVED:
// its SYN/ACK in a simultaneous open, or its SYN retransmitted because
// our SYN/ACK was lost.
func (c *Conn) synReceivedAgain(g *inSeg) {
	s := c.stack
	if g.has(wire.FlagACK) && c.active && unwrap(c.sndUna, c.iss, g.ack) == int64(c.sndNxt) {
		// Simultaneous open: the peer's SYN/ACK acknowledges ours.
		if c.readHook(g, 0) != Accept {
			return
		}
		c.ackedSYN(g)
		c.sndWnd = uint64(g.wnd)
		c.maxSndWnd = c.sndWnd
		c.establish()
		c.ackNow = true
		s.markDirty(c)
		return
	}
	c.synPending = true
	s.markDirty(c)
}

// checkPAWS applies PAWS (RFC 7323 section 5.3), which comes before the
// sequence check, and reports whether the segment goes on. A segment
// newer than TS.Recent's previous value goes on with rollback set
// (tsrecent.go): if it is acceptable, the jump it contradicts is undone.
func (c *Conn) checkPAWS(g *inSeg) (rollback, ok bool) {
	s := c.stack
	opts := g.opts
	if !c.tsOK || !opts.HasTimestamps || g.has(wire.FlagRST) ||
		!seqLT(opts.TSVal, c.tsRecent) || s.now-c.tsRecentAge >= pawsIdle || c.disorderedACK(g) {
		return false, true
	}
	if !c.pawsRecoverable(opts.TSVal) {
		c.stats.PAWSDrops++
		s.stats.PAWSEstab++
		c.dupAck(g)
		return false, false
	}
	return true, true
}

// checkSequence is the acceptability test of section 3.10.7.4 for a
// segment at offset seq against the window [rcvNxt, rcvNxt+wnd); an
// unacceptable segment is answered (unless it is a reset) and dropped.
func (c *Conn) checkSequence(g *inSeg, seq int64, rcvNxt, wnd uint64) bool {
	segLen := int64(g.seqLen())
	lo, hi := int64(rcvNxt), int64(rcvNxt+wnd)
	var ok bool
	switch {
	case segLen == 0 && wnd == 0:
		ok = seq == lo
	case segLen == 0:
		ok = lo <= seq && seq < hi
	case wnd == 0:
		// Only the ACK, RST (and a bare FIN) of a segment at RCV.NXT
		// can be used; its data is dropped by inputText.
		ok = seq == lo
	default:
		end := seq + segLen - 1
		ok = (lo <= seq && seq < hi) || (lo <= end && end < hi)
	}
	if ok {
		return true
	}
	if segLen == 0 && seq < lo && c.oldACKSignals(g, lo-seq) {
		c.stats.OldACKSignals++
	}
	if !g.has(wire.FlagRST) {
		c.stats.BadSegments++
		if len(g.payload) > 0 && seq+segLen <= lo && seq >= 1 && c.sackOK {
			// An old duplicate: report it with D-SACK (RFC 2883).
			c.setDSACK(uint64(seq)-1, uint64(seq+int64(len(g.payload)))-1)
		}
		c.dupAck(g)
	}
	return false
}

// inputRST handles an acceptable reset (RFC 5961 section 3.2): one
// exactly at RCV.NXT ends the connection, any other in the window gets
// a challenge ACK.
func (c *Conn) inputRST(g *inSeg, exact bool) {
	if !exact {
		c.challengeACK()
		return
	}
	if c.readHook(g, 0) == Drop {
		return
	}
	switch {
	case c.state == StateSynReceived && c.active:
		c.fail(ErrConnectionRefused)
	case c.state == StateSynReceived:
		// Back to LISTEN: the half-open connection just goes.
		c.fail(ErrConnectionReset)
	default:
		c.stack.stats.EstabResets++
		c.fail(ErrConnectionReset)
	}
}

// checkACK is the fifth step's test of the acknowledgment number, and of
// a timestamp no clock of the peer can have reached; it returns the
// acknowledgment as an offset and whether the segment goes on.
func (c *Conn) checkACK(g *inSeg) (int64, bool) {
	s := c.stack
	ack := unwrap(c.sndUna, c.iss, g.ack)
	if c.state == StateSynReceived {
		// SND.UNA < SEG.ACK =< SND.NXT (section 3.10.7.4): a Fast Open
		// server's answer may be in flight beyond its SYN/ACK.
		if ack < 1 || ack > int64(c.sndNxt) {
			if !c.cookieSupersedes(g) {
				s.replyRST(g, nil)
			}
			return ack, false
		}
	} else if !c.ackAcceptable(ack) {
		c.stats.BadSegments++
		c.challengeACK()
		return ack, false
	}
	if c.tsOK && g.opts.HasTimestamps && c.tsImplausible(g.opts.TSVal, s.now) {
		// Forged.
		c.stats.TSJumpDrops++
		s.stats.TSJumpDrops++
		c.challengeACK()
		return ack, false
	}
	return ack, true
}

// segmentValid records a valid segment for TS.Recent (RFC 7323 section
// 4.3) and for keepalive.
func (c *Conn) segmentValid(g *inSeg, seq int64, rollback bool) {
	s := c.stack
	now := s.now
	opts := g.opts
	c.lastRecv = now
	c.kaProbes = 0
	if !c.tsOK || !opts.HasTimestamps {
		c.lastTSecr = 0
		return
	}
	c.lastTSecr = opts.TSEcr
	switch {
	case rollback:
		c.initTSRecent(opts.TSVal, now)
		c.stats.PAWSRollbacks++
		s.stats.PAWSRollbacks++
	case seq <= int64(c.lastAckSent()) && seqGE(opts.TSVal, c.tsRecent):
		c.updateTSRecent(opts.TSVal, now)
	}
}

// synReceivedAcked moves a passive open on once the peer acknowledged
// our SYN/ACK (seq and ack: the segment's offsets); false when the
// connection may not be established (establishPassive says why).
func (c *Conn) synReceivedAcked(g *inSeg, seq, ack int64) bool {
	if !c.establishPassive(g) {
		return false
	}
	c.ackedSYN(g)
	c.sndWnd = uint64(g.wnd) << c.sndShift
	c.maxSndWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = uint64(seq), uint64(ack)
	return true
}

// inputText takes a segment's data in the states that receive (section
// 3.10.7.4, seventh); rcvNxt is RCV.NXT when the segment arrived, and
// zeroWnd whether the window was closed then. It reports false when the
// connection was reset: new data for an application that closed.
func (c *Conn) inputText(g *inSeg, seq int64, rcvNxt uint64, zeroWnd bool) bool {
	switch c.state {
	case StateEstablished, StateFinWait1, StateFinWait2:
		if c.appClosed && uint64(seq+int64(len(g.payload))) > rcvNxt {
			// Nobody will read it (Linux's TCPAbortOnData).
			c.stack.stats.AbortOnData++
			c.reset(ErrConnectionAborted)
			return false
		}
		c.receiveData(g, uint64(seq), zeroWnd)
	}
	return true
}

// inputFIN records the peer's FIN at stream offset fo (section
// 3.10.7.4, eighth), unless one was already taken, or it lies beyond the
// window, or it contradicts an earlier FIN's offset.
func (c *Conn) inputFIN(fo uint64) {
	if c.state.finReceived() {
		return
	}
	if fo < c.acceptRight()+1 && (!c.finRcvd || fo == c.finOff) {
		c.finRcvd, c.finOff = true, fo
	}
}

// disorderedACK reports a pure duplicate ACK that was merely reordered
// behind a later one: PAWS would drop it for its older timestamp, but it
// is harmless and may carry SACK blocks (Linux's tcp_disordered_ack).
func (c *Conn) disorderedACK(g *inSeg) bool {
	if len(g.payload) > 0 || g.flags&(wire.FlagSYN|wire.FlagFIN|wire.FlagRST) != 0 || !g.has(wire.FlagACK) {
		return false
	}
	if unwrap(c.rcvNxt(), c.irs, g.seq) != int64(c.rcvNxt()) || unwrap(c.sndUna, c.iss, g.ack) != int64(c.sndUna) {
		return false
	}
	if uint64(g.wnd)<<c.sndShift != c.sndWnd {
		return false
	}
	lag := time.Duration(c.tsRecent-g.opts.TSVal) * time.Millisecond
	return lag <= c.rtt.currentRTO()
}

// lastAckSent is the acknowledgment we last sent, as an offset: the
// Last.ACK.sent of RFC 7323 section 4.3.
func (c *Conn) lastAckSent() uint64 {
	return c.lastAckOff
}

// dupAck answers an unacceptable segment with an ACK, rate-limited for
// segments without data (section 3.10.7.4: "send an acknowledgment").
func (c *Conn) dupAck(g *inSeg) {
	s := c.stack
	if len(g.payload) == 0 && !g.has(wire.FlagSYN) {
		if c.lastOOWAck != 0 && s.now-c.lastOOWAck < oowACKInterval {
			return
		}
		c.lastOOWAck = s.now
	}
	c.ackNow = true
	s.markDirty(c)
}

// challengeACK sends an ACK in answer to a suspicious RST, SYN or ACK
// (RFC 5961 section 7), within the stack-wide rate limit.
func (c *Conn) challengeACK() {
	s := c.stack
	if s.now-s.challengeT >= time.Second {
		s.challengeT, s.challengeN = s.now, 0
	}
	if s.challengeN >= s.cfg.ChallengeACKLimit {
		s.stats.ChallengeLimited++
		return
	}
	s.challengeN++
	s.stats.ChallengeACKs++
	c.stats.ChallengeACKs++
	c.ackNow = true
	s.markDirty(c)
}

// receiveData stores a segment's payload (sequence offset seq) and decides
// how to acknowledge it.
func (c *Conn) receiveData(g *inSeg, seq uint64, zeroWnd bool) {
	s := c.stack
	p := g.payload
	off := seq - 1 // stream offset of p[0]
	if zeroWnd {
		c.ackNow = true
		s.markDirty(c)
		return
	}
	// Trim to what we advertised (or share): [rb.nxt, acceptRight-1), and
	// to the FIN if we know where it is: nothing follows a FIN.
	limit := c.acceptRight() - 1
	if c.finRcvd {
		limit = min(limit, c.finOff-1)
	}
	if off+uint64(len(p)) > limit {
		if off >= limit {
			c.ackNow = true
			s.markDirty(c)
			return
		}
		p = p[:limit-off]
	}
	end := off + uint64(len(p))
	if off < c.rb.nxt {
		// Partly a duplicate: report the repeated part (RFC 2883).
		if c.sackOK {
			c.setDSACK(off, min(end, c.rb.nxt))
		}
	} else if off > c.rb.nxt && c.sackOK && c.rb.ooo.contains(off, end) {
		c.setDSACK(off, end)
	}
	hadHole := !c.rb.ooo.empty()
	n := c.rb.write(off, p)
	c.stats.DataSegsIn++
	if n > 0 {
		c.stats.BytesReceived += uint64(n)
		s.notify(c, EventReadable)
	}
	if len(p) > c.rcvMSS {
		c.rcvMSS = min(len(p), c.advMSS)
	}
	if off > c.rb.nxt {
		c.stats.OutOfOrderSegs++
		c.noteSACK(off)
		c.ackNow = true // immediately acknowledge out-of-order data
	} else if hadHole {
		c.ackNow = true // a hole filled: let the sender know at once
	} else {
		c.ackSegs += len(p)
		if c.quickAcks > 0 {
			c.quickAcks--
			c.ackNow = true
		} else if c.ackSegs > c.rcvMSS {
			// More than one full segment unacknowledged: the second
			// segment is acknowledged at once (RFC 5681 section 4.2; the
			// test is Linux's, robust to segments of varying size).
			c.ackNow = true
		} else if c.delackAt == 0 {
			c.delackAt = s.now + s.cfg.DelayedACK
		}
	}
	if c.hasDSACK {
		c.ackNow = true
	}
	c.rcvRTTMeasure(g)
	if c.ackNow {
		s.markDirty(c)
	}
}

// setDSACK records a duplicate range to report in the next ACK.
func (c *Conn) setDSACK(start, end uint64) {
	if end <= start {
		return
	}
	c.dsack = Range{start, end}
	c.hasDSACK = true
}

// noteSACK records a recent out-of-order arrival, so the next ACK's SACK
// option lists its block first (RFC 2018 section 4).
func (c *Conn) noteSACK(off uint64) {
	r, _ := c.rb.ooo.find(off)
	k := 0
	for i := 0; i < c.nSACKRecent; i++ {
		x := c.sackRecent[i]
		if x >= r.Start && x < r.End {
			continue // same block, moves to the front
		}
		if _, ok := c.rb.ooo.find(x); !ok {
			continue // filled since
		}
		if k < len(c.sackRecent)-1 {
			c.sackRecent[k+1] = x
			k++
		}
	}
	c.sackRecent[0] = off
	c.nSACKRecent = k + 1
}

// checkFIN processes the peer's FIN once the data before it is in.
func (c *Conn) checkFIN() {
	if !c.finRcvd || c.state.finReceived() || c.rb.nxt+1 != c.finOff {
		return
	}
	s := c.stack
	c.ackNow = true
	s.markDirty(c)
	s.notify(c, EventFIN|EventReadable)
	switch c.state {
	case StateSynReceived, StateEstablished:
		c.state = StateCloseWait
	case StateFinWait1:
		// Our FIN is not yet acknowledged (else we would be in FIN-WAIT-2).
		c.state = StateClosing
	case StateFinWait2:
		c.enterTimeWait()
	}
}
