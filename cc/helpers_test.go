package cc

import (
	"testing"
	"time"
)

// tmss is the MSS of the unit tests: a round number keeps expected windows
// readable.
const tmss = 1000

func mustNew(t testing.TB, name string, p Params) Controller {
	t.Helper()
	c, err := New(name, p)
	if err != nil {
		t.Fatalf("New(%q, %+v): %v", name, p, err)
	}
	return c
}

// ackRound acknowledges one window of data, in MSS-sized ACKs spread evenly
// over one RTT starting at start, for a sender that keeps its window full.
// It returns the time the round ends.
func ackRound(c Controller, start time.Time, rtt time.Duration) time.Time {
	n := max(c.Window()/tmss, 1)
	for i := range n {
		now := start.Add(rtt * time.Duration(i) / time.Duration(n))
		c.OnAck(now, Ack{Acked: tmss, PriorInFlight: c.Window(), RTT: rtt, SRTT: rtt, MinRTT: rtt})
	}
	return start.Add(rtt)
}

// ackBurst acknowledges a window as ackRound does, its ACKs arriving
// within the round's first millisecond: a window well below what the path
// holds, which no ACK train (HyStart's) takes for a full path.
func ackBurst(c Controller, start time.Time, rtt time.Duration) time.Time {
	n := max(c.Window()/tmss, 1)
	for i := range n {
		now := start.Add(time.Millisecond * time.Duration(i) / time.Duration(n))
		c.OnAck(now, Ack{Acked: tmss, PriorInFlight: c.Window(), RTT: rtt, SRTT: rtt, MinRTT: rtt})
	}
	return start.Add(rtt)
}

// segs is a window in segments, for messages.
func segs(bytes int) float64 { return float64(bytes) / tmss }

// builtins are the algorithms this package registers. Tests iterate over
// them rather than Names(), which also holds what tests register.
var builtins = []string{"balia", "cubic", "lia", "olia", "reno", "wvegas"}
