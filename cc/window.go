package cc

import (
	"math"
	"time"
)

// window is the state and arithmetic every loss-based controller shares: the
// window itself, its bounds, recovery and timeout bookkeeping and the RTT
// figures last seen. Controllers embed it, which gives them the read-only
// half of the Controller interface and SetMSS.
type window struct {
	mss       int
	minParam  int // Params.MinWindow; 0 means two segments of the current MSS
	maxWindow int
	pacing    bool

	cwnd     int
	ssthresh int
	initial  int // Params.InitialWindow, the restart window after idle

	// inRecovery is set between a congestion event and its recovery exit;
	// the window does not grow and no second reduction happens meanwhile.
	inRecovery bool
	// rtoPending is set from a timeout until an ACK acknowledges new data;
	// a repeated timeout in between does not reduce ssthresh again
	// (RFC 5681 section 3.1, equation 4 applies to the first timeout only).
	rtoPending bool

	srtt   time.Duration
	minRTT time.Duration
}

func newWindow(p Params) window {
	return window{
		mss:       p.MSS,
		minParam:  p.MinWindow,
		maxWindow: p.MaxWindow,
		pacing:    p.Pacing,
		cwnd:      p.InitialWindow,
		initial:   p.InitialWindow,
		ssthresh:  math.MaxInt,
	}
}

// minWindow is the floor a congestion event can take the window to.
func (w *window) minWindow() int {
	if w.minParam > 0 {
		return w.minParam
	}
	return min(2*w.mss, w.maxWindow)
}

// Window implements Controller.Window.
func (w *window) Window() int { return w.cwnd }

// SlowStartThreshold implements Controller.SlowStartThreshold.
func (w *window) SlowStartThreshold() int { return w.ssthresh }

// InSlowStart implements Controller.InSlowStart.
func (w *window) InSlowStart() bool { return w.cwnd < w.ssthresh }

// Pacing gains, as Linux's tcp_pacing_ss_ratio and tcp_pacing_ca_ratio: in
// slow start the window doubles each round, so the sender must be allowed to
// send at twice the current rate; in congestion avoidance a little headroom
// lets the window be filled despite ACK jitter.
const (
	pacingGainSlowStart = 2.0
	pacingGainAvoidance = 1.2
)

// PacingRate implements Controller.PacingRate: the window spread over one
// smoothed RTT, times a gain. It is 0 when the engine does not pace or before
// the first RTT sample.
func (w *window) PacingRate() float64 {
	if !w.pacing || w.srtt <= 0 {
		return 0
	}
	gain := pacingGainAvoidance
	if w.cwnd < w.ssthresh/2 {
		gain = pacingGainSlowStart
	}
	return gain * float64(w.cwnd) / w.srtt.Seconds()
}

// SetMSS implements Controller.SetMSS. The window stays in bytes, so the
// sending rate is unchanged by an MSS change; it is only raised to the floors
// the new MSS implies. A size outside 1..65535 is ignored.
func (w *window) SetMSS(mss int) {
	if mss <= 0 || mss > maxMSS {
		return
	}
	w.mss = mss
	if w.maxWindow < mss {
		w.maxWindow = mss
	}
	floor := mss
	if !w.rtoPending {
		floor = w.minWindow()
	}
	w.cwnd = min(max(w.cwnd, floor), w.maxWindow)
	if w.ssthresh != math.MaxInt {
		w.ssthresh = max(w.ssthresh, w.minWindow())
	}
}

// observe records the RTT figures of an ACK.
func (w *window) observe(a Ack) {
	if a.SRTT > 0 {
		w.srtt = a.SRTT
	}
	if a.MinRTT > 0 {
		w.minRTT = a.MinRTT
	}
}

// maxBurst is how many segments of unused window still count as using the
// window: an ACK-clocked sender is always a little below it.
const maxBurst = 3

// cwndLimited reports whether the sender was using its window when the ACK
// arrived, so that growing the window is justified (RFC 7661: a window that
// is not used is not validated by the ACKs it gets). In slow start the window
// doubles per round, so using half of it already counts.
func (w *window) cwndLimited(a Ack) bool {
	if a.AppLimited {
		return false
	}
	if a.PriorInFlight >= w.cwnd {
		return true
	}
	if w.InSlowStart() && a.PriorInFlight > w.cwnd/2 {
		return true
	}
	return w.cwnd-a.PriorInFlight <= maxBurst*w.mss
}

// slowStart grows the window by the acknowledged bytes, at most limit of
// them (appropriate byte counting, RFC 3465; limit 0 means no limit), never
// beyond ssthresh. It returns the acknowledged bytes left over once ssthresh
// is reached, which the caller applies to congestion avoidance.
func (w *window) slowStart(acked, limit int) int {
	inc := acked
	if limit > 0 && inc > limit {
		inc = limit
	}
	room := w.ssthresh - w.cwnd
	if inc < room {
		w.cwnd = min(w.cwnd+inc, w.maxWindow)
		return 0
	}
	w.cwnd = min(w.ssthresh, w.maxWindow)
	return acked - room
}

// RestartAfterIdle implements IdleRestarter: the window halves once per rto
// in idle, but not below the restart window (the initial window, or the
// current window if smaller); ssthresh rises to at least three quarters of
// the old window, as Linux's tcp_cwnd_restart and tcp_current_ssthresh do.
func (w *window) RestartAfterIdle(idle, rto time.Duration) bool {
	restart := min(w.initial, w.cwnd)
	if w.cwnd <= restart || rto <= 0 {
		return false
	}
	w.ssthresh = max(w.ssthresh, w.cwnd/2+w.cwnd/4)
	cwnd := w.cwnd
	for idle -= rto; idle > 0 && cwnd > restart; idle -= rto {
		cwnd /= 2
	}
	w.cwnd = max(cwnd, restart)
	return true
}
