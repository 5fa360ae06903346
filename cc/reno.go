package cc

import "time"

func init() {
	Register("reno", func(p Params) (Controller, error) { return newReno(p), nil })
}

// renoABCLimit is L of appropriate byte counting (RFC 3465): in slow start
// one ACK grows the window by at most two segments, which bounds the burst a
// stretch ACK can release.
const renoABCLimit = 2

// reno is NewReno congestion control (RFC 5681, RFC 6582): slow start with
// appropriate byte counting, congestion avoidance of one segment per window
// acknowledged, halving of the flight size on a congestion event.
//
// Loss recovery itself (which segments to retransmit, NewReno partial ACKs,
// SACK, PRR) is the engine's; see the package documentation.
type reno struct {
	window

	// bytesAcked counts acknowledged bytes in congestion avoidance; each
	// window's worth grows the window by one segment (RFC 3465 section 2.1).
	bytesAcked int

	// undo is the state before the last reduction, for
	// OnSpuriousCongestion.
	undo struct {
		valid          bool
		cwnd, ssthresh int
	}
}

func newReno(p Params) *reno {
	return &reno{window: newWindow(p)}
}

// OnPacketSent implements Controller.OnPacketSent. NewReno needs nothing from
// it.
func (r *reno) OnPacketSent(now time.Time, s Sent) {}

// OnAck implements Controller.OnAck.
func (r *reno) OnAck(now time.Time, a Ack) {
	acked := r.avoidanceBytes(a)
	if acked == 0 {
		return
	}
	// "When bytes_acked becomes greater than or equal to the value of the
	// congestion window, bytes_acked is reduced by the value of cwnd. Next,
	// cwnd is incremented by a full-sized segment" (RFC 3465). A stretch ACK
	// may cover several windows; the loop ends at the cap at the latest.
	r.bytesAcked += acked
	for r.bytesAcked >= r.cwnd && r.cwnd < r.maxWindow {
		r.bytesAcked -= r.cwnd
		r.cwnd = min(r.cwnd+r.mss, r.maxWindow)
	}
	if r.cwnd >= r.maxWindow {
		r.bytesAcked = 0
	}
}

// OnCongestionEvent implements Controller.OnCongestionEvent: "ssthresh =
// max (FlightSize / 2, 2*SMSS)" (RFC 5681 equation 4) and the window drops to
// ssthresh at once; the engine's PRR or pipe rule spreads the reduction.
func (r *reno) OnCongestionEvent(now time.Time, l Loss) {
	if r.inRecovery {
		return
	}
	r.enterRecovery(r.halved(l.FlightSize))
}

// enterRecovery reduces the window to ssthresh at a congestion event.
func (r *reno) enterRecovery(ssthresh int) {
	r.saveUndo()
	r.ssthresh = ssthresh
	r.cwnd = r.ssthresh
	r.bytesAcked = 0
	r.inRecovery = true
}

// OnRecoveryExit implements Controller.OnRecoveryExit: the window is
// ssthresh (RFC 6582 section 3.2 step 5, second option).
func (r *reno) OnRecoveryExit(now time.Time) {
	if !r.inRecovery {
		return
	}
	r.inRecovery = false
	r.cwnd = r.ssthresh
	r.bytesAcked = 0
}

// OnRTO implements Controller.OnRTO: the window collapses to the loss window
// of one segment, and ssthresh is halved from the flight size unless a
// reduction for this loss already happened (a repeated timeout, or a timeout
// during fast recovery, whose event already set ssthresh).
func (r *reno) OnRTO(now time.Time, l Loss) {
	if r.reducesOnRTO() {
		r.saveUndo()
		r.ssthresh = r.halved(l.FlightSize)
	}
	r.collapse()
}

// reducesOnRTO reports whether a timeout now is a new loss that reduces
// ssthresh, rather than a repeated timeout or one during fast recovery,
// whose reduction already happened.
func (r *reno) reducesOnRTO() bool { return !r.rtoPending && !r.inRecovery }

// collapse takes the window to the loss window of one segment after a
// timeout.
func (r *reno) collapse() {
	r.cwnd = r.mss
	r.bytesAcked = 0
	r.inRecovery = false
	r.rtoPending = true
}

// OnSpuriousCongestion implements Controller.OnSpuriousCongestion: the window
// and ssthresh return to at least what they were before the last reduction,
// as Linux's undo does, and recovery ends. Without a saved reduction it does
// nothing.
func (r *reno) OnSpuriousCongestion(now time.Time) {
	if !r.undo.valid {
		return
	}
	r.cwnd = max(r.cwnd, r.undo.cwnd)
	r.ssthresh = max(r.ssthresh, r.undo.ssthresh)
	r.undo.valid = false
	r.inRecovery = false
	r.rtoPending = false
	r.bytesAcked = 0
}

// avoidanceBytes does with an ACK what NewReno and the coupled algorithms
// built on it do before congestion avoidance: record the RTT figures, clear
// a pending timeout, refuse growth in recovery or when the window was not in
// use, and grow the window in slow start. It returns the acknowledged bytes
// left for congestion avoidance, 0 when the window must not grow further.
func (r *reno) avoidanceBytes(a Ack) int {
	r.observe(a)
	if a.Acked <= 0 {
		return 0
	}
	r.rtoPending = false
	if r.inRecovery || !r.cwndLimited(a) {
		return 0
	}
	// No ACK can acknowledge more than a window's worth; a larger figure
	// from a confused caller must not overflow the counters that follow.
	acked := min(a.Acked, r.maxWindow)
	if r.InSlowStart() {
		acked = r.slowStart(acked, renoABCLimit*r.mss)
	}
	return acked
}

func (r *reno) saveUndo() {
	r.undo.valid = true
	r.undo.cwnd = r.cwnd
	r.undo.ssthresh = r.ssthresh
}

// halved is RFC 5681's max(FlightSize/2, 2*SMSS), with the configured floor.
func (r *reno) halved(flightSize int) int {
	return min(max(flightSize/2, r.minWindow()), r.maxWindow)
}
