package netsim

import "time"

// A Timer runs a function at a virtual time. It is allocated once and
// rescheduled with Reset and Stop as often as needed without allocating,
// which matters because a TCP stack moves its retransmission and delayed-ACK
// timers on nearly every segment. A Timer is its own entry in the event
// queue (an intrusive heap), so Reset and Stop are O(log n) with no search.
//
// Timers that fall due at the same instant fire in the order they were
// last scheduled, so a run never depends on heap layout.
type Timer struct {
	s   *Sim
	f   func()
	at  int64  // virtual nanoseconds since Epoch
	seq uint64 // order of scheduling, for ties
	idx int    // position in the heap, -1 when not scheduled
}

// NewTimer returns a stopped timer that will call f on the simulation's
// goroutine when it fires.
func (s *Sim) NewTimer(f func()) *Timer {
	return &Timer{s: s, f: f, idx: -1}
}

// Schedule calls f at time at; a time in the past means now (after the
// events already due now). It returns the timer, which can be stopped.
// It allocates one Timer: code that schedules repeatedly should keep a
// Timer and Reset it.
func (s *Sim) Schedule(at time.Time, f func()) *Timer {
	t := s.NewTimer(f)
	t.Reset(at)
	return t
}

// After calls f once d has elapsed in virtual time.
func (s *Sim) After(d time.Duration, f func()) *Timer {
	return s.Schedule(s.nowT.Add(d), f)
}

// Reset (re)schedules the timer to fire at time at, replacing any earlier
// schedule. A time in the past means now: the timer fires after the events
// already due now, never before the current one.
func (t *Timer) Reset(at time.Time) {
	t.resetNS(t.s.vtime(at))
}

// ResetAfter schedules the timer d after the current virtual time.
func (t *Timer) ResetAfter(d time.Duration) {
	t.resetNS(t.s.now + int64(d))
}

func (t *Timer) resetNS(at int64) {
	s := t.s
	if at < s.now {
		at = s.now
	}
	t.at = at
	s.seq++
	t.seq = s.seq
	if t.idx >= 0 {
		s.events.Fix(t.idx)
	} else {
		s.events.Push(t)
	}
}

// Stop cancels the timer and reports whether it was scheduled.
func (t *Timer) Stop() bool {
	if t.idx < 0 {
		return false
	}
	t.s.events.Remove(t.idx)
	return true
}

// Pending reports whether the timer is scheduled.
func (t *Timer) Pending() bool { return t.idx >= 0 }

// When returns the time the timer is scheduled for, or the zero Time if it
// is not scheduled.
func (t *Timer) When() time.Time {
	if t.idx < 0 {
		return time.Time{}
	}
	return Epoch.Add(time.Duration(t.at))
}

func (t *Timer) fire() { t.f() }
