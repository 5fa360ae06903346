package observe

import (
	"sync"

	"github.com/mptcp-go/mptcp/core"
)

// schedDepth is how many of a connection's latest scheduling choices a
// Recorder keeps.
const schedDepth = 16

// Recorder keeps a stack's recent events and each connection's latest
// scheduling choices, and fans events out to subscribers (the debug
// endpoint's event stream, a trace writer). Its Sink is the stack's
// Config.Events: it copies the event under a mutex and never blocks on a
// slow subscriber (whose events are dropped and counted instead).
type Recorder struct {
	mu      sync.Mutex
	ring    []core.Event // the latest kernel events
	next    int
	full    bool
	sched   map[uint32]*schedRing
	subs    map[*Subscription]struct{}
	dropped uint64
}

type schedRing struct {
	ids  [schedDepth]int16
	next int
	n    int
}

// NewRecorder returns a recorder that keeps the latest n kernel events
// (n <= 0: 256).
func NewRecorder(n int) *Recorder {
	if n <= 0 {
		n = 256
	}
	return &Recorder{ring: make([]core.Event, n), sched: map[uint32]*schedRing{}, subs: map[*Subscription]struct{}{}}
}

// Sink records ev; it is a core.EventSink.
func (r *Recorder) Sink(ev core.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case ev.Type == core.EventScheduled:
		s := r.sched[ev.Token]
		if s == nil {
			s = &schedRing{}
			r.sched[ev.Token] = s
		}
		s.ids[s.next] = int16(ev.Subflow)
		s.next = (s.next + 1) % schedDepth
		s.n = min(s.n+1, schedDepth)
	case ev.Type.Kernel() || ev.Type == core.EventFallback:
		r.ring[r.next] = ev
		r.next++
		if r.next == len(r.ring) {
			r.next, r.full = 0, true
		}
		if ev.Type == core.EventClosed {
			delete(r.sched, ev.Token)
		}
	}
	for s := range r.subs {
		if !s.all && !ev.Type.Kernel() {
			continue
		}
		select {
		case s.c <- ev:
		default:
			s.dropped++
			r.dropped++
		}
	}
}

// Events returns the recent kernel events, oldest first.
func (r *Recorder) Events() []core.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]core.Event(nil), r.ring[:r.next]...)
	}
	return append(append([]core.Event(nil), r.ring[r.next:]...), r.ring[:r.next]...)
}

// Schedule returns the subflow IDs the scheduler chose for the latest
// mappings of connection token, oldest first.
func (r *Recorder) Schedule(token uint32) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sched[token]
	if s == nil {
		return nil
	}
	out := make([]int, 0, s.n)
	for i := range s.n {
		out = append(out, int(s.ids[(s.next-s.n+i+schedDepth)%schedDepth]))
	}
	return out
}

// Subscription receives a recorder's events as they happen.
type Subscription struct {
	r       *Recorder
	c       chan core.Event
	all     bool
	dropped uint64
}

// Subscribe returns a subscription with a buffer of n events; all also
// delivers the stack's own events (scheduling decisions, fallbacks).
// Close it when done.
func (r *Recorder) Subscribe(n int, all bool) *Subscription {
	s := &Subscription{r: r, c: make(chan core.Event, max(n, 1)), all: all}
	r.mu.Lock()
	r.subs[s] = struct{}{}
	r.mu.Unlock()
	return s
}

// C returns the channel the events arrive on.
func (s *Subscription) C() <-chan core.Event { return s.c }

// Dropped returns how many events did not fit in the buffer.
func (s *Subscription) Dropped() uint64 {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	return s.dropped
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.r.mu.Lock()
	delete(s.r.subs, s)
	s.r.mu.Unlock()
}
