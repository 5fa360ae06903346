package mptcp

import (
	"sync"
	"sync/atomic"
)

// inbox holds the packets other loops read for a shard until the shard's
// own loop delivers them, at its next round. Its buffers are kept and
// reused: a packet handed over costs a copy, no allocation.
type inbox struct {
	mu   sync.Mutex
	in   [][]byte // filled by other loops: in[:n]
	n    int
	out  [][]byte // the batch the owner delivers, taken from in
	held atomic.Int32

	handoffs atomic.Uint64 // packets put
	drops    atomic.Uint64 // packets dropped, the inbox full
}

// inboxSlots bounds an inbox: a loop that falls this far behind loses
// packets (counted), as a full device queue would.
const inboxSlots = 512

// put copies pkt into the inbox; it reports false, counted, when the
// inbox is full.
func (b *inbox) put(pkt []byte) bool {
	b.mu.Lock()
	if b.n == inboxSlots {
		b.mu.Unlock()
		b.drops.Add(1)
		return false
	}
	if b.n == len(b.in) {
		b.in = append(b.in, make([]byte, 0, len(pkt)))
	}
	b.in[b.n] = append(b.in[b.n][:0], pkt...)
	b.n++
	b.held.Store(int32(b.n))
	b.mu.Unlock()
	b.handoffs.Add(1)
	return true
}

// take returns the packets put since the last take, valid until the next
// take; only the owner's loop calls it.
func (b *inbox) take() [][]byte {
	if b.held.Load() == 0 {
		return nil
	}
	b.mu.Lock()
	n := b.n
	b.in, b.out = b.out, b.in
	b.n = 0
	b.held.Store(0)
	b.mu.Unlock()
	return b.out[:n]
}
