package tun

import (
	"errors"
	"os"
	"sync"

	wgtun "golang.zx2c4.com/wireguard/tun"
)

// fakeDev is an in-memory Device: the test feeds reads through rx (a batch
// of packets, or an error through rxErr) and collects writes from tx.
type fakeDev struct {
	name      string
	batchSize int
	rx        chan [][]byte
	rxErr     chan error
	events    chan wgtun.Event
	closed    chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	tx       [][]byte // packets written, copied
	onWrite  func()   // called at each Write, if set before the driver starts
	txCalls  int
	txNotify chan struct{}
	writeErr error
	// repeat, when set, is returned by every Read that takes a credit:
	// the allocation test's source, which copies without allocating.
	repeat  [][]byte
	credits chan struct{}
}

func newFakeDev(name string, batchSize int) *fakeDev {
	return &fakeDev{
		name: name, batchSize: batchSize,
		rx: make(chan [][]byte, 16), rxErr: make(chan error, 4),
		events: make(chan wgtun.Event, 1), closed: make(chan struct{}),
		txNotify: make(chan struct{}, 1),
	}
}

func (f *fakeDev) File() *os.File { return nil }

func (f *fakeDev) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	if f.repeat != nil {
		select {
		case <-f.closed:
			return 0, os.ErrClosed
		case <-f.credits:
			for i, p := range f.repeat {
				sizes[i] = copy(bufs[i][offset:], p)
			}
			return len(f.repeat), nil
		}
	}
	select {
	case <-f.closed:
		return 0, os.ErrClosed
	case err := <-f.rxErr:
		return 0, err
	case pkts := <-f.rx:
		if len(pkts) > len(bufs) {
			return 0, errors.New("fake: batch larger than bufs")
		}
		for i, p := range pkts {
			sizes[i] = copy(bufs[i][offset:], p)
		}
		return len(pkts), nil
	}
}

func (f *fakeDev) Write(bufs [][]byte, offset int) (int, error) {
	if offset < 10 {
		return 0, errors.New("fake: offset below the virtio-net header size")
	}
	select {
	case <-f.closed:
		return 0, os.ErrClosed
	default:
	}
	if f.onWrite != nil {
		f.onWrite()
	}
	if len(bufs) > f.batchSize {
		// wireguard-go's device panics so (its coalescing tables hold a
		// batch).
		panic("fake: write larger than the batch size")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.txCalls++
	if f.writeErr != nil {
		return 0, f.writeErr
	}
	if f.repeat == nil {
		for _, b := range bufs {
			f.tx = append(f.tx, append([]byte(nil), b[offset:]...))
		}
	}
	select {
	case f.txNotify <- struct{}{}:
	default:
	}
	return len(bufs), nil
}

func (f *fakeDev) written() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.tx...)
}

func (f *fakeDev) MTU() (int, error)          { return 1500, nil }
func (f *fakeDev) Name() (string, error)      { return f.name, nil }
func (f *fakeDev) Events() <-chan wgtun.Event { return f.events }
func (f *fakeDev) BatchSize() int             { return f.batchSize }
func (f *fakeDev) Close() error {
	f.closeOnce.Do(func() {
		close(f.closed)
		close(f.events)
	})
	return nil
}
