package core

import (
	"time"

	"github.com/mptcp-go/mptcp/sched"
)

// schedView is the narrow view of a connection a scheduler gets. Its
// subflow views are built once per push and reused.
type schedView struct {
	c    *Conn
	sfs  []sched.Subflow
	pool []schedSubflow
}

// Subflows implements sched.Conn.
func (v *schedView) Subflows() []sched.Subflow {
	if v.sfs == nil || len(v.pool) != len(v.c.subflows) {
		v.pool = make([]schedSubflow, len(v.c.subflows))
		v.sfs = make([]sched.Subflow, len(v.c.subflows))
		for i, sf := range v.c.subflows {
			v.pool[i].sf = sf
			v.sfs[i] = &v.pool[i]
		}
	}
	return v.sfs
}

// Unsent implements sched.Conn.
func (v *schedView) Unsent() int { return v.c.snd.unsent() }

// DataInFlight implements sched.DataInFlighter: bytes sent at data level
// and not yet DATA_ACKed.
func (v *schedView) DataInFlight() int { return int(v.c.snd.nxt - v.c.snd.una) }

// SendWindow implements sched.Conn.
func (v *schedView) SendWindow() int { return v.c.sendRoom() }

// schedSubflow is a subflow as a scheduler sees it.
type schedSubflow struct{ sf *subflow }

// ID implements sched.Subflow.
func (s *schedSubflow) ID() int { return s.sf.id }

// Backup implements sched.Subflow.
func (s *schedSubflow) Backup() bool { return s.sf.backup || s.sf.peerBackup }

// SRTT implements sched.Subflow.
func (s *schedSubflow) SRTT() time.Duration { return s.sf.info.SRTT }

// RTTVar implements sched.Subflow.
func (s *schedSubflow) RTTVar() time.Duration { return s.sf.info.RTTVar }

// Window implements sched.Subflow.
func (s *schedSubflow) Window() int { return s.sf.info.Cwnd }

// InFlight implements sched.Subflow.
func (s *schedSubflow) InFlight() int { return s.sf.info.InFlight }

// Queued implements sched.Subflow.
func (s *schedSubflow) Queued() int {
	if s.sf.tc == nil {
		return 0
	}
	return s.sf.tc.Unsent()
}

// MSS implements sched.Subflow.
func (s *schedSubflow) MSS() int { return s.sf.info.MSS }

// Room implements sched.Subflow.
func (s *schedSubflow) Room() int { return s.sf.Room() }

// Usable implements sched.Subflow.
func (s *schedSubflow) Usable() bool { return s.sf.usable() }

// Stale implements sched.Subflow.
func (s *schedSubflow) Stale() bool { return s.sf.stale }

// Rate implements sched.Subflow.
func (s *schedSubflow) Rate() float64 { return s.sf.info.DeliveryRate }

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
	seg := sf.tc.PayloadMSS()
	switch {
	case r >= seg:
		return r - r%seg
	case queued > 0:
		return 0
	}
	return r
}
