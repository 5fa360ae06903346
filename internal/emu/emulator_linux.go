//go:build linux

package emu

import (
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/scenario"
)

// An Emulator forwards the frames of its paths between pairs of
// interfaces of one network namespace, shaping each direction as its link
// says. It runs until Stop.
type Emulator struct {
	cfg   Config
	clk   *clock
	loops []*loop
	// Per path: the flows and their first, own pipes, and the loops that
	// own them.
	up, down         []*flow
	upPipe, downPipe []*pipe
	upLoop, downLoop []*loop
	rxUp, rxDown     []*rxPort
	sharedUp         *pipe
	sharedDown       *pipe

	schedErrors atomic.Uint64

	stopOnce sync.Once
	mu       sync.Mutex
	stopped  bool
}

// Start opens packet sockets on the paths' interfaces in the network
// namespace netns (a name under /run/netns; "" for the caller's) and
// starts forwarding. It needs CAP_NET_RAW (and CAP_SYS_ADMIN to enter
// another namespace).
//
// Each direction of each path gets a loop on its own OS thread; when the
// shared link shapes a direction, one loop carries that direction of
// every path, since they share a queue. Start raises GOMAXPROCS to at
// least the number of CPUs plus the number of loops (never lowers it): a
// loop that wakes for a deadline must not wait for a Go processor behind
// the application's goroutines.
func Start(netns string, cfg Config) (*Emulator, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.Options = cfg.Options.withDefaults()
	b := &starter{e: &Emulator{cfg: cfg, clk: newClock()}, netns: netns, infos: map[string]ifinfo{}}
	if err := b.inNetns(b.lookup); err != nil {
		return nil, err
	}
	e := b.e
	n := len(cfg.Paths)
	e.up, e.down = make([]*flow, n), make([]*flow, n)
	e.upPipe, e.downPipe = make([]*pipe, n), make([]*pipe, n)
	e.upLoop, e.downLoop = make([]*loop, n), make([]*loop, n)
	e.rxUp, e.rxDown = make([]*rxPort, n), make([]*rxPort, n)
	for _, upward := range []bool{true, false} {
		if err := b.direction(upward); err != nil {
			for _, l := range e.loops {
				l.close()
			}
			return nil, err
		}
	}
	if !cfg.HoldSchedule {
		for _, l := range e.loops {
			l.core.startSchedule(0)
		}
	}
	// A loop needs a Go processor whenever it runs, and it runs when a
	// deadline comes, not when the scheduler pleases: give the loops
	// processors of their own on top of the application's.
	if want := runtime.NumCPU() + len(e.loops); runtime.GOMAXPROCS(0) < want {
		runtime.GOMAXPROCS(want)
	}
	for _, l := range e.loops {
		go l.run()
	}
	return e, nil
}

// ifinfo is what Start needs of an interface.
type ifinfo struct{ index, mtu int }

// starter is the state of one Start.
type starter struct {
	e        *Emulator
	netns    string
	infos    map[string]ifinfo // by interface name
	frameMax int               // the largest frame any interface carries
}

// inNetns runs fn in the emulator's namespace.
func (b *starter) inNetns(fn func() error) error {
	if b.netns == "" {
		return fn()
	}
	return lab.Netns(b.netns).Do(fn)
}

// lookup finds the paths' interfaces (in the namespace) and the largest
// frame they carry.
func (b *starter) lookup() error {
	for _, p := range b.e.cfg.Paths {
		for _, name := range []string{p.ClientIf, p.ServerIf} {
			ifc, err := net.InterfaceByName(name)
			if err != nil {
				return fmt.Errorf("emu: path %s: %w", p.Name, err)
			}
			b.infos[name] = ifinfo{ifc.Index, ifc.MTU}
			b.frameMax = max(b.frameMax, ifc.MTU+ethHeaderLen+4)
		}
	}
	return nil
}

