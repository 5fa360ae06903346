package cc

import "time"

func init() {
	Register("wvegas", func(p Params) (Controller, error) { return newWVegas(p), nil })
}

// wVegas parameters, in segments, as the Linux research kernel's defaults.
const (
	// wvegasTotalAlpha is the backlog a connection aims to keep queued on
	// all its paths together; each path's share is its weight, the
	// fraction of the connection's rate it carries.
	wvegasTotalAlpha = 10
	// wvegasInitialAlpha is a path's target backlog until its first
	// reallocation, and wvegasMinAlpha the least it is ever given, so that
	// a slow path still keeps a packet or two queued and sees its capacity.
	wvegasInitialAlpha = 2
	wvegasMinAlpha     = 2
	// wvegasGamma ends slow start once this much backlog builds up.
	wvegasGamma = 1
	// wvegasMinSamples is the fewest RTT samples a round needs for a delay
	// decision; with fewer the window moves as NewReno's (as Vegas does).
	wvegasMinSamples = 3
)

// maxRTTSeconds bounds a round's mean RTT, so that absurd samples from a
// confused caller cannot overflow a time.Duration.
const maxRTTSeconds = 3600

// wvegas is weighted Vegas (Cao, Xu, Fu: "Delay-based congestion control
// for multipath TCP", ICNP 2012), a delay-based coupled algorithm.
//
// Once per round trip each subflow compares its backlog, the data it keeps
// queued in the network,
//
//	diff = cwnd * (1 - baseRTT/RTT)
//
// (RTT the mean of the round's samples, baseRTT the least ever seen) with
// its target alpha_r and moves its window one segment towards it. The
// connection's total target of 10 segments is shared among its paths in
// proportion to their rates: each round a path's weight x_r / sum_k x_k
// (x = cwnd/RTT, the others' as of their last round) is recomputed and its
// target becomes max(2, weight * 10). A congested path's rate falls, and
// its share of the backlog with it, so traffic moves to the other paths,
// while the connection as a whole keeps the backlog of one Vegas flow at a
// shared bottleneck. When a path at its target finds its queueing delay
// (RTT - baseRTT) at twice the least it saw at its target since its last
// backoff, it backs off to cwnd * baseRTT / (2*RTT) to drain the queue, so
// that a baseRTT inflated by other flows' standing queue can be measured
// again.
//
// In slow start the window grows as NewReno's until a round sees more than
// one segment of backlog, when it drops to the window the path carried
// without queueing plus one segment. Losses, recovery and timeouts are
// NewReno's. Sharing a queue with loss-based flows, a delay-based flow gets
// less than they do, as Vegas does.
//
// Windows are in bytes and targets in segments of the current MSS; targets
// are not rounded to whole segments. Two details differ from the Linux
// research kernel, both found wanting in the packet model of the tests:
//
//   - The kernel reallocates a target only in rounds whose backlog has
//     reached it. That left a path sharing its queue with loss-based flows
//     at the target it was given at start-up, before the other paths had a
//     rate (the whole 10 segments); its small window never reached it, and
//     the path grew as Reno's. Here targets are reallocated every round.
//   - The kernel tracks the least queueing delay over every round and
//     drains whenever the delay doubles. A window ramping up from an empty
//     queue doubles its queueing delay (one queued packet, then two) long
//     before it reaches its target, so a lone flow on a free path never got
//     there and kept halving; the kernel's test also fires on a round with
//     no queueing delay at all (q >= 2*q_min with q_min just set to q = 0).
//     Here only rounds at or above the target, with some queueing delay,
//     count: the least queueing delay is then the path's operating point,
//     and the drain fires when the queue has grown to twice that.
type wvegas struct {
	reno
	member *Member

	alpha   float64       // target backlog, segments
	rate    float64       // bytes per second when the target was last set
	baseRTT time.Duration // least RTT sample
	qMin    time.Duration // least positive queueing delay since the last backoff

	// The current round ends once acked reaches roundEnd: everything
	// outstanding when it began has been acknowledged.
	acked     uint64
	roundEnd  uint64
	roundOpen bool
	rttSum    float64 // seconds; a float cannot overflow however many samples
	samples   int
}

func newWVegas(p Params) *wvegas {
	v := &wvegas{reno: *newReno(p), alpha: wvegasInitialAlpha}
	v.member = joinGroup(p.Group, v)
	return v
}

