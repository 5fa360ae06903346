package core

import (
	"errors"
	"slices"
	"sort"
)

// A mapping ties a range of a subflow's byte stream to the data sequence
// space (RFC 8684 section 3.3.1). Subflow positions are kept as the TCP
// engine's 64-bit stream offsets (0 is the first byte after the SYN, which
// is relative subflow sequence number 1), so they never wrap; the 32-bit
// relative sequence numbers of the wire are converted at the edges.
type mapping struct {
	dsn uint64 // data sequence number of the first byte
	off uint64 // stream offset of the first byte on the subflow
	n   uint64 // bytes on the subflow; the DATA_FIN, if any, is not one
	// dataFin: the mapping's data-level length included a DATA_FIN after
	// its bytes, at dsn+n.
	dataFin bool
	hasCsum bool
	csum    uint16
	// infinite: every byte from off on maps to dsn + (offset - off); the
	// connection has fallen back (RFC 8684 section 3.7).
	infinite bool
	// discard: the bytes are thrown away, never mapped; they are sent
	// again at data level (replaceTentative).
	discard bool
}

func (m *mapping) end() uint64 {
	if m.infinite {
		return 1<<64 - 1
	}
	return m.off + m.n
}

// covers reports whether stream offset o lies in the mapping.
func (m *mapping) covers(o uint64) bool { return o >= m.off && o < m.end() }

// dsnAt returns the data sequence number of the byte at stream offset o.
func (m *mapping) dsnAt(o uint64) uint64 { return m.dsn + (o - m.off) }

// sameAs reports whether m and o say the same thing about the bytes they
// share: a retransmitted segment must carry the mapping it had before.
func (m *mapping) sameAs(o *mapping) bool {
	return m.dsn == o.dsn && m.off == o.off && m.n == o.n && m.dataFin == o.dataFin &&
		m.hasCsum == o.hasCsum && (!m.hasCsum || m.csum == o.csum)
}

// holds reports whether o, held for bytes m also maps, agrees with m: o
// is m, or a piece of it that replaceTentative cut, or a range it
// discarded there.
func (m *mapping) holds(o *mapping) bool {
	if o.sameAs(m) {
		return true
	}
	within := !m.infinite && !o.infinite && o.off >= m.off && o.end() <= m.end()
	return within && (o.discard || !m.hasCsum && !o.hasCsum && o.dsn == m.dsnAt(o.off) &&
		o.dataFin == (m.dataFin && o.end() == m.end()))
}

// Errors of the receive-side mapping table. The caller counts them
// (DSSNotMatching, DSSNoMatchTCP) and then falls back or resets the
// subflow, as RFC 8684 section 3.7 lets it.
var (
	errMapConflict = errors.New("mptcp: mapping contradicts an earlier one")
	errMapTCP      = errors.New("mptcp: mapping does not cover its segment")
	errMapFull     = errors.New("mptcp: too many pending mappings")
	errMapCsum     = errors.New("mptcp: mapping lacks the negotiated checksum")
)

// maxRxMappings bounds the mappings a subflow remembers ahead of what has
// been read: enough for a large window of one-segment mappings, small
// enough that a peer flooding mappings cannot use much memory.
const maxRxMappings = 8192

// rxMappings holds the mappings received on one subflow that still cover
// bytes not yet read, sorted by stream offset and non-overlapping.
// Mappings arrive with segments, possibly out of order and repeated on
// every segment of a mapping; bytes are mapped when the TCP engine hands
// them over in order.
type rxMappings struct {
	m []mapping
}

// add records a mapping seen on a segment whose payload is [segOff,
// segOff+segLen). The segment's first byte must lie within the mapping it
// carries (the kernel's DSSNoMatchTCP check); bytes past the mapping's
// end need a mapping of their own, which a segment coalesced by a
// middlebox may lack, and that is found when they are read. A mapping
// that overlaps an earlier one must be identical to it.
func (t *rxMappings) add(m mapping, segOff uint64, segLen int) error {
	if segLen > 0 && (segOff < m.off || segOff >= m.end()) {
		return errMapTCP
	}
	i := sort.Search(len(t.m), func(i int) bool { return t.m[i].end() > m.off })
	if i < len(t.m) && t.m[i].off < m.end() {
		for j := i; j < len(t.m) && t.m[j].off < m.end(); j++ {
			if !m.holds(&t.m[j]) {
				return errMapConflict
			}
		}
		return nil
	}
	if len(t.m) >= maxRxMappings {
		return errMapFull
	}
	t.m = append(t.m, mapping{})
	copy(t.m[i+1:], t.m[i:])
	t.m[i] = m
	return nil
}

