package sched

import (
	"slices"
	"time"
)

func init() { Register("ecf", func() Scheduler { return &ecf{name: "ecf"} }) }

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
//
// A slower subflow that ECF never gave data is given the chunk once
// instead of being waited out, when it has nothing in flight: its RTT
// then comes from its handshake alone, which a lost SYN/ACK (a second
// later) or a queue since drained inflates, and ECF would otherwise never
// send there to learn better.
type ecf struct {
	name    string // "ecf", or Default
	waiting bool
	buf     []int
	used    []int // IDs of the subflows ECF gave data, the latest maxUsed
}

// maxUsed bounds ecf.used: a connection whose subflows come and go
// forgets the oldest, which at worst get probed once more.
const maxUsed = 16

// Name implements Scheduler.
func (e *ecf) Name() string { return e.name }

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
		return e.use(dst, sfs, bi)
	}
	if best.InFlight == 0 && best.Queued == 0 && !slices.Contains(e.used, best.ID) {
		return e.use(dst, sfs, bi) // measure its RTT by carrying data
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
	return e.use(dst, sfs, bi)
}

// use records that the subflow at position i carries data and appends it
// to dst.
func (e *ecf) use(dst []int, sfs []Subflow, i int) []int {
	id := sfs[i].ID
	if !slices.Contains(e.used, id) {
		if len(e.used) == maxUsed {
			e.used = append(e.used[:0], e.used[1:]...)
		}
		e.used = append(e.used, id)
	}
	return append(dst, i)
}

// Reinject implements Scheduler: the best subflow other than the one
// the data leaves, as MinRTT picks it.
func (*ecf) Reinject(_ time.Time, c Conn, from int, dst []int) []int {
	if i := Pick(c.Subflows, from); i >= 0 {
		dst = append(dst, i)
	}
	return dst
}
