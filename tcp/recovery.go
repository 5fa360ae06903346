package tcp

import (
	"fmt"
	"time"

	"github.com/mptcp-go/mptcp/cc"
)

// Recovery states, as Linux's tcp_ca_state: open (no loss outstanding),
// fast recovery (losses found by RACK/SACK, sending by PRR) and loss
// (after a retransmission timeout, sending in slow start).
type recState uint8

const (
	recOpen recState = iota
	recFast
	recLoss
)

// recovery is the state of one loss recovery episode.
type recovery struct {
	state recState
	point uint64 // SND.NXT when the episode began: it ends when SND.UNA passes it

	// Proportional Rate Reduction (RFC 6937).
	prrDelivered int
	prrOut       int
	recoverFS    int
	cwnd         int // the window PRR allows: pipe + sndcnt

	// Eifel detection (RFC 3522): the TSval of the episode's first
	// retransmission. An ACK echoing an earlier TSval for data past the
	// hole shows the original arrived and the episode was spurious.
	retransTS    uint32
	hasRetransTS bool
}

// tlpState is the tail loss probe of RFC 8985 section 7.
type tlpState struct {
	highSeq uint64 // SND.NXT when the probe was sent; 0 when none
	retrans bool   // the probe retransmitted data (rather than sending new)
}

// inflight returns the bytes in flight: outstanding - SACKed - lost +
// retransmitted (RFC 6675's pipe, counted as Linux does).
func (c *Conn) inflight() int {
	if c.sndNxt <= c.sndUna {
		return 0
	}
	out := int(c.sndNxt - c.sndUna)
	if !c.state.synchronized() {
		return out
	}
	return max(0, out-c.txq.sacked-c.txq.lost+c.txq.retrans)
}

// flightSize is RFC 5681's FlightSize: everything sent and not acknowledged.
func (c *Conn) flightSize() int { return int(c.sndNxt - c.sndUna) }

// window returns the congestion window that limits sending now.
func (c *Conn) window() int {
	if c.rec.state == recFast {
		return c.rec.cwnd
	}
	return c.cc.Window()
}

// onLossDetected starts a recovery episode if none is running: one
// congestion response per window of data (RFC 5681, RFC 6675).
func (c *Conn) onLossDetected(lost int) {
	if lost == 0 || c.rec.state != recOpen {
		return
	}
	s := c.stack
	c.rec = recovery{
		state:     recFast,
		point:     c.sndNxt,
		recoverFS: max(c.flightSize(), 1),
	}
	c.tlp = tlpState{}
	c.cc.OnCongestionEvent(s.nowWall, cc.Loss{FlightSize: c.flightSize(), Lost: lost})
	c.rec.cwnd = c.inflight()
	c.prrUpdate(0, true)
	c.stats.FastRecoveries++
	s.stats.FastRecoveries++
}

// prrUpdate recomputes how much PRR lets us send after delivered bytes
// reached the receiver (RFC 6937 section 3).
func (c *Conn) prrUpdate(delivered int, newLoss bool) {
	r := &c.rec
	r.prrDelivered += delivered
	pipe := c.inflight()
	ssthresh := c.cc.SlowStartThreshold()
	mss := c.payloadMSS()
	var sndcnt int
	if pipe > ssthresh {
		// Proportional part: converge on ssthresh as the flight drains.
		sndcnt = int((int64(r.prrDelivered)*int64(ssthresh)+int64(r.recoverFS)-1)/int64(r.recoverFS)) - r.prrOut
	} else {
		// Slow-start reduction bound (PRR-SSRB).
		limit := max(r.prrDelivered-r.prrOut, delivered) + mss
		sndcnt = min(ssthresh-pipe, limit)
	}
	sndcnt = max(sndcnt, 0)
	if newLoss && r.prrOut == 0 {
		// Let the fast retransmit go at once (RFC 6937bis).
		sndcnt = max(sndcnt, mss)
	}
	r.cwnd = pipe + sndcnt
}

// exitRecovery ends the episode once SND.UNA passed its recovery point,
// undoing the congestion response if timestamps show it was spurious.
func (c *Conn) exitRecovery(spurious bool) {
	s := c.stack
	now := s.nowWall
	switch c.rec.state {
	case recFast:
		if spurious {
			c.cc.OnSpuriousCongestion(now)
			c.stats.Undos++
		} else {
			c.cc.OnRecoveryExit(now)
		}
		c.rackRecoveryDone()
	case recLoss:
		if spurious {
			c.cc.OnSpuriousCongestion(now)
			c.stats.Undos++
			c.stats.SpuriousRTOs++
			s.stats.SpuriousRTOs++
		}
		c.rackRecoveryDone()
	}
	c.rec = recovery{}
}

