package tun

import "time"

// Go's timers wake a process with nothing else to do at a millisecond's
// resolution (the runtime's epoll wait takes milliseconds, and rounds a
// shorter wait up to one), so a deadline a few hundred microseconds
// ahead, as a pacer asks for between trains of segments, would fire
// about a millisecond late every time and slow the sender down. The
// driver waits for such a deadline on a goroutine of its own that sleeps
// with the kernel's high-resolution timer (nanosleep), and rings the loop.

// fineHorizon is how far ahead a deadline must be, at most, to be waited
// for by the fine timer rather than a Go timer.
const fineHorizon = 2 * time.Millisecond

// fineSlice is the longest the fine timer sleeps before it looks for a
// new deadline.
const fineSlice = 250 * time.Microsecond

// fineTimer sleeps until the deadlines it is handed and rings after each.
type fineTimer struct {
	req  chan time.Time // deadlines, the latest replacing the one queued
	ring chan time.Time // the deadline that passed
}

func newFineTimer() *fineTimer {
	return &fineTimer{req: make(chan time.Time, 1), ring: make(chan time.Time, 1)}
}

// arm asks for a ring at t. It never blocks: a deadline not yet taken by
// the sleeper is replaced.
func (f *fineTimer) arm(t time.Time) {
	for {
		select {
		case f.req <- t:
			return
		default:
		}
		select {
		case <-f.req:
		default:
		}
	}
}

// run is the sleeper goroutine: it sleeps until each deadline handed to
// it and rings, until done is closed.
func (f *fineTimer) run(done <-chan struct{}) {
	for {
		var t time.Time
		select {
		case t = <-f.req:
		case <-done:
			return
		}
		// Sleep in slices, so that a sooner deadline handed over
		// meanwhile is not missed (the latest one asked for counts).
		for d := time.Until(t); d > 0; d = time.Until(t) {
			sleepPrecise(min(d, fineSlice))
			select {
			case t = <-f.req:
			default:
			}
		}
		select {
		case f.ring <- t:
		default:
			// An earlier ring is still unread: the loop polls for both.
		}
	}
}
