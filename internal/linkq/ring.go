package linkq

// Ring is a growable FIFO. Its storage is reused, so a queue that has
// reached its working size stops allocating. The zero value is empty and
// ready to use.
type Ring[T any] struct {
	buf        []T
	head, size int
}

// Len returns the number of elements held.
func (r *Ring[T]) Len() int { return r.size }

// Push appends v.
func (r *Ring[T]) Push(v T) {
	if r.size == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.size)&(len(r.buf)-1)] = v
	r.size++
}

// Peek returns the oldest element; the ring must not be empty.
func (r *Ring[T]) Peek() T { return r.buf[r.head] }

// Pop removes and returns the oldest element; the ring must not be empty.
// The slot is cleared so that the ring does not keep a popped packet alive.
func (r *Ring[T]) Pop() T {
	var zero T
	v := r.buf[r.head]
	r.buf[r.head] = zero
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.size--
	return v
}

// At returns the i-th oldest element; i must be below Len.
func (r *Ring[T]) At(i int) T { return r.buf[(r.head+i)&(len(r.buf)-1)] }

// grow doubles the storage, keeping its length a power of two so that
// indices wrap with a mask rather than a division.
func (r *Ring[T]) grow() {
	n := 2 * len(r.buf)
	if n == 0 {
		n = 16
	}
	buf := make([]T, n)
	for i := 0; i < r.size; i++ {
		buf[i] = r.At(i)
	}
	r.buf = buf
	r.head = 0
}