// noteRetransmission records a retransmission for PRR and Eifel.
func (c *Conn) noteRetransmission(l int, tsval uint32) {
	if c.rec.state == recOpen {
		return
	}
	if !c.rec.hasRetransTS {
		c.rec.retransTS, c.rec.hasRetransTS = tsval, true
	}
}

// spuriousBy reports whether an ACK echoing tsecr shows that the current
// episode's retransmissions were not needed.
func (c *Conn) spuriousBy(tsecr uint32, hasTS bool) bool {
	return c.tsOK && hasTS && tsecr != 0 && c.rec.hasRetransTS && seqLT(tsecr, c.rec.retransTS)
}

// onRTO handles the retransmission timer (RFC 6298 section 5).
func (c *Conn) onRTO() {
	s := c.stack
	now := s.now
	switch c.state {
	case StateSynSent, StateSynReceived:
		c.synRetries++
		limit := s.cfg.SYNRetries
		if !c.active {
			limit = s.cfg.SYNACKRetries
		}
		if c.synRetries > limit {
			c.fail(c.timeoutErr())
			return
		}
		c.rtt.backoff++
		c.synPending = true
		s.markDirty(c)
		return
	}
	if c.sndUna >= c.sndNxt {
		return
	}
	c.rtoCount++
	if c.rtoCount > s.cfg.Retries {
		s.stats.AbortOnTimeout++
		c.fail(c.timeoutErr())
		return
	}
	c.stats.RTOs++
	s.stats.RTOs++
	s.notify(c, EventRTO)
	c.rtt.backoff++
	q := &c.txq
	if c.rtoCount > 1 && q.sacked > 0 {
		// A second timeout in a row: the receiver may have reneged on
		// what it SACKed (RFC 2018 section 8). Forget it.
		for i := q.head; i < q.tail(); i++ {
			sg := q.at(i)
			if sg.has(segSACKed) {
				sg.flags &^= segSACKed
				q.sacked -= int(sg.end - sg.start)
			}
		}
		c.sackedRanges.reset()
	}
	lost := 0
	for i := q.head; i < q.tail(); i++ {
		sg := q.at(i)
		if sg.has(segSACKed) {
			continue
		}
		if q.markLost(i) {
			lost += int(sg.end - sg.start)
		}
	}
	q.hint = q.head
	c.cc.OnRTO(s.nowWall, cc.Loss{FlightSize: c.flightSize(), Lost: lost})
	c.rec = recovery{state: recLoss, point: c.sndNxt}
	c.tlp = tlpState{}
	c.tlpAt, c.reoAt = 0, 0
	c.rtoAt = now + c.rtt.currentRTO()
	s.markDirty(c)
}

// armTimers sets the retransmission, probe and persist timers after
// sending or acknowledging (RFC 6298 section 5, RFC 8985 section 7.2).
func (c *Conn) armTimers(restartRTO bool) {
	s := c.stack
	now := s.now
	if !c.state.synchronized() {
		return
	}
	if c.sndUna >= c.sndNxt {
		c.rtoAt, c.tlpAt, c.reoAt = 0, 0, 0
		if !c.armPersist() {
			c.persistAt, c.persistBackoff = 0, 0
		}
		return
	}
	c.persistAt = 0
	if restartRTO || c.rtoAt == 0 {
		c.rtoAt = now + c.rtt.currentRTO()
	}
	// The probe timer restarts after new data is sent or acknowledged
	// (RFC 8985 section 7.2); a pending reordering timer takes precedence.
	// When the RTO would come first, the probe goes at the RTO's time
	// instead (as Linux does): a probe costs less than a timeout.
	c.tlpAt = 0
	if c.reoAt == 0 && c.tlpEligible() {
		c.tlpAt = min(now+c.pto(), c.rtoAt)
	}
}

// armPersist sets the persist timer, unless it runs, when data waits for
// a closed window with nothing in flight: nothing else would tell the
// sender that the window opened if the peer's update were lost. It
// reports whether the connection is in that state.
func (c *Conn) armPersist() bool {
	if c.sndUna < c.sndNxt || c.sndWnd != 0 || c.Unsent() == 0 {
		return false
	}
	if c.persistAt == 0 {
		c.persistAt = c.stack.now + c.persistInterval()
	}
	return true
}

