package core

import "time"

// Receive-buffer auto-tuning ("How Hard Can It Be?", NSDI 2012, and the
// kernel's mptcp_rcv_space_adjust): the connection-level receive buffer
// grows with what the paths carry, so that a slow path does not stall a
// fast one for want of buffer.

// autotune grows the receive buffer to twice the sum of the subflows'
// receive rates times the largest RTT (NSDI 2012), so that a slow path
// does not stall a fast one for want of buffer. Rates are measured over
// the last interval of at least one RTT.
func (c *Conn) autotune(now time.Time) {
	c.autotuneSkipped(now)
	if c.stack.cfg.DisableAutoTune || c.fallen || now.Before(c.tuneAt) {
		return
	}
	maxRTT := c.maxRTT()
	interval := max(maxRTT, 100*time.Millisecond)
	if c.tuneLast.IsZero() {
		c.tuneLast, c.tuneBytes = now, c.bytesRecv
		c.tuneAt = now.Add(interval)
		return
	}
	el := now.Sub(c.tuneLast)
	rate := float64(c.bytesRecv-c.tuneBytes) / el.Seconds()
	c.tuneLast, c.tuneBytes = now, c.bytesRecv
	c.tuneAt = now.Add(interval)
	if maxRTT == 0 || rate <= 0 {
		return
	}
	target := int(min(2*rate*maxRTT.Seconds(), float64(c.stack.cfg.ReceiveBufferMax)))
	if c.rcv.ofoN > c.rcv.limit/2 {
		// Much data waits behind a hole: a slow path holds the window.
		// The rate measured meanwhile understates what the paths carry,
		// so grow as TCP's auto-tuning does when the window is the limit.
		target = max(target, 2*c.rcv.limit)
	}
	target = min(max(target, c.stack.cfg.ReceiveBuffer), c.stack.cfg.ReceiveBufferMax)
	if target > c.rcv.limit {
		grew := target - c.rcv.limit
		c.rcv.limit = target
		for _, sf := range c.subflows {
			if sf.tc != nil {
				sf.tc.SetSharedWindow(target)
			}
		}
		if grew >= c.rcv.limit/4 {
			c.announceWindow()
		}
	}
}

// maxRTT is the largest smoothed RTT of the usable subflows.
func (c *Conn) maxRTT() time.Duration {
	var rtt time.Duration
	for _, sf := range c.subflows {
		if sf.usable() {
			rtt = max(rtt, sf.info.SRTT)
		}
	}
	return rtt
}

// autotuneOn reports whether samples are taken at all.
func (c *Conn) autotuneOn() bool {
	return !c.stack.cfg.DisableAutoTune && !c.fallen && c.state == StateEstablished
}

// autotuneWake is when the next sample is due. It is zero while nothing
// arrived since the last sample: that sample would measure nothing, so an
// idle connection is not woken for it (autotuneSkipped takes it later).
func (c *Conn) autotuneWake() time.Time {
	if !c.autotuneOn() || c.bytesRecv == c.tuneBytes {
		return time.Time{}
	}
	return c.tuneAt
}

// autotuneSkipped takes, before anything new is counted, the samples an
// idle connection was not woken for: each would have measured nothing
// and moved the interval on, one interval (constant while nothing
// arrives) after the other.
func (c *Conn) autotuneSkipped(now time.Time) {
	if !c.autotuneOn() || c.bytesRecv != c.tuneBytes || c.tuneLast.IsZero() || !c.tuneAt.Before(now) {
		return
	}
	interval := max(c.maxRTT(), 100*time.Millisecond)
	k := (now.Sub(c.tuneAt)-1)/interval + 1 // samples strictly before now
	c.tuneLast = c.tuneAt.Add((k - 1) * interval)
	c.tuneAt = c.tuneAt.Add(k * interval)
}

// sendAutotune grows the send buffer, never beyond SendBufferMax, to
// twice the sum of the subflows' congestion windows, or to the peer's
// connection-level window when that is larger: what the paths and the
// peer could take at once (Linux's tcp_sndbuf_expand sizes a socket's
// buffer from its congestion window the same way). It only runs when the
// buffer is nearly full, the one time its size matters.
func (c *Conn) sendAutotune() {
	budget := c.stack.cfg.SendBufferMax
	if c.snd.limit >= budget || c.snd.free() > c.snd.limit/4 {
		return
	}
	target := 0
	for _, sf := range c.subflows {
		if sf.usable() {
			target += 2 * sf.info.Cwnd
		}
	}
	if e := c.sendEdge(); after64(e, c.snd.una) {
		target = max(target, int(min(e-c.snd.una, uint64(budget))))
	}
	if target > c.snd.limit {
		c.snd.limit = min(target, budget)
		c.wake() // room to write
	}
}
