// Package bufcache keeps the ring buffers of a stack's connections for
// reuse. A connection's send and receive rings grow by doubling as data
// comes (4 KiB, 8 KiB, ... 128 KiB for a 100 KB answer); made afresh each
// time, every step costs the runtime fresh pages, zeroed by page faults,
// which measured 0.1 to 0.5 ms per write of 32 KiB on the project's
// machines and showed as a millisecond on every short request. A stack
// hands its rings back here when they grow and when a connection ends,
// and the next connection takes them again.
package bufcache

import "math/bits"

// MinSize is the smallest buffer a Cache holds: rings start at this size.
const MinSize = 4096

// classes is the number of sizes held: MinSize << 0 to MinSize << 19
// (2 GiB), more than any ring grows to.
const classes = 20

// DefaultLimit is the most bytes a Cache made by New(0) keeps: enough for
// the rings of a few dozen connections that each moved a short answer.
const DefaultLimit = 8 << 20

// Cache holds released buffers by size, up to a limit in bytes. It is not
// safe for concurrent use: one stack owns it and uses it from the
// goroutine that runs the stack. A nil *Cache is valid: Get makes every
// buffer and Put drops it.
type Cache struct {
	free  [classes][][]byte
	held  int // bytes in free
	limit int
	stats Stats
}

// Stats counts a cache's traffic.
type Stats struct {
	Hits   uint64 // buffers Get took from the cache
	Misses uint64 // buffers Get had to make
	Puts   uint64 // buffers kept by Put
	Drops  uint64 // buffers Put left to the garbage collector: the cache was full, or the size is not one it holds
}

// New returns an empty cache that keeps at most limit bytes (DefaultLimit
// if limit <= 0).
func New(limit int) *Cache {
	if limit <= 0 {
		limit = DefaultLimit
	}
	return &Cache{limit: limit}
}

// class returns the class of size, which must be a power of two at least
// MinSize, or -1.
func class(size int) int {
	if size < MinSize || size&(size-1) != 0 {
		return -1
	}
	k := bits.TrailingZeros(uint(size)) - bits.TrailingZeros(MinSize)
	if k >= classes {
		return -1
	}
	return k
}

// Get returns a zeroed buffer of size bytes, its length and capacity both
// size: a power of two at least MinSize to be cached, any size otherwise.
func (c *Cache) Get(size int) []byte {
	if c == nil {
		return make([]byte, size)
	}
	k := class(size)
	if k < 0 || len(c.free[k]) == 0 {
		c.stats.Misses++
		return make([]byte, size)
	}
	l := c.free[k]
	b := l[len(l)-1]
	l[len(l)-1] = nil
	c.free[k] = l[:len(l)-1]
	c.held -= size
	c.stats.Hits++
	// Another connection's bytes never show through a ring, even where
	// a ring reads what it did not write (a bug, but not a leak).
	clear(b)
	return b
}

// Put hands b back for reuse. The caller must hold no other reference to
// it: the next Get may give it to another connection.
func (c *Cache) Put(b []byte) {
	if c == nil || b == nil {
		return
	}
	b = b[:cap(b)]
	k := class(len(b))
	if k < 0 || c.held+len(b) > c.limit {
		c.stats.Drops++
		return
	}
	c.free[k] = append(c.free[k], b)
	c.held += len(b)
	c.stats.Puts++
}

// Held returns the bytes the cache keeps.
func (c *Cache) Held() int {
	if c == nil {
		return 0
	}
	return c.held
}

// Stats returns the cache's counters.
func (c *Cache) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	return c.stats
}
