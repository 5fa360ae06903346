package tcp

import (
	"time"

	"github.com/mptcp-go/mptcp/internal/heap"
)

// connHeap orders connections by their next deadline, so Poll finds due
// timers in O(log n) and says when it next wants to run. Each Conn holds
// its index, so rescheduling needs no search.
type connHeap = heap.Heap[*Conn, deadlineOrder]

// deadlineOrder orders connections by deadline.
type deadlineOrder struct{}

// Less implements heap.Ops.
func (deadlineOrder) Less(a, b *Conn) bool { return a.deadline < b.deadline }

// SetIndex implements heap.Ops.
func (deadlineOrder) SetIndex(c *Conn, i int) { c.heapIdx = i }

// nextTimer returns the connection's earliest armed deadline, or 0.
func (c *Conn) nextTimer() time.Duration {
	d := time.Duration(0)
	for _, t := range [...]time.Duration{c.rtoAt, c.tlpAt, c.reoAt, c.persistAt, c.delackAt, c.kaAt, c.closeAt, c.pace.at} {
		if t != 0 && (d == 0 || t < d) {
			d = t
		}
	}
	return d
}

// reschedule puts c at its place in the timer heap after its timers
// changed.
func (s *Stack) reschedule(c *Conn) {
	d := c.nextTimer()
	if c.state == StateClosed {
		d = 0
	}
	c.deadline = d
	switch {
	case d == 0 && c.heapIdx >= 0:
		s.timers.Remove(c.heapIdx)
	case d != 0 && c.heapIdx < 0:
		s.timers.Push(c)
	case d != 0:
		s.timers.Fix(c.heapIdx)
	}
}
