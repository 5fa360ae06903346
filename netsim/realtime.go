package netsim

import (
	"context"
	"sync"
	"time"
)

// Next returns the virtual time of the earliest pending event, and false if
// no event is pending.
func (s *Sim) Next() (time.Time, bool) {
	if s.events.Len() == 0 {
		return time.Time{}, false
	}
	return Epoch.Add(time.Duration(s.events.Min().at)), true
}

// Realtime runs a simulation in step with a clock, so that goroutines
// outside it can use the stacks it runs: an application blocked in a
// connection's Read, or net/http serving over the simulated network.
//
// Virtual time follows the clock from the moment Run starts. Under
// testing/synctest the clock is the bubble's fake clock, which jumps
// forward whenever every goroutine in the bubble is blocked: the simulation
// then runs as fast as the CPU allows, and a test that waits for a 30 s
// transfer finishes in a fraction of that. Outside a bubble it runs at wall
// speed, which is what an interactive demo wants.
//
// Runs driven this way are not bit-for-bit reproducible, because the
// interleaving of the application's goroutines with the simulation is up to
// the Go scheduler; callback-driven runs (Run, RunUntil) are.
type Realtime struct {
	s *Sim

	mu      sync.Mutex
	pending []func()
	kick    chan struct{}
	start   time.Time // clock time at which Run started; zero before
}

// NewRealtime returns a runner for s. Nothing runs until Run is called.
// Stacks attached to the simulation's hosts (link.Attacher) are driven
// through it from then on: their Wake goes through Do and their clock is
// Now.
func NewRealtime(s *Sim) *Realtime {
	r := &Realtime{s: s, kick: make(chan struct{}, 1)}
	s.realtime = r
	return r
}

// Do queues f to run on the simulation's goroutine at the current virtual
// time, as soon as the runner gets to it. It is safe to call from any
// goroutine and never blocks; f must not block.
func (r *Realtime) Do(f func()) {
	r.mu.Lock()
	r.pending = append(r.pending, f)
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Now returns the virtual time the clock says it is: Epoch plus the time
// since Run started. The simulation itself may lag it by the time to its
// next event. Safe from any goroutine.
func (r *Realtime) Now() time.Time {
	r.mu.Lock()
	start := r.start
	r.mu.Unlock()
	if start.IsZero() {
		return Epoch
	}
	return Epoch.Add(time.Since(start))
}

// HostDriver lets code outside the simulation drive one host's stack: a
// blocking connection API wakes the stack after an application wrote to
// it, and reads the time to stamp what it does.
type HostDriver struct {
	r *Realtime
	h *Host
}

// Driver returns the driver of host h's stack.
func (r *Realtime) Driver(h *Host) HostDriver { return HostDriver{r, h} }

// Wake polls the host's stack soon; safe from any goroutine.
func (d HostDriver) Wake() { d.r.Do(d.h.Wake) }

// Now returns the realtime runner's current virtual time.
func (d HostDriver) Now() time.Time { return d.r.Now() }

// Run drives the simulation until ctx is done, and returns ctx's error, or
// the simulation's error if it stalls (ErrStalled).
func (r *Realtime) Run(ctx context.Context) error {
	start := time.Now()
	r.mu.Lock()
	r.start = start
	r.mu.Unlock()
	vnow := func() time.Time { return Epoch.Add(time.Since(start)) }
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var batch []func()
	for {
		r.mu.Lock()
		batch, r.pending = r.pending, batch[:0]
		r.mu.Unlock()
		target := vnow()
		if target.Before(r.s.Now()) {
			target = r.s.Now()
		}
		// Events due up to now, first, so injected work sees the present.
		r.s.RunUntil(target)
		for i, f := range batch {
			f()
			batch[i] = nil
		}
		r.s.RunUntil(target)
		if err := r.s.Err(); err != nil {
			return err
		}
		wait := time.Hour
		if next, ok := r.s.Next(); ok {
			wait = next.Sub(vnow())
		}
		r.mu.Lock()
		more := len(r.pending) > 0
		r.mu.Unlock()
		if more || wait <= 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.kick:
		case <-timer.C:
		}
	}
}
