package tcp

import "time"

// rackState is the RACK loss detector of RFC 8985 section 6: a segment is
// deemed lost once a segment sent sufficiently later (by more than the
// reordering window) has been delivered.
type rackState struct {
	xmit           time.Duration // send time of the most recently sent delivered segment
	endSeq         uint64        // its end
	rtt            time.Duration // its RTT
	fack           uint64        // highest end delivered (forward-most ACK)
	reorderingSeen bool
	reoWndMult     int
	reoWndPersist  int
	dsackRound     uint64
	dsackRoundSet  bool
}

// sentAfter reports whether a segment sent at t1 ending at seq1 was sent
// after one sent at t2 ending at seq2 (RFC 8985 RACK_sent_after).
func sentAfter(t1 time.Duration, seq1 uint64, t2 time.Duration, seq2 uint64) bool {
	return t1 > t2 || (t1 == t2 && seq1 > seq2)
}

// rackDelivered updates RACK for a segment newly acknowledged,
// cumulatively or selectively (RFC 8985 steps 2 and 3).
func (c *Conn) rackDelivered(sg *txSeg) {
	now := c.stack.now
	rtt := now - sg.xmit
	if sg.has(segEverRetrans) {
		// Which transmission was acknowledged? A sample shorter than the
		// path's minimum RTT must belong to an earlier one. (Timestamps
		// cannot tell: a receiver echoes the TSval of out-of-order
		// segments only once the hole before them fills, RFC 7323.)
		if rtt < c.rtt.minRTT() {
			return
		}
	}
	if sentAfter(sg.xmit, sg.end, c.rack.xmit, c.rack.endSeq) {
		c.rack.xmit, c.rack.endSeq, c.rack.rtt = sg.xmit, sg.end, rtt
	}
	if sg.end > c.rack.fack {
		c.rack.fack = sg.end
	} else if !sg.has(segEverRetrans) && !c.rack.reorderingSeen {
		c.rack.reorderingSeen = true
		c.stats.ReorderSeen++
	}
}

// rackReoWnd returns the reordering window (RFC 8985 section 6.2 step 4).
func (c *Conn) rackReoWnd() time.Duration {
	if !c.rack.reorderingSeen {
		if c.rec.state != recOpen || c.txq.sacked >= 3*c.payloadMSS() {
			return 0
		}
	}
	mult := max(c.rack.reoWndMult, 1)
	w := time.Duration(mult) * c.rtt.minRTT() / 4
	if c.rtt.srtt > 0 {
		w = min(w, c.rtt.srtt)
	}
	return w
}

// rackOnDSACK widens the reordering window after a D-SACK shows a
// retransmission was spurious, once per round trip (RFC 8985 step 4).
func (c *Conn) rackOnDSACK() {
	if c.rack.dsackRoundSet && c.sndUna < c.rack.dsackRound {
		return
	}
	c.rack.reoWndMult = min(max(c.rack.reoWndMult, 1)+1, 64)
	c.rack.dsackRound, c.rack.dsackRoundSet = c.sndNxt, true
	c.rack.reoWndPersist = 16
}

// rackRecoveryDone decays the widened reordering window (RFC 8985 step 4:
// after 16 recoveries without D-SACK it returns to its base).
func (c *Conn) rackRecoveryDone() {
	if c.rack.reoWndPersist > 0 {
		c.rack.reoWndPersist--
		if c.rack.reoWndPersist == 0 {
			c.rack.reoWndMult = 1
		}
	}
}

// rackDetectLoss marks lost every in-flight segment sent sufficiently
// before the most recently delivered one (RFC 8985 step 5). It returns the
// bytes newly marked lost and, when some segment is not yet overdue, how
// long until it is (the reordering timer).
func (c *Conn) rackDetectLoss() (lost int, timeout time.Duration) {
	if c.rack.xmit == 0 {
		return 0, 0
	}
	now := c.stack.now
	reo := c.rackReoWnd()
	q := &c.txq
	for i := q.tsHead; i != none; {
		sg := q.at(i)
		next := sg.next
		if !sentAfter(c.rack.xmit, c.rack.endSeq, sg.xmit, sg.end) {
			break
		}
		if remaining := sg.xmit + c.rack.rtt + reo - now; remaining <= 0 {
			if q.markLost(i) {
				lost += int(sg.end - sg.start)
			}
		} else {
			timeout = max(timeout, remaining)
		}
		i = next
	}
	return lost, timeout
}
