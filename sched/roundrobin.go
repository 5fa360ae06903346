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
	buf  []int
}

// Name implements Scheduler.
func (*roundRobin) Name() string { return "roundrobin" }

// Send implements Scheduler.
func (r *roundRobin) Send(_ time.Time, c Conn, dst []int) []int {
	sfs := c.Subflows
	r.buf = Eligible(sfs, -1, r.buf[:0])
	// The next ID after last, cyclically, among those with room. IDs
	// rather than positions keep the turn when subflows come and go.
	next, first := -1, -1
	for _, i := range r.buf {
		sf := &sfs[i]
		if sf.Room <= 0 {
			continue
		}
		if first < 0 || sf.ID < sfs[first].ID {
			first = i
		}
		if sf.ID > r.last && (next < 0 || sf.ID < sfs[next].ID) {
			next = i
		}
	}
	if next < 0 {
		next = first
	}
	if next < 0 {
		return dst
	}
	r.last = sfs[next].ID
	return append(dst, next)
}

// Reinject implements Scheduler: data leaving a failed subflow goes to
// the best other one, as MinRTT picks it.
func (*roundRobin) Reinject(_ time.Time, c Conn, from int, dst []int) []int {
	if i := Pick(c.Subflows, from); i >= 0 {
		dst = append(dst, i)
	}
	return dst
}
