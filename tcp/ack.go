package tcp

import (
	"cmp"
	"slices"
	"time"

	"github.com/mptcp-go/mptcp/cc"
	"github.com/mptcp-go/mptcp/wire"
)

// ackScratch gathers what one ACK did, for RTT, rate and congestion
// control.
type ackScratch struct {
	delivered   int           // bytes newly delivered (cumulatively or by SACK)
	rttSeq      time.Duration // RTT of the oldest newly delivered, never retransmitted segment
	hasRTT      bool
	caRTT       time.Duration // RTT of the newest such segment
	newestSnap  txSeg         // the most recently sent delivered segment (rate sample)
	hasNewest   bool
	dsack       bool
	sackChanged bool
}

// processAck handles the acknowledgment and window fields of a valid
// segment whose sequence offset is seq and acknowledgment offset ack.
func (c *Conn) processAck(g *inSeg, seq, ack uint64) {
	priorInFlight := c.inflight()
	priorUna := c.sndUna
	windowChanged := c.updateSendWindow(g, seq, ack)

	var a ackScratch
	if ack > c.sndUna {
		c.ackCumulative(ack, &a)
	}
	if c.sackOK && g.opts.NumSACK > 0 && c.sndNxt > c.sndUna {
		c.processSACK(g.opts, &a)
	} else if c.sackOK && g.opts.NumSACK > 0 {
		c.detectDSACK(g.opts, &a)
	}
	if a.dsack {
		c.stats.DSACKsReceived++
		c.rackOnDSACK()
	}
	advanced := c.sndUna > priorUna
	dupAck := !advanced && a.delivered == 0 && len(g.payload) == 0 && c.sndNxt > c.sndUna &&
		!g.has(wire.FlagFIN) && !windowChanged
	if dupAck {
		c.stats.DupACKs++
	}
	c.sampleRTT(g, &a, advanced)
	c.detectLoss(&a, ack, advanced, dupAck)
	if c.rec.state != recOpen && advanced {
		c.recoveryAdvanced(g)
	}
	c.congestionOnAck(&a, priorInFlight, dupAck)

	if advanced || a.delivered > 0 || a.sackChanged {
		c.ackedHook(priorUna)
	}
	if advanced {
		c.unaAdvanced()
	} else {
		c.armTimers(false)
	}
}

// updateSendWindow takes the segment's window (section 3.10.7.4) if it
// is at least as recent as the one that last set it, and reports whether
// the window changed.
func (c *Conn) updateSendWindow(g *inSeg, seq, ack uint64) bool {
	wasZeroWnd := c.sndWnd == 0
	changed := false
	if c.sndWl1 < seq || (c.sndWl1 == seq && c.sndWl2 <= ack) {
		w := uint64(g.wnd) << c.sndShift
		if w != c.sndWnd {
			c.sndWnd = w
			changed = true
			c.stack.markDirty(c)
		}
		c.sndWl1, c.sndWl2 = seq, ack
		c.maxSndWnd = max(c.maxSndWnd, w)
	}
	// Any acceptable ACK answers our probes (RFC 9293 section 3.8.6.1:
	// keep probing while the peer keeps acknowledging).
	c.probesUnacked = 0
	if wasZeroWnd && c.sndWnd > 0 {
		c.persistBackoff = 0
		c.persistAt = 0
	}
	return changed
}

// sampleRTT takes the ACK's RTT sample (RFC 6298 section 2, with Karn's
// rule: only segments sent once; with timestamps, the echo of the ACK
// covers retransmissions too).
func (c *Conn) sampleRTT(g *inSeg, a *ackScratch, advanced bool) {
	now := c.stack.now
	if a.hasRTT {
		c.rtt.sample(now, a.rttSeq)
	} else if advanced && c.tsOK && g.opts.HasTimestamps && g.opts.TSEcr != 0 {
		if d := c.tsAge(g.opts.TSEcr); d > 0 {
			c.rtt.sample(now, d)
		}
	}
	if advanced {
		c.rtoCount = 0
		c.rtt.backoff = 0
	}
}

// detectLoss runs loss detection on an ACK: RACK when it delivered
// something, NewReno without SACK, and the tail loss probe's bookkeeping.
func (c *Conn) detectLoss(a *ackScratch, ack uint64, advanced, dupAck bool) {
	s := c.stack
	if a.delivered > 0 || a.dsack {
		lost, timeout := c.rackDetectLoss()
		if lost > 0 {
			c.onLossDetected(lost)
			s.markDirty(c)
		}
		if timeout > 0 {
			c.reoAt = s.now + timeout
		} else {
			c.reoAt = 0
		}
	}
	if !c.sackOK {
		c.newRenoLoss(dupAck, advanced)
	}
	c.tlpOnAck(ack, advanced, a.dsack, a.delivered > 0 && !advanced)
}

