package cc

import (
	"math"
	"testing"
	"time"
)

func TestRenoSlowStartDoublesPerRTT(t *testing.T) {
	c := mustNew(t, "reno", Params{MSS: tmss})
	if got, want := c.Window(), DefaultInitialSegments*tmss; got != want {
		t.Fatalf("initial window %d, want %d (RFC 6928)", got, want)
	}
	if !c.InSlowStart() || c.SlowStartThreshold() != math.MaxInt {
		t.Fatalf("new controller: InSlowStart %v, ssthresh %d; want slow start with no threshold", c.InSlowStart(), c.SlowStartThreshold())
	}
	now := epoch0
	for _, want := range []int{20, 40, 80, 160, 320} {
		now = ackRound(c, now, 50*time.Millisecond)
		if got := c.Window(); got != want*tmss {
			t.Fatalf("after a round: window %v segments, want %d", segs(got), want)
		}
	}
}

func TestRenoSlowStartByteCountingLimit(t *testing.T) {
	c := mustNew(t, "reno", Params{MSS: tmss})
	// A stretch ACK of eight segments grows the window by L=2 segments
	// only (RFC 3465).
	c.OnAck(epoch0, Ack{Acked: 8 * tmss, PriorInFlight: c.Window()})
	if got, want := c.Window(), 12*tmss; got != want {
		t.Errorf("window after an 8-segment ACK %v segments, want %v", segs(got), segs(want))
	}
	// A small ACK grows it by what it acknowledged.
	c.OnAck(epoch0, Ack{Acked: 300, PriorInFlight: c.Window()})
	if got, want := c.Window(), 12*tmss+300; got != want {
		t.Errorf("window after a 300-byte ACK %d, want %d", got, want)
	}
}

// renoInAvoidance returns a NewReno controller that has just recovered from
// a loss at a window of w segments.
func renoInAvoidance(t *testing.T, w int) Controller {
	t.Helper()
	c := mustNew(t, "reno", Params{MSS: tmss, InitialWindow: w * tmss})
	c.OnCongestionEvent(epoch0, Loss{FlightSize: w * tmss, Lost: tmss})
	c.OnRecoveryExit(epoch0)
	return c
}

func TestRenoCongestionAvoidanceOneMSSPerRTT(t *testing.T) {
	c := renoInAvoidance(t, 100)
	if c.InSlowStart() {
		t.Fatal("in slow start after recovery")
	}
	now := epoch0
	for want := 51; want <= 60; want++ {
		now = ackRound(c, now, 50*time.Millisecond)
		if got := c.Window(); got != want*tmss {
			t.Fatalf("after a round: window %v segments, want %d (one MSS per RTT)", segs(got), want)
		}
	}
}

func TestRenoCongestionEventHalvesFlightSize(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cwnd       int
		flightSize int
		want       int
	}{
		{"full window", 100 * tmss, 100 * tmss, 50 * tmss},
		// RFC 5681: FlightSize, not cwnd, is halved.
		{"application-limited flight", 100 * tmss, 40 * tmss, 20 * tmss},
		{"floor of two segments", 4 * tmss, 3 * tmss, 2 * tmss},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustNew(t, "reno", Params{MSS: tmss, InitialWindow: tc.cwnd})
			c.OnCongestionEvent(epoch0, Loss{FlightSize: tc.flightSize, Lost: tmss})
			if c.SlowStartThreshold() != tc.want || c.Window() != tc.want {
				t.Errorf("ssthresh %d, window %d; want both %d", c.SlowStartThreshold(), c.Window(), tc.want)
			}
		})
	}
}

