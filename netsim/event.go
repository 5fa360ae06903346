package netsim

// eventHeap is the simulation's event queue: timers ordered by (time,
// scheduling sequence), a total order, so the order in which they fire does
// not depend on the heap's shape. Each timer records its own index, so
// cancelling or moving one needs no search.
//
// It is a 4-ary heap whose entries hold their timer's key, unlike the
// binary internal/heap the TCP engine and the MPTCP layer use: a large
// topology keeps thousands of timers queued (two per link direction, one
// per stack), every packet on every hop moves one, and sifting through
// half as many levels while comparing keys held in one slice, rather than
// in timers scattered over memory, is most of what the event queue costs.
type eventHeap struct {
	e []event
}

// event is one queued timer and its key.
type event struct {
	at  int64
	seq uint64
	t   *Timer
}

func (a *event) before(b *event) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

// Len returns the number of queued timers.
func (h *eventHeap) Len() int { return len(h.e) }

// Min returns the first timer; the heap must not be empty.
func (h *eventHeap) Min() *Timer { return h.e[0].t }

// Push queues t with its current key.
func (h *eventHeap) Push(t *Timer) {
	h.e = append(h.e, event{})
	h.place(len(h.e)-1, event{t.at, t.seq, t})
	h.up(len(h.e) - 1)
}

// Pop removes the first timer; the heap must not be empty.
func (h *eventHeap) Pop() { h.Remove(0) }

// Remove takes the timer at index i out of the queue.
func (h *eventHeap) Remove(i int) {
	t := h.e[i].t
	n := len(h.e) - 1
	if i != n {
		h.place(i, h.e[n])
	}
	h.e[n] = event{}
	h.e = h.e[:n]
	if i != n {
		h.fix(i)
	}
	t.idx = -1
}

// Fix restores the order after the key of the timer at index i changed.
func (h *eventHeap) Fix(i int) {
	t := h.e[i].t
	h.e[i].at, h.e[i].seq = t.at, t.seq
	h.fix(i)
}

func (h *eventHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

// place puts e at index i and tells its timer.
func (h *eventHeap) place(i int, e event) {
	h.e[i] = e
	e.t.idx = i
}

func (h *eventHeap) up(j int) {
	e := h.e[j]
	for j > 0 {
		i := (j - 1) / 4
		if !e.before(&h.e[i]) {
			break
		}
		h.place(j, h.e[i])
		j = i
	}
	h.place(j, e)
}

// down sifts the entry at i0 down and reports whether it moved.
func (h *eventHeap) down(i0 int) bool {
	n := len(h.e)
	e := h.e[i0]
	i := i0
	for {
		c := 4*i + 1
		if c >= n || c < 0 {
			break
		}
		m := c
		for k := c + 1; k < min(c+4, n); k++ {
			if h.e[k].before(&h.e[m]) {
				m = k
			}
		}
		if !h.e[m].before(&e) {
			break
		}
		h.place(i, h.e[m])
		i = m
	}
	h.place(i, e)
	return i > i0
}
