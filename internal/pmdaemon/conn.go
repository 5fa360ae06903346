package pmdaemon

import (
	"net/netip"
	"time"
)

// pathKey names a path: a local address and a remote address and port.
// Several subflows may share a path (ndiffports).
type pathKey struct {
	local  netip.Addr
	remote netip.AddrPort
}

// sfKey names one subflow by its four-tuple.
type sfKey struct {
	local, remote netip.AddrPort
}

// subflow is a subflow the kernel reported as established.
type subflow struct {
	local, remote netip.AddrPort // as the kernel reported them
	localID       uint8
	remoteID      uint8
	ifindex       int // 0 when unknown
	backup        bool
	since         time.Time
}

// failure tracks the failed attempts on one path, for back-off.
type failure struct {
	count int
	next  time.Time // no new attempt before this
}

// connState is what the Manager knows of one MPTCP connection.
type connState struct {
	token       uint32
	server      bool // accepted here rather than initiated
	established bool
	local       netip.AddrPort // initial subflow, normalised
	remote      netip.AddrPort

	remotes  map[uint8]netip.AddrPort // peer address id -> address (id 0: initial)
	subflows map[sfKey]*subflow
	pending  map[pathKey][]time.Time // creates in flight, by deadline
	failures map[pathKey]*failure
	ids      map[netip.AddrPort]uint8 // local address (and port, for announcements) -> id
	idUsed   [256]bool
	notes    map[pathKey]string        // last decline logged per path
	announce map[netip.AddrPort]uint8  // announcements made -> id
	annNotes map[netip.AddrPort]string // last decline logged per announcement
}

func newConnState(token uint32, server bool, local, remote netip.AddrPort) *connState {
	c := &connState{
		token:    token,
		server:   server,
		local:    local,
		remote:   remote,
		remotes:  map[uint8]netip.AddrPort{0: remote},
		subflows: map[sfKey]*subflow{},
		pending:  map[pathKey][]time.Time{},
		failures: map[pathKey]*failure{},
		ids:      map[netip.AddrPort]uint8{netip.AddrPortFrom(local.Addr(), 0): 0},
		notes:    map[pathKey]string{},
		announce: map[netip.AddrPort]uint8{},
		annNotes: map[netip.AddrPort]string{},
	}
	c.idUsed[0] = true
	return c
}

// localID returns the address id for a local address (and port), giving
// it the lowest free one the first time. The same address must keep its id
// for the connection's life, or the kernel refuses it ("did not match
// address and id").
func (c *connState) localID(ap netip.AddrPort) (uint8, bool) {
	if id, ok := c.ids[ap]; ok {
		return id, true
	}
	for id := 1; id < len(c.idUsed); id++ {
		if !c.idUsed[id] {
			c.idUsed[id] = true
			c.ids[ap] = uint8(id)
			return uint8(id), true
		}
	}
	return 0, false
}

// learnID records an id the kernel chose (for a subflow the peer opened).
func (c *connState) learnID(ap netip.AddrPort, id uint8) {
	if _, ok := c.ids[ap]; !ok {
		c.ids[ap] = id
		c.idUsed[id] = true
	}
}

// onPath counts established and in-flight subflows on p.
func (c *connState) onPath(p pathKey) int {
	n := len(c.pending[p])
	for _, sf := range c.subflows {
		if sf.local.Addr().Unmap() == p.local && norm(sf.remote) == p.remote {
			n++
		}
	}
	return n
}

// extra counts subflows beyond the first, established or in flight.
func (c *connState) extra() int {
	n := len(c.subflows) - 1
	for _, d := range c.pending {
		n += len(d)
	}
	if n < 0 {
		n = 0
	}
	return n
}

// popPending forgets the oldest create in flight on p.
func (c *connState) popPending(p pathKey) bool {
	d := c.pending[p]
	if len(d) == 0 {
		return false
	}
	if len(d) == 1 {
		delete(c.pending, p)
	} else {
		c.pending[p] = d[1:]
	}
	return true
}

// norm strips the IPv4-in-IPv6 mapping, so that an IPv4 path compares
// equal whether a dual-stack socket reports it mapped or not.
func norm(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
