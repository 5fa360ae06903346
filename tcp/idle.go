package tcp

import (
	"time"

	"github.com/mptcp-go/mptcp/cc"
)

// restartAfterIdle shrinks the congestion window of a connection that is
// about to send after an idle period, with nothing in flight: "if TCP has
// not sent data in an interval exceeding the retransmission timeout"
// (RFC 5681 section 4.1) its window no longer reflects the path, and a
// full window sent at once would be a burst the path never absorbed. As
// Linux does (tcp_cwnd_restart), the window halves for every RTO of
// idleness down to the restart window, and ssthresh keeps the memory of
// the old window so slow start climbs back to three quarters of it.
//
// An MPTCP subflow that its scheduler left unused (a slow path waiting
// behind a fast one) restarts this way too: the initial-window resets the
// ECF scheduler was designed around.
func (c *Conn) restartAfterIdle(now time.Duration) {
	if c.stack.cfg.DisableSlowStartAfterIdle || c.lastDataSent == 0 || c.rec.state != recOpen {
		return
	}
	idle, rto := now-c.lastDataSent, c.rtt.currentRTO()
	if idle <= rto {
		return
	}
	r, ok := c.cc.(cc.IdleRestarter)
	if !ok {
		return
	}
	if r.RestartAfterIdle(idle, rto) {
		c.stats.IdleRestarts++
	}
}
