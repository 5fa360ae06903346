package tcp

import "time"

// pacer spaces a connection's data segments at the congestion
// controller's pacing rate, so that a window is not sent as one burst into
// the bottleneck's queue. Poll's next-deadline design makes it natural:
// a connection held back by the pacer asks to be polled when its next
// segment may leave.
type pacer struct {
	next time.Duration // earliest departure of the next segment
	at   time.Duration // timer: when a blocked sender wants to run
}

// paceBlocked reports whether the pacer holds back the next segment, and
// if so arms the timer for it. A quantum may go early, so a wake-up sends
// a train rather than one segment: as Linux sizes its bursts
// (tcp_tso_autosize), about a millisecond's worth of data at the pacing
// rate, at least two segments and at most 64 KiB. A driver writing to a
// real device then gets batches worth a system call.
func (c *Conn) paceBlocked(now time.Duration) bool {
	if c.stack.cfg.DisablePacing || c.pace.next == 0 {
		return false
	}
	rate := c.cc.PacingRate()
	if rate <= 0 {
		return false
	}
	burst := min(max(rate/1000, float64(2*c.sndMSS)), 64<<10)
	quantum := time.Duration(burst / rate * float64(time.Second))
	if c.pace.next <= now+quantum {
		return false
	}
	c.pace.at = c.pace.next - quantum
	return true
}

// paceSent advances the pacer past a segment of n payload bytes.
func (c *Conn) paceSent(now time.Duration, n int) {
	if c.stack.cfg.DisablePacing {
		return
	}
	rate := c.cc.PacingRate()
	if rate <= 0 {
		c.pace.next = 0
		return
	}
	d := time.Duration(float64(n+40) / rate * float64(time.Second))
	start := c.pace.next
	if start < now-d {
		// Idle credit is not banked beyond one segment.
		start = now - d
	}
	c.pace.next = start + d
}
