package core

import "time"

// Reinjection: data a subflow carried and did not get acknowledged goes
// again on other subflows when that subflow fails or stalls, so the
// connection survives the loss of any path while one remains (RFC 8684
// section 3.3.6; the kernel's __mptcp_retrans and mptcp_subflow_stale).

// reinjectFrom queues the data outstanding on sf (sent, not acknowledged
// at subflow level, not yet DATA_ACKed) to be sent again elsewhere.
func (c *Conn) reinjectFrom(sf *subflow) {
	if c.fallen {
		return
	}
	sf.tx.outstanding(func(_, dsn uint64, n int) {
		end := dsn + uint64(n)
		if !after64(end, c.snd.una) {
			return
		}
		if before64(dsn, c.snd.una) {
			dsn = c.snd.una
		}
		c.queueReinject(dsnRange{dsn: dsn, n: int(end - dsn), from: sf.id})
	})
	c.markDirty()
}

// queueReinject adds r unless the queue already covers it.
func (c *Conn) queueReinject(r dsnRange) {
	for _, q := range c.reinjectQ {
		if !before64(r.dsn, q.dsn) && !after64(r.dsn+uint64(r.n), q.dsn+uint64(q.n)) {
			return
		}
	}
	const maxQueued = 4096
	if len(c.reinjectQ) < maxQueued {
		c.reinjectQ = append(c.reinjectQ, r)
	}
}

// pushReinject sends the queued ranges on subflows the scheduler picks.
func (c *Conn) pushReinject(now time.Time) {
	for len(c.reinjectQ) > 0 {
		r := &c.reinjectQ[0]
		// Drop what the peer acknowledged meanwhile.
		if !after64(r.dsn+uint64(r.n), c.snd.una) {
			c.reinjectQ = c.reinjectQ[1:]
			continue
		}
		if before64(r.dsn, c.snd.una) {
			r.n -= int(c.snd.una - r.dsn)
			r.dsn = c.snd.una
		}
		pos := c.chosen(c.sched.Reinject(now, c.schedConn(), r.from, c.schedPos[:0]))
		if len(pos) == 0 {
			return
		}
		n := min(r.n, maxMapping)
		for _, i := range pos {
			n = min(n, c.schedSnap[i].Room)
		}
		if n <= 0 {
			return
		}
		sent := 0
		for _, i := range pos {
			if k := c.subflows[i].sendData(r.dsn, n); k > sent {
				sent = k
			}
		}
		if sent == 0 {
			return
		}
		c.reinjected = true
		c.stack.mib.Inc(MPTCPRetrans)
		c.stack.mib.Add(ReinjectBytes, uint64(sent))
		r.dsn += uint64(sent)
		r.n -= sent
		if r.n <= 0 {
			c.reinjectQ = c.reinjectQ[1:]
		}
	}
	if len(c.reinjectQ) == 0 {
		c.reinjectQ = nil
	}
}

// checkStale marks subflows whose retransmission timer fired as stale and
// reinjects their outstanding data: a path that stopped delivering must
// not hold the connection's data hostage. The subflow recovers (and is
// used again) when it gets an acknowledgment. Its data is sent elsewhere
// when it turns stale, and at a later timeout only if it was given data
// since (when every subflow is stale): otherwise that timeout finds the
// same data outstanding, already sent again and looked after by the
// connection-level timeout below, and sending it once more per timeout
// multiplied the traffic of congested paths.
func (c *Conn) checkStale(now time.Time) {
	if c.fallen {
		return
	}
	for _, sf := range c.subflows {
		if !sf.rtoFired {
			continue
		}
		sf.rtoFired = false
		if len(c.subflows) < 2 || sf.closed || sf.stale && !sf.sentStale {
			continue
		}
		if !sf.stale {
			sf.stale = true
			c.stack.mib.Inc(SubflowStale)
		}
		sf.sentStale = false
		c.reinjectFrom(sf)
	}
	// Connection-level timeout: the DATA_ACK has not moved for a while
	// although data is outstanding; the receiver may have dropped data
	// its subflows acknowledged (its buffer was full). Send from SND.UNA
	// again.
	if c.snd.nxt != c.snd.una && now.Sub(c.lastUnaMove) >= c.dataRTO() {
		c.lastUnaMove = now
		if c.dataAcksStripped() {
			return
		}
		// Not on a subflow that still has it outstanding: that subflow's
		// own retransmissions carry it, and a copy would go out there as
		// new subflow data, after the segments it repeats. The kernel's
		// __mptcp_retrans passes over such subflows too. On an initial
		// subflow whose handshake's first segments were lost, the copy
		// could reach a server that has answered with a SYN cookie before
		// them: no cookie check accepts a segment beyond the first
		// sequence number, and the server resets the subflow.
		from := -1
		if sf, _, _ := c.holding(c.snd.una); sf != nil {
			from = sf.id
		}
		c.queueReinject(dsnRange{dsn: c.snd.una, n: int(min(c.snd.nxt-c.snd.una, maxMapping)), from: from})
		c.markDirty()
	}
}

