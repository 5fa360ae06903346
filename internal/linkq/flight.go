package linkq

// Flight holds the packets a pipe has put on the wire that have not yet
// arrived. Most arrive in the order they were sent and wait in a FIFO, so
// the common case costs O(1); packets picked for reordering arrive late
// and wait in a small heap. Arrival order is (arrival time, transmission
// sequence), the same whichever structure a packet is in, so ties break
// by sending order and a run is reproducible.
//
// The keys are stored beside each element rather than read from it, so
// comparing two packets needs no method call through the type parameter
// (which Go would make indirect for every pointer type) and the queue
// stays as fast as the hand-written copies it replaced.
type Flight[T any] struct {
	fifo Ring[entry[T]]
	late []entry[T] // min-heap by (arrival, seq)
	seq  uint64     // transmission sequence of the last packet sent
	last int64      // arrival of the last in-order packet, which jitter may not undercut
}

type entry[T any] struct {
	v       T
	arrival int64
	seq     uint64
}

func before[T any](a, b *entry[T]) bool {
	if a.arrival != b.arrival {
		return a.arrival < b.arrival
	}
	return a.seq < b.seq
}

// Len returns the number of packets on the wire.
func (f *Flight[T]) Len() int { return f.fifo.Len() + len(f.late) }

// Send puts v on the wire in order, due at arr, and returns the time it
// will arrive: not before the in-order packet sent ahead of it, because on
// a real link delay variation comes from queues, and packets do not
// overtake each other on the wire.
func (f *Flight[T]) Send(v T, arr int64) int64 {
	arr = max(arr, f.last)
	f.last = arr
	f.seq++
	f.fifo.Push(entry[T]{v: v, arrival: arr, seq: f.seq})
	return arr
}

// SendLate puts v on the wire arriving at arr exactly, outside the
// in-order stream: packets sent after it may overtake it, which is what
// reordering is.
func (f *Flight[T]) SendLate(v T, arr int64) {
	f.seq++
	f.late = append(f.late, entry[T]{v: v, arrival: arr, seq: f.seq})
	h := f.late
	j := len(h) - 1
	for j > 0 {
		i := (j - 1) / 2
		if !before(&h[j], &h[i]) {
			break
		}
		h[i], h[j] = h[j], h[i]
		j = i
	}
}

// Next returns the packet that arrives first and its arrival time, or
// ok false if nothing is on the wire.
func (f *Flight[T]) Next() (v T, arrival int64, ok bool) {
	var e *entry[T]
	if f.fifo.Len() > 0 {
		e = &f.fifo.buf[f.fifo.head]
	}
	if len(f.late) > 0 && (e == nil || before(&f.late[0], e)) {
		e = &f.late[0]
	}
	if e == nil {
		return v, 0, false
	}
	return e.v, e.arrival, true
}

// Pop removes and returns the packet Next would return; there must be one.
func (f *Flight[T]) Pop() T {
	if len(f.late) > 0 && (f.fifo.Len() == 0 || before(&f.late[0], &f.fifo.buf[f.fifo.head])) {
		return f.popLate()
	}
	return f.fifo.Pop().v
}

// Restart sets the in-order floor to now. A pipe calls it when it goes
// down, after it has popped (and dropped) everything on the wire: the
// packets that were to set the floor are gone, and the first packet sent
// after the pipe comes back must not wait for them.
func (f *Flight[T]) Restart(now int64) { f.last = now }

func (f *Flight[T]) popLate() T {
	h := f.late
	v := h[0].v
	n := len(h) - 1
	h[0] = h[n]
	h[n] = entry[T]{}
	h = h[:n]
	i := 0
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if r := j + 1; r < n && before(&h[r], &h[j]) {
			j = r
		}
		if !before(&h[j], &h[i]) {
			break
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
	f.late = h
	return v
}
