package netsim

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

// countStack counts what it receives and sends what its queue holds.
type countStack struct {
	got   int
	queue [][]byte
}

func (c *countStack) Deliver(now time.Time, pkt []byte) { c.got++ }

func (c *countStack) Poll(now time.Time, send func([]byte)) time.Time {
	for _, p := range c.queue {
		send(p)
	}
	c.queue = c.queue[:0]
	return time.Time{}
}

func TestRealtimeCarriesPacketsFromOutsideGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(1)
		a, _ := s.NewHost("a")
		b, _ := s.NewHost("b")
		ia, _ := a.AddInterface("eth0", netip.MustParsePrefix("10.0.0.1/24"))
		ib, _ := b.AddInterface("eth0", netip.MustParsePrefix("10.0.0.2/24"))
		if _, err := s.Connect(ia, ib, PipeConfig{Delay: 50 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		sa, sb := &countStack{}, &countStack{}
		a.SetStack(sa)
		b.SetStack(sb)
		rt := NewRealtime(s)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- rt.Run(ctx) }()

		wake := rt.Driver(a).Wake
		start := time.Now()
		for i := 0; i < 3; i++ {
			pkt := udpPacket(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), uint64(i), 100)
			rt.Do(func() { sa.queue = append(sa.queue, pkt) })
			wake()
			time.Sleep(20 * time.Millisecond)
		}
		// The last packet was sent 40 ms after the first and needs 50 ms.
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		got := make(chan int)
		rt.Do(func() { got <- sb.got })
		if n := <-got; n != 3 {
			t.Fatalf("b received %d packets, want 3", n)
		}
		// In the bubble, virtual time tracks the fake clock exactly.
		vt := make(chan time.Duration)
		rt.Do(func() { vt <- s.Elapsed() })
		if e, want := <-vt, time.Since(start); e != want {
			t.Errorf("virtual time %v, clock %v", e, want)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v", err)
		}
	})
}
