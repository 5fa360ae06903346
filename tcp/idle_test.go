package tcp

import (
	"testing"
	"time"
)

// A connection that grew its window and then sent nothing for several
// RTOs restarts from the initial window (RFC 5681 section 4.1); with
// DisableSlowStartAfterIdle it keeps the window.
func TestSlowStartAfterIdle(t *testing.T) {
	for _, disable := range []bool{false, true} {
		n := newTestNet(t, 10*time.Millisecond)
		a, b := n.pair(func(c *Config) { c.DisableSlowStartAfterIdle = disable }, nil)
		dh := &drainHooks{window: 16 << 20}
		if _, err := b.Listen(ap(addrB, 80), &ListenConfig{Hooks: &listenHooksFor{h: dh}}); err != nil {
			t.Fatal(err)
		}
		c, err := a.Dial(n.now, ap(addrB, 80), &DialConfig{Options: Options{CongestionControl: "reno"}})
		if err != nil {
			t.Fatal(err)
		}
		n.Advance(30 * time.Millisecond)
		initial := c.Cwnd()
		f := &segmentFiller{c: c, buf: make([]byte, 1<<20)}
		n.pumps = append(n.pumps, f.pump)
		n.Advance(150 * time.Millisecond)
		n.pumps = nil
		n.Advance(200 * time.Millisecond) // drain: nothing in flight
		grown := c.Cwnd()
		if grown < 4*initial || c.InFlight() != 0 {
			t.Fatalf("window %d from %d, %d in flight: the test did not grow and drain it", grown, initial, c.InFlight())
		}
		n.Advance(3 * time.Second) // idle for several RTOs
		if _, err := c.Write(make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		n.Advance(time.Millisecond)
		got, restarts := c.Cwnd(), c.Info().IdleRestarts
		if disable {
			if got < grown || restarts != 0 {
				t.Fatalf("disabled: window %d (was %d), %d restarts", got, grown, restarts)
			}
			continue
		}
		if got != initial || restarts != 1 {
			t.Fatalf("window %d after idle, want the initial %d (was %d); %d restarts", got, initial, grown, restarts)
		}
		if ss := c.Info().Ssthresh; ss < grown*3/4 {
			t.Fatalf("ssthresh %d forgot the old window %d", ss, grown)
		}
	}
}
