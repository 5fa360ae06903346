package tcp

import (
	"github.com/mptcp-go/mptcp/wire"
)

// onTimers runs the connection's timers that are due. It is called from
// Poll, so it may send.
func (c *Conn) onTimers() {
	s := c.stack
	now := s.now
	if c.closeAt != 0 && c.closeAt <= now {
		c.closeAt = 0
		// FIN-WAIT-2 for an application that went away (Linux's
		// tcp_fin_timeout): give up waiting for the peer's FIN.
		s.stats.AbortOnLinger++
		c.close(nil)
		return
	}
	if c.delackAt != 0 && c.delackAt <= now {
		c.delackAt = 0
		c.ackNow = true
		c.stats.DelayedACKs++
		s.stats.DelayedACKs++
		s.markDirty(c)
	}
	if c.pace.at != 0 && c.pace.at <= now {
		c.pace.at = 0
		s.markDirty(c)
	}
	if c.reoAt != 0 && c.reoAt <= now {
		c.reoAt = 0
		lost, timeout := c.rackDetectLoss()
		if lost > 0 {
			c.onLossDetected(lost)
			if c.rec.state == recFast {
				c.prrUpdate(0, true)
			}
			s.markDirty(c)
		}
		if timeout > 0 {
			c.reoAt = now + timeout
		}
	}
	if c.tlpAt != 0 && c.tlpAt <= now {
		c.tlpAt = 0
		c.onPTO()
	}
	if c.rtoAt != 0 && c.rtoAt <= now {
		c.rtoAt = 0
		c.onRTO()
		if c.state == StateClosed {
			return
		}
	}
	if c.persistAt != 0 && c.persistAt <= now {
		c.persistAt = 0
		c.onPersist()
		if c.state == StateClosed {
			return
		}
	}
	if c.kaAt != 0 && c.kaAt <= now {
		c.kaAt = 0
		c.onKeepalive()
	}
}

// onPersist sends a zero-window probe (RFC 9293 section 3.8.6.1). Like
// Linux it carries an old sequence number and no data, which the peer must
// answer with an ACK showing its window; the connection is given up only
// when the probes go unanswered.
func (c *Conn) onPersist() {
	s := c.stack
	if !c.state.synchronized() || c.sndWnd > 0 || c.Unsent() == 0 || c.sndUna < c.sndNxt {
		return
	}
	c.probesUnacked++
	if c.probesUnacked > s.cfg.Retries {
		s.stats.AbortOnTimeout++
		c.fail(c.timeoutErr())
		return
	}
	c.persistBackoff++
	c.stats.ZeroWindowProbe++
	c.sendControl(wire.FlagACK, c.sndUna-1, true)
	c.persistAt = s.now + c.persistInterval()
}

// onKeepalive probes an idle connection (RFC 9293 section 3.8.4).
func (c *Conn) onKeepalive() {
	s := c.stack
	ka := c.opts.KeepAlive
	if ka.Idle <= 0 || !c.state.synchronized() {
		return
	}
	idle := s.now - c.lastRecv
	if idle < ka.Idle || c.sndUna < c.sndNxt {
		// Not idle yet, or data in flight (the RTO watches that).
		c.kaAt = c.lastRecv + ka.Idle
		if c.kaAt <= s.now {
			c.kaAt = s.now + ka.Interval
		}
		return
	}
	if c.kaProbes >= ka.Count {
		s.stats.AbortOnTimeout++
		c.fail(c.timeoutErr())
		return
	}
	c.kaProbes++
	c.stats.KeepaliveProbes++
	c.sendControl(wire.FlagACK, c.sndUna-1, true)
	c.kaAt = s.now + ka.Interval
}
