package tun

import (
	"runtime"
	"testing"
)

// TestBuffersOutsideHeap checks that a driver's packet buffers (here 4
// read batches and a write batch of 128 buffers, over 8 MB) do not count
// in the Go heap on Linux, where they would raise the garbage collector's
// heap goal, and that Close releases them.
func TestBuffersOutsideHeap(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	dev := newFakeDev("t0", 128)
	d, err := New(&echoStack{t: t}, Config{Interfaces: []Interface{{Device: dev, MTU: 1500}}})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if runtime.GOOS == "linux" && grew > 1<<20 {
		t.Errorf("the driver grew the heap by %d bytes; want its buffers outside it", grew)
	}
	f := d.ifs[0]
	if len(f.arenas) == 0 || len(f.out) != 128 {
		t.Fatalf("%d arenas, %d write buffers; want some and 128", len(f.arenas), len(f.out))
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if f.arenas != nil {
		t.Errorf("%d arenas left after Close", len(f.arenas))
	}
}
