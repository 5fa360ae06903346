package cc

import (
	"math"
	"time"
)

func init() {
	Register("cubic", func(p Params) (Controller, error) { return newCubic(p), nil })
}

// CUBIC constants (RFC 9438 section 4.1.1 and 5.1).
const (
	// cubicC is C, in segments per second cubed.
	cubicC = 0.4
	// cubicBeta is the multiplicative decrease factor.
	cubicBeta = 0.7
	// cubicAlpha is the Reno-friendly additive increase per RTT, in
	// segments, which gives CUBIC Reno's average window at small BDPs.
	cubicAlpha = 3 * (1 - cubicBeta) / (1 + cubicBeta)
	// cubicTargetCap bounds the target window to 1.5 times the window,
	// keeping the growth below slow start's.
	cubicTargetCap = 1.5
)

// cubic is CUBIC congestion control (RFC 9438) with HyStart++ (RFC 9406) for
// the first slow start.
//
// After a congestion event the window follows
//
//	W_cubic(t) = C*(t-K)^3 + W_max
//
// from the start of congestion avoidance (t = 0), where W_max is the window
// before the reduction and K = cbrt((W_max - cwnd_epoch)/C) is when the
// curve, starting from the reduced window cwnd_epoch, gets back to W_max:
// concave up to W_max, flat around it, convex beyond. Below the window Reno
// would have (W_est) it behaves as Reno. Windows in the formulas are in
// segments; the state here is in bytes and converted at the formulas.
type cubic struct {
	window
	hs hystart

	// wMax is W_max in bytes; 0 means "the window at the start of the next
	// congestion avoidance stage, with K = 0" (after a timeout or a slow
	// start that ended without loss, RFC 9438 sections 4.8 and 4.10).
	wMax float64
	// cwndPrior is the window before the last reduction, in bytes; the
	// Reno-friendly increase is 1 segment per RTT once W_est reaches it.
	cwndPrior float64
	// k is K in seconds.
	k float64
	// epoch is t_epoch, the start of the congestion avoidance stage; zero
	// until the first ACK of the stage.
	epoch      time.Time
	cwndEpoch  float64
	wEst       float64
	growthFrac float64 // growth in bytes not yet applied to cwnd

	// lastAck is when the last ACK of new data arrived; idle and
	// application-limited time since then is taken out of t.
	lastAck time.Time

	undo struct {
		valid                               bool
		cwnd, ssthresh                      int
		wMax, cwndPrior, k, cwndEpoch, wEst float64
		epoch                               time.Time
	}
}

func newCubic(p Params) *cubic {
	return &cubic{
		window: newWindow(p),
		hs:     newHystart(p.MSS, p.Pacing),
	}
}

// OnPacketSent implements Controller.OnPacketSent. When the connection
// restarts after being idle, the idle time is added to the epoch so that
// the window does not leap along the curve by the time nothing was sent
// (RFC 9438 section 5.8; Linux does the same on CA_EVENT_TX_START).
func (c *cubic) OnPacketSent(now time.Time, s Sent) {
	if s.PriorInFlight > 0 || c.epoch.IsZero() || c.lastAck.IsZero() {
		return
	}
	c.shiftEpoch(now, c.lastAck)
	c.lastAck = now
}

// OnAck implements Controller.OnAck.
func (c *cubic) OnAck(now time.Time, a Ack) {
	c.observe(a)
	if a.Acked <= 0 {
		return
	}
	c.rtoPending = false
	prevAck := c.lastAck
	c.lastAck = now
	if c.inRecovery {
		return
	}
	limited := c.cwndLimited(a)
	// No ACK can acknowledge more than a window's worth; a larger figure
	// from a confused caller must not overflow the counters below.
	acked := min(a.Acked, c.maxWindow)
	if c.InSlowStart() {
		if c.hs.off {
			if !limited {
				return
			}
			if acked = c.slowStart(acked, renoABCLimit*c.mss); acked == 0 {
				return
			}
		} else {
			v := c.hs.onAck(now, a)
			if v == hsAvoidance {
				c.endSlowStart()
				return
			}
			if limited {
				c.slowStart(c.hs.growth(acked, v), 0)
			}
			return
		}
	}
	if !limited {
		// "CUBIC does not increase cwnd when it is limited by the
		// application" and the time so spent does not count in t.
		if !c.epoch.IsZero() && !prevAck.IsZero() {
			c.shiftEpoch(now, prevAck)
		}
		return
	}
	c.avoid(now, acked)
}

