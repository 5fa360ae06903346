package core

// byteQueue is a FIFO of bytes: appended at the back, read and discarded
// from the front. Its storage is one slice with a read offset that is
// compacted when more than half of it is dead, so a queue at its working
// size stops allocating.
type byteQueue struct {
	b   []byte
	off int
}

// len returns the number of queued bytes.
func (q *byteQueue) len() int { return len(q.b) - q.off }

// append adds p at the back.
func (q *byteQueue) append(p []byte) {
	if q.off > 0 && q.off >= len(q.b)/2 && len(q.b)+len(p) > cap(q.b) {
		n := copy(q.b, q.b[q.off:])
		q.b = q.b[:n]
		q.off = 0
	}
	q.b = append(q.b, p...)
}

// peek returns up to n bytes starting i bytes from the front, without
// removing them. The slice aliases the queue and is valid until the next
// append or discard.
func (q *byteQueue) peek(i, n int) []byte {
	if i < 0 || i >= q.len() || n <= 0 {
		return nil
	}
	s := q.b[q.off+i:]
	if len(s) > n {
		s = s[:n]
	}
	return s
}

// read moves up to len(p) bytes from the front into p.
func (q *byteQueue) read(p []byte) int {
	n := copy(p, q.b[q.off:])
	q.discard(n)
	return n
}

// discard drops n bytes from the front (all of them if n is larger).
func (q *byteQueue) discard(n int) {
	if n >= q.len() {
		q.b = q.b[:0]
		q.off = 0
		return
	}
	q.off += n
}
