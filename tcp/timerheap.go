package tcp

import "time"

// connHeap orders connections by their next deadline, so Poll finds due
// timers in O(log n) and says when it next wants to run. Each Conn holds
// its index, so rescheduling needs no search.
type connHeap []*Conn

func (h connHeap) less(i, j int) bool { return h[i].deadline < h[j].deadline }

func (h connHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}

func (h *connHeap) push(c *Conn) {
	c.heapIdx = len(*h)
	*h = append(*h, c)
	h.up(c.heapIdx)
}

func (h *connHeap) remove(i int) {
	old := *h
	n := len(old) - 1
	c := old[i]
	if i != n {
		old.swap(i, n)
	}
	old[n] = nil
	*h = old[:n]
	if i != n {
		if !h.down(i) {
			h.up(i)
		}
	}
	c.heapIdx = -1
}

func (h *connHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h connHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h connHeap) down(i0 int) bool {
	i := i0
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && h.less(r, l) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}

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
		s.timers.remove(c.heapIdx)
	case d != 0 && c.heapIdx < 0:
		s.timers.push(c)
	case d != 0:
		s.timers.fix(c.heapIdx)
	}
}
