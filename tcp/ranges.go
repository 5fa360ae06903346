package tcp

// rangeSet is a sorted set of disjoint, non-adjacent half-open intervals of
// 64-bit offsets: the out-of-order data a receiver holds, or the blocks a
// sender learnt from SACK options. Insertions usually extend the last
// interval, which is checked first; others shift the slice in place. The
// backing array is reused, so a steady state does not allocate.
type rangeSet struct {
	r []Range
}

// len returns the number of intervals.
func (s *rangeSet) len() int { return len(s.r) }

// empty reports whether the set holds nothing.
func (s *rangeSet) empty() bool { return len(s.r) == 0 }

// reset empties the set, keeping its storage.
func (s *rangeSet) reset() { s.r = s.r[:0] }

// add inserts [start, end) and merges what it touches. It returns the
// interval that now contains it.
func (s *rangeSet) add(start, end uint64) Range {
	if start >= end {
		return Range{start, start}
	}
	n := len(s.r)
	// Fast path: at or after the last interval.
	if n == 0 || start > s.r[n-1].End {
		s.r = append(s.r, Range{start, end})
		return s.r[len(s.r)-1]
	}
	if start >= s.r[n-1].Start {
		last := &s.r[n-1]
		last.End = max(last.End, end)
		return *last
	}
	// First interval whose End >= start: it may merge.
	i := s.search(start)
	j := i
	for j < n && s.r[j].Start <= end {
		j++
	}
	if i == j {
		// No overlap: insert at i.
		s.r = append(s.r, Range{})
		copy(s.r[i+1:], s.r[i:])
		s.r[i] = Range{start, end}
		return s.r[i]
	}
	merged := Range{min(start, s.r[i].Start), max(end, s.r[j-1].End)}
	s.r[i] = merged
	s.r = append(s.r[:i+1], s.r[j:]...)
	return merged
}

// maxRanges bounds the intervals a set holds when a peer controls what goes
// in (out-of-order data, SACK blocks): a peer sending every other byte must
// not make the set, and the work on it, grow with the window.
const maxRanges = 8192

// wouldGrow reports whether adding [start, end) would create a new
// interval rather than extend or merge existing ones.
func (s *rangeSet) wouldGrow(start, end uint64) bool {
	i := s.search(start)
	return !(i < len(s.r) && s.r[i].Start <= end)
}

// full reports whether the set may not grow by another interval.
func (s *rangeSet) full(start, end uint64) bool {
	return len(s.r) >= maxRanges && s.wouldGrow(start, end)
}

// search returns the index of the first interval with End >= x.
func (s *rangeSet) search(x uint64) int {
	lo, hi := 0, len(s.r)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.r[m].End < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// trimBelow removes everything below x.
func (s *rangeSet) trimBelow(x uint64) {
	i := 0
	for i < len(s.r) && s.r[i].End <= x {
		i++
	}
	if i > 0 {
		s.r = append(s.r[:0], s.r[i:]...)
	}
	if len(s.r) > 0 && s.r[0].Start < x {
		s.r[0].Start = x
	}
}

// contains reports whether every offset of [start, end) is in the set.
func (s *rangeSet) contains(start, end uint64) bool {
	i := s.search(start + 1)
	return i < len(s.r) && s.r[i].Start <= start && s.r[i].End >= end
}

// find returns the interval containing x.
func (s *rangeSet) find(x uint64) (Range, bool) {
	i := s.search(x + 1)
	if i < len(s.r) && s.r[i].Start <= x {
		return s.r[i], true
	}
	return Range{}, false
}

// first returns the lowest interval; the set must not be empty.
func (s *rangeSet) first() Range { return s.r[0] }

// popFirst removes the lowest interval.
func (s *rangeSet) popFirst() {
	s.r = append(s.r[:0], s.r[1:]...)
}

// highest returns the end of the highest interval, or 0.
func (s *rangeSet) highest() uint64 {
	if len(s.r) == 0 {
		return 0
	}
	return s.r[len(s.r)-1].End
}
