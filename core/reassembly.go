package core

// reassembly is the connection-level receive side: data arriving on any
// subflow, already mapped to data sequence numbers, is put back in order
// here. In-order bytes wait in ready for the application; bytes beyond a
// gap wait in the out-of-order queue. The receive window (RFC 8684 section
// 3.3.4) is one for the whole connection: its right edge is nxt plus the
// room left in the buffer, and data beyond it is dropped.
type reassembly struct {
	nxt   uint64 // next DSN expected in order: the DATA_ACK we send
	ready byteQueue
	ofo   []ofoSeg // sorted, non-overlapping, all after nxt
	ofoN  int      // bytes in ofo
	limit int      // receive buffer size in bytes

	finRcvd bool   // a DATA_FIN has been seen ...
	finSeq  uint64 // ... at this DSN
	finDone bool   // ... and every byte before it has arrived: nxt = finSeq+1
}

type ofoSeg struct {
	dsn uint64
	b   []byte
}

func (s ofoSeg) end() uint64 { return s.dsn + uint64(len(s.b)) }

// init starts the sequence space at the peer's first DSN, its IDSN+1.
func (r *reassembly) init(first uint64, limit int) {
	r.nxt, r.limit = first, limit
}

// window returns the receive window to advertise, relative to nxt. Data
// waiting out of order does not shrink it: it lies inside the window.
func (r *reassembly) window() int { return max(0, r.limit-r.ready.len()) }

// acceptEdge is the first DSN beyond any window advertised so far: the
// window is never more than limit beyond a DATA_ACK, and every DATA_ACK
// sent is at most nxt.
func (r *reassembly) acceptEdge() uint64 { return r.nxt + uint64(r.limit) }

// insert takes the bytes p, mapped to DSNs from dsn on, counts what
// happened to them in mib, and returns how many bytes became readable.
// It copies what it keeps.
func (r *reassembly) insert(dsn uint64, p []byte, mib *MIB) int {
	return r.insertEdge(dsn, p, true, mib)
}

// insertAcked is insert for a connection that fell back to TCP: the TCP
// engine acknowledged these bytes and nothing sends them again at data
// level, so they are kept even beyond the window (the caller takes no more
// than the window until the peer's FIN is in; then it takes everything the
// engine holds, which may be more than the buffer).
func (r *reassembly) insertAcked(dsn uint64, p []byte, mib *MIB) int {
	return r.insertEdge(dsn, p, false, mib)
}

func (r *reassembly) insertEdge(dsn uint64, p []byte, edge bool, mib *MIB) int {
	if len(p) == 0 {
		return 0
	}
	end := dsn + uint64(len(p))
	if !after64(end, r.nxt) {
		mib.Inc(DuplicateData)
		return 0
	}
	if before64(dsn, r.nxt) {
		p = p[r.nxt-dsn:]
		dsn = r.nxt
	}
	if r.finRcvd && !before64(dsn, r.finSeq) {
		// Data at or beyond the DATA_FIN: the peer said it was done.
		mib.Inc(NoDSSInWindow)
		return 0
	}
	// Data is accepted up to nxt+limit, not just the window advertised
	// now: a subflow whose own sequence space did not move may have
	// advertised, on top of an older DATA_ACK, a window that the reader
	// has since shrunk (the TCP engine never moves a subflow's right edge
	// left). The peer may send up to any edge it was shown; dropping such
	// data would only make it send again. The buffer overshoots its limit
	// by at most the unread bytes, as the kernel's does.
	if edge {
		re := r.acceptEdge()
		if !before64(dsn, re) {
			mib.Inc(NoDSSInWindow)
			return 0
		}
		if after64(dsn+uint64(len(p)), re) {
			p = p[:re-dsn]
		}
	}
	if dsn == r.nxt {
		return r.deliver(p)
	}
	r.queue(dsn, p, mib)
	return 0
}

