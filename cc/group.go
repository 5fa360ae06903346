package cc

import "time"

// A Group couples the controllers of the subflows of one MPTCP connection, so
// that a coupled algorithm on one subflow can read the state of the others.
// The MPTCP layer creates one per connection and passes it in Params.Group.
//
// A Group is not safe for concurrent use: a connection and all its subflows
// are processed by one loop.
type Group struct {
	members []*Member
}

// NewGroup returns an empty Group.
func NewGroup() *Group { return &Group{} }

// Member is one subflow's place in a Group.
type Member struct {
	group  *Group
	c      Controller
	srtt   time.Duration
	minRTT time.Duration
	// inactive is set while the subflow carries no data (see SetActive);
	// the zero value is an active member.
	inactive bool
}

// Join adds c to the group and returns its Member. Coupled algorithms call it
// from their factory; joining twice returns the existing Member.
func (g *Group) Join(c Controller) *Member {
	for _, m := range g.members {
		if m.c == c {
			return m
		}
	}
	m := &Member{group: g, c: c}
	g.members = append(g.members, m)
	return m
}

// Remove takes c out of the group, reporting whether it was a member. The
// TCP engine calls it when a subflow closes, also for controllers of
// uncoupled algorithms, which never joined.
func (g *Group) Remove(c Controller) bool {
	for i, m := range g.members {
		if m.c == c {
			copy(g.members[i:], g.members[i+1:])
			g.members[len(g.members)-1] = nil
			g.members = g.members[:len(g.members)-1]
			m.group = nil
			return true
		}
	}
	return false
}

// Members returns the members in the order they joined. The slice is the
// group's own, returned without copying so that per-ACK iteration does not
// allocate; callers must not modify it or keep it across a Join or Remove.
func (g *Group) Members() []*Member { return g.members }

// Len returns the number of members.
func (g *Group) Len() int { return len(g.members) }

// TotalWindow returns the sum of the members' windows in bytes.
func (g *Group) TotalWindow() int {
	total := 0
	for _, m := range g.members {
		total += m.c.Window()
	}
	return total
}

// Group returns the group m belongs to, nil once removed.
func (m *Member) Group() *Group { return m.group }

// Controller returns the member's controller. A coupled algorithm type-asserts
// it to its own type to read algorithm-specific state of other subflows.
func (m *Member) Controller() Controller { return m.c }

// Window returns the member's congestion window in bytes.
func (m *Member) Window() int { return m.c.Window() }

// SRTT returns the member's smoothed RTT as last observed, 0 before the
// first sample. Coupled algorithms leave out members without one, as the
// kernel leaves out subflows that have not measured an RTT.
func (m *Member) SRTT() time.Duration { return m.srtt }

// MinRTT returns the member's minimum RTT as last observed, 0 before the
// first sample.
func (m *Member) MinRTT() time.Duration { return m.minRTT }

// SetActive marks whether the subflow is carrying data. A new member is
// active. The MPTCP layer marks a subflow inactive while it must not carry
// data: a backup subflow held in reserve, a subflow whose path has failed
// and awaits a timeout, a subflow not yet fully established. Coupled
// algorithms leave inactive members out of their sums, as the Linux
// research kernel's coupled algorithms leave out subflows that cannot send:
// an idle backup path's window would otherwise count towards the
// connection's aggregate and slow the increase of the paths in use.
func (m *Member) SetActive(active bool) { m.inactive = !active }

// Active reports whether the member counts in coupled algorithms' sums; see
// SetActive.
func (m *Member) Active() bool { return !m.inactive }

// counts reports whether a coupled algorithm includes m in its sums over the
// group: it is active and has measured an RTT. The subflow whose ACK is
// being processed is included whenever it has an RTT, active or not, since
// it evidently carries data.
func (m *Member) counts(self *Member) bool {
	return m.srtt > 0 && (!m.inactive || m == self)
}

// Observe publishes the RTT figures carried by an ACK of this member's
// subflow. A coupled controller calls it at the start of its OnAck.
func (m *Member) Observe(a Ack) {
	if a.SRTT > 0 {
		m.srtt = a.SRTT
	}
	if a.MinRTT > 0 {
		m.minRTT = a.MinRTT
	}
}
