package tcp

import "github.com/mptcp-go/mptcp/internal/bufcache"

// sendBuffer holds the bytes the application wrote and the peer has not yet
// acknowledged, in a ring indexed by stream offset. The ring's storage grows
// by doubling up to the buffer's limit as data arrives, so an idle
// connection holds little memory; growth copies what is queued, which
// happens a logarithmic number of times per connection. Rings come from
// the stack's cache and go back to it when they grow and when the
// connection is removed.
//
// Record boundaries (WriteRecord) are kept as the stream offsets where
// records end; segmentation never crosses one, and a record's first
// segment may carry more options than the others (the MPTCP layer's
// mapping).
type sendBuffer struct {
	buf   []byte          // len is a power of two, or zero
	bufs  *bufcache.Cache // where the ring comes from and goes back to
	head  uint64          // offset of the first unacknowledged byte
	tail  uint64          // offset after the last byte written
	limit int             // most bytes held

	// recEnd is a ring of record end offsets above head, ascending.
	recEnd  []uint64
	recHead int
	recN    int
	// recStart is where the first record in recEnd starts: the end of
	// the last one acknowledged (0 before any).
	recStart uint64
}

func (b *sendBuffer) len() int  { return int(b.tail - b.head) }
func (b *sendBuffer) free() int { return max(0, b.limit-b.len()) }

// write appends as much of p as fits and returns the count.
func (b *sendBuffer) write(p []byte) int {
	n := min(len(p), b.free())
	if n == 0 {
		return 0
	}
	b.reserve(b.len() + n)
	mask := uint64(len(b.buf) - 1)
	off := int(b.tail & mask)
	c := copy(b.buf[off:], p[:n])
	copy(b.buf, p[c:n])
	b.tail += uint64(n)
	return n
}

// reserve grows the ring to hold at least n bytes.
func (b *sendBuffer) reserve(n int) {
	if n <= len(b.buf) {
		return
	}
	size := max(len(b.buf), 4096)
	for size < n {
		size *= 2
	}
	nb := b.bufs.Get(size)
	if l := b.len(); l > 0 {
		b.copyOut(nb[int(b.head&uint64(size-1)):], b.head, l, nb)
	}
	b.bufs.Put(b.buf)
	b.buf = nb
}

// copyOut copies l bytes from offset off into dst, which wraps into wrap
// when it reaches its end (for growing into a new ring).
func (b *sendBuffer) copyOut(dst []byte, off uint64, l int, wrap []byte) {
	x, y := b.slices(off, l)
	n := copy(dst, x)
	if n < len(x) {
		copy(wrap, x[n:])
		n2 := len(x) - n
		copy(wrap[n2:], y)
		return
	}
	rest := dst[n:]
	m := copy(rest, y)
	copy(wrap, y[m:])
}

// slices returns the l bytes at offset off as up to two slices of the ring.
func (b *sendBuffer) slices(off uint64, l int) ([]byte, []byte) {
	if l == 0 {
		return nil, nil
	}
	mask := uint64(len(b.buf) - 1)
	s := int(off & mask)
	if s+l <= len(b.buf) {
		return b.buf[s : s+l], nil
	}
	return b.buf[s:], b.buf[:s+l-len(b.buf)]
}

// markRecord records a record boundary at the current tail.
func (b *sendBuffer) markRecord() {
	if b.recN > 0 && b.recEnd[(b.recHead+b.recN-1)&(len(b.recEnd)-1)] == b.tail {
		return
	}
	if b.recN == len(b.recEnd) {
		size := max(16, 2*len(b.recEnd))
		nr := make([]uint64, size)
		for i := 0; i < b.recN; i++ {
			nr[i] = b.recEnd[(b.recHead+i)&(len(b.recEnd)-1)]
		}
		b.recEnd, b.recHead = nr, 0
	}
	b.recEnd[(b.recHead+b.recN)&(len(b.recEnd)-1)] = b.tail
	b.recN++
}

// segment returns how many bytes a segment starting at off may carry
// without crossing a record boundary (math.MaxInt when none lies ahead),
// and whether off starts a record.
func (b *sendBuffer) segment(off uint64) (limit int, first bool) {
	limit = 1<<62 - 1
	mask := len(b.recEnd) - 1
	lo, hi := 0, b.recN
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if b.recEnd[(b.recHead+m)&mask] <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	start := b.recStart
	if lo > 0 {
		start = b.recEnd[(b.recHead+lo-1)&mask]
	}
	if lo < b.recN {
		limit = int(b.recEnd[(b.recHead+lo)&mask] - off)
	}
	return limit, off == start
}

// ack releases bytes below off.
func (b *sendBuffer) ack(off uint64) {
	if off > b.tail {
		off = b.tail
	}
	if off <= b.head {
		return
	}
	b.head = off
	mask := len(b.recEnd) - 1
	for b.recN > 0 && b.recEnd[b.recHead&mask] <= off {
		b.recStart = b.recEnd[b.recHead&mask]
		b.recHead = (b.recHead + 1) & mask
		b.recN--
	}
}

// truncate drops the bytes from off to the tail (never below head); a
// record ending beyond off now ends at off.
func (b *sendBuffer) truncate(off uint64) {
	off = max(off, b.head)
	if off >= b.tail {
		return
	}
	b.tail = off
	mask := len(b.recEnd) - 1
	for b.recN > 0 && b.recEnd[(b.recHead+b.recN-1)&mask] > off {
		b.recN--
	}
	b.markRecord()
}

// release drops what the buffer holds and hands its ring back to the
// cache: the connection sends no more.
func (b *sendBuffer) release() {
	b.bufs.Put(b.buf)
	b.buf = nil
	b.head = b.tail
	b.recEnd = nil
	b.recHead, b.recN = 0, 0
	b.recStart = b.tail
}