// deliver appends in-order bytes to ready and pulls whatever out-of-order
// data they made contiguous.
func (r *reassembly) deliver(p []byte) int {
	n := len(p)
	r.ready.append(p)
	r.nxt += uint64(len(p))
	for len(r.ofo) > 0 && !after64(r.ofo[0].dsn, r.nxt) {
		s := r.ofo[0]
		r.ofo[0] = ofoSeg{}
		r.ofo = r.ofo[1:]
		r.ofoN -= len(s.b)
		if after64(s.end(), r.nxt) {
			b := s.b[r.nxt-s.dsn:]
			r.ready.append(b)
			r.nxt += uint64(len(b))
			n += len(b)
		}
	}
	if len(r.ofo) == 0 {
		r.ofo = nil // let the backing array go
	}
	r.checkFin()
	return n
}

// queue stores out-of-order bytes, keeping only the parts no queued
// segment already holds.
func (r *reassembly) queue(dsn uint64, p []byte, mib *MIB) {
	end := dsn + uint64(len(p))
	if len(r.ofo) == 0 || !before64(dsn, r.ofo[len(r.ofo)-1].end()) {
		if len(r.ofo) > 0 && r.ofo[len(r.ofo)-1].end() == dsn {
			last := &r.ofo[len(r.ofo)-1]
			last.b = append(last.b, p...)
			r.ofoN += len(p)
			mib.Inc(OFOMerge)
			return
		}
		r.ofo = append(r.ofo, ofoSeg{dsn, append([]byte(nil), p...)})
		r.ofoN += len(p)
		mib.Inc(OFOQueueTail)
		return
	}
	// Walk the queue, filling the gaps the new data covers.
	var out []ofoSeg
	cur := dsn
	added, overlapped := 0, false
	for _, s := range r.ofo {
		if before64(cur, end) && before64(cur, s.dsn) {
			gapEnd := s.dsn
			if after64(gapEnd, end) {
				gapEnd = end
			}
			out = append(out, ofoSeg{cur, append([]byte(nil), p[cur-dsn:gapEnd-dsn]...)})
			added += int(gapEnd - cur)
			cur = gapEnd
		}
		if before64(cur, end) && before64(cur, s.end()) && !before64(cur, s.dsn) {
			overlapped = true
			cur = s.end()
		}
		out = append(out, s)
	}
	if before64(cur, end) {
		out = append(out, ofoSeg{cur, append([]byte(nil), p[cur-dsn:]...)})
		added += int(end - cur)
	}
	switch {
	case added == 0:
		mib.Inc(DuplicateData)
		return
	case overlapped:
		mib.Inc(OFOMerge)
	default:
		mib.Inc(OFOQueue)
	}
	r.ofoN += added
	r.ofo = coalesce(out)
}

// coalesce merges adjacent segments, keeping the queue short.
func coalesce(segs []ofoSeg) []ofoSeg {
	out := segs[:0]
	for _, s := range segs {
		if n := len(out); n > 0 && out[n-1].end() == s.dsn {
			out[n-1].b = append(out[n-1].b, s.b...)
			continue
		}
		out = append(out, s)
	}
	return out
}

// dataFin records a DATA_FIN at dsn. A second DATA_FIN at another DSN is a
// protocol error the caller handles; it reports false.
func (r *reassembly) dataFin(dsn uint64) bool {
	if r.finRcvd {
		return r.finSeq == dsn
	}
	if before64(dsn, r.nxt) {
		return false
	}
	r.finRcvd, r.finSeq = true, dsn
	r.checkFin()
	return true
}

func (r *reassembly) checkFin() {
	if r.finRcvd && !r.finDone && r.nxt == r.finSeq {
		r.finDone = true
		r.nxt++ // the DATA_FIN takes one DSN
	}
}

// eof reports whether the application has read everything up to the
// peer's DATA_FIN.
func (r *reassembly) eof() bool { return r.finDone && r.ready.len() == 0 }

// buffered returns the bytes held, in order and out of order.
func (r *reassembly) buffered() int { return r.ready.len() + r.ofoN }
