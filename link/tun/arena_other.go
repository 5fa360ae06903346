//go:build !linux

package tun

// newArena allocates size bytes for a device's packet buffers. (On Linux
// they are mapped outside the Go heap; see arena_linux.go.)
func newArena(size int) ([]byte, error) { return make([]byte, size), nil }

// freeArena leaves the arena to the garbage collector.
func freeArena([]byte) {}
