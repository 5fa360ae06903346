package core

import (
	"slices"
	"time"

	"github.com/mptcp-go/mptcp/internal/heap"
	"github.com/mptcp-go/mptcp/pm"
)

// Scheduling the connections, as the TCP engine beneath schedules its own
// (gVisor's dispatcher and smoltcp's poll_at in the same spirit): a poll
// costs what the connections with work cost, not the number of
// connections.
//
// A connection has work when it is queued on the run queue (marked dirty,
// touched by a TCP hook, a path-manager event or the application) or when
// its deadline is due. Its deadline is nextWake, the one place that
// derives it from the connection's timers, recomputed after every poll of
// the connection and kept in a heap. Queued connections are polled in the
// order they were created, as every connection was when a poll visited
// them all, so the simulator's output does not depend on the order in
// which they got work.

// deadlineHeap orders connections by deadline.
type deadlineHeap = heap.Heap[*Conn, deadlineOrder]

// deadlineOrder orders connections by deadline, then by age.
type deadlineOrder struct{}

// Less implements heap.Ops.
func (deadlineOrder) Less(a, b *Conn) bool {
	if !a.deadline.Equal(b.deadline) {
		return a.deadline.Before(b.deadline)
	}
	return a.seq < b.seq
}

// SetIndex implements heap.Ops.
func (deadlineOrder) SetIndex(c *Conn, i int) { c.heapIdx = i }

// addConn registers a new connection and queues it for its first poll.
func (s *Stack) addConn(c *Conn) {
	s.conns = append(s.conns, c)
	if _, ok := c.pm.(pm.Inbox); ok {
		s.inbox = append(s.inbox, c)
	}
	s.queue(c)
}

// queue puts c on the run queue for the next round.
func (s *Stack) queue(c *Conn) {
	if !c.queued && !c.reaped {
		c.queued = true
		s.runq = append(s.runq, c)
	}
}

// queueDue queues the connections whose deadline has come.
func (s *Stack) queueDue(now time.Time) {
	for s.timers.Len() > 0 && !s.timers.Min().deadline.After(now) {
		c := s.timers.Pop()
		c.deadline = time.Time{}
		s.queue(c)
	}
}

// queueInbox queues the connections whose path manager has commands
// from outside waiting (the userspace path manager).
func (s *Stack) queueInbox() {
	if len(s.inbox) == 0 {
		return
	}
	out := s.inbox[:0]
	for _, c := range s.inbox {
		if c.reaped {
			continue
		}
		out = append(out, c)
		if c.pmInbox() {
			s.queue(c)
		}
	}
	clear(s.inbox[len(out):])
	s.inbox = out
}

// pmInbox reports whether the connection's path manager has commands
// from outside waiting.
func (c *Conn) pmInbox() bool {
	in, ok := c.pm.(pm.Inbox)
	return ok && in.Pending()
}

// pollQueued polls the queued connections, oldest first, and reports
// whether any did something that needs the TCP engine to run again.
func (s *Stack) pollQueued(now time.Time) bool {
	s.batch, s.runq = s.runq, s.batch[:0]
	slices.SortFunc(s.batch, func(a, b *Conn) int {
		if a.seq < b.seq {
			return -1
		}
		return 1
	})
	busy := false
	for _, c := range s.batch {
		c.queued = false
		if c.poll(now) {
			busy = true
		}
	}
	return busy
}

// settle takes the deadlines of the connections just polled, and forgets
// those that are closed and have no subflow left.
func (s *Stack) settle(now time.Time) {
	reaped := false
	for _, set := range [2][]*Conn{s.batch, s.runq} {
		for _, c := range set {
			if c.reaped {
				continue
			}
			if c.state == StateClosed && len(c.subflows) == 0 {
				s.tokens.remove(c.local.token, c)
				c.snd.q.release()
				c.rcv.ready.release()
				c.reaped = true
				reaped = true
			}
			s.reschedule(c, now)
		}
	}
	clear(s.batch)
	s.batch = s.batch[:0]
	if reaped {
		s.conns = slices.DeleteFunc(s.conns, func(c *Conn) bool { return c.reaped })
		s.runq = slices.DeleteFunc(s.runq, func(c *Conn) bool {
			if c.reaped {
				c.queued = false
			}
			return c.reaped
		})
	}
}

// reschedule puts c at its place in the deadline heap.
func (s *Stack) reschedule(c *Conn, now time.Time) {
	var d time.Time
	if !c.reaped {
		d = c.nextWake(now)
	}
	c.deadline = d
	switch {
	case d.IsZero() && c.heapIdx >= 0:
		s.timers.Remove(c.heapIdx)
	case !d.IsZero() && c.heapIdx < 0:
		s.timers.Push(c)
	case !d.IsZero():
		s.timers.Fix(c.heapIdx)
	}
}

// anyDirty reports whether a connection got work during the TCP poll
// (acknowledgments that opened the window, a subflow that failed).
func (s *Stack) anyDirty() bool {
	for _, c := range s.runq {
		if c.dirty {
			return true
		}
	}
	return false
}

// Pending reports whether the next Poll has work before any timer is due:
// a connection queued (a window update after a read, data written, an
// event) or a TCP connection waiting to send. An application's Read asks
// it so that the driver is woken only when the read made something due.
func (s *Stack) Pending() bool { return len(s.runq) > 0 || s.tcp.Pending() }
