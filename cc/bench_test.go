package cc

import (
	"fmt"
	"testing"
	"time"
)

// steadyAcks drives c in congestion avoidance with n full-window ACKs, 100 µs
// apart, starting at start.
func steadyAcks(c Controller, start time.Time, n int) time.Time {
	now := start
	for range n {
		now = now.Add(100 * time.Microsecond)
		c.OnAck(now, Ack{Acked: 1448, PriorInFlight: c.Window(), RTT: 40 * time.Millisecond,
			SRTT: 40 * time.Millisecond, MinRTT: 40 * time.Millisecond})
	}
	return now
}

func newSteady(tb testing.TB, name string) Controller {
	c := mustNew(tb, name, Params{MSS: 1448, InitialWindow: 400 * 1448, Pacing: true})
	c.OnCongestionEvent(epoch0, Loss{FlightSize: c.Window()})
	c.OnRecoveryExit(epoch0)
	return c
}

func TestEventsDoNotAllocate(t *testing.T) {
	for _, name := range builtins {
		c := newSteady(t, name)
		now := epoch0
		allocs := testing.AllocsPerRun(1000, func() {
			now = steadyAcks(c, now, 1)
			c.OnPacketSent(now, Sent{Bytes: 1448, PriorInFlight: c.Window() - 1448})
			_ = c.PacingRate()
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per ACK, want 0", name, allocs)
		}
		allocs = testing.AllocsPerRun(100, func() {
			c.OnCongestionEvent(now, Loss{FlightSize: c.Window(), Lost: 1448})
			c.OnSpuriousCongestion(now)
			c.OnRTO(now, Loss{FlightSize: c.Window()})
			c.OnSpuriousCongestion(now)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per loss event, want 0", name, allocs)
		}
	}
}

func BenchmarkOnAck(b *testing.B) {
	for _, name := range []string{"reno", "cubic"} {
		b.Run(name, func(b *testing.B) {
			c := newSteady(b, name)
			a := Ack{Acked: 1448, RTT: 40 * time.Millisecond, SRTT: 40 * time.Millisecond, MinRTT: 40 * time.Millisecond}
			now := epoch0
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(100 * time.Microsecond)
				a.PriorInFlight = c.Window()
				c.OnAck(now, a)
			}
		})
	}
}

func BenchmarkSlowStartAck(b *testing.B) {
	for _, name := range []string{"reno", "cubic"} {
		b.Run(name, func(b *testing.B) {
			c := mustNew(b, name, Params{MSS: 1448})
			a := Ack{Acked: 1448, RTT: 40 * time.Millisecond, SRTT: 40 * time.Millisecond, MinRTT: 40 * time.Millisecond}
			now := epoch0
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(100 * time.Microsecond)
				a.PriorInFlight = c.Window()
				c.OnAck(now, a)
			}
		})
	}
}

// BenchmarkCoupledOnAck measures an ACK on a subflow of a connection with 2
// and 8 subflows in congestion avoidance, ACKs taking the subflows in turn:
// each recomputes the algorithm's sums over the group.
func BenchmarkCoupledOnAck(b *testing.B) {
	for _, name := range coupledAlgos {
		for _, n := range []int{2, 8} {
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				_, cs := benchGroup(b, name, n)
				a := Ack{Acked: tmss, RTT: 20 * time.Millisecond, SRTT: 20 * time.Millisecond, MinRTT: 15 * time.Millisecond}
				now := epoch0
				i := 0
				b.ReportAllocs()
				for b.Loop() {
					now = now.Add(100 * time.Microsecond)
					c := cs[i%n]
					i++
					a.PriorInFlight = c.Window()
					c.OnAck(now, a)
				}
			})
		}
	}
}
