package sched

import "time"

func init() { Register("roundrobin", func() Scheduler { return &roundRobin{last: -1} }) }

// roundRobin takes the eligible subflows in turn, each time the next one
// after the last used that has room in its congestion window: the
// multipath-tcp.org kernel's "roundrobin" with cwnd_limited set. It
// ignores RTT, which is what makes it a baseline: on paths of different
// delays it fills the slow path as readily as the fast one, and the
// receiver waits for the slow path's bytes.
type roundRobin struct {
	last int // ID of the subflow used last
	buf  []Subflow
}

// Name implements Scheduler.
func (*roundRobin) Name() string { return "roundrobin" }

// Send implements Scheduler.
func (r *roundRobin) Send(_ time.Time, c Conn, dst []Subflow) []Subflow {
	r.buf = Eligible(c.Subflows(), -1, r.buf[:0])
	// The next ID after last, cyclically, among those with room. IDs
	// rather than positions keep the turn when subflows come and go.
	var next, first Subflow
	for _, sf := range r.buf {
		if sf.Room() <= 0 {
			continue
		}
		if first == nil || sf.ID() < first.ID() {
			first = sf
		}
		if sf.ID() > r.last && (next == nil || sf.ID() < next.ID()) {
			next = sf
		}
	}
	if next == nil {
		next = first
	}
	if next == nil {
		return dst
	}
	r.last = next.ID()
	return append(dst, next)
}

// Reinject implements Scheduler: data leaving a failed subflow goes to
// the best other one, as with the default scheduler.
func (*roundRobin) Reinject(_ time.Time, c Conn, from int, dst []Subflow) []Subflow {
	if sf := Pick(c.Subflows(), from); sf != nil {
		dst = append(dst, sf)
	}
	return dst
}
