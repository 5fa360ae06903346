package cc

import (
	"math"
	"testing"
	"time"
)

// hsTrace records HyStart++ transitions while a model runs.
type hsTrace struct {
	cssAt, caAt     time.Duration // -1 if never
	cssCwnd, caCwnd int
	caSsthresh      int
	resumed         bool
}

func traceHystart(m *model, c *cubic) *hsTrace {
	tr := &hsTrace{cssAt: -1, caAt: -1}
	inCSS := false
	m.onAck = func(m *model) {
		if c.hs.inCSS && !inCSS && tr.cssAt < 0 {
			tr.cssAt, tr.cssCwnd = m.now, c.Window()
		}
		if !c.hs.inCSS && inCSS && !c.hs.off {
			tr.resumed = true
		}
		inCSS = c.hs.inCSS
		if c.ssthresh != math.MaxInt && tr.caAt < 0 {
			tr.caAt, tr.caCwnd, tr.caSsthresh = m.now, c.Window(), c.SlowStartThreshold()
		}
	}
	return tr
}

func TestHystartFlatRTTStaysInSlowStart(t *testing.T) {
	const rtt = 40 * time.Millisecond
	c := mustNew(t, "cubic", Params{MSS: tmss, MaxWindow: 5000 * tmss}).(*cubic)
	// RTT jitter of up to 3 ms, below the smallest threshold (4 ms).
	jitter := func(sent time.Duration) time.Duration {
		return time.Duration(sent/time.Millisecond%4) * 900 * time.Microsecond
	}
	m := newModel(t, c, tmss, modelLink{rtt: rtt, extra: jitter}, time.Second)
	tr := traceHystart(m, c)
	m.run(12 * rtt)
	if tr.cssAt >= 0 || tr.caAt >= 0 {
		t.Errorf("left slow start on a flat RTT: CSS at %v (cwnd %v), CA at %v", tr.cssAt, segs(tr.cssCwnd), tr.caAt)
	}
	if c.Window() != 5000*tmss || !c.InSlowStart() {
		t.Errorf("after 12 rounds window %v segments (slow start %v), want the cap of 5000 reached in slow start", segs(c.Window()), c.InSlowStart())
	}
}

func TestHystartDelayIncreaseExit(t *testing.T) {
	const (
		rtt  = 40 * time.Millisecond
		step = 200 * time.Millisecond
	)
	// With a 40 ms RTT the threshold is max(4ms, min(40ms/8, 16ms)) = 5ms.
	for _, tc := range []struct {
		rise time.Duration
		exit bool
	}{
		{4900 * time.Microsecond, false},
		{5 * time.Millisecond, true},
		{30 * time.Millisecond, true},
	} {
		t.Run(tc.rise.String(), func(t *testing.T) {
			c := mustNew(t, "cubic", Params{MSS: tmss, MaxWindow: 20000 * tmss}).(*cubic)
			rise := func(sent time.Duration) time.Duration {
				if sent >= step {
					return tc.rise
				}
				return 0
			}
			m := newModel(t, c, tmss, modelLink{rtt: rtt, extra: rise}, 2*time.Second)
			tr := traceHystart(m, c)
			m.run(20 * rtt)
			if !tc.exit {
				if tr.cssAt >= 0 {
					t.Errorf("entered CSS at %v on a rise below the threshold", tr.cssAt)
				}
				return
			}
			if tr.cssAt < 0 || tr.caAt < 0 {
				t.Fatalf("CSS at %v, congestion avoidance at %v: want both", tr.cssAt, tr.caAt)
			}
			// The first round whose every sample is late starts at most
			// two rounds after the rise.
			if tr.cssAt < step || tr.cssAt > step+3*(rtt+tc.rise) {
				t.Errorf("entered CSS at %v, want within three rounds of the rise at %v", tr.cssAt, step)
			}
			// CSS_ROUNDS = 5 rounds of a quarter of slow start's growth,
			// then ssthresh = cwnd.
			rounds := float64(tr.caAt-tr.cssAt) / float64(rtt+tc.rise)
			t.Logf("CSS from %v (window %v) to %v (window %v): %.1f rounds",
				tr.cssAt, segs(tr.cssCwnd), tr.caAt, segs(tr.caCwnd), rounds)
			if rounds < 4 || rounds > 6 {
				t.Errorf("CSS lasted %.1f rounds, want about 5", rounds)
			}
			if g := float64(tr.caCwnd) / float64(tr.cssCwnd); g < math.Pow(1.25, 4) || g > math.Pow(1.25, 5)*1.05 {
				t.Errorf("window grew %.2f times in CSS, want 1.25 per round", g)
			}
			if tr.caSsthresh != tr.caCwnd || c.InSlowStart() {
				t.Errorf("at CSS end ssthresh %d, window %d; want ssthresh = cwnd and congestion avoidance", tr.caSsthresh, tr.caCwnd)
			}
			// RFC 9438 section 4.10: the first stage starts at W_max = cwnd, K = 0.
			if c.k != 0 || c.wMax != c.cwndEpoch {
				t.Errorf("first stage: K %v, W_max %v, cwnd_epoch %v; want K 0 and W_max = cwnd_epoch", c.k, c.wMax, c.cwndEpoch)
			}
		})
	}
}

