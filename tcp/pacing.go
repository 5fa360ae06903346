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
// if so arms the timer for it. A quantum of two segments' worth of time may
// go early, so a wake-up sends a small train rather than one segment.
func (c *Conn) paceBlocked(now time.Duration) bool {
	if c.stack.cfg.DisablePacing || c.pace.next == 0 {
		return false
	}
	rate := c.cc.PacingRate()
	if rate <= 0 {
		return false
	}
	quantum := time.Duration(float64(2*c.sndMSS) / rate * float64(time.Second))
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