func TestRenoRecoveryOncePerWindowAndNoGrowth(t *testing.T) {
	c := mustNew(t, "reno", Params{MSS: tmss, InitialWindow: 100 * tmss})
	c.OnCongestionEvent(epoch0, Loss{FlightSize: 100 * tmss, Lost: tmss})
	// A second loss in the same window must not reduce again, and ACKs
	// during recovery do not grow the window.
	c.OnCongestionEvent(epoch0, Loss{FlightSize: 90 * tmss, Lost: tmss})
	ackRound(c, epoch0, 50*time.Millisecond)
	if c.Window() != 50*tmss || c.SlowStartThreshold() != 50*tmss {
		t.Fatalf("during recovery: window %v, ssthresh %v segments; want 50, 50", segs(c.Window()), segs(c.SlowStartThreshold()))
	}
	c.OnRecoveryExit(epoch0)
	// A loss in a later window reduces again.
	c.OnCongestionEvent(epoch0, Loss{FlightSize: 50 * tmss, Lost: tmss})
	if c.Window() != 25*tmss {
		t.Errorf("second event after recovery: window %v segments, want 25", segs(c.Window()))
	}
}

func TestRenoRTOCollapsesWindow(t *testing.T) {
	c := mustNew(t, "reno", Params{MSS: tmss, InitialWindow: 64 * tmss})
	c.OnRTO(epoch0, Loss{FlightSize: 64 * tmss, Lost: 64 * tmss})
	if c.Window() != tmss || c.SlowStartThreshold() != 32*tmss {
		t.Fatalf("after RTO: window %d, ssthresh %d; want 1 MSS and 32 MSS", c.Window(), c.SlowStartThreshold())
	}
	// A backed-off timer firing again before any ACK does not halve the
	// (by now tiny) flight size again.
	c.OnRTO(epoch0, Loss{FlightSize: tmss, Lost: tmss})
	if c.Window() != tmss || c.SlowStartThreshold() != 32*tmss {
		t.Fatalf("after a repeated RTO: window %d, ssthresh %d; want 1 MSS and 32 MSS", c.Window(), c.SlowStartThreshold())
	}
	// Slow start up to ssthresh, then one segment per round.
	now := epoch0
	for _, want := range []int{2, 4, 8, 16, 32, 33, 34} {
		now = ackRound(c, now, 50*time.Millisecond)
		if got := c.Window(); got != want*tmss {
			t.Fatalf("after a round: window %v segments, want %d", segs(got), want)
		}
	}
}

func TestRenoRTODuringRecoveryKeepsThreshold(t *testing.T) {
	c := mustNew(t, "reno", Params{MSS: tmss, InitialWindow: 100 * tmss})
	c.OnCongestionEvent(epoch0, Loss{FlightSize: 100 * tmss, Lost: tmss})
	// The retransmission is lost too: the timeout does not halve again.
	c.OnRTO(epoch0, Loss{FlightSize: 60 * tmss, Lost: 60 * tmss})
	if c.Window() != tmss || c.SlowStartThreshold() != 50*tmss {
		t.Errorf("window %d, ssthresh %d; want 1 MSS and 50 MSS", c.Window(), c.SlowStartThreshold())
	}
}

func TestRenoApplicationLimitedDoesNotGrow(t *testing.T) {
	for _, tc := range []struct {
		name string
		ack  Ack
	}{
		{"flagged", Ack{Acked: tmss, PriorInFlight: 60 * tmss, AppLimited: true}},
		{"window unused", Ack{Acked: tmss, PriorInFlight: 10 * tmss}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := renoInAvoidance(t, 120) // window 60 segments
			for range 1000 {
				c.OnAck(epoch0, tc.ack)
			}
			if c.Window() != 60*tmss {
				t.Errorf("window %v segments, want 60 unchanged", segs(c.Window()))
			}
		})
	}
}

