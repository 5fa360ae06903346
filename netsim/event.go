package netsim

import "github.com/mptcp-go/mptcp/internal/heap"

// eventHeap is the simulation's event queue: timers ordered by (time,
// scheduling sequence). Each timer records its own index, so cancelling or
// moving one needs no search.
type eventHeap = heap.Heap[*Timer, eventOrder]

// eventOrder orders timers by time, then by when they were scheduled.
type eventOrder struct{}

// Less implements heap.Ops.
func (eventOrder) Less(a, b *Timer) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

// SetIndex implements heap.Ops.
func (eventOrder) SetIndex(t *Timer, i int) { t.idx = i }
