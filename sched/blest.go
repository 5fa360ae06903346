package sched

import "time"

func init() { Register("blest", func() Scheduler { return newBLEST() }) }

// BLEST's constants, from the paper and its Linux implementation: lambda
// scales the estimate of what the fast subflow will send; it starts at
// 1.2, stays within [1.0, 1.3], and is raised by 0.04 after a round in
// which the connection was blocked by the receive window, lowered by 0.01
// after one in which it was not.
const (
	blestLambdaInit = 1.2
	blestLambdaMin  = 1.0
	blestLambdaMax  = 1.3
	blestLambdaUp   = 0.04
	blestLambdaDown = 0.01
)

// blest is the Blocking Estimation scheduler (Ferlin, Alay, Mehani and
// Boreli, "BLEST: Blocking Estimation-based MPTCP Scheduler for
// Heterogeneous Networks", IFIP Networking 2016). It sends on the
// fastest subflow while that has room, like MinRTT. When
// only a slower subflow has room, it estimates how many bytes the fast
// subflow would send while a segment sent now on the slow one is in
// flight:
//
//	X = MSS_f * (cwnd_f + (r-1)/2) * r,  r = RTT_s / RTT_f
//
// (the fast window growing by one segment per round in congestion
// avoidance). If lambda*X exceeds what the connection-level send window
// leaves once the slow subflow's bytes (in flight plus one segment) are
// counted, sending on the slow subflow would leave the fast one blocked
// for window: BLEST waits for the fast subflow instead. A slow subflow
// left idle for longer than its RTO is used again regardless, once, so
// that its RTT estimate is not frozen at a value from a queue long gone. Lambda corrects the estimate from experience:
// it grows after rounds in which the connection became window-limited
// anyway and shrinks otherwise.
type blest struct {
	lambda     float64
	lastUpdate time.Time
	blocked    bool // the window blocked sending since the last update
	buf        []int
	used       []blestUse // when each subflow last got data, by ID
}

// blestUse records when BLEST last handed data to a subflow.
type blestUse struct {
	id int
	at time.Time
}

func newBLEST() *blest { return &blest{lambda: blestLambdaInit} }

// Name implements Scheduler.
func (*blest) Name() string { return "blest" }

// Send implements Scheduler.
func (b *blest) Send(now time.Time, c Conn, dst []int) []int {
	sfs := c.Subflows
	bi := Pick(sfs, -1)
	if bi < 0 {
		return dst
	}
	b.buf = Eligible(sfs, -1, b.buf[:0])
	fi := fastest(sfs, b.buf)
	best, fast := &sfs[bi], &sfs[fi] // fi >= 0: bi is eligible
	if fi == bi || fast.SRTT <= 0 || best.SRTT <= 0 {
		return b.use(now, dst, sfs, bi)
	}
	b.update(now, fast.SRTT)
	if b.stale(now, best) {
		return b.use(now, dst, sfs, bi) // measure its RTT again
	}
	r := float64(best.SRTT) / float64(fast.SRTT)
	fastBytes := b.lambda * (float64(fast.Window) + float64(fast.MSS)*(r-1)/2) * r
	// What the slow subflow would hold of the window, as the paper counts
	// it: what it has in flight (and queued) plus one segment. Counting
	// the chunk the MPTCP layer would hand it, its whole free window,
	// made every slow window look like a block and starved the slow path.
	slowBytes := best.InFlight + best.Queued + best.MSS
	avail := c.SendWindow + c.DataInFlight - slowBytes
	if fastBytes > float64(avail) {
		return dst // wait for the fast subflow
	}
	return b.use(now, dst, sfs, bi)
}

// stale reports whether sf has been idle, with nothing in flight or
// queued, for longer than its retransmission timeout since BLEST last
// gave it data. Its SRTT then describes a queue that has drained since
// (a bufferbloated cellular path shows seconds) and would keep it idle
// for ever; past the same point TCP restarts its window after idle, so
// sending there costs at most a restart window and brings fresh samples.
func (b *blest) stale(now time.Time, sf *Subflow) bool {
	if sf.InFlight > 0 || sf.Queued > 0 {
		return false
	}
	last, ok := b.lastUse(sf.ID)
	if !ok {
		return false
	}
	return now.Sub(last) > sf.SRTT+4*sf.RTTVar
}

// use notes that the subflow at position i carries data now and appends
// it to dst.
func (b *blest) use(now time.Time, dst []int, sfs []Subflow, i int) []int {
	id := sfs[i].ID
	for k := range b.used {
		if b.used[k].id == id {
			b.used[k].at = now
			return append(dst, i)
		}
	}
	b.used = append(b.used, blestUse{id: id, at: now})
	return append(dst, i)
}

// lastUse returns when BLEST last gave data to subflow id.
func (b *blest) lastUse(id int) (time.Time, bool) {
	for _, u := range b.used {
		if u.id == id {
			return u.at, true
		}
	}
	return time.Time{}, false
}

// Reinject implements Scheduler. The MPTCP layer asks when data must go
// again elsewhere, which includes the moment the receive window blocks
// new data (opportunistic retransmission): that is the blocking BLEST's
// lambda learns from.
func (b *blest) Reinject(_ time.Time, c Conn, from int, dst []int) []int {
	if c.SendWindow <= 0 {
		b.blocked = true
	}
	if i := Pick(c.Subflows, from); i >= 0 {
		dst = append(dst, i)
	}
	return dst
}

// update adjusts lambda at most once per round trip of the fast subflow.
func (b *blest) update(now time.Time, rtt time.Duration) {
	if !b.lastUpdate.IsZero() && now.Sub(b.lastUpdate) < rtt {
		return
	}
	if b.lastUpdate.IsZero() {
		b.lastUpdate = now
		return
	}
	if b.blocked {
		b.lambda += blestLambdaUp
	} else {
		b.lambda -= blestLambdaDown
	}
	b.lambda = min(max(b.lambda, blestLambdaMin), blestLambdaMax)
	b.blocked = false
	b.lastUpdate = now
}