// recoveryAdvanced ends a recovery episode that SND.UNA's advance shows
// spurious (after a timeout) or complete.
func (c *Conn) recoveryAdvanced(g *inSeg) {
	spurious := c.spuriousBy(g.opts.TSEcr, g.opts.HasTimestamps)
	switch {
	case c.rec.state == recLoss && spurious:
		c.unmarkLost()
		c.exitRecovery(true)
	case c.sndUna >= c.rec.point:
		c.exitRecovery(spurious)
	}
}

// congestionOnAck reports delivered bytes to the rate sample, the
// congestion control and PRR.
func (c *Conn) congestionOnAck(a *ackScratch, priorInFlight int, dupAck bool) {
	s := c.stack
	if a.delivered == 0 {
		if dupAck && !c.sackOK && c.rec.state == recFast {
			// Without SACK a duplicate ACK stands for a segment that
			// left the network (RFC 6937 section 3: DeliveredData of
			// one MSS).
			c.prrUpdate(c.payloadMSS(), false)
			s.markDirty(c)
		}
		return
	}
	if a.hasNewest {
		c.rateSample(&a.newestSnap)
	}
	if c.appLimit != 0 && c.delivered > c.appLimit {
		c.appLimit = 0
	}
	// For window growth what matters is whether the sender is held back
	// by the window now (RFC 7661), not the rate sample's app-limited
	// mark, which lasts a whole flight.
	c.cc.OnAck(s.nowWall, cc.Ack{
		Acked:         a.delivered,
		PriorInFlight: priorInFlight,
		RTT:           a.caRTT,
		SRTT:          c.rtt.srtt,
		MinRTT:        c.rtt.minRTT(),
		AppLimited:    c.appBound,
	})
	if c.rec.state == recFast {
		c.prrUpdate(a.delivered, false)
	}
	s.markDirty(c)
}

// unaAdvanced rearms the timers after SND.UNA moved and tells the
// application what the acknowledgment freed or completed.
func (c *Conn) unaAdvanced() {
	s := c.stack
	c.armTimers(true)
	if c.notifyWrite && c.sb.free() >= c.sb.limit/4 {
		c.notifyWrite = false
		s.notify(c, EventWritable)
	}
	if c.sndUna == c.sndNxt && (c.sb.len() == 0) {
		s.notify(c, EventSendAcked)
	}
	if c.finSent && c.sndUna == c.sndNxt {
		c.finAcked()
	}
}

// ackCumulative removes the segments below ack from the scoreboard.
func (c *Conn) ackCumulative(ack uint64, a *ackScratch) {
	s := c.stack
	now := s.now
	q := &c.txq
	if c.sndUna == 0 && ack >= 1 {
		c.sndUna = 1 // the SYN
	}
	for !q.empty() {
		sg := q.at(q.head)
		if sg.start >= ack {
			break
		}
		end := min(sg.end, ack)
		if !sg.has(segSACKed) {
			n := int(end - sg.start)
			a.delivered += n
			c.delivered += uint64(n)
			c.noteDelivered(sg, now, a)
		}
		if sg.end <= ack {
			q.popFront()
		} else {
			q.trimFront(ack)
			break
		}
	}
	dataAcked := ack - c.sndUna
	if c.finSent && ack == c.sndNxt {
		dataAcked-- // the FIN
	}
	c.stats.BytesAcked += dataAcked
	c.sndUna = ack
	c.sb.ack(min(ack-1, c.sb.tail))
	c.sackedRanges.trimBelow(ack)
}

// noteDelivered does the per-segment work of a delivery: RACK, and the RTT
// and rate-sample candidates.
func (c *Conn) noteDelivered(sg *txSeg, now time.Duration, a *ackScratch) {
	c.rackDelivered(sg)
	if !sg.has(segEverRetrans) {
		rtt := now - sg.xmit
		if !a.hasRTT {
			a.rttSeq, a.hasRTT = rtt, true
		}
		a.caRTT = rtt
	}
	if !a.hasNewest || sg.delivered > a.newestSnap.delivered ||
		(sg.delivered == a.newestSnap.delivered && sg.xmit > a.newestSnap.xmit) {
		a.newestSnap, a.hasNewest = *sg, true
	}
}

// processSACK applies the SACK blocks of an ACK to the scoreboard (RFC
// 2018, RFC 2883 for the D-SACK first block).
func (c *Conn) processSACK(o *wire.TCPOptions, a *ackScratch) {
	now := c.stack.now
	q := &c.txq
	c.detectDSACK(o, a)
	for k := 0; k < o.NumSACK; k++ {
		if k == 0 && a.dsack {
			continue
		}
		b := o.SACK[k]
		l := unwrap(c.sndUna, c.iss, b.Left)
		r := unwrap(c.sndUna, c.iss, b.Right)
		if r <= l || l < int64(c.sndUna) || r > int64(c.sndNxt) {
			continue // invalid or stale: ignore (RFC 2018 section 4)
		}
		lo, hi := uint64(l), uint64(r)
		if c.sackedRanges.contains(lo, hi) || c.sackedRanges.full(lo, hi) {
			continue
		}
		c.sackedRanges.add(lo, hi)
		a.sackChanged = true
		// Mark the segments now wholly covered.
		for i := q.find(lo); i < q.tail(); i++ {
			sg := q.at(i)
			if sg.start >= hi {
				break
			}
			if sg.has(segSACKed) || !c.sackedRanges.contains(sg.start, sg.end) {
				continue
			}
			n := q.markSACKed(i)
			a.delivered += n
			c.delivered += uint64(n)
			c.noteDelivered(sg, now, a)
		}
	}
}

