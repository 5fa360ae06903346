package emu

import (
	"errors"
	"fmt"
	"time"

	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/scenario"
)

// Errors callers branch on.
var (
	// ErrInvalidConfig is wrapped by every error about a Config.
	ErrInvalidConfig = errors.New("emu: invalid configuration")
	// ErrStopped is returned by calls on a stopped Emulator.
	ErrStopped = errors.New("emu: emulator stopped")
	// ErrUnknownPath is returned by Apply for a path name not configured.
	ErrUnknownPath = errors.New("emu: unknown path")
)

// MaxKernelEndpoints is the most endpoints the kernel's in-kernel path
// manager holds in one namespace (MPTCP_PM_ADDR_MAX); it refuses one more
// with ERANGE, which "ip mptcp endpoint add" prints as "-34".
const MaxKernelEndpoints = 8

// CheckKernelEndpoints reports whether a scenario of paths paths fits the
// kernel's path manager, which needs an endpoint in the client for every
// path beyond the first (NetworkOptions.KernelEndpoints).
func CheckKernelEndpoints(paths int) error {
	if paths-1 <= MaxKernelEndpoints {
		return nil
	}
	return fmt.Errorf("%d paths need %d MPTCP endpoints in the client, and the kernel's path manager holds at most %d (it refuses more with ERANGE, \"-34\"): give at most %d paths, or --no-endpoints to leave the kernel's endpoints alone",
		paths, paths-1, MaxKernelEndpoints, MaxKernelEndpoints+1)
}

// Path is one emulated path: two interfaces of the emulator's namespace,
// one towards the client and one towards the server, with a link between
// them. Frames read from one are written to the other, as by a bump in
// the wire.
type Path struct {
	Name               string
	ClientIf, ServerIf string
	// Link.Up shapes the frames from ClientIf to ServerIf, Link.Down the
	// others, with netsim's semantics (see netsim.PipeConfig).
	Link scenario.Link
	// Events change the path, in both directions, at times relative to
	// the start of the schedule (see Options.HoldSchedule).
	Events []scenario.Event
}

// IO selects how frames are read.
type IO int

const (
	// IORing reads frames from a memory-mapped TPACKET_V2 receive ring:
	// no system call while frames are waiting, and the kernel's receive
	// timestamp for each. The default.
	IORing IO = iota
	// IOMmsg reads frames with recvmmsg into the emulator's buffers; the
	// arrival time is when they are read. Kept for comparison.
	IOMmsg
)

// String returns the mode's name, as its flag takes it.
func (m IO) String() string {
	switch m {
	case IORing:
		return "ring"
	case IOMmsg:
		return "mmsg"
	}
	return fmt.Sprintf("IO(%d)", int(m))
}

// ParseIO returns the IO mode named s ("ring" or "mmsg").
func ParseIO(s string) (IO, error) {
	switch s {
	case "ring":
		return IORing, nil
	case "mmsg":
		return IOMmsg, nil
	}
	return 0, fmt.Errorf("%w: I/O mode %q: want ring or mmsg", ErrInvalidConfig, s)
}

// Sched is a scheduling class for the emulator's loop threads.
type Sched int

const (
	// SchedFIFO, the default, makes the threads real-time (SCHED_FIFO,
	// priority 50): a loop woken for a deadline runs at once, whatever
	// else the machine is doing. While a loop spins nothing of lower
	// priority runs on its CPU (spins are short, and the kernel's
	// real-time throttling leaves others 5 % in any case).
	SchedFIFO Sched = iota
	// SchedNice gives the threads nice -20 and a short EEVDF slice
	// (100 µs), so that a waking loop usually preempts ordinary work.
	SchedNice
	// SchedNormal leaves the threads in the normal class: on a busy
	// machine other work may delay a send by milliseconds.
	SchedNormal
)

// String returns the scheduling class's name, as its flag takes it.
func (s Sched) String() string {
	switch s {
	case SchedNormal:
		return "normal"
	case SchedNice:
		return "nice"
	case SchedFIFO:
		return "fifo"
	}
	return fmt.Sprintf("Sched(%d)", int(s))
}

