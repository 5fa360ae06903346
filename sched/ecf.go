package sched

import "time"

func init() { Register("ecf", func() Scheduler { return &ecf{} }) }

// ecfBeta is ECF's hysteresis: once it has chosen to wait for the fast
// subflow, the slow one must look 25% better before ECF switches back.
const ecfBeta = 0.25

// ecf is the Earliest Completion First scheduler (Lim, Nahum, Towsley and
// Gibbens, "ECF: An MPTCP Path Scheduler to Manage Heterogeneous Paths",
// CoNEXT 2017). It sends on the fastest subflow while that has room.
// When only a slower subflow has room, it compares, for the k bytes
// waiting to be sent, finishing on the fast subflow after waiting for it,
//
//	(1 + k/cwnd_f) * RTT_f
//
// with starting now on the slow one, RTT_s + delta (delta the larger RTT
// variation). If waiting wins (by the margin beta once it has chosen to
// wait), and the slow subflow would need at least 2*RTT_f + delta to
// carry them, ECF waits; otherwise it sends on the slow subflow.
type ecf struct {
	waiting bool
	buf     []int
}

// Name implements Scheduler.
func (*ecf) Name() string { return "ecf" }

// Send implements Scheduler.
func (e *ecf) Send(_ time.Time, c Conn, dst []int) []int {
	sfs := c.Subflows
	bi := Pick(sfs, -1)
	if bi < 0 {
		return dst
	}
	e.buf = Eligible(sfs, -1, e.buf[:0])
	fi := fastest(sfs, e.buf)
	best, fast := &sfs[bi], &sfs[fi] // fi >= 0: bi is eligible
	if fi == bi || fast.SRTT <= 0 || best.SRTT <= 0 {
		return append(dst, bi)
	}
	k := float64(c.Unsent)
	cwndF := float64(max(fast.Window, fast.MSS))
	cwndS := float64(max(best.Window, best.MSS))
	rttF, rttS := fast.SRTT.Seconds(), best.SRTT.Seconds()
	delta := max(fast.RTTVar, best.RTTVar).Seconds()
	// At least one round on the fast subflow is needed, as the paper's
	// implementation counts.
	xF := max(k, cwndF)
	margin := 1.0
	if e.waiting {
		margin += ecfBeta
	}
	if (xF/cwndF+1)*rttF < margin*(rttS+delta) {
		xS := max(k, cwndS)
		if xS/cwndS*rttS >= 2*rttF+delta {
			e.waiting = true
			return dst
		}
	} else {
		e.waiting = false
	}
	return append(dst, bi)
}

// Reinject implements Scheduler: the best subflow other than the one
// the data leaves, as with the default scheduler.
func (*ecf) Reinject(_ time.Time, c Conn, from int, dst []int) []int {
	if i := Pick(c.Subflows, from); i >= 0 {
		dst = append(dst, i)
	}
	return dst
}