// endSlowStart moves to congestion avoidance after HyStart++ finished CSS
// without a loss: "CUBIC sets cwnd_prior = cwnd and switches to congestion
// avoidance", with W_max the window at that point and K = 0 (RFC 9438
// section 4.10).
func (c *cubic) endSlowStart() {
	c.ssthresh = c.cwnd
	c.cwndPrior = float64(c.cwnd)
	c.wMax = 0
	c.epoch = time.Time{}
}

// avoid grows the window in congestion avoidance for acked bytes.
func (c *cubic) avoid(now time.Time, acked int) {
	cwnd := float64(c.cwnd)
	mss := float64(c.mss)
	if c.epoch.IsZero() {
		c.startEpoch(now)
	}
	t := now.Sub(c.epoch).Seconds()
	rtt := c.srtt
	if rtt <= 0 {
		rtt = c.minRTT
	}

	// Reno-friendly region (section 4.3): W_est grows by alpha segments per
	// window acknowledged, and by one once it has reached the window from
	// before the last reduction.
	alpha := cubicAlpha
	if c.wEst >= c.cwndPrior {
		alpha = 1
	}
	c.wEst += alpha * float64(acked) / cwnd * mss

	if c.wCubic(t) < c.wEst {
		// "cwnd SHOULD be set to W_est at each reception of a new ACK."
		c.cwnd = max(c.cwnd, min(int(c.wEst), c.maxWindow))
		return
	}
	// Concave and convex regions (sections 4.4, 4.5): aim at where the
	// curve will be one RTT from now, clamped to [cwnd, 1.5*cwnd], and close
	// (target - cwnd)/cwnd of the gap per segment acknowledged.
	target := min(max(c.wCubic(t+rtt.Seconds()), cwnd), cubicTargetCap*cwnd)
	c.growthFrac += (target - cwnd) / cwnd * float64(acked)
	if c.growthFrac >= 1 {
		whole := math.Floor(c.growthFrac)
		c.growthFrac -= whole
		c.cwnd = min(c.cwnd+int(whole), c.maxWindow)
	}
}

// startEpoch begins a congestion avoidance stage at the current window.
func (c *cubic) startEpoch(now time.Time) {
	c.epoch = now
	c.cwndEpoch = float64(c.cwnd)
	c.wEst = c.cwndEpoch
	c.growthFrac = 0
	if c.wMax <= c.cwndEpoch {
		c.wMax = c.cwndEpoch
		c.k = 0
		return
	}
	c.k = cubicK(c.wMax, c.cwndEpoch, float64(c.mss))
}

// cubicK is K = cbrt((W_max - cwnd_epoch)/C) (RFC 9438 figure 2), windows
// in bytes, K in seconds.
func cubicK(wMax, cwndEpoch, mss float64) float64 {
	return math.Cbrt((wMax - cwndEpoch) / mss / cubicC)
}

// wCubic is W_cubic(t) = C*(t-K)^3 + W_max (RFC 9438 figure 1) in bytes, t in
// seconds since the epoch.
func (c *cubic) wCubic(t float64) float64 {
	d := t - c.k
	return cubicC*d*d*d*float64(c.mss) + c.wMax
}

// shiftEpoch moves the epoch forward by the time since from, taking that
// time out of t, but never past now.
func (c *cubic) shiftEpoch(now, from time.Time) {
	if d := now.Sub(from); d > 0 {
		c.epoch = c.epoch.Add(d)
		if c.epoch.After(now) {
			c.epoch = now
		}
	}
}

