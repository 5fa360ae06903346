package linkq

import (
	"math/rand/v2"
	"slices"
	"testing"
)

type pkt struct {
	id      int
	arrival int64
	seq     int
	late    bool
}

// TestFlightOrder checks that packets come out in (arrival, send order),
// against a sort, with in-order arrivals clamped to the one before.
func TestFlightOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var f Flight[*pkt]
	var want []*pkt
	var got []*pkt
	now := int64(0)
	for i := range 5000 {
		now += r.Int64N(100)
		p := &pkt{id: i, seq: i}
		arr := now + 1000 + r.Int64N(300) // jitter
		if r.IntN(10) == 0 {
			p.late = true
			p.arrival = arr + 500
			f.SendLate(p, p.arrival)
		} else {
			p.arrival = f.Send(p, arr)
			if p.arrival < arr {
				t.Fatalf("Send moved arrival earlier: %d < %d", p.arrival, arr)
			}
		}
		want = append(want, p)
		for {
			v, a, ok := f.Next()
			if !ok || a > now {
				break
			}
			if a != v.arrival {
				t.Fatalf("Next arrival %d, packet's %d", a, v.arrival)
			}
			if f.Pop() != v {
				t.Fatal("Pop returned another packet than Next")
			}
			got = append(got, v)
		}
	}
	for f.Len() > 0 {
		got = append(got, f.Pop())
	}
	if _, _, ok := f.Next(); ok {
		t.Fatal("Next on an empty flight reports a packet")
	}
	// In-order packets keep their sending order: jitter never reorders.
	last := int64(0)
	for _, p := range want {
		if !p.late {
			if p.arrival < last {
				t.Fatalf("packet %d arrives at %d, before the in-order packet ahead (%d)", p.id, p.arrival, last)
			}
			last = p.arrival
		}
	}
	slices.SortStableFunc(want, func(a, b *pkt) int {
		if a.arrival != b.arrival {
			return int(a.arrival - b.arrival)
		}
		return a.seq - b.seq
	})
	if !slices.Equal(got, want) {
		t.Fatal("delivery order differs from (arrival, seq) order")
	}
}

// TestFlightRestart checks that after Restart the floor left by packets
// that were dropped no longer holds new ones back.
func TestFlightRestart(t *testing.T) {
	var f Flight[int]
	if a := f.Send(1, 1000); a != 1000 {
		t.Fatalf("arrival %d, want 1000", a)
	}
	if a := f.Send(2, 500); a != 1000 {
		t.Fatalf("arrival %d, want 1000 (not before the packet ahead)", a)
	}
	for f.Len() > 0 {
		f.Pop()
	}
	f.Restart(100)
	if a := f.Send(3, 500); a != 500 {
		t.Fatalf("after Restart: arrival %d, want 500", a)
	}
}

// TestFlightNoAllocs checks that a flight at its working size reuses its
// storage.
func TestFlightNoAllocs(t *testing.T) {
	var f Flight[*pkt]
	p := &pkt{}
	step := func() {
		for i := range 100 {
			if i%7 == 0 {
				f.SendLate(p, int64(i))
			} else {
				f.Send(p, int64(i))
			}
		}
		for f.Len() > 0 {
			f.Pop()
		}
	}
	step()
	if n := testing.AllocsPerRun(100, step); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

// TestRing checks FIFO order against a slice, across growth and
// wrap-around.
func TestRing(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var q Ring[int]
	var model []int
	for i := range 10000 {
		if r.IntN(3) != 0 {
			q.Push(i)
			model = append(model, i)
		} else if len(model) > 0 {
			if q.Peek() != model[0] {
				t.Fatalf("Peek %d, want %d", q.Peek(), model[0])
			}
			if v := q.Pop(); v != model[0] {
				t.Fatalf("Pop %d, want %d", v, model[0])
			}
			model = model[1:]
		}
		if q.Len() != len(model) {
			t.Fatalf("Len %d, want %d", q.Len(), len(model))
		}
		if n := len(model); n > 0 {
			k := r.IntN(n)
			if q.At(k) != model[k] {
				t.Fatalf("At(%d) %d, want %d", k, q.At(k), model[k])
			}
		}
	}
}