func TestRenoSpuriousUndo(t *testing.T) {
	c := mustNew(t, "reno", Params{MSS: tmss, InitialWindow: 80 * tmss})
	c.OnCongestionEvent(epoch0, Loss{FlightSize: 80 * tmss, Lost: tmss})
	c.OnSpuriousCongestion(epoch0)
	if c.Window() != 80*tmss || c.SlowStartThreshold() != math.MaxInt {
		t.Errorf("after undo: window %d, ssthresh %d; want 80 MSS and no threshold", c.Window(), c.SlowStartThreshold())
	}
	// Undo ended recovery: the window grows again.
	c.OnAck(epoch0, Ack{Acked: tmss, PriorInFlight: c.Window()})
	if c.Window() != 81*tmss {
		t.Errorf("window %v segments after an ACK, want 81", segs(c.Window()))
	}
	// Nothing left to undo.
	c.OnSpuriousCongestion(epoch0)
	if c.Window() != 81*tmss {
		t.Errorf("second undo changed the window to %d", c.Window())
	}

	c.OnRTO(epoch0, Loss{FlightSize: 81 * tmss, Lost: 81 * tmss})
	c.OnSpuriousCongestion(epoch0)
	if c.Window() != 81*tmss {
		t.Errorf("undo of an RTO: window %v segments, want 81", segs(c.Window()))
	}
}

func TestRenoWindowBounds(t *testing.T) {
	c := mustNew(t, "reno", Params{MSS: tmss, MaxWindow: 15 * tmss})
	now := epoch0
	for range 5 {
		now = ackRound(c, now, 10*time.Millisecond)
	}
	if c.Window() != 15*tmss {
		t.Errorf("window %d, want the cap %d", c.Window(), 15*tmss)
	}

	c = mustNew(t, "reno", Params{MSS: tmss, MinWindow: 4 * tmss})
	c.OnCongestionEvent(epoch0, Loss{FlightSize: 2 * tmss})
	if c.Window() != 4*tmss {
		t.Errorf("window %d after a loss, want the floor %d", c.Window(), 4*tmss)
	}
}

func TestRenoSetMSS(t *testing.T) {
	c := mustNew(t, "reno", Params{MSS: tmss})
	c.OnRTO(epoch0, Loss{FlightSize: 10 * tmss})
	c.SetMSS(1500)
	if c.Window() != 1500 {
		t.Errorf("window %d after RTO and an MSS rise to 1500, want one new segment", c.Window())
	}
	c.SetMSS(0)
	c.SetMSS(-5)
	c.SetMSS(1 << 20)
	if c.Window() != 1500 {
		t.Errorf("an invalid MSS changed the window to %d", c.Window())
	}
	// Congestion avoidance now counts in the new MSS.
	c = renoInAvoidance(t, 20)
	c.SetMSS(2000)
	ackRound(c, epoch0, 10*time.Millisecond)
	if got := c.Window(); got != 12*tmss {
		t.Errorf("window %d after a round with MSS 2000, want %d", got, 12*tmss)
	}
}

func TestOnAckHostileInput(t *testing.T) {
	for _, name := range builtins {
		c := mustNew(t, name, Params{MSS: tmss, MaxWindow: 1 << 20})
		for _, a := range []Ack{
			{Acked: -5, PriorInFlight: 10 * tmss},
			{Acked: math.MaxInt, PriorInFlight: math.MaxInt, RTT: -1, SRTT: -1, MinRTT: -1},
			{Acked: math.MaxInt, PriorInFlight: -1},
		} {
			c.OnAck(epoch0, a)
		}
		c.OnCongestionEvent(epoch0, Loss{FlightSize: -1, Lost: -1})
		c.OnRecoveryExit(epoch0)
		c.OnAck(epoch0, Ack{Acked: math.MaxInt, PriorInFlight: math.MaxInt})
		c.OnRTO(epoch0, Loss{FlightSize: math.MaxInt})
		c.OnAck(epoch0.Add(-time.Hour), Ack{Acked: math.MaxInt, PriorInFlight: math.MaxInt})
		if w := c.Window(); w < tmss || w > 1<<20 {
			t.Errorf("%s: window %d outside [MSS, max window]", name, w)
		}
		if s := c.SlowStartThreshold(); s < 2*tmss {
			t.Errorf("%s: ssthresh %d below two segments", name, s)
		}
	}
}
