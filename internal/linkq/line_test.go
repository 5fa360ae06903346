package linkq

import (
	"math/rand/v2"
	"testing"
	"time"
)

func testLine(c LineConfig) Line {
	var k uint64
	l := NewLine(func(string) *rand.Rand { k++; return rand.New(rand.NewPCG(k, k)) })
	l.SetConfig(c)
	return l
}

// TestLineRateExact checks that serialisation carries the remainder of
// each packet's time to the next, so the long-run rate is exact.
func TestLineRateExact(t *testing.T) {
	l := testLine(LineConfig{Rate: 3e6, Delay: time.Millisecond})
	var now int64
	for range 3000 {
		f := l.Transmit(now, 1000, 8000, false)
		if f.Arrival != l.BusyUntil+int64(time.Millisecond) {
			t.Fatalf("arrival %d, want end of serialisation %d + delay", f.Arrival, l.BusyUntil)
		}
		now = l.BusyUntil
	}
	// 3000 packets of 8000 bits at 3 Mbit/s take exactly 8 s.
	if want := int64(8 * time.Second); now != want {
		t.Fatalf("3000 packets took %d ns, want %d", now, want)
	}
}

// TestLineLostDrawsNothing checks that a lost packet occupies the
// transmitter but draws no other impairment, so that turning loss on
// does not shift the other streams.
func TestLineLostDrawsNothing(t *testing.T) {
	c := LineConfig{Rate: 1e6, Jitter: time.Millisecond, Reorder: 0.5, Duplicate: 0.5, Corrupt: 0.5}
	a, b := testLine(c), testLine(c)
	if f := a.Transmit(0, 100, 800, true); !f.Lost || f.CorruptBit != -1 || a.BusyUntil != 800_000 {
		t.Fatalf("lost packet: %+v, busy until %d", f, a.BusyUntil)
	}
	start := a.BusyUntil
	fa := a.Transmit(start, 100, 800, false)
	fb := b.Transmit(start, 100, 800, false)
	if fa != fb {
		t.Fatalf("after a loss %+v, without %+v: the loss shifted other draws", fa, fb)
	}
}

// TestLineLateUsesDelay checks that a reordered packet is held back by
// ReorderDelay, or by Delay when that is zero.
func TestLineLateUsesDelay(t *testing.T) {
	for _, c := range []struct {
		rd, want time.Duration
	}{{0, 20 * time.Millisecond}, {5 * time.Millisecond, 15 * time.Millisecond}} {
		l := testLine(LineConfig{Delay: 10 * time.Millisecond, Reorder: 1, ReorderDelay: c.rd})
		if f := l.Transmit(0, 100, 800, false); !f.Late || f.Arrival != int64(c.want) {
			t.Errorf("reorder delay %v: %+v, want late arrival at %v", c.rd, f, c.want)
		}
	}
}

// TestDropTailLimits checks both limits and the byte count.
func TestDropTailLimits(t *testing.T) {
	d := DropTail[int]{MaxPackets: 2, MaxBytes: 150}
	d.Push(1, 100)
	if d.Fits(60) || !d.Fits(50) {
		t.Fatal("byte limit")
	}
	d.Push(2, 50)
	if d.Fits(0) {
		t.Fatal("packet limit")
	}
	if v := d.Pop(); v != 1 || d.Bytes() != 50 || d.Len() != 1 {
		t.Fatalf("pop %d, %d bytes, %d left", v, d.Bytes(), d.Len())
	}
}