// newLoop makes a loop of the emulator's.
func (b *starter) newLoop(name string) (*loop, error) {
	e := b.e
	l, err := newLoop(name, e.clk, &e.cfg.Options)
	if err != nil {
		return nil, err
	}
	l.core.init(b.frameMax, e.cfg.Memory, e.cfg.Overhead, l.emit)
	l.schedErrors = &e.schedErrors
	e.loops = append(e.loops, l)
	return l, nil
}

// direction builds one direction of every path: up reads ClientIf and
// writes ServerIf, down the reverse. A shaped shared link gets one loop
// for that direction of every path, with its pipe after (up) or before
// (down) each path's own.
func (b *starter) direction(upward bool) error {
	e, cfg := b.e, &b.e.cfg
	dir, shared := "down", &cfg.Shared.Down
	if upward {
		dir, shared = "up", &cfg.Shared.Up
	}
	var common *loop
	var sp *pipe
	if !ideal(shared) {
		l, err := b.newLoop("shared/" + dir)
		if err != nil {
			return err
		}
		common = l
		sp = newPipe(&l.core, "shared/"+dir, *shared, cfg.Seed)
		sp.ctr = &counters{}
		l.core.pipes = append(l.core.pipes, sp)
	}
	for i := range cfg.Paths {
		if err := b.pathDirection(i, upward, common, sp); err != nil {
			return err
		}
	}
	if upward {
		e.sharedUp = sp
	} else {
		e.sharedDown = sp
	}
	return nil
}

// pathDirection builds one direction of path i: its pipe, its flow after
// or before the shared pipe sp (if any), its ports, on the shared loop
// common or on a loop of its own.
func (b *starter) pathDirection(i int, upward bool, common *loop, sp *pipe) error {
	e, cfg := b.e, &b.e.cfg
	p := cfg.Paths[i]
	dir, pc, in, out := "down", p.Link.Down, p.ServerIf, p.ClientIf
	if upward {
		dir, pc, in, out = "up", p.Link.Up, p.ClientIf, p.ServerIf
	}
	l := common
	if l == nil {
		var err error
		if l, err = b.newLoop(p.Name + "/" + dir); err != nil {
			return err
		}
	}
	pp := newPipe(&l.core, p.Name+"/"+dir, pc, cfg.Seed)
	l.core.pipes = append(l.core.pipes, pp)
	f := &flow{name: p.Name + "/" + dir, out: len(l.out)}
	switch {
	case sp == nil:
		f.pipes = []*pipe{pp}
	case upward:
		f.pipes = []*pipe{pp, sp}
	default:
		f.pipes = []*pipe{sp, pp}
	}
	var rx *rxPort
	var tx *txPort
	err := b.inNetns(func() (err error) {
		if rx, err = openRx(in, b.infos[in].index, cfg.IO, ringBytes(cfg.RingBytes, f.pipes), b.frameMax); err != nil {
			return err
		}
		if tx, err = openTx(out, b.infos[out].index); err != nil {
			rx.close()
		}
		return err
	})
	if err != nil {
		return err
	}
	rx.flow = f
	l.in = append(l.in, rx)
	l.out = append(l.out, tx)
	for _, ev := range p.Events {
		l.core.addChanges(change{at: int64(ev.At), pipes: []*pipe{pp}, ev: ev})
	}
	if upward {
		e.up[i], e.upPipe[i], e.upLoop[i], e.rxUp[i] = f, pp, l, rx
	} else {
		e.down[i], e.downPipe[i], e.downLoop[i], e.rxDown[i] = f, pp, l, rx
	}
	return nil
}

// Config returns the configuration the emulator runs, defaults filled in.
func (e *Emulator) Config() Config { return e.cfg }

// Now returns the time since the emulator started, on its clock.
func (e *Emulator) Now() time.Duration { return time.Duration(e.clk.now()) }

// StartSchedule (re)starts the paths' schedules now: an event at At runs
// At from now. Use it with Options.HoldSchedule to start the schedule
// with an experiment rather than with the emulator.
func (e *Emulator) StartSchedule() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return ErrStopped
	}
	t := e.clk.now()
	for _, l := range e.loops {
		l.post(func() {
			l.core.advance(t)
			l.core.startSchedule(t)
		})
	}
	return nil
}

