// Package sched holds the MPTCP packet schedulers: the policy that decides
// which subflow carries the next piece of data. Schedulers are chosen by
// name from a registry, as the kernel's net/mptcp/sched.c registers them,
// and see a connection only through the Conn and Subflow snapshots the
// MPTCP layer hands them: plain values, no callbacks into the layer.
//
// A scheduler is asked two questions, after the kernel's get_send and
// get_retrans: which subflows should carry new data now (Send), and which
// should carry data being sent again because the subflow that had it
// failed or stalled (Reinject). Asking for several subflows sends the same
// data on each (a redundant scheduler).
package sched

import (
	"errors"
	reg "github.com/mptcp-go/mptcp/internal/registry"
	"time"
)

// Default is the name of the scheduler used when none is chosen: ECF's
// decision (the "ecf" scheduler under this name), which sends on the
// fastest subflow with room and, when only slower ones have room, waits
// for the fastest if the data would arrive sooner that way, as the
// kernel's current default avoids a slow subflow whose queue would
// deliver later (its BLEST-like estimate). Sending the tail of a response
// over a path five times slower, the lowest-RTT choice (MinRTT) made 100
// KB answers on a reused connection 19 ms slower than the kernel's at the
// median.
const Default = "default"

// ErrUnknown is returned, wrapped, by New for a name nothing registered.
var ErrUnknown = errors.New("unknown scheduler")

// Subflow is a snapshot of one subflow, taken by the MPTCP layer just
// before it asks the scheduler: plain values, valid for that call, so a
// scheduler can neither change the subflow nor reach the layer's
// internals through it.
type Subflow struct {
	// ID identifies the subflow within its connection, stable for its life.
	ID int
	// Backup reports whether the subflow is a backup path: the local or
	// the remote side asked for it (MP_JOIN B flag or MP_PRIO).
	Backup bool
	// Usable reports whether the subflow may carry data at all: fully
	// established, not closing, not stale after retransmission timeouts.
	Usable bool
	// Stale reports whether the subflow has had retransmission timeouts
	// with no progress since: it is probably broken.
	Stale bool
	// SRTT is the smoothed round-trip time, 0 before the first sample.
	SRTT time.Duration
	// RTTVar is the round-trip time variation.
	RTTVar time.Duration
	// Window is the congestion window in bytes.
	Window int
	// InFlight is the bytes sent and not yet acknowledged at subflow level.
	InFlight int
	// Queued is the bytes handed to the subflow and not yet sent.
	Queued int
	// MSS is the subflow's maximum segment size.
	MSS int
	// Room is how many more bytes the subflow can take now without
	// exceeding its congestion window: at most Window - InFlight -
	// Queued, in whole segments, or 0.
	Room int
	// Rate estimates the subflow's delivery rate in bytes per second, 0 if
	// unknown.
	Rate float64
}

// Conn is a snapshot of the connection a scheduler decides for.
type Conn struct {
	// Subflows are the connection's subflows. A scheduler's choices are
	// positions in this slice; it is valid only during the call.
	Subflows []Subflow
	// Unsent is the bytes written by the application and never sent.
	Unsent int
	// SendWindow is the bytes the peer's connection-level receive window
	// still allows beyond what is in flight.
	SendWindow int
	// DataInFlight is the bytes sent at data level that the peer has not
	// yet acknowledged with a DATA_ACK (SND.NXT - SND.UNA of the
	// connection). With SendWindow it gives the whole window the peer
	// offers.
	DataInFlight int
}

// Scheduler picks subflows for data. Implementations keep whatever state
// they need (a round-robin position); one Scheduler serves one connection.
// Choices are positions in c.Subflows, appended to dst (which the caller
// provides with capacity, so that a decision allocates nothing).
type Scheduler interface {
	// Name returns the name the scheduler is registered under.
	Name() string
	// Send appends to dst the positions of the subflows that should
	// carry the next chunk of new data, and returns the extended slice;
	// none means wait (no subflow has room). The MPTCP layer sends the
	// chunk on each chosen subflow, up to the smallest Room among them.
	Send(now time.Time, c Conn, dst []int) []int
	// Reinject appends the positions of the subflows that should carry
	// data being sent again after the subflow with ID from failed or
	// stalled.
	Reinject(now time.Time, c Conn, from int, dst []int) []int
}

// Factory makes a Scheduler for one connection.
type Factory func() Scheduler

var registry = reg.New[Factory]("sched")

// Register makes a scheduler available by name. A scheduler registers
// itself from an init function in its own file; Register panics on an
// empty or duplicate name or a nil factory, programming errors found at
// start-up.
func Register(name string, f Factory) { registry.Register(name, f, f == nil) }

// New returns a new scheduler of the named kind; "" means Default. An
// unknown name gives an error wrapping ErrUnknown that lists the valid
// names.
func New(name string) (Scheduler, error) {
	if name == "" {
		name = Default
	}
	f, ok := registry.Lookup(name)
	if !ok {
		return nil, registry.Unknown(ErrUnknown, name, Names())
	}
	return f(), nil
}

// Names returns the registered names, sorted.
func Names() []string { return registry.Names() }
