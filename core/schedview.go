package core

import (
	"github.com/mptcp-go/mptcp/sched"
)

// schedConn fills the connection's snapshot for its scheduler, the
// values of this moment in a buffer the connection reuses, so that a
// decision allocates nothing. The scheduler's choices are positions in
// it, which are positions in c.subflows (see chosen).
func (c *Conn) schedConn() sched.Conn {
	c.schedSnap = c.schedSnap[:0]
	for _, sf := range c.subflows {
		c.schedSnap = append(c.schedSnap, sf.schedSubflow())
	}
	return sched.Conn{
		Subflows:     c.schedSnap,
		Unsent:       c.snd.unsent(),
		SendWindow:   c.sendRoom(),
		DataInFlight: int(c.snd.nxt - c.snd.una),
	}
}

// schedSubflow is the subflow as a scheduler sees it.
func (sf *subflow) schedSubflow() sched.Subflow {
	s := sched.Subflow{
		ID:       sf.id,
		Backup:   sf.backup || sf.peerBackup,
		Usable:   sf.usable(),
		Stale:    sf.stale,
		SRTT:     sf.info.SRTT,
		RTTVar:   sf.info.RTTVar,
		Window:   sf.info.Cwnd,
		InFlight: sf.info.InFlight,
		MSS:      sf.info.MSS,
		Rate:     sf.info.DeliveryRate,
	}
	if sf.tc != nil {
		s.Queued = sf.tc.Unsent()
		s.Room = sf.Room()
	}
	return s
}

// chosen keeps, of the positions a scheduler returned, those that name a
// subflow (a scheduler written elsewhere may err; its mistake must not
// crash the stack), and returns them. Their storage becomes the buffer of
// the next decision.
func (c *Conn) chosen(pos []int) []int {
	out := pos[:0]
	for _, i := range pos {
		if i >= 0 && i < len(c.subflows) {
			out = append(out, i)
		}
	}
	c.schedPos = out
	return out
}

// Room is how many more bytes the subflow takes now: its congestion
// window less what is in flight and what waits in its queue, bounded by
// its send buffer, in whole segments. A record never shares a segment and
// the engine sends only whole segments into the window, so room for part
// of a segment would make a runt segment of its own; with a coupled
// controller's fractional window growth that was every other segment, and
// runts take less than their share of a byte-counted queue's drops.
// Less than a segment of room is none, unless the subflow is idle.
func (sf *subflow) Room() int {
	if sf.tc == nil {
		return 0
	}
	queued := sf.info.InFlight + sf.tc.Unsent()
	r := max(0, min(sf.info.Cwnd-queued, sf.tc.Writable()))
	if k := sf.tc.RecordBytes(r); k > 0 {
		return k
	}
	if queued > 0 {
		return 0
	}
	return r
}