// OnCongestionEvent implements Controller.OnCongestionEvent (RFC 9438
// sections 4.6 and 4.7): ssthresh and the window drop to beta times the
// window, and W_max becomes the window before the reduction, or less with
// fast convergence: a flow whose window did not get back to the last W_max
// releases bandwidth to newer flows.
//
// The RFC bases ssthresh on flight_size and permits the window instead for
// an implementation that keeps the window from growing while the flight is
// smaller (OnAck grows it only when cwndLimited). The window it is, as on
// Linux and Windows: a loss found at the tail of an application-limited
// burst, when little is left in flight, would otherwise cut a window the
// burst had just validated to a fraction of it (a fast path carrying 64 KiB
// messages dropped from 74 KB to 20 KB on its first loss and took seconds to
// grow back, sending the messages' tails over the slow path meanwhile).
func (c *cubic) OnCongestionEvent(now time.Time, l Loss) {
	if c.inRecovery {
		return
	}
	c.saveUndo()
	c.hs.stop()
	c.reduce()
	c.cwnd = c.ssthresh
	c.inRecovery = true
}

// reduce sets W_max, cwnd_prior and ssthresh for a loss.
func (c *cubic) reduce() {
	cwnd := float64(c.cwnd)
	if cwnd < c.wMax {
		c.wMax = cwnd * (1 + cubicBeta) / 2
	} else {
		c.wMax = cwnd
	}
	c.cwndPrior = cwnd
	c.ssthresh = min(max(int(cwnd*cubicBeta), c.minWindow()), c.maxWindow)
	c.epoch = time.Time{}
	c.growthFrac = 0
}

// OnRecoveryExit implements Controller.OnRecoveryExit. The stage's epoch
// starts with the next ACK.
func (c *cubic) OnRecoveryExit(now time.Time) {
	if !c.inRecovery {
		return
	}
	c.inRecovery = false
	c.cwnd = c.ssthresh
}

// OnRTO implements Controller.OnRTO: as Reno the window collapses to one
// segment; ssthresh is set as for a congestion event, unless this loss was
// already reduced for; and the next congestion avoidance stage starts with
// K = 0 and W_max at its starting window (RFC 9438 section 4.8).
func (c *cubic) OnRTO(now time.Time, l Loss) {
	if !c.rtoPending && !c.inRecovery {
		c.saveUndo()
		c.reduce()
	}
	c.hs.stop()
	c.wMax = 0
	c.epoch = time.Time{}
	c.cwnd = c.mss
	c.inRecovery = false
	c.rtoPending = true
}

// OnSpuriousCongestion implements Controller.OnSpuriousCongestion: the state
// saved at the last reduction comes back (RFC 9438 section 4.9), the window
// at least as large as before it, and recovery ends. If that restores slow
// start without a threshold, HyStart++ is armed again.
func (c *cubic) OnSpuriousCongestion(now time.Time) {
	if !c.undo.valid {
		return
	}
	u := &c.undo
	c.cwnd = max(c.cwnd, u.cwnd)
	c.ssthresh = u.ssthresh
	c.wMax, c.cwndPrior, c.k, c.cwndEpoch, c.wEst = u.wMax, u.cwndPrior, u.k, u.cwndEpoch, u.wEst
	c.epoch = u.epoch
	c.growthFrac = 0
	u.valid = false
	c.inRecovery = false
	c.rtoPending = false
	if c.ssthresh == math.MaxInt {
		// The undone event was the first: slow start resumes with no
		// threshold, so the slow-start exit must watch again or the window
		// grows unchecked until the next loss (Linux's HyStart likewise
		// keeps watching while cwnd < ssthresh).
		c.hs = newHystart(c.mss, c.pacing)
	}
}

func (c *cubic) saveUndo() {
	u := &c.undo
	u.valid = true
	u.cwnd, u.ssthresh = c.cwnd, c.ssthresh
	u.wMax, u.cwndPrior, u.k, u.cwndEpoch, u.wEst = c.wMax, c.cwndPrior, c.k, c.cwndEpoch, c.wEst
	u.epoch = c.epoch
}

// SetMSS implements Controller.SetMSS. K is recomputed, since the curve's C
// is in segments.
func (c *cubic) SetMSS(mss int) {
	c.window.SetMSS(mss)
	if c.mss != mss {
		return
	}
	c.hs.mss = mss
	if c.hs.limit > 0 {
		c.hs.limit = hsUnpacedLSegment * mss
	}
	if !c.epoch.IsZero() && c.wMax > c.cwndEpoch {
		c.k = cubicK(c.wMax, c.cwndEpoch, float64(mss))
	}
}
