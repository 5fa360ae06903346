package tcp

import "time"

// Receive-buffer auto-tuning (dynamic right-sizing), as Linux's
// tcp_rcv_space_adjust: once per receiver-side RTT, compare what the
// application consumed with what it consumed the round before, and size
// the buffer to about twice the bytes delivered per RTT, so the window
// never limits a sender that the application keeps up with.

// rcvSpace is one auto-tuning measurement round.
type rcvSpace struct {
	space int           // bytes consumed in the last round
	seq   uint64        // read offset at the round's start
	time  time.Duration // when the round started
}

// rcvRTT estimates the RTT as the receiver sees it, from timestamp echoes
// or, without timestamps, from the time to receive one window of data.
type rcvRTT struct {
	rtt       time.Duration
	seq       uint64
	time      time.Duration
	lastTSecr uint32
}

// rcvSpaceAdjust runs after the application consumed data.
func (c *Conn) rcvSpaceAdjust(now time.Duration) {
	if c.opts.DisableAutoTune {
		return
	}
	rtt := c.rcvWndRTT.rtt
	if rtt == 0 || now-c.space.time < rtt {
		return
	}
	copied := int(c.rb.head - c.space.seq)
	if copied > c.space.space {
		win := 2*copied + 16*c.advMSS
		if c.space.space > 0 {
			grow := int(int64(win) * int64(copied-c.space.space) / int64(c.space.space))
			win += 2 * grow
		}
		if nb := min(win, c.opts.ReceiveBufferMax); nb > c.rcvBuf {
			c.rcvBuf = nb
		}
		c.space.space = copied
	}
	c.space.seq = c.rb.head
	c.space.time = now
}

// rcvRTTMeasure updates the receiver's RTT estimate from a data segment.
func (c *Conn) rcvRTTMeasure(g *inSeg) {
	now := c.stack.now
	r := &c.rcvWndRTT
	if c.tsOK && g.opts.HasTimestamps && g.opts.TSEcr != 0 {
		if g.opts.TSEcr == r.lastTSecr {
			return
		}
		r.lastTSecr = g.opts.TSEcr
		if d := c.tsAge(g.opts.TSEcr); d > 0 {
			r.update(d, false)
		}
		return
	}
	if r.time == 0 {
		r.seq, r.time = c.rcvNxt()+c.rcvWnd(), now
		return
	}
	if c.rcvNxt() < r.seq {
		return
	}
	r.update(now-r.time, true)
	r.seq, r.time = c.rcvNxt()+c.rcvWnd(), now
}

// update folds a sample in. Window-based samples overestimate, so they
// only ever lower the estimate once it exists.
func (r *rcvRTT) update(d time.Duration, windowBased bool) {
	switch {
	case r.rtt == 0:
		r.rtt = d
	case windowBased:
		r.rtt = min(r.rtt, d)
	default:
		r.rtt += (d - r.rtt) / 8
	}
}
