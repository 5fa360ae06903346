//go:build linux

package emu

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// clock is the emulator's time base: nanoseconds since the emulator
// started, on the monotonic clock, with the offsets that convert kernel
// timestamps (CLOCK_REALTIME) and timer deadlines (CLOCK_MONOTONIC).
type clock struct {
	epoch     time.Time
	monoEpoch int64 // CLOCK_MONOTONIC at epoch
	wallEpoch int64 // CLOCK_REALTIME at epoch
}

func newClock() *clock {
	var a, b unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &a)
	e := time.Now()
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &b)
	return &clock{epoch: e, monoEpoch: (a.Nano() + b.Nano()) / 2, wallEpoch: e.UnixNano()}
}

func (c *clock) now() int64 { return int64(time.Since(c.epoch)) }

// A loop forwards the flows of one or more directions on one locked OS
// thread: it reads frames, runs its core's events when they are due, and
// writes what leaves. Between events it sleeps on a timerfd armed for the
// next deadline, or, when the deadline is closer than the spin window,
// spins on the clock and the receive rings.
type loop struct {
	name   string
	core   core
	in     []*rxPort
	out    []*txPort
	mode   IO
	sched  Sched
	userTS bool
	spin   int64
	// The spin budget: spinning over spinBudget of any spinWindow
	// sleeps instead, so that a loop at a high packet rate, whose
	// deadlines are always within the spin window, does not monopolise
	// its CPU (a real-time thread that never sleeps is throttled for tens
	// of milliseconds at a time, an outage of the emulated link).
	spunFrom, spun int64
	clk            *clock

	timerfd, eventfd int
	armed            int64 // the deadline the timer is set for, or noEvent
	pfds             []unix.PollFd

	schedErrors *atomic.Uint64 // where a failure to take the class is counted

	mu      sync.Mutex
	cmds    []func()
	pending atomic.Bool
	stop    atomic.Bool
	done    chan struct{}
	failed  atomic.Value // error, set if the loop stopped on a panic
}

func newLoop(name string, clk *clock, o *Options) (*loop, error) {
	l := &loop{name: name, clk: clk, mode: o.IO, sched: o.Sched, userTS: o.UserTimestamps, armed: noEvent, done: make(chan struct{})}
	if o.Spin > 0 {
		l.spin = int64(o.Spin)
	}
	var err error
	if l.timerfd, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		return nil, fmt.Errorf("emu: timerfd: %w", err)
	}
	if l.eventfd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		unix.Close(l.timerfd)
		return nil, fmt.Errorf("emu: eventfd: %w", err)
	}
	return l, nil
}

// emit queues a packet for its flow's egress; the loop writes the batch
// before it next sleeps, or now if the batch is full.
func (l *loop) emit(pk *packet) {
	o := l.out[pk.flow.out]
	o.pks = append(o.pks, pk)
	if len(o.pks) == batch {
		o.flush(&l.core.pool, l.clk.now())
	}
}

// post runs fn on the loop's thread, between two iterations.
func (l *loop) post(fn func()) {
	l.mu.Lock()
	l.cmds = append(l.cmds, fn)
	l.mu.Unlock()
	l.pending.Store(true)
	l.kick()
}

func (l *loop) kick() {
	var one = [8]byte{1}
	_, _ = unix.Write(l.eventfd, one[:])
}

func (l *loop) runCommands() {
	l.pending.Store(false)
	l.mu.Lock()
	cmds := l.cmds
	l.cmds = nil
	l.mu.Unlock()
	for _, fn := range cmds {
		fn()
	}
}

// loopHook, when set by a test, runs at every loop iteration.
var loopHook atomic.Pointer[func(l *loop)]

