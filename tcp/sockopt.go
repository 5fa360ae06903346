package tcp

// SetKeepAlive changes the connection's keepalive probing (zero Idle turns
// it off), as setsockopt(SO_KEEPALIVE, TCP_KEEPIDLE, ...) does on a
// socket: an idle established connection is probed ka.Idle after the last
// segment it received.
func (c *Conn) SetKeepAlive(ka KeepAlive) {
	if ka.Idle > 0 {
		if ka.Interval <= 0 {
			ka.Interval = defaultKAInterval
		}
		if ka.Count <= 0 {
			ka.Count = defaultKACount
		}
	}
	c.opts.KeepAlive = ka
	c.kaProbes = 0
	c.kaAt = 0
	if ka.Idle > 0 && c.state.synchronized() && c.state != StateClosed {
		s := c.stack
		c.kaAt = max(c.lastRecv+ka.Idle, s.now)
	}
	c.stack.reschedule(c)
}

// SetNagle turns the Nagle algorithm on or off (TCP_NODELAY off or on).
func (c *Conn) SetNagle(on bool) { c.opts.Nagle = on }
