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
	sf.tx.outstanding(func(dsn uint64, n int) {
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
		if sf, _ := c.holding(c.snd.una); sf != nil {
			from = sf.id
		}
		c.queueReinject(dsnRange{dsn: c.snd.una, n: int(min(c.snd.nxt-c.snd.una, maxMapping)), from: from})
		c.markDirty()
	}
}

// holding returns the subflow on which dsn was sent and is not yet
// acknowledged at subflow level, and the end of that outstanding stretch,
// or nil.
func (c *Conn) holding(dsn uint64) (*subflow, uint64) {
	for _, sf := range c.subflows {
		var end uint64
		found := false
		sf.tx.outstanding(func(d uint64, n int) {
			if !found && !before64(dsn, d) && before64(dsn, d+uint64(n)) {
				found, end = true, d+uint64(n)
			}
		})
		if found {
			return sf, end
		}
	}
	return nil, 0
}

// windowLimited runs when new data is blocked by the peer's window: the
// head-of-line case of "How Hard Can It Be?" (NSDI 2012). If the data at
// the window's left edge sits unacknowledged on a slower subflow while
// another subflow has room, it is sent again on the faster one
// (opportunistic retransmission; once per blocking DSN and RTT of the
// fast subflow) and the slow subflow's window is halved (penalisation;
// the engine does it at most once per RTT).
func (c *Conn) windowLimited(now time.Time) {
	if c.stack.cfg.DisableOpportunistic || len(c.subflows) < 2 {
		return
	}
	holder, holdEnd := c.holding(c.snd.una)
	if holder == nil {
		return
	}
	pos := c.chosen(c.sched.Reinject(now, c.schedConn(), holder.id, c.schedPos[:0]))
	if len(pos) == 0 {
		return
	}
	fast := c.subflows[pos[0]]
	if fast == holder || (fast.srtt() >= holder.srtt() && !holder.stale) {
		return
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
	if penalize(holder.tc, now) {
		c.stack.mib.Inc(Penalise)
	}
}