// ParseSched returns the scheduling class named s (normal, nice, fifo).
func ParseSched(s string) (Sched, error) {
	for _, c := range []Sched{SchedFIFO, SchedNice, SchedNormal} {
		if c.String() == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("%w: scheduling class %q: want normal, nice or fifo", ErrInvalidConfig, s)
}

// Options tune the forwarding engine; the zero value is the default.
type Options struct {
	// IO selects how frames are read (default IORing).
	IO IO
	// Spin is how close a deadline must be for a loop to wait for it by
	// spinning rather than sleeping on a timer (default DefaultSpin; a
	// negative value never spins). Spinning costs CPU and gives precise
	// sends; a timer wakes a few to a few tens of microseconds late.
	Spin time.Duration
	// Memory bounds the bytes of frame buffers each loop holds in its
	// queues and on its wires (default DefaultMemory). A frame that finds
	// no memory is dropped and counted as Overflow.
	Memory int64
	// RingBytes is the size of each interface's receive ring. A full
	// ring drops frames in the kernel (RingDrops), which happens when a
	// loop is kept from running (a busy machine) for longer than the ring
	// lasts. By default it holds 100 ms at the rate of the path it feeds
	// (1 Gbit/s for an unlimited one), between 1 and 32 MiB.
	RingBytes int
	// Overhead is added to each packet's IP length when computing its
	// serialisation time and queue occupancy: 0 (the default) matches
	// netsim; 38 counts Ethernet's header, FCS, preamble and gap.
	Overhead int
	// UserTimestamps takes a frame's arrival time from the loop's clock
	// when it is read, rather than from the kernel's receive timestamp
	// (IORing only).
	UserTimestamps bool
	// Sched is the scheduling class of the loop threads (default
	// SchedFIFO).
	Sched Sched
	// HoldSchedule keeps the paths' events from running until
	// StartSchedule is called; by default the schedule starts with the
	// emulator.
	HoldSchedule bool
}

// Defaults of Options.
const (
	DefaultSpin   = 50 * time.Microsecond
	DefaultMemory = 128 << 20
)

// Config is what an Emulator forwards.
type Config struct {
	Paths []Path
	// Shared, when not ideal, is a link that every path crosses after its
	// own towards the server and before its own towards the client (the
	// scenario's server link): a bottleneck all paths share. Its zero
	// value adds nothing.
	Shared scenario.Link
	// Seed seeds the random impairments (loss, jitter, reordering,
	// duplication, corruption), one stream per pipe and impairment.
	Seed uint64
	Options
}

func (c *Config) validate() error {
	if len(c.Paths) == 0 {
		return fmt.Errorf("%w: no paths", ErrInvalidConfig)
	}
	names, ifs := map[string]bool{}, map[string]bool{}
	for i, p := range c.Paths {
		if p.Name == "" {
			return fmt.Errorf("%w: path %d has no name", ErrInvalidConfig, i)
		}
		if names[p.Name] {
			return fmt.Errorf("%w: path name %q used twice", ErrInvalidConfig, p.Name)
		}
		names[p.Name] = true
		for _, ifc := range []string{p.ClientIf, p.ServerIf} {
			if ifc == "" {
				return fmt.Errorf("%w: path %s: missing interface name", ErrInvalidConfig, p.Name)
			}
			if ifs[ifc] {
				return fmt.Errorf("%w: path %s: interface %s used twice", ErrInvalidConfig, p.Name, ifc)
			}
			ifs[ifc] = true
		}
		for dir, cfg := range map[string]*netsim.PipeConfig{"up": &c.Paths[i].Link.Up, "down": &c.Paths[i].Link.Down} {
			if err := validatePipe(cfg); err != nil {
				return fmt.Errorf("path %s %s: %w", p.Name, dir, err)
			}
		}
		for _, e := range p.Events {
			if err := validateEvent(e); err != nil {
				return fmt.Errorf("path %s: event at %v: %w", p.Name, e.At, err)
			}
		}
	}
	for dir, cfg := range map[string]*netsim.PipeConfig{"up": &c.Shared.Up, "down": &c.Shared.Down} {
		if err := validatePipe(cfg); err != nil {
			return fmt.Errorf("shared link %s: %w", dir, err)
		}
	}
	switch {
	case c.IO != IORing && c.IO != IOMmsg:
		return fmt.Errorf("%w: unknown I/O mode %d", ErrInvalidConfig, int(c.IO))
	case c.Sched < SchedFIFO || c.Sched > SchedNormal:
		return fmt.Errorf("%w: unknown scheduling class %d", ErrInvalidConfig, int(c.Sched))
	case c.Memory < 0, c.RingBytes < 0, c.Overhead < 0:
		return fmt.Errorf("%w: negative memory, ring size or overhead", ErrInvalidConfig)
	}
	return nil
}

func validateEvent(e scenario.Event) error {
	switch {
	case e.At < 0:
		return fmt.Errorf("%w: negative time", ErrInvalidConfig)
	case e.Down && e.Up:
		return fmt.Errorf("%w: both down and up", ErrInvalidConfig)
	case e.Rate != nil && *e.Rate < 0:
		return fmt.Errorf("%w: negative rate", ErrInvalidConfig)
	case e.Delay != nil && *e.Delay < 0:
		return fmt.Errorf("%w: negative delay", ErrInvalidConfig)
	case e.Loss != nil && !(*e.Loss >= 0 && *e.Loss <= 1):
		return fmt.Errorf("%w: loss %v not in [0, 1]", ErrInvalidConfig, *e.Loss)
	}
	return nil
}

func (o *Options) withDefaults() Options {
	r := *o
	if r.Spin == 0 {
		r.Spin = DefaultSpin
	}
	if r.Memory == 0 {
		r.Memory = DefaultMemory
	}
	return r
}

// ideal reports whether a pipe configuration does nothing at all.
func ideal(c *netsim.PipeConfig) bool { return *c == netsim.PipeConfig{} }

// PathStats holds the counters of one path.
type PathStats struct {
	Name string `json:"name"`
	// Up counts the frames from the client's side to the server's, Down
	// the others.
	Up   Counters `json:"up"`
	Down Counters `json:"down"`
}

// Stats is a snapshot of an emulator's counters.
type Stats struct {
	// Elapsed is the time since the emulator started.
	Elapsed time.Duration `json:"elapsed_ns"`
	Paths   []PathStats   `json:"paths"`
	// SharedUp and SharedDown count the shared link's pipes, when there
	// are (nil otherwise).
	SharedUp   *Counters `json:"shared_up"`
	SharedDown *Counters `json:"shared_down"`
	// SchedErrors counts the loops that could not take the configured
	// scheduling class (without CAP_SYS_NICE) and run in the normal one.
	SchedErrors uint64 `json:"sched_errors"`
}