// detectDSACK recognises a D-SACK first block: one below the cumulative
// ACK, or inside the second block (RFC 2883 section 4).
func (c *Conn) detectDSACK(o *wire.TCPOptions, a *ackScratch) {
	if o.NumSACK == 0 {
		return
	}
	b := o.SACK[0]
	if seqLE(b.Right, b.Left) {
		return
	}
	r := unwrap(c.sndUna, c.iss, b.Right)
	if r <= int64(c.sndUna) {
		a.dsack = true
		return
	}
	if o.NumSACK > 1 {
		b1 := o.SACK[1]
		if seqGE(b.Left, b1.Left) && seqLE(b.Right, b1.Right) {
			a.dsack = true
		}
	}
}

// unmarkLost reverts the loss marks of segments not retransmitted yet,
// after a timeout proved spurious: they are in flight after all.
func (c *Conn) unmarkLost() {
	q := &c.txq
	changed := false
	for i := q.head; i < q.tail(); i++ {
		sg := q.at(i)
		if sg.has(segLost) && !sg.has(segRetrans) && !sg.has(segSACKed) {
			sg.flags &^= segLost
			q.lost -= int(sg.end - sg.start)
			changed = true
		}
	}
	if changed {
		c.rebuildTimeOrder()
	}
}

// rebuildTimeOrder rebuilds the time-ordered in-flight list from scratch.
func (c *Conn) rebuildTimeOrder() {
	q := &c.txq
	for i := q.head; i < q.tail(); i++ {
		q.at(i).flags &^= segInTS
	}
	q.tsHead, q.tsTail = none, none
	idx := make([]int64, 0, q.n)
	for i := q.head; i < q.tail(); i++ {
		sg := q.at(i)
		if !sg.has(segSACKed) && !(sg.has(segLost) && !sg.has(segRetrans)) {
			idx = append(idx, i)
		}
	}
	sortByXmit(idx, q)
	for _, i := range idx {
		q.tsAppend(i)
	}
}

// rateSample computes a delivery-rate sample from the most recently sent
// segment this ACK delivered (draft-cheng-iccrg-delivery-rate-estimation).
func (c *Conn) rateSample(p *txSeg) {
	now := c.stack.now
	sendElapsed := p.xmit - p.firstSent
	ackElapsed := now - p.deliveredTime
	iv := max(sendElapsed, ackElapsed)
	c.firstSent = p.xmit
	c.delivTime = now
	if iv <= 0 || iv < c.rtt.minRTT() {
		return
	}
	d := c.delivered - p.delivered
	c.stats.DeliveryRate = float64(d) / iv.Seconds()
}

// ackedHook reports an acknowledgment to the hooks.
func (c *Conn) ackedHook(priorUna uint64) {
	if c.hooks == nil {
		return
	}
	s := c.stack
	s.rng = s.rng[:0]
	for _, r := range c.sackedRanges.r {
		s.rng = append(s.rng, Range{r.Start - 1, r.End - 1})
	}
	info := &s.ackInfo
	*info = AckInfo{
		Una:        c.sndDataUna(),
		NewlyAcked: int(c.sndUna - priorUna),
		SACK:       s.rng,
		FINAcked:   c.finSent && c.sndUna == c.sndNxt,
	}
	if info.FINAcked && c.sndUna > priorUna {
		info.NewlyAcked--
	}
	if priorUna == 0 && c.sndUna > 0 {
		info.NewlyAcked-- // the SYN
	}
	info.NewlyAcked = max(info.NewlyAcked, 0)
	c.hooks.Acked(c, s.nowWall, info)
}

// sndDataUna returns the stream offset below which data is acknowledged.
func (c *Conn) sndDataUna() uint64 {
	if c.sndUna == 0 {
		return 0
	}
	return min(c.sndUna-1, c.sb.tail)
}

// finAcked moves the state machine on once our FIN is acknowledged.
func (c *Conn) finAcked() {
	s := c.stack
	switch c.state {
	case StateFinWait1:
		c.state = StateFinWait2
		if c.appClosed {
			c.closeAt = s.now + s.cfg.FinTimeout
		}
	case StateClosing:
		c.enterTimeWait()
	case StateLastAck:
		c.close(nil)
	}
}

// sortByXmit orders segment indexes by transmission time, then sequence.
func sortByXmit(idx []int64, q *txQueue) {
	slices.SortFunc(idx, func(a, b int64) int {
		x, y := q.at(a), q.at(b)
		switch {
		case x.xmit != y.xmit:
			return cmp.Compare(x.xmit, y.xmit)
		default:
			return cmp.Compare(x.start, y.start)
		}
	})
}
