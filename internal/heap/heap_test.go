package heap

import (
	"math/rand/v2"
	"slices"
	"testing"
)

type item struct {
	key, idx int
}

type itemOps struct{}

func (itemOps) Less(a, b *item) bool    { return a.key < b.key }
func (itemOps) SetIndex(x *item, i int) { x.idx = i }

// TestOrder pushes, changes, removes and pops at random and checks the
// order and the recorded indexes against a sorted slice.
func TestOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Heap[*item, itemOps]
	var live []*item
	for step := range 5000 {
		switch op := r.IntN(4); {
		case op == 0 || len(live) == 0:
			it := &item{key: r.IntN(1000)}
			h.Push(it)
			live = append(live, it)
		case op == 1:
			it := live[r.IntN(len(live))]
			it.key = r.IntN(1000)
			h.Fix(it.idx)
		case op == 2:
			k := r.IntN(len(live))
			it := live[k]
			if got := h.Remove(it.idx); got != it || it.idx != -1 {
				t.Fatalf("step %d: Remove returned %v (index %d)", step, got, it.idx)
			}
			live = slices.Delete(live, k, k+1)
		default:
			min := slices.MinFunc(live, func(a, b *item) int { return a.key - b.key })
			it := h.Pop()
			if it.key != min.key {
				t.Fatalf("step %d: Pop gave key %d, want %d", step, it.key, min.key)
			}
			live = slices.DeleteFunc(live, func(x *item) bool { return x == it })
		}
		if h.Len() != len(live) {
			t.Fatalf("step %d: Len %d, want %d", step, h.Len(), len(live))
		}
		for i, x := range h.s {
			if x.idx != i {
				t.Fatalf("step %d: element at %d records index %d", step, i, x.idx)
			}
		}
	}
}

// TestNoAllocation: once its slice has grown, the heap allocates nothing.
func TestNoAllocation(t *testing.T) {
	var h Heap[*item, itemOps]
	items := make([]item, 64)
	for i := range items {
		items[i].key = i * 7 % 64
		h.Push(&items[i])
	}
	n := testing.AllocsPerRun(100, func() {
		it := h.Pop()
		it.key += 64
		h.Push(it)
	})
	if n != 0 {
		t.Fatalf("%v allocations per pop and push, want 0", n)
	}
}