func (l *loop) run() {
	defer close(l.done)
	defer func() {
		// A bug must not take the process, and with it the cleanup of
		// the namespaces, down: the loop stops and says why.
		if r := recover(); r != nil {
			l.failed.Store(fmt.Errorf("emu: loop %s stopped: %v", l.name, r))
		}
	}()
	// The loop keeps its thread, whose timer slack and scheduling class
	// it changes; the goroutine ends locked, so the runtime discards the
	// thread rather than run other goroutines in that class.
	runtime.LockOSThread()
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	l.setSched()
	l.pfds = make([]unix.PollFd, 0, len(l.in)+2)
	for _, in := range l.in {
		l.pfds = append(l.pfds, unix.PollFd{Fd: int32(in.fd), Events: unix.POLLIN})
	}
	l.pfds = append(l.pfds, unix.PollFd{Fd: int32(l.timerfd), Events: unix.POLLIN}, unix.PollFd{Fd: int32(l.eventfd), Events: unix.POLLIN})
	for !l.stop.Load() {
		if l.pending.Load() {
			l.runCommands()
		}
		if h := loopHook.Load(); h != nil {
			(*h)(l)
		}
		now := l.clk.now()
		got := 0
		for _, in := range l.in {
			if l.mode == IORing {
				got += in.readRing(&l.core, l.clk, now, l.userTS)
			} else {
				got += in.readMmsg(&l.core, now)
			}
		}
		l.core.advance(now)
		if len(l.out) > 0 {
			t := l.clk.now()
			for _, o := range l.out {
				o.flush(&l.core.pool, t)
			}
		}
		if got > 0 {
			continue // more may be waiting
		}
		next := l.core.nextEvent()
		now = l.clk.now()
		switch {
		case next <= now:
		case next-now <= l.spin && l.spinAllowed(now):
			t := l.clk.now()
			l.spinUntil(next)
			l.spun += l.clk.now() - t
		default:
			l.sleep(next)
		}
	}
}

// spinWindow and spinBudget bound spinning to half of any 10 ms.
const (
	spinWindow = 10e6
	spinBudget = spinWindow / 2
)

// spinAllowed reports whether the loop may spin now, within its budget.
func (l *loop) spinAllowed(now int64) bool {
	if now-l.spunFrom >= spinWindow {
		l.spunFrom, l.spun = now, 0
	}
	return l.spun < spinBudget
}

// spinUntil busy-waits until next, a frame, or a command.
func (l *loop) spinUntil(next int64) {
	for l.clk.now() < next {
		if l.stop.Load() || l.pending.Load() {
			return
		}
		for _, in := range l.in {
			if in.ready() {
				return
			}
		}
	}
}

// sleep waits for a frame, a command, or the timer. The timer is set a
// spin window before next: a thread woken from a timer runs some tens of
// microseconds late on a virtual machine, and the loop spins the rest of
// the way.
func (l *loop) sleep(next int64) {
	if next != noEvent && l.spun < spinBudget {
		next -= l.spin
	}
	if next != l.armed {
		var its unix.ItimerSpec
		if next != noEvent {
			its.Value = unix.NsecToTimespec(l.clk.monoEpoch + next)
		}
		if err := unix.TimerfdSettime(l.timerfd, unix.TFD_TIMER_ABSTIME, &its, nil); err == nil {
			l.armed = next
		}
	}
	for i := range l.pfds {
		l.pfds[i].Revents = 0
	}
	if _, err := unix.Ppoll(l.pfds, nil, nil); err != nil {
		return // EINTR: go round
	}
	var buf [8]byte
	if l.pfds[len(l.pfds)-2].Revents != 0 {
		_, _ = unix.Read(l.timerfd, buf[:])
		l.armed = noEvent
	}
	if l.pfds[len(l.pfds)-1].Revents != 0 {
		_, _ = unix.Read(l.eventfd, buf[:])
	}
}

func (l *loop) close() {
	for _, in := range l.in {
		in.close()
	}
	for _, o := range l.out {
		o.close()
	}
	unix.Close(l.timerfd)
	unix.Close(l.eventfd)
}

// setSched puts the calling thread in the loop's scheduling class. A
// failure (no CAP_SYS_NICE) leaves it in the normal class, counted in
// schedErrors.
func (l *loop) setSched() {
	if l.sched == SchedNormal {
		return
	}
	if err := setThreadSched(l.sched, 50); err != nil && l.schedErrors != nil {
		l.schedErrors.Add(1)
	}
}

// setThreadSched puts the calling thread, which must be locked to its
// goroutine, in class c, with real-time priority prio for SchedFIFO;
// SchedNormal restores the defaults.
func setThreadSched(c Sched, prio uint32) error {
	var attr unix.SchedAttr
	switch c {
	case SchedNice:
		attr = unix.SchedAttr{Policy: unix.SCHED_NORMAL, Flags: resetOnFork, Nice: -20, Runtime: 100_000}
	case SchedFIFO:
		attr = unix.SchedAttr{Policy: unix.SCHED_FIFO, Flags: resetOnFork, Priority: prio}
	default:
		attr = unix.SchedAttr{Policy: unix.SCHED_NORMAL}
	}
	return unix.SchedSetAttr(0, &attr, 0)
}
