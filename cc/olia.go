package cc

import "time"

func init() {
	Register("olia", func(p Params) (Controller, error) { return newOLIA(p), nil })
}

// olia is the Opportunistic Linked Increases Algorithm (Khalili, Gast,
// Popovic, Le Boudec: "MPTCP is not Pareto-optimal: performance issues and a
// possible solution", CoNEXT 2012 and IEEE/ACM ToN 2013). It replaces LIA's
// increase, which keeps sending a share of the traffic over congested paths,
// with one that is Pareto-optimal, yet still probes every path. Slow start
// and the response to loss are NewReno's on each subflow, as in the paper
// and the Linux research kernel.
//
// For each ACK on path r the window grows, in packets, by
//
//	(w_r / rtt_r^2) / (sum_p w_p / rtt_p)^2  +  alpha_r / w_r
//
// The first term is the coupled increase that makes the aggregate as
// aggressive as one TCP flow on the best path. alpha_r shifts window between
// paths: with R the paths, M the paths with the largest window and B the
// presumed best paths (below),
//
//	alpha_r =  1 / (|R| * |B\M|)   if r is in B\M,
//	alpha_r = -1 / (|R| * |M|)     if r is in M and B\M is not empty,
//	alpha_r =  0                   otherwise,
//
// so window moves from the largest paths to the best paths that are not
// yet the largest, and stops moving once the best paths are the largest.
// The alphas sum to zero, so the aggregate stays TCP-friendly.
//
// A path's quality is judged by l_r, the bytes acknowledged between its last
// two losses, or since its last loss if that is more. l_r estimates 1/p_r,
// and a Reno flow on path r would get a rate proportional to
// sqrt(l_r)/rtt_r, so the best paths are those with the largest
// l_r / rtt_r^2, as the Linux research kernel's OLIA (written by the
// paper's first author) ranks them. (Other implementations read the OLIA
// Internet-draft as ranking by l_r^2 / rtt_r; with equal RTTs both rank
// paths alike.) Membership of M and B is by exact equality, as in the
// kernel; windows here are in bytes, so ties in M are rarer than with the
// kernel's windows in packets.
type olia struct {
	coupled

	// acked counts the bytes acknowledged on this subflow, SND.UNA's
	// progress; lossAt holds its value at the loss before the last one
	// ([0]) and at the last one ([1]).
	acked  uint64
	lossAt [2]uint64
	// undoLossAt is lossAt before the last congestion event, restored if
	// the event proves spurious.
	undoLossAt [2]uint64
}

func newOLIA(p Params) *olia {
	o := &olia{coupled: coupled{reno: *newReno(p)}}
	o.member = joinGroup(p.Group, o)
	return o
}

// OnAck implements Controller.OnAck.
func (o *olia) OnAck(now time.Time, a Ack) {
	o.member.Observe(a)
	if a.Acked > 0 {
		o.acked += uint64(min(a.Acked, o.maxWindow))
	}
	acked := o.avoidanceBytes(a)
	if acked == 0 {
		return
	}
	o.grow(o.increase(acked))
}

// interLoss is l_r in bytes: the larger of the bytes acknowledged between
// the last two losses and since the last loss.
func (o *olia) interLoss() uint64 {
	return max(o.acked-o.lossAt[1], o.lossAt[1]-o.lossAt[0])
}

// oliaScore ranks a member for the set of best paths: l_r / rtt_r^2. A
// member that is not OLIA (a misconfigured group) has no l_r and scores 0.
func oliaScore(m *Member) float64 {
	o, ok := m.c.(*olia)
	if !ok {
		return 0
	}
	rtt := m.srtt.Seconds()
	return float64(o.interLoss()) / (rtt * rtt)
}

// increase returns OLIA's increase in bytes for acked bytes; it is negative
// when window is moving off this path.
func (o *olia) increase(acked int) float64 {
	self := o.member
	var n, inM, inBnotM int
	var sum, bestScore float64
	maxW := 0
	peers := o.peers()
	for _, m := range peers {
		if !m.counts(self) {
			continue
		}
		n++
		sum += float64(m.Window()) / m.srtt.Seconds()
		maxW = max(maxW, m.Window())
		bestScore = max(bestScore, oliaScore(m))
	}
	if n == 0 {
		return o.renoIncrease(acked)
	}
	selfInM, selfInB := false, false
	for _, m := range peers {
		if !m.counts(self) {
			continue
		}
		largest := m.Window() == maxW
		best := oliaScore(m) == bestScore
		if largest {
			inM++
		} else if best {
			inBnotM++
		}
		if m == self {
			selfInM, selfInB = largest, best
		}
	}
	var alpha float64
	switch {
	case inBnotM == 0:
	case selfInM:
		alpha = -1 / float64(n*inM)
	case selfInB:
		alpha = 1 / float64(n*inBnotM)
	}
	w := float64(o.cwnd)
	rtt := self.srtt.Seconds()
	return float64(acked) * float64(o.mss) * (w/(rtt*rtt)/(sum*sum) + alpha/w)
}

// noteLoss records a loss for l_r, once per loss event, and only if data was
// acknowledged since the last one, as the research kernel does.
func (o *olia) noteLoss() {
	o.undoLossAt = o.lossAt
	if o.acked != o.lossAt[1] {
		o.lossAt[0], o.lossAt[1] = o.lossAt[1], o.acked
	}
}

// OnCongestionEvent implements Controller.OnCongestionEvent: NewReno's
// halving, and a new inter-loss interval.
func (o *olia) OnCongestionEvent(now time.Time, l Loss) {
	if o.inRecovery {
		return
	}
	o.noteLoss()
	o.reno.OnCongestionEvent(now, l)
}

// OnRTO implements Controller.OnRTO: NewReno's collapse, and a new
// inter-loss interval unless the timeout repeats one already counted.
func (o *olia) OnRTO(now time.Time, l Loss) {
	if o.reducesOnRTO() {
		o.noteLoss()
	}
	o.reno.OnRTO(now, l)
}

// OnSpuriousCongestion implements Controller.OnSpuriousCongestion: the
// window and the inter-loss interval return to what they were.
func (o *olia) OnSpuriousCongestion(now time.Time) {
	if o.undo.valid {
		o.lossAt = o.undoLossAt
	}
	o.reno.OnSpuriousCongestion(now)
}