// holding returns the subflow on which dsn was sent and is not yet
// acknowledged at subflow level, the stream offset it has there, and the
// end of that outstanding stretch, or nil.
func (c *Conn) holding(dsn uint64) (sf *subflow, off, end uint64) {
	for _, sf := range c.subflows {
		if off, end, ok := sf.tx.find(dsn); ok {
			return sf, off, end
		}
	}
	return nil, 0, 0
}

// opportunistic runs when the connection can send no new data: the peer's
// window is full (blocked; the head-of-line case of "How Hard Can It Be?",
// NSDI 2012), or everything written is sent (the tail of a response). If
// the data at the DATA_ACK sits unacknowledged on a slower subflow while a
// faster one has room, it is sent again there (opportunistic
// retransmission; once per blocking DSN and RTT of the fast subflow).
// When blocked, that is whenever the fast subflow has the shorter RTT,
// and the slow subflow's window is halved (penalisation; the engine does
// it at most once per RTT), since that window is what fills the peer's
// buffer. At the tail, only data that would arrive sooner on the fast
// subflow goes again (arrivesLater), without the penalty, which cost
// kept-alive 1 MB answers 6% of their median in the simulator. Without
// the tail case, the fast subflow idled while an answer waited for the
// slow one's queue or loss recovery: kept-alive 1 MB answers on the
// aggregate paths took up to 1.3 s (median 0.32 s) in the simulator,
// 0.46 s with it.
func (c *Conn) opportunistic(now time.Time, blocked bool) {
	if c.stack.cfg.DisableOpportunistic || len(c.subflows) < 2 {
		return
	}
	holder, off, holdEnd := c.holding(c.snd.una)
	if holder == nil {
		return
	}
	pos := c.chosen(c.sched.Reinject(now, c.schedConn(), holder.id, c.schedPos[:0]))
	if len(pos) == 0 {
		return
	}
	fast := c.subflows[pos[0]]
	switch {
	case fast == holder:
		return
	case holder.stale:
	case blocked:
		if fast.srtt() >= holder.srtt() {
			return
		}
	default:
		if later, overdue := arrivesLater(holder, fast, off, now); !later {
			c.oppWake = overdue // ask again then, if nothing happens before
			return
		}
	}
	if c.oppUna == c.snd.una && now.Sub(c.oppAt) < max(fast.srtt(), 10*time.Millisecond) {
		return // already sent again; give it time to arrive
	}
	n := min(maxMapping, fast.Room(), int(min(holdEnd-c.snd.una, maxMapping)))
	if n <= 0 {
		return
	}
	if k := fast.sendData(c.snd.una, n); k > 0 {
		c.oppUna, c.oppAt = c.snd.una, now
		c.reinjected = true
		c.stack.mib.Inc(OpportunisticRetrans)
		c.stack.mib.Inc(MPTCPRetrans)
		c.stack.mib.Add(ReinjectBytes, uint64(k))
	}
	if blocked && penalize(holder.tc, now) {
		c.stack.mib.Inc(Penalise)
	}
}

// arrivesLater estimates whether the byte at stream offset off of subflow
// holder reaches the peer later than it would on fast, a subflow of
// shorter smoothed RTT, if sent there now: half a round trip after it was
// last sent on holder (its smoothed RTT counts the queue it waits in), or,
// not yet sent, after holder's queue at least. A byte whose
// acknowledgment is overdue by a quarter of a round trip (RACK's
// reordering window) is taken as lost, its repair left to holder's loss
// detection, which on a slow path with a long queue can take a second;
// when it is not late yet, overdue says when it will be. Paths of similar
// delay keep their data, while a tail held in a long queue or lost on a
// slow path goes again on an idle fast one.
func arrivesLater(holder, fast *subflow, off uint64, now time.Time) (later bool, overdue time.Time) {
	h, f := holder.srtt(), fast.srtt()
	at, sent := holder.tc.SentAt(off)
	if h <= f || !sent {
		return h > f, time.Time{}
	}
	overdue = at.Add(h + h/4)
	if !now.Before(overdue) {
		return true, time.Time{}
	}
	return at.Add(h / 2).After(now.Add(f / 2)), overdue
}
