package cc

import (
	"math"
	"testing"
	"time"
)

// The RFC 9438 formulas, written out again here from the RFC, in segments
// and seconds, to check the controller against.
func rfcK(wMax, cwndEpoch float64) float64 { return math.Pow((wMax-cwndEpoch)/0.4, 1.0/3) }

func rfcWCubic(t, k, wMax float64) float64 { return 0.4*math.Pow(t-k, 3) + wMax }

// cubicAfterLoss returns a CUBIC controller that just left recovery from a
// loss at a window of w segments, with HyStart++ out of the way.
func cubicAfterLoss(t *testing.T, w int) *cubic {
	t.Helper()
	c := mustNew(t, "cubic", Params{MSS: tmss, InitialWindow: w * tmss}).(*cubic)
	c.OnCongestionEvent(epoch0, Loss{FlightSize: w * tmss, Lost: tmss})
	c.OnRecoveryExit(epoch0)
	return c
}

func TestCubicBetaReduction(t *testing.T) {
	c := mustNew(t, "cubic", Params{MSS: tmss, InitialWindow: 100 * tmss})
	c.OnCongestionEvent(epoch0, Loss{FlightSize: 100 * tmss, Lost: tmss})
	if c.Window() != 70*tmss || c.SlowStartThreshold() != 70*tmss {
		t.Errorf("window %v, ssthresh %v segments; want both 70 (beta 0.7)", segs(c.Window()), segs(c.SlowStartThreshold()))
	}
	// Only the first event of a window counts.
	c.OnCongestionEvent(epoch0, Loss{FlightSize: 70 * tmss, Lost: tmss})
	if c.Window() != 70*tmss {
		t.Errorf("second event in recovery reduced the window to %v segments", segs(c.Window()))
	}
}

func TestCubicKAndCurve(t *testing.T) {
	const (
		wMax = 1000 // segments
		rtt  = 100 * time.Millisecond
	)
	c := cubicAfterLoss(t, wMax)
	wantK := rfcK(wMax, 0.7*wMax)
	now := ackRound(c, epoch0, rtt) // the first ACK starts the epoch
	if math.Abs(c.k-wantK) > 1e-9 {
		t.Fatalf("K = %v s, want %v s", c.k, wantK)
	}
	// cwnd aims at W_cubic(t+RTT) on each ACK, so at the end of a round it
	// is within a segment of the curve at that time. (Aiming at W_cubic(t)
	// instead would leave it a round behind, ten segments early on.)
	var worst float64
	for now.Sub(epoch0) < 2*time.Duration(wantK*float64(time.Second)) {
		now = ackRound(c, now, rtt)
		tt := now.Sub(epoch0).Seconds()
		want := rfcWCubic(tt, wantK, wMax)
		got := segs(c.Window())
		worst = max(worst, math.Abs(got-want))
		if math.Abs(got-want) > 1 {
			t.Fatalf("t=%.1fs: window %.1f segments, W_cubic(t) = %.1f", tt, got, want)
		}
	}
	t.Logf("largest distance from W_cubic(t) over 2K: %.2f segments", worst)
}

func TestCubicConcaveThenConvex(t *testing.T) {
	const (
		wMax = 1000
		rtt  = 100 * time.Millisecond
	)
	c := cubicAfterLoss(t, wMax)
	k := rfcK(wMax, 0.7*wMax)
	now := epoch0
	var before, after []float64 // window growth per second before and after K
	prev := segs(c.Window())
	for sec := 1; sec <= 18; sec++ {
		for range 10 {
			now = ackRound(c, now, rtt)
		}
		w := segs(c.Window())
		// Seconds wholly before or after K; the one containing it is left out.
		switch {
		case float64(sec) <= k:
			before = append(before, w-prev)
		case float64(sec-1) >= k:
			after = append(after, w-prev)
		}
		if float64(sec) > k && float64(sec-1) <= k && math.Abs(w-wMax) > 0.01*wMax {
			t.Errorf("around K (t=%ds) window %.1f segments, want about W_max %d", sec, w, wMax)
		}
		prev = w
	}
	for i := 1; i < len(before); i++ {
		if before[i] >= before[i-1] {
			t.Errorf("concave region: growth %v per second does not decrease: %v", before[i], before)
			break
		}
	}
	for i := 1; i < len(after); i++ {
		if after[i] <= after[i-1] {
			t.Errorf("convex region: growth %v per second does not increase: %v", after[i], after)
			break
		}
	}
	if len(before) < 5 || len(after) < 5 {
		t.Errorf("too few samples: %d before K, %d after", len(before), len(after))
	}
}