// OnAck implements Controller.OnAck.
func (v *wvegas) OnAck(now time.Time, a Ack) {
	v.member.Observe(a)
	if a.RTT > 0 {
		if v.baseRTT == 0 || a.RTT < v.baseRTT {
			v.baseRTT = a.RTT
		}
		v.rttSum += a.RTT.Seconds()
		v.samples++
	}
	if a.Acked > 0 {
		v.acked += uint64(min(a.Acked, v.maxWindow))
	}
	if a.Acked > 0 && !v.inRecovery && (!v.roundOpen || v.acked >= v.roundEnd) {
		decided, fallback := v.endRound(a)
		if decided {
			return
		}
		if fallback {
			v.reno.OnAck(now, a)
			return
		}
	}
	if v.InSlowStart() {
		v.reno.OnAck(now, a)
		return
	}
	// In congestion avoidance the window moves once per round only.
	v.observe(a)
	if a.Acked > 0 {
		v.rtoPending = false
	}
}

// endRound closes the current round at an ACK and opens the next. It
// reports whether it made a delay-based decision, or, when the round had
// too few RTT samples to decide, that the ACK should be handled as NewReno
// would.
func (v *wvegas) endRound(a Ack) (decided, fallback bool) {
	wasOpen, n, sum := v.roundOpen, v.samples, v.rttSum
	// The next round ends when what is outstanding after this ACK has been
	// acknowledged, as Vegas ends a round when SND.UNA passes the SND.NXT
	// recorded at its start.
	outstanding := min(max(a.PriorInFlight, 0), v.maxWindow)
	outstanding -= min(a.Acked, outstanding)
	v.roundOpen = true
	v.roundEnd = v.acked + uint64(outstanding)
	v.samples, v.rttSum = 0, 0
	if !wasOpen {
		return false, false
	}
	if n < wvegasMinSamples || v.baseRTT == 0 {
		return false, true
	}
	v.observe(a)
	v.rtoPending = false
	v.adjust(a, time.Duration(min(sum/float64(n), maxRTTSeconds)*float64(time.Second)))
	return true, false
}

// adjust is the once-per-round decision for a round whose mean RTT was rtt.
func (v *wvegas) adjust(a Ack, rtt time.Duration) {
	rtt = max(rtt, v.baseRTT)
	q := rtt - v.baseRTT
	mss := float64(v.mss)
	diff := float64(v.cwnd) * q.Seconds() / rtt.Seconds()
	limited := v.cwndLimited(a)
	if v.InSlowStart() {
		if diff > wvegasGamma*mss {
			target := float64(v.cwnd) * v.baseRTT.Seconds() / rtt.Seconds()
			v.cwnd = min(v.cwnd, int(target)+v.mss)
			v.ssthresh = max(min(v.ssthresh, v.cwnd-v.mss), v.minWindow())
		} else if limited {
			v.slowStart(min(a.Acked, v.maxWindow), renoABCLimit*v.mss)
		}
	} else {
		v.reallocate(rtt)
		switch {
		case diff > v.alpha*mss:
			v.cwnd -= v.mss
			v.ssthresh = max(min(v.ssthresh, v.cwnd-v.mss), v.minWindow())
		case diff < v.alpha*mss && limited:
			v.cwnd += v.mss
		}
		if diff >= v.alpha*mss && q > 0 {
			switch {
			case v.qMin > 0 && q >= 2*v.qMin:
				v.cwnd = int(float64(v.cwnd) * v.baseRTT.Seconds() / (2 * rtt.Seconds()))
				v.qMin = 0
			case v.qMin == 0 || q < v.qMin:
				v.qMin = q
			}
		}
	}
	v.cwnd = min(max(v.cwnd, v.minWindow()), v.maxWindow)
}

// reallocate sets this path's share of the connection's backlog from its
// share of the connection's rate. Other paths count with the rate they had
// when they last reallocated.
func (v *wvegas) reallocate(rtt time.Duration) {
	v.rate = float64(v.cwnd) / rtt.Seconds()
	total := 0.0
	if g := v.member.group; g != nil {
		for _, m := range g.members {
			if m != v.member && !m.counts(v.member) {
				continue
			}
			if o, ok := m.c.(*wvegas); ok {
				total += o.rate
			}
		}
	}
	weight := 1.0
	if total > 0 {
		weight = v.rate / total
	}
	v.alpha = max(wvegasMinAlpha, weight*wvegasTotalAlpha)
}

// OnCongestionEvent implements Controller.OnCongestionEvent: NewReno's
// halving; the round in progress is abandoned.
func (v *wvegas) OnCongestionEvent(now time.Time, l Loss) {
	v.roundOpen = false
	v.reno.OnCongestionEvent(now, l)
}

// OnRecoveryExit implements Controller.OnRecoveryExit.
func (v *wvegas) OnRecoveryExit(now time.Time) {
	v.roundOpen = false
	v.reno.OnRecoveryExit(now)
}

// OnRTO implements Controller.OnRTO: NewReno's collapse; the path's rate is
// forgotten until it is measured again, so that the other paths' targets do
// not count a path that has stalled.
func (v *wvegas) OnRTO(now time.Time, l Loss) {
	v.roundOpen = false
	v.rate = 0
	v.reno.OnRTO(now, l)
}
