package cc

import "time"

func init() {
	Register("balia", func(p Params) (Controller, error) { return newBALIA(p), nil })
}

// baliaMaxDecrease caps the factor alpha_r in BALIA's decrease: a path whose
// rate is far below the connection's best gives up at most three quarters
// of its window on a loss.
const baliaMaxDecrease = 1.5

// balia is the Balanced Linked Adaptation algorithm (Peng, Walid, Hwang,
// Low: "Multipath TCP: Analysis, Design, and Implementation", IEEE/ACM ToN
// 2016). It is designed from a model of all three algorithms so as to sit
// between LIA, which is responsive but not friendly enough to TCP, and OLIA,
// which is friendly but can be slow to respond when paths change.
//
// With x_r = w_r / rtt_r the rate of path r and alpha_r = max_k x_k / x_r
// (at least 1; large on a path much slower than the best), on each ACK on
// path r the window grows, in packets, by
//
//	x_r / (rtt_r * (sum_k x_k)^2) * (1 + alpha_r)/2 * (4 + alpha_r)/5
//
// and on a congestion event it drops by
//
//	w_r/2 * min(alpha_r, 1.5)
//
// so a slow path backs off harder than a fast one, which moves traffic to
// the better paths. With one path alpha_r = 1 and both are NewReno's. Slow
// start, recovery and timeouts are NewReno's on each subflow; a timeout
// lowers ssthresh by the same rule as a congestion event.
type balia struct {
	coupled
}

func newBALIA(p Params) *balia {
	b := &balia{coupled: coupled{reno: *newReno(p)}}
	b.member = joinGroup(p.Group, b)
	return b
}

// OnAck implements Controller.OnAck.
func (b *balia) OnAck(now time.Time, a Ack) {
	b.member.Observe(a)
	acked := b.avoidanceBytes(a)
	if acked == 0 {
		return
	}
	b.grow(b.increase(acked))
}

// rates returns this path's rate x_r, the largest rate and the sum of the
// rates over the group, in bytes per second; x_r is 0 when BALIA must fall
// back to NewReno (no RTT yet, or no longer in a group).
func (b *balia) rates() (x, maxX, sum float64) {
	for _, m := range b.peers() {
		if !m.counts(b.member) {
			continue
		}
		r := float64(m.Window()) / m.srtt.Seconds()
		sum += r
		maxX = max(maxX, r)
		if m == b.member {
			x = r
		}
	}
	return x, maxX, sum
}

// increase returns BALIA's increase in bytes for acked bytes.
func (b *balia) increase(acked int) float64 {
	x, maxX, sum := b.rates()
	if x == 0 {
		return b.renoIncrease(acked)
	}
	alpha := maxX / x
	rtt := b.member.srtt.Seconds()
	return float64(acked) * float64(b.mss) * x / (rtt * sum * sum) * (1 + alpha) / 2 * (4 + alpha) / 5
}

// reduced returns the ssthresh after a loss with the given flight size: the
// flight less half of it times min(alpha_r, 1.5), within the window bounds.
// As for NewReno (RFC 5681) the flight size, not the window, is reduced.
func (b *balia) reduced(flightSize int) int {
	factor := 1.0
	if x, maxX, _ := b.rates(); x > 0 {
		factor = min(maxX/x, baliaMaxDecrease)
	}
	// A flight beyond twice the cap reduces to the cap either way, and
	// bounding it keeps the arithmetic exact.
	flight := float64(min(max(flightSize, 0), 2*b.maxWindow))
	return min(max(int(flight-flight/2*factor), b.minWindow()), b.maxWindow)
}

// OnCongestionEvent implements Controller.OnCongestionEvent.
func (b *balia) OnCongestionEvent(now time.Time, l Loss) {
	if b.inRecovery {
		return
	}
	b.enterRecovery(b.reduced(l.FlightSize))
}

// OnRTO implements Controller.OnRTO.
func (b *balia) OnRTO(now time.Time, l Loss) {
	if b.reducesOnRTO() {
		b.saveUndo()
		b.ssthresh = b.reduced(l.FlightSize)
	}
	b.collapse()
}
