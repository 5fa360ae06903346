package sched

import "time"

func init() {
	Register(MinRTT, func() Scheduler { return minRTT{} })
	Register(Default, func() Scheduler { return &ecf{name: Default} })
}

// MinRTT is the name of the scheduler that sends on the usable subflow
// with the lowest RTT among those with room, whatever the others could
// do: the out-of-tree kernel's default, and this package's until ECF's
// decision replaced it (Default).
const MinRTT = "minrtt"

// minRTT is the usable subflow with the lowest smoothed RTT among those
// with room in their congestion window. Backup subflows are used only
// when no non-backup subflow is usable at all, so a backup path carries
// nothing while a primary path works, even if the primary's window is
// momentarily full. When the fastest subflow's window is full, the next
// data goes to a slower one even if it would arrive later there than
// after waiting: the tail of a response that does not fit the fast
// path's window takes the slow path's RTT.
type minRTT struct{}

// Name implements Scheduler.
func (minRTT) Name() string { return MinRTT }

// Send implements Scheduler.
func (minRTT) Send(_ time.Time, c Conn, dst []int) []int {
	if best := Pick(c.Subflows, -1); best >= 0 {
		dst = append(dst, best)
	}
	return dst
}

// Reinject implements Scheduler: the best subflow other than the one the
// data is leaving.
func (minRTT) Reinject(_ time.Time, c Conn, from int, dst []int) []int {
	if best := Pick(c.Subflows, from); best >= 0 {
		return append(dst, best)
	}
	return dst
}

// Pick returns the position of the lowest-SRTT eligible subflow with room
// (see Eligible), skipping the one with ID skip (-1 skips none), or -1.
// Stale subflows (retransmission timeouts without progress) are passed
// over while any other subflow is usable, as the kernel does; backup
// subflows are considered only when no non-backup subflow is usable. Other
// schedulers use it as their fallback choice.
func Pick(sfs []Subflow, skip int) int {
	r := rulesFor(sfs, skip)
	best := -1
	for i := range sfs {
		sf := &sfs[i]
		if r.eligible(sf) && sf.Room > 0 && (best < 0 || lower(sf, &sfs[best])) {
			best = i
		}
	}
	return best
}

// lower orders subflows by SRTT; one without a sample yet counts as fast,
// so a new subflow gets probed, and ties go to the lower ID for
// determinism.
func lower(a, b *Subflow) bool {
	if a.SRTT != b.SRTT {
		return a.SRTT < b.SRTT
	}
	return a.ID < b.ID
}
