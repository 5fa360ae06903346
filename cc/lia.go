package cc

import "time"

func init() {
	Register("lia", func(p Params) (Controller, error) { return newLIA(p), nil })
}

// lia is the Linked Increases Algorithm of RFC 6356, MPTCP's standard
// coupled congestion control. Only the increase in congestion avoidance is
// coupled; slow start, the response to loss, recovery and timeouts are
// NewReno's on each subflow ("the algorithm ... only applies to the increase
// phase of the congestion avoidance state", RFC 6356 section 3).
//
// For each ACK on subflow i the window grows by
//
//	min(alpha * bytes_acked * MSS_i / cwnd_total, bytes_acked * MSS_i / cwnd_i)
//
// with cwnd_total the sum of the subflows' windows and
//
//	alpha = cwnd_total * max_i(cwnd_i / rtt_i^2) / (sum_i cwnd_i / rtt_i)^2
//
// which sets the connection's aggregate increase so that it takes what one
// TCP flow would on the best of its paths (goals 1 and 2), while the min
// keeps any subflow from growing faster than a TCP flow on its own path.
// alpha is recomputed on every ACK from the members' current windows and
// smoothed RTTs; a connection has a handful of subflows, and recomputing
// avoids the staleness of the kernel's cached alpha.
type lia struct {
	coupled
}

func newLIA(p Params) *lia {
	l := &lia{coupled: coupled{reno: *newReno(p)}}
	l.member = joinGroup(p.Group, l)
	return l
}

// OnAck implements Controller.OnAck.
func (l *lia) OnAck(now time.Time, a Ack) {
	l.member.Observe(a)
	acked := l.avoidanceBytes(a)
	if acked == 0 {
		return
	}
	l.grow(l.increase(acked))
}

// increase returns RFC 6356's increase in bytes for acked bytes.
func (l *lia) increase(acked int) float64 {
	reno := l.renoIncrease(acked)
	var total, best, sum float64
	for _, m := range l.peers() {
		if !m.counts(l.member) {
			continue
		}
		w := float64(m.Window())
		rtt := m.srtt.Seconds()
		total += w
		best = max(best, w/(rtt*rtt))
		sum += w / rtt
	}
	if sum == 0 {
		return reno
	}
	alpha := total * best / (sum * sum)
	return min(alpha*float64(acked)*float64(l.mss)/total, reno)
}
