// Package heap is the binary min-heap of the TCP engine's connection
// timers and the MPTCP layer's connection deadlines. (The simulator's event
// queue, which holds thousands of timers, is a 4-ary heap with its keys
// inline: netsim/event.go.) It is intrusive (each element
// records its own index, so moving or removing one needs no search) and
// generic over a small Ops value rather than built on container/heap, so
// it makes no interface call on an element and allocates nothing beyond
// its slice.
package heap

// Ops orders the elements of a Heap and records where each one is. Its
// methods are called on the zero value of O: an Ops type is normally an
// empty struct.
type Ops[T any] interface {
	// Less reports whether a comes before b.
	Less(a, b T) bool
	// SetIndex records x's position in the heap; -1 means not in it.
	SetIndex(x T, i int)
}

// Heap is a binary min-heap of T ordered by O. The zero value is empty and
// ready to use.
type Heap[T any, O Ops[T]] struct {
	s   []T
	ops O
}

// Len returns the number of elements.
func (h *Heap[T, O]) Len() int { return len(h.s) }

// Min returns the first element; the heap must not be empty.
func (h *Heap[T, O]) Min() T { return h.s[0] }

// Push adds x.
func (h *Heap[T, O]) Push(x T) {
	i := len(h.s)
	h.s = append(h.s, x)
	h.ops.SetIndex(x, i)
	h.up(i)
}

// Pop removes and returns the first element; the heap must not be empty.
func (h *Heap[T, O]) Pop() T { return h.Remove(0) }

// Remove removes and returns the element at index i.
func (h *Heap[T, O]) Remove(i int) T {
	x := h.s[i]
	n := len(h.s) - 1
	if i != n {
		h.swap(i, n)
	}
	var zero T
	h.s[n] = zero
	h.s = h.s[:n]
	if i != n {
		h.Fix(i)
	}
	h.ops.SetIndex(x, -1)
	return x
}

// Fix restores the order after the element at index i changed its key.
func (h *Heap[T, O]) Fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *Heap[T, O]) swap(i, j int) {
	h.s[i], h.s[j] = h.s[j], h.s[i]
	h.ops.SetIndex(h.s[i], i)
	h.ops.SetIndex(h.s[j], j)
}

func (h *Heap[T, O]) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.ops.Less(h.s[j], h.s[i]) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

// down sifts the element at i0 down and reports whether it moved.
func (h *Heap[T, O]) down(i0 int) bool {
	n := len(h.s)
	i := i0
	for {
		j := 2*i + 1
		if j >= n || j < 0 {
			break
		}
		if r := j + 1; r < n && h.ops.Less(h.s[r], h.s[j]) {
			j = r
		}
		if !h.ops.Less(h.s[j], h.s[i]) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}