func TestHystartSpuriousExitResumes(t *testing.T) {
	const rtt = 40 * time.Millisecond
	c := mustNew(t, "cubic", Params{MSS: tmss, MaxWindow: 20000 * tmss}).(*cubic)
	// A 10 ms delay spike between 200 and 300 ms, then back to normal.
	spike := func(sent time.Duration) time.Duration {
		if sent >= 200*time.Millisecond && sent < 300*time.Millisecond {
			return 10 * time.Millisecond
		}
		return 0
	}
	m := newModel(t, c, tmss, modelLink{rtt: rtt, extra: spike}, 2*time.Second)
	tr := traceHystart(m, c)
	m.run(25 * rtt)
	if tr.cssAt < 0 || !tr.resumed {
		t.Fatalf("CSS at %v, resumed %v: want CSS entered on the spike and left after it", tr.cssAt, tr.resumed)
	}
	if tr.caAt >= 0 || !c.InSlowStart() || c.Window() != 20000*tmss {
		t.Errorf("after the spike: CA at %v, window %v segments; want slow start to have resumed to the cap", tr.caAt, segs(c.Window()))
	}
}

func TestHystartGrowthLimit(t *testing.T) {
	for _, tc := range []struct {
		paced bool
		want  int
	}{{false, 18}, {true, 30}} {
		c := mustNew(t, "cubic", Params{MSS: tmss, Pacing: tc.paced})
		// A stretch ACK of 20 segments: L = 8 unpaced (RFC 9406), no
		// limit paced.
		c.OnAck(epoch0, Ack{Acked: 20 * tmss, PriorInFlight: 30 * tmss, RTT: 10 * time.Millisecond})
		if c.Window() != tc.want*tmss {
			t.Errorf("paced %v: window %v segments, want %d", tc.paced, segs(c.Window()), tc.want)
		}
	}
}

// TestHystartLimitsOvershoot compares CUBIC's first slow start with and
// without HyStart++ at a 100 Mbit/s, 40 ms bottleneck with a BDP of buffer:
// leaving slow start on the rising RTT loses far fewer packets.
func TestHystartLimitsOvershoot(t *testing.T) {
	const (
		mss  = 1448
		rate = 100e6 / 8
		rtt  = 40 * time.Millisecond
	)
	bdp := int(rate * rtt.Seconds())
	drops := func(hystart bool) (int, int) {
		c := mustNew(t, "cubic", Params{MSS: mss, Pacing: true}).(*cubic)
		if !hystart {
			c.hs.stop()
		}
		m := newModel(t, c, mss, modelLink{rate: rate, rtt: rtt, queueCap: bdp}, 2*time.Second)
		m.run(2 * time.Second)
		return m.stats.drops, m.stats.maxCwnd
	}
	with, withMax := drops(true)
	without, withoutMax := drops(false)
	t.Logf("first 2 s: %d drops, max window %d with HyStart++; %d drops, max window %d without (BDP %d)",
		with, withMax, without, withoutMax, bdp)
	if with*2 > without {
		t.Errorf("HyStart++ dropped %d packets, classic slow start %d: want less than half", with, without)
	}
}

