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
// room for. New data never goes out on much slower subflows alone,
// though: when the fastest subflow has no room and those with room have
// more than twice its RTT, the chunk waits for the fastest, since a copy
// that only the slow path carries is the one the receiver waits for.
// Backup subflows join only when no non-backup subflow is usable.
type redundant struct{ buf []int }

// redundantSlowFactor is how much slower than the fastest subflow the
// subflows carrying a chunk without it may be.
const redundantSlowFactor = 2

// Name implements Scheduler.
func (*redundant) Name() string { return "redundant" }

// Send implements Scheduler: the subflows come lowest RTT first.
func (r *redundant) Send(_ time.Time, c Conn, dst []int) []int {
	sfs := c.Subflows
	r.buf = Eligible(sfs, -1, r.buf[:0])
	fi := fastest(sfs, r.buf)
	n := len(dst)
	dst = byRTT(sfs, withRoom(sfs, r.buf, dst), n)
	if len(dst) == n {
		return dst
	}
	lead := &sfs[dst[n]]
	if fast := &sfs[fi]; fast.Room <= 0 && fast.SRTT > 0 && lead.SRTT > redundantSlowFactor*fast.SRTT {
		return dst[:n] // wait for the fastest subflow
	}
	return copies(sfs, dst, n, min(lead.Room, c.Unsent, c.SendWindow))
}

// copies keeps, after the lead subflow at dst[n], only the subflows with
// room for the whole chunk: the MPTCP layer cuts the chunk to the
// smallest room of the subflows it is given, and a copy squeezed into a
// nearly full window would cut the lead's data into slivers.
func copies(sfs []Subflow, dst []int, n, chunk int) []int {
	out := dst[:n+1]
	for _, i := range dst[n+1:] {
		if sfs[i].Room >= chunk {
			out = append(out, i)
		}
	}
	return out
}

// Reinject implements Scheduler: every other eligible subflow with room,
// lowest RTT first (the MPTCP layer takes the first for opportunistic
// retransmission).
func (r *redundant) Reinject(_ time.Time, c Conn, from int, dst []int) []int {
	sfs := c.Subflows
	r.buf = Eligible(sfs, from, r.buf[:0])
	n := len(dst)
	dst = byRTT(sfs, withRoom(sfs, r.buf, dst), n)
	if len(dst) == n {
		return dst
	}
	return copies(sfs, dst, n, sfs[dst[n]].Room)
}

// byRTT sorts the positions s[from:] by their subflows' RTT in place
// (insertion sort: a handful of subflows, no allocation) and returns s.
func byRTT(sfs []Subflow, s []int, from int) []int {
	for i := from + 1; i < len(s); i++ {
		for j := i; j > from && lower(&sfs[s[j]], &sfs[s[j-1]]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}
