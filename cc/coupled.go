package cc

import "math"

// coupled is what LIA, OLIA and BALIA share: NewReno's slow start, loss
// response, recovery, timeouts and undo on each subflow, a place in the
// connection's Group, and a window that grows in congestion avoidance by a
// fractional number of bytes per ACK that each algorithm computes from the
// whole group.
//
// The three papers state their increase per ACK in packets; with windows in
// bytes the same rule is the increase times MSS per acknowledged MSS, which
// is how RFC 6356 writes LIA ("alpha * bytes_acked * MSS_i / cwnd_total").
type coupled struct {
	reno
	member *Member
	// growth is the increase in bytes computed but not yet applied to the
	// integer window, always in (-1, 1) between ACKs.
	growth float64
}

// joinGroup adds c to g, or to a group of its own when g is nil, so that a
// coupled algorithm used outside MPTCP is its single-path special case.
func joinGroup(g *Group, c Controller) *Member {
	if g == nil {
		g = NewGroup()
	}
	return g.Join(c)
}

// renoIncrease is NewReno's congestion avoidance increase for acked bytes,
// one MSS per window acknowledged, spread over the ACKs: every coupled
// algorithm reduces to it with a single subflow.
func (c *coupled) renoIncrease(acked int) float64 {
	return float64(acked) * float64(c.mss) / float64(c.cwnd)
}

// peers returns the members of c's group, or nil when c has been removed
// from its group or has no RTT yet; the caller then falls back to
// renoIncrease.
func (c *coupled) peers() []*Member {
	if c.member.group == nil || c.member.srtt <= 0 {
		return nil
	}
	return c.member.group.members
}

// grow applies an increase of inc bytes to the window; inc may be negative
// (OLIA moves window off its largest paths). Fractions accumulate until they
// make a whole byte. A decrease never takes the window below the congestion
// floor and lowers ssthresh with the window, so that a window shrinking in
// congestion avoidance is not mistaken for one in slow start on the next
// ACK.
func (c *coupled) grow(inc float64) {
	if math.IsNaN(inc) {
		return
	}
	limit := float64(c.maxWindow)
	c.growth += min(max(inc, -limit), limit)
	switch {
	case c.growth >= 1:
		whole := math.Floor(c.growth)
		c.growth -= whole
		c.cwnd = int(min(float64(c.cwnd)+whole, limit))
	case c.growth <= -1:
		whole := math.Ceil(c.growth)
		c.growth -= whole
		c.cwnd = max(c.cwnd+int(whole), c.minWindow())
		c.ssthresh = min(c.ssthresh, c.cwnd)
	}
}