func TestCubicRenoFriendlyAtSmallBDP(t *testing.T) {
	const (
		wMax   = 20
		rtt    = 10 * time.Millisecond
		rounds = 50
	)
	c := cubicAfterLoss(t, wMax)
	now := epoch0
	for range rounds {
		now = ackRound(c, now, rtt)
	}
	// W_est starts at 14 segments, grows by alpha = 3(1-0.7)/(1+0.7)
	// per RTT up to cwnd_prior = 20, then by one per RTT.
	alpha := 3 * (1 - 0.7) / (1 + 0.7)
	toPrior := (wMax - 0.7*wMax) / alpha
	wantEst := wMax + (rounds - toPrior)
	tt := now.Sub(epoch0).Seconds()
	cub := rfcWCubic(tt, rfcK(wMax, 0.7*wMax), wMax)
	got := segs(c.Window())
	if math.Abs(got-wantEst) > 3 {
		t.Errorf("after %d rounds window %.1f segments, want W_est about %.1f", rounds, got, wantEst)
	}
	if got < cub+20 {
		t.Errorf("window %.1f segments does not exceed W_cubic(t) = %.1f: not in the Reno-friendly region", got, cub)
	}
}

func TestCubicFastConvergence(t *testing.T) {
	c := mustNew(t, "cubic", Params{MSS: tmss, InitialWindow: 100 * tmss}).(*cubic)
	c.OnCongestionEvent(epoch0, Loss{FlightSize: 100 * tmss})
	c.OnRecoveryExit(epoch0)
	if c.wMax != 100*tmss {
		t.Fatalf("W_max %v segments, want 100", segs(int(c.wMax)))
	}
	now := epoch0
	for c.Window() < 80*tmss {
		now = ackRound(c, now, 100*time.Millisecond)
	}
	w := float64(c.Window())
	// A loss below the previous W_max: this flow releases bandwidth.
	c.OnCongestionEvent(now, Loss{FlightSize: c.Window()})
	if want := w * (1 + 0.7) / 2; math.Abs(c.wMax-want) > 1 {
		t.Errorf("W_max %.0f, want %.0f = cwnd*(1+beta)/2", c.wMax, want)
	}
	if want := int(w * 0.7); c.Window() != want {
		t.Errorf("window %d, want %d", c.Window(), want)
	}
	// A loss above W_max sets W_max to the window.
	c.OnRecoveryExit(now)
	c.wMax = 10 * tmss
	w = float64(c.Window())
	c.OnCongestionEvent(now, Loss{FlightSize: c.Window()})
	if c.wMax != w {
		t.Errorf("W_max %.0f, want the window %.0f", c.wMax, w)
	}
}

func TestCubicApplicationLimitedDoesNotGrowOrAge(t *testing.T) {
	const rtt = 100 * time.Millisecond
	// Two flows from the same loss; one is application-limited for 5 s
	// in the middle. Afterwards it must continue as if the pause had not
	// happened: the window did not grow during it, and the pause does not
	// count in t.
	steady := cubicAfterLoss(t, 500)
	paused := cubicAfterLoss(t, 500)
	now := epoch0
	for range 10 {
		ackRound(steady, now, rtt)
		now = ackRound(paused, now, rtt)
	}
	before := paused.Window()
	pauseEnd := now.Add(5 * time.Second)
	for ; now.Before(pauseEnd); now = now.Add(rtt / 10) {
		paused.OnAck(now, Ack{Acked: tmss, PriorInFlight: paused.Window() / 4, RTT: rtt, SRTT: rtt, MinRTT: rtt})
	}
	if paused.Window() != before {
		t.Fatalf("window went from %d to %d while application-limited", before, paused.Window())
	}
	sNow, pNow := epoch0.Add(10*rtt), now
	for range 30 {
		sNow = ackRound(steady, sNow, rtt)
		pNow = ackRound(paused, pNow, rtt)
	}
	if d := math.Abs(segs(steady.Window()) - segs(paused.Window())); d > 1 {
		t.Errorf("window after the pause %v segments, %v without it", segs(paused.Window()), segs(steady.Window()))
	}
}

func TestCubicIdleRestartShiftsEpoch(t *testing.T) {
	const rtt = 100 * time.Millisecond
	c := cubicAfterLoss(t, 500)
	now := epoch0
	for range 10 {
		now = ackRound(c, now, rtt)
	}
	epoch, lastAck := c.epoch, c.lastAck
	// Everything acknowledged; the application sends again 3 s later.
	restart := now.Add(3 * time.Second)
	c.OnPacketSent(restart, Sent{Bytes: tmss, PriorInFlight: 0})
	idle := restart.Sub(lastAck)
	if got := c.epoch.Sub(epoch); got != idle {
		t.Errorf("epoch moved by %v after %v idle since the last ACK", got, idle)
	}
	// Sending into a non-empty flight does not move it.
	c.OnPacketSent(restart.Add(time.Second), Sent{Bytes: tmss, PriorInFlight: tmss})
	if got := c.epoch.Sub(epoch); got != idle {
		t.Errorf("epoch moved by %v, want %v", got, idle)
	}
}

