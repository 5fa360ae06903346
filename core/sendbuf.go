package core

// sendBuffer is the connection-level send buffer: the bytes the
// application wrote, from the oldest one the peer has not DATA_ACKed to
// the last one written, addressed by 64-bit data sequence number. Bytes
// stay here until a DATA_ACK covers them, whichever subflows carried them,
// so that any of them can be sent again on another subflow (reinjection).
type sendBuffer struct {
	first uint64 // first DSN of the connection
	una   uint64 // first DSN not yet DATA_ACKed
	nxt   uint64 // first DSN never sent: new data starts here
	q     byteQueue
	limit int // most bytes held; writes beyond it are refused

	// finQueued is set once the application closed its side: the
	// DATA_FIN takes the DSN right after the last byte (RFC 8684 section
	// 3.3.3), at end().
	finQueued bool
	finSent   bool // the DATA_FIN has gone out at least once
	finAcked  bool
}

// init starts the buffer at the first DSN of the local side, IDSN+1.
func (s *sendBuffer) init(first uint64, limit int) {
	s.first, s.una, s.nxt, s.limit = first, first, first, limit
}

// end returns the DSN after the last byte written: where new bytes go, and
// the DSN of the DATA_FIN once queued.
func (s *sendBuffer) end() uint64 { return s.una + uint64(s.q.len()) }

// free returns how many more bytes the application may write.
func (s *sendBuffer) free() int {
	if s.finQueued {
		return 0
	}
	return max(0, s.limit-s.q.len())
}

// write appends as much of p as fits and returns how much it took.
func (s *sendBuffer) write(p []byte) int {
	n := min(len(p), s.free())
	s.q.append(p[:n])
	return n
}

// unsent returns the number of written bytes never sent.
func (s *sendBuffer) unsent() int { return int(s.end() - s.nxt) }

// bytes returns up to n bytes starting at dsn, which must lie in
// [una, end): a, then b where they wrap around the end of the buffer's
// ring (see byteQueue.peek). The slices alias the buffer.
func (s *sendBuffer) bytes(dsn uint64, n int) (a, b []byte) {
	if before64(dsn, s.una) || !before64(dsn, s.end()) {
		return nil, nil
	}
	return s.q.peek(int(dsn-s.una), n)
}

// ack processes a DATA_ACK for dsn (already expanded to 64 bits) and
// returns the number of bytes newly acknowledged. An ACK below una is old
// news; one beyond what was sent (plus the DATA_FIN) is ignored, as the
// kernel's ack_update_msk does: acknowledging data never sent is either a
// bug or an attack, and believing it would lose data.
func (s *sendBuffer) ack(dsn uint64) int {
	if !after64(dsn, s.una) || after64(dsn, s.ackLimit()) {
		return 0
	}
	if s.finSent && dsn == s.end()+1 {
		s.finAcked = true
		dsn = s.end()
	}
	n := int(dsn - s.una)
	s.q.discard(n)
	s.una = dsn
	return n
}

// skipFront drops n bytes from the head of a buffer that has sent
// nothing with a DSN yet: a Fast Open SYN delivered them outside the data
// sequence space, so the next byte still takes the first DSN.
func (s *sendBuffer) skipFront(n int) {
	if s.una != s.first || s.nxt != s.first {
		return
	}
	s.q.discard(min(n, s.q.len()))
}

// ackLimit is the highest DATA_ACK that can be true: everything sent,
// and the DATA_FIN once it went.
func (s *sendBuffer) ackLimit() uint64 {
	if s.finSent {
		return s.end() + 1
	}
	return s.nxt
}

// rewind makes the bytes from dsn on count as never sent, so they go out
// again as new data (after MP_FAIL, RFC 8684 section 3.7).
func (s *sendBuffer) rewind(dsn uint64) {
	if before64(dsn, s.una) {
		dsn = s.una
	}
	if before64(dsn, s.nxt) {
		s.nxt = dsn
	}
}
