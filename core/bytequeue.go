package core

import "github.com/mptcp-go/mptcp/internal/bufcache"

// byteQueue is a FIFO of bytes: appended at the back, read and discarded
// from the front. Its storage is a ring whose size is a power of two; it
// grows by doubling, copying what it holds once, and never moves bytes
// otherwise, so a queue at its working size costs one copy in and one
// out per byte and stops allocating. Rings come from the stack's cache
// and go back to it when the queue grows and when its connection ends.
// A range of bytes may wrap around the end of the ring: peek hands it
// over in two pieces.
//
// Bytes may also be written beyond the back (writeAt) and queued later
// (extend): the reassembly queue keeps out-of-order data at its place
// that way, and never copies it again.
type byteQueue struct {
	buf  []byte          // len(buf) is 0 or a power of two
	bufs *bufcache.Cache // where the ring comes from and goes back to
	head int             // index in buf of the first byte
	n    int             // bytes queued
	span int             // bytes held from the front: n, and any written beyond
}

// len returns the number of queued bytes.
func (q *byteQueue) len() int { return q.n }

// append adds p at the back.
func (q *byteQueue) append(p []byte) {
	q.writeAt(q.n, p)
	q.n += len(p)
}

// writeAt copies p to i bytes from the front, at or beyond the back,
// without queueing it: extend does.
func (q *byteQueue) writeAt(i int, p []byte) {
	if len(p) == 0 {
		return
	}
	q.reserve(i + len(p))
	at := (q.head + i) & (len(q.buf) - 1)
	c := copy(q.buf[at:], p)
	copy(q.buf, p[c:])
	q.span = max(q.span, i+len(p))
}

// extend queues the k bytes after the back, which writeAt wrote.
func (q *byteQueue) extend(k int) {
	q.n += k
	q.span = max(q.span, q.n)
}

// reserve grows the ring to hold at least n bytes from the front, the
// bytes held moving to its start.
func (q *byteQueue) reserve(n int) {
	if n <= len(q.buf) {
		return
	}
	size := max(len(q.buf), 4096)
	for size < n {
		size *= 2
	}
	nb := q.bufs.Get(size)
	if q.span > 0 {
		a, b := q.slices(0, q.span)
		copy(nb[copy(nb, a):], b)
	}
	q.bufs.Put(q.buf)
	q.buf, q.head = nb, 0
}

// release hands the ring back to its cache if the queue holds nothing;
// the queue stays usable and takes a ring again when written to.
func (q *byteQueue) release() {
	if q.n != 0 || q.span != 0 {
		return
	}
	q.bufs.Put(q.buf)
	q.buf, q.head = nil, 0
}

// peek returns up to n bytes starting i bytes from the front, without
// removing them: a, then b when the range wraps around the end of the
// ring (b is empty otherwise). The slices alias the queue and are valid
// until the next append or discard.
func (q *byteQueue) peek(i, n int) (a, b []byte) {
	if i < 0 || i >= q.n || n <= 0 {
		return nil, nil
	}
	return q.slices(i, min(n, q.n-i))
}

// slices returns the n bytes held from i bytes after the front on.
func (q *byteQueue) slices(i, n int) (a, b []byte) {
	start := (q.head + i) & (len(q.buf) - 1)
	if end := start + n; end <= len(q.buf) {
		return q.buf[start:end], nil
	}
	return q.buf[start:], q.buf[:start+n-len(q.buf)]
}

// read moves up to len(p) bytes from the front into p.
func (q *byteQueue) read(p []byte) int {
	a, b := q.peek(0, len(p))
	n := copy(p, a)
	n += copy(p[n:], b)
	q.discard(n)
	return n
}

// discard drops n bytes from the front (all of them if n is larger). An
// emptied queue holding nothing beyond starts again at the beginning of
// its ring, so that what is appended next lies in one piece.
func (q *byteQueue) discard(n int) {
	n = min(n, q.n)
	if n == q.span {
		q.head, q.n, q.span = 0, 0, 0
		return
	}
	q.head = (q.head + n) & (len(q.buf) - 1)
	q.n -= n
	q.span -= n
}