func TestCubicSpuriousUndo(t *testing.T) {
	const rtt = 100 * time.Millisecond
	for _, kind := range []string{"congestion event", "RTO"} {
		t.Run(kind, func(t *testing.T) {
			c := cubicAfterLoss(t, 400)
			now := epoch0
			for range 20 {
				now = ackRound(c, now, rtt)
			}
			before := *c
			if kind == "RTO" {
				c.OnRTO(now, Loss{FlightSize: c.Window(), Lost: c.Window()})
			} else {
				c.OnCongestionEvent(now, Loss{FlightSize: c.Window(), Lost: tmss})
			}
			if c.Window() >= before.Window() {
				t.Fatal("no reduction")
			}
			c.OnSpuriousCongestion(now)
			if c.cwnd != before.cwnd || c.ssthresh != before.ssthresh || c.wMax != before.wMax ||
				c.k != before.k || !c.epoch.Equal(before.epoch) || c.wEst != before.wEst || c.cwndPrior != before.cwndPrior {
				t.Errorf("after undo: cwnd %d ssthresh %d W_max %v K %v epoch %v W_est %v cwnd_prior %v;\nbefore:      cwnd %d ssthresh %d W_max %v K %v epoch %v W_est %v cwnd_prior %v",
					c.cwnd, c.ssthresh, c.wMax, c.k, c.epoch, c.wEst, c.cwndPrior,
					before.cwnd, before.ssthresh, before.wMax, before.k, before.epoch, before.wEst, before.cwndPrior)
			}
			if c.inRecovery || c.rtoPending {
				t.Error("still in recovery after undo")
			}
		})
	}
}

func TestCubicRTO(t *testing.T) {
	const rtt = 100 * time.Millisecond
	c := mustNew(t, "cubic", Params{MSS: tmss, InitialWindow: 100 * tmss}).(*cubic)
	c.OnRTO(epoch0, Loss{FlightSize: 100 * tmss, Lost: 100 * tmss})
	if c.Window() != tmss || c.SlowStartThreshold() != 70*tmss {
		t.Fatalf("after RTO: window %d, ssthresh %d; want 1 MSS and 70 MSS", c.Window(), c.SlowStartThreshold())
	}
	c.OnRTO(epoch0, Loss{FlightSize: tmss, Lost: tmss})
	if c.SlowStartThreshold() != 70*tmss {
		t.Fatalf("repeated RTO moved ssthresh to %d", c.SlowStartThreshold())
	}
	now := epoch0
	for c.InSlowStart() {
		now = ackRound(c, now, rtt)
	}
	ackRound(c, now, rtt)
	// RFC 9438 section 4.8: after a timeout, K = 0 and W_max is the window
	// at the start of congestion avoidance.
	if c.k != 0 || c.wMax != c.cwndEpoch || c.cwndEpoch != 70*tmss {
		t.Errorf("first stage after RTO: K %v, W_max %v, cwnd_epoch %v; want 0 and both 70 MSS", c.k, c.wMax, c.cwndEpoch)
	}
}

func TestCubicSetMSSRecomputesK(t *testing.T) {
	c := cubicAfterLoss(t, 1000)
	ackRound(c, epoch0, 100*time.Millisecond)
	c.SetMSS(2 * tmss)
	// The same window is half as many segments.
	want := rfcK(500, 0.7*1000/2)
	if math.Abs(c.k-want) > 1e-9 {
		t.Errorf("K %v after doubling the MSS, want %v", c.k, want)
	}
}

// TestCubicUndoOfFirstEventRearmsHystart: undoing the first congestion
// event restores an unlimited ssthresh; HyStart++ must then watch the RTT
// again, or slow start runs unchecked until the next loss.
func TestCubicUndoOfFirstEventRearmsHystart(t *testing.T) {
	const rtt = 40 * time.Millisecond
	c := mustNew(t, "cubic", Params{MSS: tmss}).(*cubic)
	now := epoch0
	for range 3 {
		now = ackBurst(c, now, rtt)
	}
	c.OnCongestionEvent(now, Loss{FlightSize: c.Window(), Lost: tmss})
	c.OnSpuriousCongestion(now)
	if c.SlowStartThreshold() != math.MaxInt || !c.InSlowStart() {
		t.Fatalf("after undo: ssthresh %d, slow start %v", c.SlowStartThreshold(), c.InSlowStart())
	}
	// The RTT now rises well past HyStart++'s threshold: slow start must end.
	for i := 0; i < 30 && c.InSlowStart(); i++ {
		now = ackBurst(c, now, rtt+time.Duration(i+1)*10*time.Millisecond)
	}
	if c.InSlowStart() {
		t.Fatalf("still in slow start after the RTT grew by 300 ms; window %d", c.Window())
	}
}
