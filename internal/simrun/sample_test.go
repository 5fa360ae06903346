package simrun

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIntervalsCoverTheTransfer (issue 19, points 4 and 8): the intervals
// end when a sized transfer completes, the last, partial one included;
// the subflows' bytes cover everything delivered, also for a transfer
// shorter than one interval; no interval follows the transfer's end.
func TestIntervalsCoverTheTransfer(t *testing.T) {
	for _, interval := range []time.Duration{time.Second, 10 * time.Second} {
		sc := builtin(t, "aggregate")
		sc.Transfer.Size = 4 << 20 // about 1.3 s at the paths' 30 Mbit/s
		res, err := Run(sc, Options{Duration: 5 * time.Second, Interval: interval})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Completed || res.Problem() != nil {
			t.Fatalf("interval %v: completed %v, problem %v", interval, res.Completed, res.Problem())
		}
		if len(res.Subflows) < 2 {
			t.Fatalf("interval %v: %d subflows reported, want 2", interval, len(res.Subflows))
		}
		var sfBytes uint64
		for _, sf := range res.Subflows {
			sfBytes += sf.Bytes
		}
		if sfBytes < uint64(res.BytesDelivered) {
			t.Errorf("interval %v: subflows received %d bytes, fewer than the %d delivered", interval, sfBytes, res.BytesDelivered)
		}
		last := res.Intervals[len(res.Intervals)-1]
		if want := int(math.Ceil(last.T / interval.Seconds())); len(res.Intervals) != want || math.Abs(last.T-res.CompletionS) > 0.1 {
			t.Errorf("interval %v: %d intervals, the last ending at %.3f s; want %d ending with the transfer (%.3f s)", interval, len(res.Intervals), last.T, want, res.CompletionS)
		}
		// The rates, times the intervals' lengths, give back the bytes.
		var total, sub float64
		prev := 0.0
		for _, iv := range res.Intervals {
			total += iv.TotalBps * (iv.T - prev) / 8
			for _, sf := range res.Subflows {
				sub += iv.SubflowBps[strconv.Itoa(sf.ID)] * (iv.T - prev) / 8
			}
			prev = iv.T
		}
		if math.Abs(total-float64(res.BytesDelivered)) > 1 || math.Abs(sub-float64(sfBytes)) > 1 {
			t.Errorf("interval %v: the intervals carry %.0f bytes in total and %.0f on subflows; want %d and %d", interval, total, sub, res.BytesDelivered, sfBytes)
		}
		var lastSub float64
		for _, v := range last.SubflowBps {
			lastSub += v
		}
		if last.TotalBps > 0 && lastSub == 0 {
			t.Errorf("interval %v: the last interval delivered %.2f Mbit/s but no subflow received anything", interval, last.TotalBps/1e6)
		}
	}
}

// TestCwndSampledFinely (issue 19, point 9): the congestion window is
// sampled cwndPerInterval times per interval, so its drops show.
func TestCwndSampledFinely(t *testing.T) {
	res, err := Run(builtin(t, "aggregate"), Options{Duration: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	drops := 0
	for _, sf := range res.Subflows {
		if len(sf.Cwnd) < 3*cwndPerInterval-1 {
			t.Errorf("subflow %d: %d cwnd samples over 3 s, want %d", sf.ID, len(sf.Cwnd), 3*cwndPerInterval)
		}
		for i := 1; i < len(sf.Cwnd); i++ {
			if sf.Cwnd[i].T <= sf.Cwnd[i-1].T {
				t.Fatalf("subflow %d: cwnd samples out of order at %d", sf.ID, i)
			}
			if sf.Cwnd[i].Bytes < sf.Cwnd[i-1].Bytes*3/4 {
				drops++
			}
		}
	}
	if drops == 0 {
		t.Error("no congestion window reduction seen in 3 s of bulk transfer over 2-BDP queues")
	}
}

// TestIntervalBound (issue 19, point 5): a run refuses an interval that
// would take more than MaxSamples samples, naming the shortest it takes.
func TestIntervalBound(t *testing.T) {
	_, err := Run(builtin(t, "aggregate"), Options{Duration: 100 * time.Millisecond, Interval: time.Microsecond})
	if err == nil || !strings.Contains(err.Error(), "use 2µs or longer") {
		t.Fatalf("1µs over 100ms: error %v, want a refusal naming 2µs", err)
	}
	if err := CheckInterval(30*time.Second, time.Microsecond); err == nil || !strings.Contains(err.Error(), "30000000 samples") || !strings.Contains(err.Error(), "use 600µs or longer") {
		t.Errorf("1µs over 30s: %v", err)
	}
	if err := CheckInterval(30*time.Second, 600*time.Microsecond); err != nil {
		t.Errorf("600µs over 30s: %v", err)
	}
	if step := cwndStep(time.Hour, time.Second); step < time.Hour/MaxSamples || step > time.Second {
		t.Errorf("cwnd step over an hour: %v", step)
	}
}
