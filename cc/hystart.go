package cc

import (
	"math"
	"time"
)

// HyStart++ constants (RFC 9406 section 4.3).
const (
	hsMinRTTThresh    = 4 * time.Millisecond
	hsMaxRTTThresh    = 16 * time.Millisecond
	hsMinRTTDivisor   = 8
	hsNRTTSample      = 8
	hsCSSGrowthDiv    = 4
	hsCSSRounds       = 5
	hsUnpacedLSegment = 8 // L for a sender that does not pace

	// The ACK train (after Linux CUBIC's HyStart, not RFC 9406): ACKs
	// at most hsTrainGap apart form a train; one longer than the minimum
	// RTT, plus what segmentation offload may delay them, ends slow
	// start, once the window holds hsTrainLowWindow segments.
	hsTrainGap       = 2 * time.Millisecond
	hsTrainMaxDelay  = time.Millisecond
	hsTrainGSO       = 4 * 64 << 10 // bytes the offload may hold back
	hsTrainLowWindow = 16
)

// noRTT stands for RFC 9406's "infinity" among RTT values.
const noRTT = time.Duration(math.MaxInt64)

// hsVerdict is what HyStart++ decided about one ACK in slow start.
type hsVerdict int

const (
	hsSlowStart    hsVerdict = iota // grow as in slow start
	hsConservative                  // grow as in Conservative Slow Start
	hsAvoidance                     // CSS is over: set ssthresh = cwnd
)

// hystart is HyStart++ (RFC 9406): slow start that watches the minimum RTT of
// each round and, when it rises by more than a threshold, which means a
// queue is building, switches to Conservative Slow Start (a quarter of the
// growth) for up to five rounds before congestion avoidance. A drop of the
// RTT back below the level that triggered CSS means the rise was jitter and
// resumes slow start.
//
// Rounds are counted in delivered bytes, which needs no sequence numbers: a
// round that starts when d bytes have been delivered and f are in flight ends
// once d+f bytes have been delivered, i.e. when the data sent by then is
// acknowledged, which is the RFC's "windowEnd = SND.NXT".
//
// As RFC 9406 section 4.2 recommends, it runs only for the first slow start;
// a loss, timeout or congestion event turns it off for good.
//
// It also ends slow start on a long ACK train, after Linux's CUBIC: the
// ACKs of a window-limited round arrive spaced by the bottleneck, so a
// train of them lasting a whole minimum RTT means the window already fills
// the path. Linux takes half of it for a sender that does not pace, which
// cost 1 MB answers 6 ms on TUN on the paths below. ACKs of data sent
// while the application, not the window, limited the sender do not count:
// a kept-alive answer smaller than the window made a train of its own,
// which cost 100 KB answers 3 ms at the median on TUN. The RTT test alone
// came too late for a sender that does not
// pace: each round's first eight ACKs cross a queue the previous round left
// empty, so on the aggregate scenario's wifi path (20 Mbit/s, 20 ms, a
// queue of two bandwidth-delay products) the window doubled from two to
// four times the path before the rise showed, and a new connection's 1 MB
// answer sent 102 segments again; with the train 7, and it takes 6 ms less
// (simulator and TUN).
type hystart struct {
	off bool
	// limit is L*SMSS in bytes, 0 for "infinity".
	limit int
	mss   int

	// The round's ACK train: when it began and its last ACK; train is
	// false once a gap broke it.
	trainStart, trainLast time.Time
	train                 bool

	delivered  uint64
	roundEnd   uint64
	roundBegun bool

	lastRoundMinRTT    time.Duration
	currentRoundMinRTT time.Duration
	rttSampleCount     int

	inCSS             bool
	cssBaselineMinRTT time.Duration
	cssRounds         int
}

func newHystart(mss int, paced bool) hystart {
	h := hystart{
		mss:                mss,
		lastRoundMinRTT:    noRTT,
		currentRoundMinRTT: noRTT,
		cssBaselineMinRTT:  noRTT,
	}
	if !paced {
		h.limit = hsUnpacedLSegment * mss
	}
	return h
}

// onAck processes an ACK received at now in slow start and says how to
// grow.
func (h *hystart) onAck(now time.Time, a Ack) hsVerdict {
	if h.off {
		return hsSlowStart
	}
	h.delivered += uint64(a.Acked)
	if h.roundBegun && h.delivered < h.roundEnd && h.trainEnds(now, a) {
		h.off = true
		return hsAvoidance
	}
	if !h.roundBegun || h.delivered >= h.roundEnd {
		h.trainStart, h.trainLast, h.train = now, now, true
		if h.roundBegun && h.inCSS {
			h.cssRounds++
			if h.cssRounds >= hsCSSRounds {
				h.off = true
				return hsAvoidance
			}
		}
		h.roundBegun = true
		h.lastRoundMinRTT = h.currentRoundMinRTT
		h.currentRoundMinRTT = noRTT
		h.rttSampleCount = 0
		h.roundEnd = h.delivered + uint64(max(a.PriorInFlight-a.Acked, 0))
	}
	if a.RTT > 0 {
		h.currentRoundMinRTT = min(h.currentRoundMinRTT, a.RTT)
		h.rttSampleCount++
	}
	if h.rttSampleCount < hsNRTTSample || h.currentRoundMinRTT == noRTT {
		if h.inCSS {
			return hsConservative
		}
		return hsSlowStart
	}
	if h.inCSS {
		// "the current round's minRTT drops below baseline
		// (cssBaselineMinRtt) indicating that slow start exit was
		// spurious"
		if h.currentRoundMinRTT < h.cssBaselineMinRTT {
			h.inCSS = false
			h.cssBaselineMinRTT = noRTT
			return hsSlowStart
		}
		return hsConservative
	}
	if h.lastRoundMinRTT == noRTT {
		return hsSlowStart
	}
	thresh := max(hsMinRTTThresh, min(h.lastRoundMinRTT/hsMinRTTDivisor, hsMaxRTTThresh))
	if h.currentRoundMinRTT >= h.lastRoundMinRTT+thresh {
		h.inCSS = true
		h.cssBaselineMinRTT = h.currentRoundMinRTT
		h.cssRounds = 0
		return hsConservative
	}
	return hsSlowStart
}

// trainEnds extends the round's ACK train with an ACK at now and reports
// whether the train, window-limited, is long enough to end slow start.
func (h *hystart) trainEnds(now time.Time, a Ack) bool {
	if !h.train {
		return false
	}
	if now.Sub(h.trainLast) > hsTrainGap {
		h.train = false
		return false
	}
	h.trainLast = now
	if a.AppLimited || a.MinRTT <= 0 || a.SRTT <= 0 || a.PriorInFlight < hsTrainLowWindow*h.mss {
		return false
	}
	// As Linux allows for offload: the time four 64 KiB super-packets
	// take at the window's rate, at most a millisecond.
	delay := min(hsTrainMaxDelay, time.Duration(float64(hsTrainGSO)/float64(a.PriorInFlight)*float64(a.SRTT)))
	limit := a.MinRTT + delay
	return now.Sub(h.trainStart) > limit
}

// growth returns the bytes by which an ACK of acked bytes grows the window
// under verdict v: min(N, L*SMSS), divided by CSS_GROWTH_DIVISOR in CSS.
func (h *hystart) growth(acked int, v hsVerdict) int {
	if h.limit > 0 {
		acked = min(acked, h.limit)
	}
	if v == hsConservative {
		return acked / hsCSSGrowthDiv
	}
	return acked
}

// stop turns HyStart++ off for the rest of the connection.
func (h *hystart) stop() {
	h.off = true
	h.inCSS = false
}
