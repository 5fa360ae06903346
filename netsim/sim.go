package netsim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Epoch is the virtual time at which every simulation starts. It is fixed,
// rather than taken from the wall clock, so that two runs of the same
// scenario write byte-identical captures.
var Epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Errors returned when a scenario is built wrongly. Callers building a
// scenario from user input branch on them with errors.Is.
var (
	// ErrDuplicateName reports a node or interface name used twice.
	ErrDuplicateName = errors.New("netsim: duplicate name")
	// ErrInvalidConfig reports an impossible link or route parameter.
	ErrInvalidConfig = errors.New("netsim: invalid configuration")
	// ErrConnected reports an interface that already has a link.
	ErrConnected = errors.New("netsim: interface already connected")
	// ErrForeign reports an object that belongs to another Sim or node.
	ErrForeign = errors.New("netsim: object belongs to another simulation or node")
	// ErrPast reports a schedule entry for a time that has already passed.
	ErrPast = errors.New("netsim: time already passed")
	// ErrStalled reports a run stopped because too many events ran without
	// the clock moving: almost always a stack or callback that keeps
	// asking to run again now.
	ErrStalled = errors.New("netsim: virtual time stopped advancing")
)

// DefaultStallLimit is the number of events that may run at one virtual
// instant before a run stops with ErrStalled. It is far above what a real
// scenario needs (an ideal zero-delay, infinite-rate link carrying a whole
// bulk transfer at one instant takes a few events per packet) and is
// reached within seconds of wall time, well before a test times out.
const DefaultStallLimit = 1 << 26

// Sim is one simulated network: a virtual clock, the events waiting on it,
// the nodes and links, and the seed all randomness is drawn from.
//
// A Sim is not safe for concurrent use. Everything in it, stacks included,
// runs on the goroutine that calls Run, RunUntil or RunFor, one event at a
// time, in virtual-time order.
type Sim struct {
	now    int64     // virtual nanoseconds since Epoch
	nowT   time.Time // Epoch + now, cached because every callback wants it
	seq    uint64    // tie-break for events scheduled at the same instant
	halted bool

	events      eventHeap
	sameInstant int // events run since the clock last moved
	stallLimit  int
	err         error

	seed  uint64
	names map[string]int // per-name stream counters, see Rand

	nodes   map[string]node
	hosts   []*Host
	routers []*Router
	links   []*Link

	pool packetPool

	realtime *Realtime // the runner driving the simulation in step with a clock, if any

	captureErr error
}

// New returns an empty simulation at Epoch whose randomness all derives
// from seed.
func New(seed uint64) *Sim {
	return &Sim{
		nowT:       Epoch,
		stallLimit: DefaultStallLimit,
		seed:       seed,
		names:      make(map[string]int),
		nodes:      make(map[string]node),
	}
}

// Seed returns the seed the simulation was created with.
func (s *Sim) Seed() uint64 { return s.seed }

// Now returns the current virtual time.
func (s *Sim) Now() time.Time { return s.nowT }

// Elapsed returns the virtual time since Epoch.
func (s *Sim) Elapsed() time.Duration { return time.Duration(s.now) }

// Run executes events until none is left or Halt is called. A simulation
// with a periodic timer (a keepalive, a stack that always asks to be
// polled again) never runs dry: use RunUntil or RunFor for those.
func (s *Sim) Run() {
	s.run(1<<63 - 1)
}

// RunUntil executes every event due at or before t, then advances the clock
// to t (unless Halt stopped it earlier). Events scheduled for exactly t run.
func (s *Sim) RunUntil(t time.Time) {
	lim := s.vtime(t)
	if s.run(lim) && lim > s.now {
		s.setNow(lim)
	}
}

// RunFor is RunUntil(Now().Add(d)).
func (s *Sim) RunFor(d time.Duration) {
	s.RunUntil(s.nowT.Add(d))
}

// Halt makes the running Run, RunUntil or RunFor return after the current
// event. It is meant to be called from an event, for example when a test
// has seen what it was waiting for. The next Run resumes where it stopped.
func (s *Sim) Halt() { s.halted = true }

// Pending returns the number of events waiting to run.
func (s *Sim) Pending() int { return s.events.Len() }

// SetStallLimit sets how many events may run at one virtual instant before
// a run stops with ErrStalled; n <= 0 removes the limit.
func (s *Sim) SetStallLimit(n int) { s.stallLimit = n }

// Err returns why the last run stopped early (ErrStalled), or nil. Drivers
// and tests check it after a run that did not reach what they expected.
func (s *Sim) Err() error { return s.err }

// run executes events due at or before lim and reports whether it ran out
// of such events (false if halted or stalled).
func (s *Sim) run(lim int64) bool {
	s.halted = false
	s.err = nil
	for s.events.Len() > 0 {
		t := s.events.Min()
		if t.at > lim {
			return true
		}
		if t.at > s.now {
			s.setNow(t.at)
			s.sameInstant = 0
		} else if s.sameInstant++; s.stallLimit > 0 && s.sameInstant > s.stallLimit {
			s.err = fmt.Errorf("%w: %d events at %v", ErrStalled, s.sameInstant, time.Duration(s.now))
			return false
		}
		s.events.Pop()
		t.fire()
		if s.halted {
			s.halted = false
			return false
		}
	}
	return true
}

func (s *Sim) setNow(ns int64) {
	s.now = ns
	s.nowT = Epoch.Add(time.Duration(ns))
}

// vtime converts t to virtual nanoseconds since Epoch. Times before Epoch
// map to 0; there is nothing to schedule before the simulation started.
func (s *Sim) vtime(t time.Time) int64 {
	d := t.Sub(Epoch)
	if d < 0 {
		return 0
	}
	return int64(d)
}

// Rand returns a random stream derived from the seed and name alone, so a
// component's randomness does not change when others are added or removed.
// Each call with the same name returns the next of a sequence of distinct
// streams (the first call for "x" is the same in every run), which keeps two
// components that happen to share a name independent.
func (s *Sim) Rand(name string) *rand.Rand {
	n := s.names[name]
	s.names[name] = n + 1
	return rand.New(deriveSource(s.seed, name, n))
}

// setCaptureErr records the first error a capture writer returned, because
// a failing capture must not stop the simulation mid-event.
func (s *Sim) setCaptureErr(err error) {
	if s.captureErr == nil {
		s.captureErr = fmt.Errorf("netsim: capture: %w", err)
	}
}

// CaptureErr returns the first error any capture writer returned, or nil.
// Captures stop writing after an error; the simulation itself goes on.
func (s *Sim) CaptureErr() error { return s.captureErr }

// Hosts returns the hosts in creation order.
func (s *Sim) Hosts() []*Host { return s.hosts }

// Routers returns the routers in creation order.
func (s *Sim) Routers() []*Router { return s.routers }

// Links returns the links in creation order.
func (s *Sim) Links() []*Link { return s.links }

// Host returns the host called name, or nil.
func (s *Sim) Host(name string) *Host {
	h, _ := s.nodes[name].(*Host)
	return h
}

// Router returns the router called name, or nil.
func (s *Sim) Router(name string) *Router {
	r, _ := s.nodes[name].(*Router)
	return r
}
