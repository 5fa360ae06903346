package core

import "time"

// Liveness probing. A subflow that only receives never finds out that its
// path died and that the peer gave up on it (the peer's retransmissions
// timed out, its RST was lost on the dead path): nothing it sends needs
// an acknowledgment. Such a zombie would keep the path manager from
// opening a working subflow on the path when it comes back. So while the
// connection is busy on other subflows, an idle subflow sends a pure ACK
// (with a DATA_ACK) every probeInterval: on a dead path it is lost, on a
// path that came back it reaches the peer, which either answers (the
// subflow lives) or resets it (and the path manager re-creates it).

// probeInterval is how long a subflow may stay silent while others
// receive before it probes.
const probeInterval = time.Second

// probeIdle sends the probes that are due and arms the next one.
func (c *Conn) probeIdle(now time.Time) {
	c.nextProbe = time.Time{}
	if c.fallen || c.state != StateEstablished || len(c.subflows) < 2 {
		return
	}
	// Busy means data moving, not any reception: probes are pure ACKs,
	// and two idle peers would otherwise keep each other busy with them
	// forever.
	var busy time.Time // latest data or acknowledgment of data on any subflow
	for _, sf := range c.subflows {
		if sf.lastData.After(busy) {
			busy = sf.lastData
		}
	}
	if busy.Sub(c.probeBusy) >= probeInterval {
		// Data moves again after the connection was idle: a subflow's
		// silence counts from here (the first packet after an idle
		// period makes no other path look dead).
		c.busySince = busy
	}
	c.probeBusy = busy
	if now.Sub(busy) >= probeInterval {
		return // the whole connection is idle: nothing to compare with
	}
	for _, sf := range c.subflows {
		if !sf.canSignal() || sf.closed {
			continue
		}
		quiet := maxTime(maxTime(sf.lastRecv, sf.lastProbe), c.busySince)
		due := quiet.Add(max(probeInterval, 2*sf.info.SRTT))
		if !now.Before(due) {
			sf.lastProbe = now
			sf.sendACK()
			due = now.Add(max(probeInterval, 2*sf.info.SRTT))
		}
		c.nextProbe = Earliest(c.nextProbe, due)
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