// TestHystartAckTrainExit: an unpaced sender at a 20 Mbit/s, 20 ms
// bottleneck with two bandwidth-delay products of queue, the aggregate
// scenario's wifi path. Its rounds' first ACKs cross the queue the round
// before left empty, so the RTT test alone sees no rise until the queue
// overflows. Once the window fills the path, a round's ACKs, spaced by the
// bottleneck, form a train longer than the minimum RTT: slow start ends
// there, on the train, before any loss, and not before the window holds
// the path.
func TestHystartAckTrainExit(t *testing.T) {
	const (
		mss  = 1448
		rate = 20e6 / 8
		rtt  = 20 * time.Millisecond
	)
	bdp := int(rate * rtt.Seconds())
	c := mustNew(t, "cubic", Params{MSS: mss}).(*cubic)
	m := newModel(t, c, mss, modelLink{rate: rate, rtt: rtt, queueCap: 2 * bdp}, time.Second)
	tr := traceHystart(m, c)
	m.run(time.Second)
	t.Logf("slow start ended at %v with %v (BDP %v); first loss at %v", tr.caAt, segs(tr.caCwnd), segs(bdp), m.stats.firstLossAt)
	if tr.caAt < 0 || tr.caCwnd < bdp {
		t.Errorf("slow start ended at %v with a window of %v, want it to end once the window holds the path (%v)", tr.caAt, segs(tr.caCwnd), segs(bdp))
	}
	if l := m.stats.firstLossAt; l >= 0 && l <= tr.caAt {
		t.Errorf("first loss at %v, slow start ended at %v: on the loss, not on the train", l, tr.caAt)
	}
}

// An ACK train ends slow start only while it lasts: ACKs more than 2 ms
// apart break it, a window below 16 segments is too small to judge, and
// ACKs of data the application, not the window, limited do not count.
func TestHystartAckTrainLimits(t *testing.T) {
	const rtt = 20 * time.Millisecond
	round := func(c *cubic, start time.Time, spacing time.Duration, window int, appLimited bool) time.Time {
		for i := range 40 {
			c.OnAck(start.Add(spacing*time.Duration(i)), Ack{Acked: tmss, PriorInFlight: window, RTT: rtt, SRTT: rtt, MinRTT: rtt, AppLimited: appLimited})
		}
		return start.Add(40 * spacing)
	}
	for _, tc := range []struct {
		name       string
		spacing    time.Duration
		window     int
		appLimited bool
		exit       bool
	}{
		{"train", time.Millisecond, 40 * tmss, false, true},
		{"gaps", 3 * time.Millisecond, 40 * tmss, false, false},
		{"small window", time.Millisecond, 15 * tmss, false, false},
		{"application-limited", time.Millisecond, 40 * tmss, true, false},
	} {
		c := mustNew(t, "cubic", Params{MSS: tmss}).(*cubic)
		// One ACK opens the round that the 40 after it continue.
		c.OnAck(epoch0, Ack{Acked: tmss, PriorInFlight: 100 * tmss, RTT: rtt, SRTT: rtt, MinRTT: rtt})
		round(c, epoch0.Add(time.Millisecond), tc.spacing, tc.window, tc.appLimited)
		if got := !c.InSlowStart(); got != tc.exit {
			t.Errorf("%s: left slow start %v, want %v", tc.name, got, tc.exit)
		}
	}
}
