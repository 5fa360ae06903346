package core

import "slices"

// reassembly is the connection-level receive side: data arriving on any
// subflow, already mapped to data sequence numbers, is put back in order
// here. In-order bytes wait in ready for the application; bytes beyond a
// gap wait in the same ring, at their place after the in-order ones, and
// ofo lists the ranges held there, so data is copied once on the way in
// and once on the way out, whatever the order it came in. The receive
// window (RFC 8684 section 3.3.4) is one for the whole connection: its
// right edge is nxt plus the room left in the buffer, and data beyond it
// is dropped.
type reassembly struct {
	nxt   uint64 // next DSN expected in order: the DATA_ACK we send
	ready byteQueue
	ofo   []ofoRange // held beyond nxt: sorted, apart, all after nxt
	ofoN  int        // bytes in ofo
	limit int        // receive buffer size in bytes
	edge  uint64     // the furthest right edge any subflow advertised (shown)

	finRcvd bool   // a DATA_FIN has been seen ...
	finSeq  uint64 // ... at this DSN
	finDone bool   // ... and every byte before it has arrived: nxt = finSeq+1
}

// ofoRange is a range of DSNs [dsn, end) held out of order.
type ofoRange struct{ dsn, end uint64 }

func (s ofoRange) len() int { return int(s.end - s.dsn) }

// init starts the sequence space at the peer's first DSN, its IDSN+1.
func (r *reassembly) init(first uint64, limit int) {
	r.nxt, r.limit = first, limit
}

// window returns the receive window to advertise, relative to nxt. Data
// waiting out of order does not shrink it: it lies inside the window.
func (r *reassembly) window() int { return max(0, r.limit-r.ready.len()) }

// acceptEdge is the first DSN beyond any window advertised so far: limit
// beyond nxt, or further where a subflow showed more (shown). Data within
// an edge we showed is never dropped: the sender may send up to any of
// them, and the subflows acknowledge it before this level sees it.
func (r *reassembly) acceptEdge() uint64 {
	if e := r.nxt + uint64(r.limit); after64(e, r.edge) {
		return e
	}
	return r.edge
}

// shown records that a subflow advertised a window reaching to edge.
// The TCP engine keeps each subflow's own right edge from moving left,
// while the window it carries counts from the DATA_ACK, which data on the
// other subflows moves: so a subflow may show an edge beyond limit past
// nxt, and the sender (Linux's wnd_end is the furthest edge it saw) fills
// it, as Linux's receiver allows (its rcv_wnd_sent).
func (r *reassembly) shown(edge uint64) {
	if after64(edge, r.edge) {
		r.edge = edge
	}
}

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

// deliver appends in-order bytes to ready and takes in whatever
// out-of-order data they made contiguous. Where p overlaps data held out
// of order, p's bytes count.
func (r *reassembly) deliver(p []byte) int {
	n := len(p)
	r.ready.append(p)
	r.nxt += uint64(len(p))
	k := 0
	for ; k < len(r.ofo) && !after64(r.ofo[k].dsn, r.nxt); k++ {
		s := r.ofo[k]
		r.ofoN -= s.len()
		if after64(s.end, r.nxt) {
			m := int(s.end - r.nxt)
			r.ready.extend(m)
			r.nxt = s.end
			n += m
		}
	}
	r.ofo = slices.Delete(r.ofo, 0, k)
	r.checkFin()
	return n
}

// hold writes p, out of order, at its place dsn in the ring.
func (r *reassembly) hold(dsn uint64, p []byte) {
	r.ready.writeAt(r.ready.len()+int(dsn-r.nxt), p)
}

// queue stores out-of-order bytes, keeping only the parts no held range
// already has.
func (r *reassembly) queue(dsn uint64, p []byte, mib *MIB) {
	end := dsn + uint64(len(p))
	if n := len(r.ofo); n == 0 || !before64(dsn, r.ofo[n-1].end) {
		r.hold(dsn, p)
		r.ofoN += len(p)
		if n > 0 && r.ofo[n-1].end == dsn {
			r.ofo[n-1].end = end
			mib.Inc(OFOMerge)
			return
		}
		r.ofo = append(r.ofo, ofoRange{dsn, end})
		mib.Inc(OFOQueueTail)
		return
	}
	// Walk the ranges, filling the gaps the new data covers.
	cur := dsn
	added, overlapped := 0, false
	for _, s := range r.ofo {
		if before64(cur, end) && before64(cur, s.dsn) {
			gapEnd := s.dsn
			if after64(gapEnd, end) {
				gapEnd = end
			}
			r.hold(cur, p[cur-dsn:gapEnd-dsn])
			added += int(gapEnd - cur)
			cur = gapEnd
		}
		if before64(cur, end) && before64(cur, s.end) && !before64(cur, s.dsn) {
			overlapped = true
			cur = s.end
		}
	}
	if before64(cur, end) {
		r.hold(cur, p[cur-dsn:])
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
	r.merge(dsn, end)
}

// merge adds [dsn, end) to the ranges held, joining those it overlaps or
// touches.
func (r *reassembly) merge(dsn, end uint64) {
	i := 0 // the first range that ends at or after dsn
	for i < len(r.ofo) && before64(r.ofo[i].end, dsn) {
		i++
	}
	j := i // the first range that starts after end
	for j < len(r.ofo) && !after64(r.ofo[j].dsn, end) {
		j++
	}
	if i == j {
		r.ofo = slices.Insert(r.ofo, i, ofoRange{dsn, end})
		return
	}
	if before64(r.ofo[i].dsn, dsn) {
		dsn = r.ofo[i].dsn
	}
	if after64(r.ofo[j-1].end, end) {
		end = r.ofo[j-1].end
	}
	r.ofo[i] = ofoRange{dsn, end}
	r.ofo = slices.Delete(r.ofo, i+1, j)
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
