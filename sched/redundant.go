package sched

import "time"

func init() { Register("redundant", func() Scheduler { return &redundant{} }) }

// redundant sends every chunk on every eligible subflow that has room,
// after the multipath-tcp.org kernel's "redundant" scheduler: the copy on
// the subflow that delivers first wins, so a loss or a delay spike on one
// path costs nothing while another path delivers. It trades capacity for
// latency: the connection carries no more than its best path, and pays
// for each byte once per subflow.
//
// A subflow whose window is full when a chunk goes out misses that chunk
// rather than holding the others back; it carries the next chunk it has
// room for. Backup subflows join only when no non-backup subflow is
// usable.
type redundant struct{ buf []Subflow }

// Name implements Scheduler.
func (*redundant) Name() string { return "redundant" }

// Send implements Scheduler: the subflows come lowest RTT first.
func (r *redundant) Send(_ time.Time, c Conn, dst []Subflow) []Subflow {
	r.buf = Eligible(c.Subflows(), -1, r.buf[:0])
	return byRTT(withRoom(r.buf, dst), len(dst))
}

// Reinject implements Scheduler: every other eligible subflow with room,
// lowest RTT first (the MPTCP layer takes the first for opportunistic
// retransmission).
func (r *redundant) Reinject(_ time.Time, c Conn, from int, dst []Subflow) []Subflow {
	r.buf = Eligible(c.Subflows(), from, r.buf[:0])
	return byRTT(withRoom(r.buf, dst), len(dst))
}

// byRTT sorts s[from:] by RTT in place (insertion sort: a handful of
// subflows, no allocation) and returns s.
func byRTT(s []Subflow, from int) []Subflow {
	for i := from + 1; i < len(s); i++ {
		for j := i; j > from && lower(s[j], s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}
