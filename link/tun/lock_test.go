package tun

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/link"
)

// lockingStack is a link.Locker around echoStack, as the mptcp package's
// Stack is: its own Deliver and Poll take its lock, Unlocked's do not
// and require it held. It counts acquisitions and checks that the
// device is never written while the lock is held.
type lockingStack struct {
	echo  *echoStack
	mu    sync.Mutex
	held  atomic.Bool
	locks atomic.Int64
	t     testing.TB
}

var _ link.Locker = (*lockingStack)(nil)

func (s *lockingStack) Lock() {
	s.mu.Lock()
	s.locks.Add(1)
	s.held.Store(true)
}

func (s *lockingStack) Unlock() {
	s.held.Store(false)
	s.mu.Unlock()
}

func (s *lockingStack) Deliver(now time.Time, pkt []byte) {
	s.Lock()
	defer s.Unlock()
	s.echo.Deliver(now, pkt)
}

func (s *lockingStack) Poll(now time.Time, send func([]byte)) time.Time {
	s.Lock()
	defer s.Unlock()
	return s.echo.Poll(now, send)
}

func (s *lockingStack) Unlocked() link.Stack { return unlockedStack{s} }

type unlockedStack struct{ s *lockingStack }

func (u unlockedStack) Deliver(now time.Time, pkt []byte) {
	if !u.s.held.Load() {
		u.s.t.Error("Deliver without the stack's lock")
	}
	u.s.echo.Deliver(now, pkt)
}

func (u unlockedStack) Poll(now time.Time, send func([]byte)) time.Time {
	if !u.s.held.Load() {
		u.s.t.Error("Poll without the stack's lock")
	}
	return u.s.echo.Poll(now, send)
}

// TestLockOncePerRound checks that the driver takes a link.Locker's lock
// once for a whole read batch (its packets and the poll after them), and
// that it writes to the device only after releasing it, even when the
// stack sends more packets than the device's batch size.
func TestLockOncePerRound(t *testing.T) {
	dev := newFakeDev("t0", 2)
	st := &lockingStack{echo: &echoStack{t: t}, t: t}
	dev.onWrite = func() {
		if st.held.Load() {
			t.Error("device written while the stack's lock was held")
		}
	}
	d, err := New(st, Config{Interfaces: []Interface{{Device: dev, MTU: 1500}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	waitFor(t, "the first poll", func() bool { return st.echo.polls.Load() >= 1 })
	base := st.locks.Load()
	var pkts [][]byte
	for i := range 2 {
		pkts = append(pkts, tcpPacket("192.0.2.1", "198.51.100.7", []byte{byte(i)}))
	}
	dev.rx <- pkts
	waitFor(t, "two echoes", func() bool { return len(dev.written()) == 2 })
	if got := st.locks.Load() - base; got != 1 {
		t.Errorf("the stack's lock taken %d times for one batch of two packets, want 1", got)
	}
	// A poll that sends more than the device's batch size: still written
	// after the lock is released.
	var burst [][]byte
	for i := range 9 {
		burst = append(burst, tcpPacket("192.0.2.1", "198.51.100.7", []byte{byte(i)}))
	}
	var once atomic.Bool
	st.mu.Lock()
	st.echo.onPoll = func(_ time.Time, send func([]byte)) time.Time {
		if once.CompareAndSwap(false, true) {
			for _, p := range burst {
				send(p)
			}
		}
		return time.Time{}
	}
	st.mu.Unlock()
	d.Wake()
	waitFor(t, "the burst", func() bool { return len(dev.written()) == 11 })
}
