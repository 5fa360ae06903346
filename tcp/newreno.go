package tcp

// Loss detection without SACK. RACK needs SACK to see segments delivered
// beyond a hole; with a peer that does not offer it (or a middlebox that
// strips it) the engine falls back to the duplicate-ACK rules of RFC 5681
// and RFC 6582 (NewReno): the third duplicate ACK marks the first
// unacknowledged segment lost, and during the recovery that follows each
// partial ACK marks the next one lost. Sending in recovery is still PRR's.

// dupThresh is RFC 5681's DupThresh.
const dupThresh = 3

// newRenoLoss applies the duplicate-ACK rules after an ACK.
func (c *Conn) newRenoLoss(dupAck, advanced bool) {
	q := &c.txq
	switch {
	case advanced:
		c.dupAcks = 0
		if c.rec.state == recFast && c.sndUna < c.rec.point && !q.empty() {
			// A partial ACK: the next hole is lost too (RFC 6582 step 3).
			if q.markLost(q.head) {
				c.stack.markDirty(c)
			}
		}
	case dupAck:
		c.dupAcks++
		if c.dupAcks == dupThresh && c.rec.state == recOpen && !q.empty() {
			sg := q.at(q.head)
			if q.markLost(q.head) {
				c.onLossDetected(int(sg.end - sg.start))
				c.stack.markDirty(c)
			}
		}
	}
}