// Apply changes a path now, in both directions, as a scheduled event
// would (ev.At is ignored). It returns once the change is made.
func (e *Emulator) Apply(path string, ev scenario.Event) error {
	ev.At = 0
	if err := validateEvent(ev); err != nil {
		return err
	}
	i := e.pathIndex(path)
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrUnknownPath, path)
	}
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return ErrStopped
	}
	t := e.clk.now()
	var waits []func() error
	for _, side := range []struct {
		l *loop
		p *pipe
	}{{e.upLoop[i], e.upPipe[i]}, {e.downLoop[i], e.downPipe[i]}} {
		done := make(chan struct{})
		side.l.post(func() {
			defer close(done)
			side.l.core.advance(t)
			side.l.core.apply(&change{pipes: []*pipe{side.p}, ev: ev}, t)
		})
		waits = append(waits, func() error {
			select {
			case <-done:
				return nil
			case <-side.l.done:
				return fmt.Errorf("emu: path %s: loop %s is not running", path, side.l.name)
			}
		})
	}
	e.mu.Unlock()
	for _, w := range waits {
		if err := w(); err != nil {
			return err
		}
	}
	return nil
}

func (e *Emulator) pathIndex(name string) int {
	for i, p := range e.cfg.Paths {
		if p.Name == name {
			return i
		}
	}
	return -1
}

// Err returns why a loop stopped forwarding, if one did (a bug: a loop
// recovers from a panic, stops, and reports it here), or nil.
func (e *Emulator) Err() error {
	for _, l := range e.loops {
		if err, ok := l.failed.Load().(error); ok {
			return err
		}
	}
	return nil
}

// Stats returns the counters of every path and shared pipe.
func (e *Emulator) Stats() Stats {
	e.mu.Lock()
	if !e.stopped {
		// The kernel's drop counters reset when read: fold them in.
		for i := range e.cfg.Paths {
			e.up[i].ctr.ringDrops.Add(e.rxUp[i].kernelDrops())
			e.down[i].ctr.ringDrops.Add(e.rxDown[i].kernelDrops())
		}
	}
	e.mu.Unlock()
	s := Stats{Elapsed: time.Duration(e.clk.now()), SchedErrors: e.schedErrors.Load()}
	for i, p := range e.cfg.Paths {
		s.Paths = append(s.Paths, PathStats{Name: p.Name, Up: e.up[i].ctr.snapshot(), Down: e.down[i].ctr.snapshot()})
	}
	if e.sharedUp != nil {
		c := e.sharedUp.ctr.snapshot()
		s.SharedUp = &c
	}
	if e.sharedDown != nil {
		c := e.sharedDown.ctr.snapshot()
		s.SharedDown = &c
	}
	return s
}

// Stop stops forwarding and closes the sockets; frames still queued or
// on the emulated wires are discarded. It is safe to call more than once.
func (e *Emulator) Stop() error {
	e.stopOnce.Do(func() {
		// Last reading of the kernel's drop counters.
		_ = e.Stats()
		e.mu.Lock()
		e.stopped = true
		e.mu.Unlock()
		for _, l := range e.loops {
			l.stop.Store(true)
			l.kick()
		}
		for _, l := range e.loops {
			<-l.done
			l.close()
		}
	})
	return nil
}

// ringBytes returns the receive ring size for a flow: given, or 100 ms
// at the slowest rate on its way (1 Gbit/s if none), in [1, 32] MiB.
func ringBytes(given int, pipes []*pipe) int {
	if given > 0 {
		return given
	}
	rate := int64(1e9)
	for _, p := range pipes {
		if r := p.cfg.Rate; r > 0 {
			rate = min(rate, r)
		}
	}
	return int(min(max(rate/8/10, 1<<20), 32<<20))
}