// tlpEligible reports whether a tail loss probe may be scheduled (RFC
// 8985 section 7.2).
func (c *Conn) tlpEligible() bool {
	return !c.stack.cfg.DisableTLP && c.sackOK && c.rec.state == recOpen &&
		c.tlp.highSeq == 0 && c.rtt.hasSample && c.state.synchronized()
}

// pto returns the probe timeout: two smoothed RTTs, plus room for a
// delayed ACK when one segment is in flight (as Linux computes it).
func (c *Conn) pto() time.Duration {
	p := 2 * c.rtt.srtt
	if c.flightSize() <= c.payloadMSS() {
		p += c.stack.cfg.MinRTO
	} else {
		p += 2 * time.Millisecond
	}
	return max(p, 10*time.Millisecond)
}

// onPTO sends a tail loss probe: new data if there is any and the peer's
// window allows, else the last segment again (RFC 8985 section 7.3).
func (c *Conn) onPTO() {
	s := c.stack
	if !c.state.synchronized() || c.sndUna >= c.sndNxt || c.rec.state != recOpen {
		return
	}
	c.stats.TLPs++
	s.stats.TLPs++
	if n := c.sendNewSegment(true); n > 0 {
		c.tlp = tlpState{highSeq: c.sndNxt, retrans: false}
	} else {
		q := &c.txq
		i := q.tail() - 1
		for ; i >= q.head && q.at(i).has(segSACKed); i-- {
		}
		if i < q.head {
			c.armTimers(false)
			return
		}
		c.retransmit(i, true)
		c.tlp = tlpState{highSeq: c.sndNxt, retrans: true}
	}
	c.rtoAt = s.now + c.rtt.currentRTO()
}

// tlpOnAck ends a probe episode and reacts to what it revealed (RFC 8985
// section 7.4, as Linux's tcp_process_tlp_ack).
func (c *Conn) tlpOnAck(ack uint64, advanced, dsack, sacked bool) {
	t := &c.tlp
	if t.highSeq == 0 || ack < t.highSeq {
		return
	}
	s := c.stack
	switch {
	case !t.retrans:
		t.highSeq = 0
	case dsack:
		// Both the original and the probe arrived: no loss.
		t.highSeq = 0
	case ack > t.highSeq:
		// The probe repaired a loss: respond to the congestion once.
		t.highSeq = 0
		c.stats.TLPRecoveries++
		if c.rec.state == recOpen {
			now := s.nowWall
			c.cc.OnCongestionEvent(now, cc.Loss{FlightSize: c.flightSize(), Lost: c.payloadMSS()})
			c.cc.OnRecoveryExit(now)
		}
	case !advanced && !sacked:
		t.highSeq = 0
	}
}

// persistInterval is the zero-window probe interval, backed off per
// unanswered probe.
func (c *Conn) persistInterval() time.Duration {
	d := c.rtt.currentRTO()
	for i := 0; i < c.persistBackoff && d < c.stack.cfg.MaxRTO; i++ {
		d *= 2
	}
	return min(d, c.stack.cfg.MaxRTO)
}

// String renders the recovery state for debugging.
func (r recovery) String() string {
	return fmt.Sprintf("rec %d point %d retransTS %d/%v", r.state, r.point, r.retransTS, r.hasRetransTS)
}

// Penalize reduces the congestion window as for a loss, at most once per
// smoothed RTT and not during loss recovery, and reports whether it did.
// The MPTCP layer calls it on a subflow that holds up the connection's
// receive window ("How Hard Can It Be?", NSDI 2012: penalisation).
func (c *Conn) Penalize(now time.Time) bool {
	s := c.stack
	s.advance(now)
	if c.cc == nil || !c.state.synchronized() || c.rec.state != recOpen {
		return false
	}
	if c.lastPenalty != 0 && s.now-c.lastPenalty < max(c.rtt.srtt, time.Millisecond) {
		return false
	}
	c.lastPenalty = s.now
	c.cc.OnCongestionEvent(s.nowWall, cc.Loss{FlightSize: c.flightSize()})
	c.cc.OnRecoveryExit(s.nowWall)
	c.stats.Penalties++
	return true
}