// replaceTentative puts m, carried by a segment whose payload is
// [segOff, segEnd), in place of the mappings it contradicts, provided each
// of them is tentative: it starts at or above from (the subflow's
// RCV.NXT), so none of its bytes is in order yet. The segment's bytes
// replace theirs in the TCP receive buffer (the later copy wins there), so
// a contradicted mapping within the segment simply goes. One that reaches
// beyond it leaves bytes of its own sender in the buffer, which m must
// not claim: unless keep (the mapping's DSS checksum will judge them), its
// range becomes a discarded one and m is cut around it. It reports
// whether it replaced anything.
func (t *rxMappings) replaceTentative(m mapping, from, segOff, segEnd uint64, keep bool) bool {
	i := sort.Search(len(t.m), func(i int) bool { return t.m[i].end() > m.off })
	j := i
	for ; j < len(t.m) && t.m[j].off < m.end(); j++ {
		if o := &t.m[j]; !m.holds(o) && (o.off < from || o.infinite) {
			return false
		}
	}
	var out []mapping
	at := m.off // m's bytes below at are placed
	for _, o := range t.m[i:j] {
		if !o.discard && (m.holds(&o) || keep || o.off >= segOff && o.end() <= segEnd) {
			continue
		}
		if o.off > at {
			out = append(out, m.piece(at, o.off))
		}
		out = append(out, mapping{off: o.off, n: o.n, discard: true})
		at = max(at, o.end())
	}
	if at < m.end() {
		out = append(out, m.piece(at, m.end()))
	}
	t.m = slices.Replace(t.m, i, j, out...)
	return true
}

// piece returns the part [from, to) of m.
func (m *mapping) piece(from, to uint64) mapping {
	p := *m
	p.dsn, p.off, p.n = m.dsnAt(from), from, to-from
	p.dataFin = m.dataFin && to == m.end()
	return p
}

// lookup returns the mapping covering stream offset o.
func (t *rxMappings) lookup(o uint64) (*mapping, bool) {
	i := sort.Search(len(t.m), func(i int) bool { return t.m[i].end() > o })
	if i < len(t.m) && t.m[i].covers(o) {
		return &t.m[i], true
	}
	return nil, false
}

// dropCovering forgets the mapping covering stream offset o, if any.
func (t *rxMappings) dropCovering(o uint64) {
	i := sort.Search(len(t.m), func(i int) bool { return t.m[i].end() > o })
	if i < len(t.m) && t.m[i].covers(o) {
		t.m = append(t.m[:i], t.m[i+1:]...)
	}
}

// prune forgets the mappings wholly below stream offset o (already read).
func (t *rxMappings) prune(o uint64) {
	i := 0
	for i < len(t.m) && t.m[i].end() <= o {
		i++
	}
	if i > 0 {
		n := copy(t.m, t.m[i:])
		clear(t.m[n:])
		t.m = t.m[:n]
	}
}

// reset forgets every mapping (after a fallback, when one infinite mapping
// replaces them).
func (t *rxMappings) reset() { t.m = t.m[:0] }

// len returns the number of mappings held.
func (t *rxMappings) len() int { return len(t.m) }

// txMappings holds the mappings a subflow has sent and whose bytes the
// subflow has not yet acknowledged: each segment, retransmissions
// included, carries the mapping of its bytes, and when a subflow fails
// its unacknowledged mappings say which data to send again elsewhere.
// Records are appended in stream order, so the slice is sorted.
type txMappings struct {
	m   []mapping
	una uint64 // stream offset acknowledged at subflow level
}

// push records the mapping of a record written to the subflow.
func (t *txMappings) push(m mapping) { t.m = append(t.m, m) }

// lookup returns the mapping covering stream offset o.
func (t *txMappings) lookup(o uint64) (*mapping, bool) {
	i := sort.Search(len(t.m), func(i int) bool { return t.m[i].end() > o })
	if i < len(t.m) && t.m[i].covers(o) {
		return &t.m[i], true
	}
	return nil, false
}

// acked forgets the mappings wholly below stream offset una.
func (t *txMappings) acked(una uint64) {
	if una <= t.una {
		return
	}
	t.una = una
	i := 0
	for i < len(t.m) && t.m[i].end() <= una {
		i++
	}
	if i > 0 {
		n := copy(t.m, t.m[i:])
		clear(t.m[n:])
		t.m = t.m[:n]
	}
}

// truncate forgets the mappings from stream offset off on, whose bytes
// the subflow dropped unsent. A mapping that straddles off stays whole:
// retransmissions of its sent part must carry the header the peer saw, and
// its dropped part is still outstanding, for reinjection.
func (t *txMappings) truncate(off uint64) {
	i := sort.Search(len(t.m), func(i int) bool { return t.m[i].off >= off })
	clear(t.m[i:])
	t.m = t.m[:i]
}

// find returns the stream offset at which dsn was sent and the data
// sequence number that ends its outstanding stretch, if dsn is sent (or
// queued) and not acknowledged at subflow level.
func (t *txMappings) find(dsn uint64) (off, end uint64, ok bool) {
	t.outstanding(func(o, d uint64, n int) {
		if !ok && !before64(dsn, d) && before64(dsn, d+uint64(n)) {
			off, end, ok = o+(dsn-d), d+uint64(n), true
		}
	})
	return off, end, ok
}

// outstanding calls f for every stretch of bytes sent (or queued) and not
// acknowledged at subflow level: its stream offset, its data sequence
// number and its length.
func (t *txMappings) outstanding(f func(off, dsn uint64, n int)) {
	for i := range t.m {
		m := &t.m[i]
		start := max(m.off, t.una)
		if start >= m.end() || m.n == 0 {
			continue
		}
		f(start, m.dsnAt(start), int(m.end()-start))
	}
}
