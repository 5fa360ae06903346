package tun

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// newArena maps size bytes of anonymous memory for a device's packet
// buffers, outside the Go heap: the kernel commits a page when a packet
// first lands in it, and the garbage collector does not count the
// megabytes of read and write batches, which are mostly never touched, as
// live heap. Counted, they raised the heap goal to twice their size: a
// process then grew its heap into fresh pages, a page fault each, for its
// first minute or so of connections (in mptcp perf web, the round that
// answers a SYN spent 85 µs in the stack instead of about 30), and kept
// twice the memory after.
func newArena(size int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("tun: mapping %d bytes of packet buffers: %w", size, err)
	}
	return b, nil
}

// freeArena unmaps an arena of newArena. Nothing may use its buffers
// after.
func freeArena(b []byte) {
	_ = unix.Munmap(b)
}
