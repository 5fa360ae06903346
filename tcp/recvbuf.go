package tcp

import "github.com/mptcp-go/mptcp/internal/bufcache"

// recvBuffer holds received bytes in a ring indexed by stream offset: the
// in-order bytes the application has not read yet, and out-of-order bytes
// above them, which are written straight to their final place. A segment's
// payload is therefore copied once, from the packet into the ring, whether
// it arrives in order or not; reassembly only moves interval bounds.
type recvBuffer struct {
	buf  []byte          // len is a power of two, or zero
	bufs *bufcache.Cache // where the ring comes from and goes back to
	head uint64          // offset of the first unread byte
	nxt  uint64          // offset after the in-order bytes (rcv.nxt)
	ooo  rangeSet        // out-of-order intervals above nxt
}

// buffered returns the in-order bytes waiting to be read.
func (b *recvBuffer) buffered() int { return int(b.nxt - b.head) }

// write stores p at offset off, which must satisfy head <= off, and
// advances nxt over whatever becomes contiguous. It returns how far nxt
// moved. The caller bounds off+len(p) by what it advertised.
func (b *recvBuffer) write(off uint64, p []byte) int {
	if len(p) == 0 {
		return 0
	}
	end := off + uint64(len(p))
	if end <= b.nxt {
		return 0
	}
	if off < b.nxt {
		p = p[b.nxt-off:]
		off = b.nxt
	}
	if off > b.nxt && b.ooo.full(off, end) {
		return 0 // too fragmented: drop it, the sender will repeat it
	}
	b.reserve(int(end - b.head))
	mask := uint64(len(b.buf) - 1)
	s := int(off & mask)
	c := copy(b.buf[s:], p)
	copy(b.buf, p[c:])
	if off > b.nxt {
		b.ooo.add(off, end)
		return 0
	}
	old := b.nxt
	b.nxt = end
	for !b.ooo.empty() && b.ooo.first().Start <= b.nxt {
		b.nxt = max(b.nxt, b.ooo.first().End)
		b.ooo.popFirst()
	}
	return int(b.nxt - old)
}

// reserve grows the ring to hold at least n bytes from head.
func (b *recvBuffer) reserve(n int) {
	if n <= len(b.buf) {
		return
	}
	size := max(len(b.buf), 4096)
	for size < n {
		size *= 2
	}
	nb := b.bufs.Get(size)
	if len(b.buf) > 0 {
		// Copy every byte from head to the highest out-of-order byte;
		// gaps copy garbage, which is never read.
		top := max(b.nxt, b.ooo.highest())
		oldMask := uint64(len(b.buf) - 1)
		newMask := uint64(size - 1)
		for off := b.head; off < top; {
			s := int(off & oldMask)
			d := int(off & newMask)
			n := min(int(top-off), len(b.buf)-s, size-d)
			copy(nb[d:d+n], b.buf[s:s+n])
			off += uint64(n)
		}
	}
	b.bufs.Put(b.buf)
	b.buf = nb
}

// read copies in-order bytes into p and frees their space.
func (b *recvBuffer) read(p []byte) int {
	x, y := b.peek()
	n := copy(p, x)
	n += copy(p[n:], y)
	b.head += uint64(n)
	return n
}

// peek returns the in-order unread bytes as up to two slices of the ring.
func (b *recvBuffer) peek() ([]byte, []byte) {
	l := b.buffered()
	if l == 0 {
		return nil, nil
	}
	mask := uint64(len(b.buf) - 1)
	s := int(b.head & mask)
	if s+l <= len(b.buf) {
		return b.buf[s : s+l], nil
	}
	return b.buf[s:], b.buf[:s+l-len(b.buf)]
}

// discard frees n in-order bytes without copying them.
func (b *recvBuffer) discard(n int) int {
	n = min(n, b.buffered())
	b.head += uint64(n)
	return n
}

// release drops the storage and what it held, handing the ring back to
// the cache: nothing is left to read.
func (b *recvBuffer) release() {
	b.bufs.Put(b.buf)
	b.buf = nil
	b.head = b.nxt
	b.ooo = rangeSet{}
}
