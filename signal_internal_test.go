package mptcp

import "testing"

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestRoundSignalsAfterUnlock: a driver's round wakes the goroutines its
// notifications name only once it has let go of the shard's lock (so they
// do not wake into the held lock), however many there are; a signal
// outside a round, or with no shard, wakes at once.
func TestRoundSignalsAfterUnlock(t *testing.T) {
	sh := &shard{}
	for _, n := range []int{1, 8, 20} {
		chs := make([]chan struct{}, n)
		sh.lockRound()
		for i := range chs {
			chs[i] = make(chan struct{})
			sh.signal(chs[i])
		}
		if n <= 8 && closed(chs[0]) {
			t.Fatalf("%d signals: woken while the round holds the lock", n)
		}
		sh.unlockRound()
		for i, ch := range chs {
			if !closed(ch) {
				t.Fatalf("%d signals: waiter %d not woken after the round", n, i)
			}
		}
		if len(sh.signals) != 0 || sh.inRound {
			t.Fatalf("%d signals: round state left behind", n)
		}
	}
	ch := make(chan struct{})
	sh.mu.Lock()
	sh.signal(ch)
	woken := closed(ch)
	sh.mu.Unlock()
	if !woken {
		t.Fatal("a signal outside a round waits")
	}
	ch = make(chan struct{})
	(*shard)(nil).signal(ch)
	if !closed(ch) {
		t.Fatal("a signal with no shard waits")
	}
}
