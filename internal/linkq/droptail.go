package linkq

// DropTail is the FIFO in front of a link's transmitter: when full, the
// arriving packet is dropped, as in Linux's pfifo and bfifo.
type DropTail[T any] struct {
	q     Ring[sized[T]]
	bytes int
	// MaxPackets and MaxBytes bound the queue; 0 is unlimited.
	MaxPackets, MaxBytes int
}

type sized[T any] struct {
	v    T
	size int
}

// Fits reports whether a packet of n bytes may join the queue.
func (d *DropTail[T]) Fits(n int) bool {
	if d.MaxPackets > 0 && d.q.Len() >= d.MaxPackets {
		return false
	}
	return d.MaxBytes <= 0 || d.bytes+n <= d.MaxBytes
}

// Push appends a packet of size bytes.
func (d *DropTail[T]) Push(v T, size int) {
	d.q.Push(sized[T]{v, size})
	d.bytes += size
}

// Pop removes the oldest packet; the queue must not be empty.
func (d *DropTail[T]) Pop() T {
	e := d.q.Pop()
	d.bytes -= e.size
	return e.v
}

// Len returns the number of packets queued.
func (d *DropTail[T]) Len() int { return d.q.Len() }

// Bytes returns the bytes queued.
func (d *DropTail[T]) Bytes() int { return d.bytes }
