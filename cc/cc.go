package cc

import (
	"fmt"
	"math"
	"time"
)

// Controller is a congestion control algorithm for one TCP connection or
// MPTCP subflow. The package documentation gives the order in which the
// engine calls it.
//
// Events take small value structs so that a field can be added later without
// changing the interface; a Controller keeps no pointer into them.
type Controller interface {
	// OnPacketSent reports a data segment handed to the network.
	OnPacketSent(now time.Time, s Sent)
	// OnAck reports an ACK that newly acknowledged a.Acked bytes.
	OnAck(now time.Time, a Ack)
	// OnCongestionEvent reports the start of loss recovery.
	OnCongestionEvent(now time.Time, l Loss)
	// OnRecoveryExit reports that everything outstanding at the congestion
	// event has been acknowledged.
	OnRecoveryExit(now time.Time)
	// OnRTO reports that the retransmission timer expired.
	OnRTO(now time.Time, l Loss)
	// OnSpuriousCongestion undoes the last congestion event or timeout.
	OnSpuriousCongestion(now time.Time)
	// SetMSS changes the maximum segment size the windows are counted in.
	SetMSS(mss int)

	// Window is the congestion window in bytes.
	Window() int
	// SlowStartThreshold is ssthresh in bytes; math.MaxInt until the first
	// congestion event or HyStart++ exit.
	SlowStartThreshold() int
	// InSlowStart reports whether the window grows exponentially.
	InSlowStart() bool
	// PacingRate is the rate in bytes per second at which the sender should
	// space its segments, or 0 when the sender need not pace.
	PacingRate() float64
}

// IdleRestarter is implemented by controllers whose window the engine
// may restart after an idle period (RFC 5681 section 4.1, Linux
// tcp_slow_start_after_idle). Every loss-based controller here implements
// it; a controller that manages idle periods itself (a model-based one)
// need not.
type IdleRestarter interface {
	// RestartAfterIdle shrinks the window of a sender that was idle for
	// idle, with timeout rto, and reports whether it changed.
	RestartAfterIdle(idle, rto time.Duration) bool
}

// Sent describes a segment handed to the network.
type Sent struct {
	// Bytes is the segment's payload length, retransmission or not.
	Bytes int
	// PriorInFlight is the engine's bytes in flight (RFC 6675 pipe) before
	// this segment. Zero means the connection was idle, which lets an
	// algorithm discount the idle time.
	PriorInFlight int
}

// Ack describes an ACK that newly acknowledged data.
type Ack struct {
	// Acked is the number of bytes newly acknowledged, cumulatively or by
	// SACK, each byte counted once.
	Acked int
	// PriorInFlight is the bytes in flight before this ACK was processed.
	// Controllers compare it with their window to tell whether the sender
	// was limited by the window (RFC 7661); they do not grow a window that
	// was not in use.
	PriorInFlight int
	// RTT is the round-trip time sample this ACK produced, 0 when it gave
	// none (Karn's rule, or no timestamp).
	RTT time.Duration
	// SRTT is the engine's smoothed RTT after this ACK (RFC 6298).
	SRTT time.Duration
	// MinRTT is the smallest RTT the engine has seen on this path.
	MinRTT time.Duration
	// AppLimited is set when the acknowledged data was sent while the
	// application had nothing more to send, or the peer's receive window
	// stopped the sender. Such ACKs do not grow the window.
	AppLimited bool
}

// Loss describes a congestion event or a retransmission timeout.
type Loss struct {
	// FlightSize is the data outstanding when the loss was detected, in
	// bytes: SND.NXT - SND.UNA, RFC 5681's FlightSize.
	FlightSize int
	// Lost is the number of bytes newly marked lost. For a timeout it is
	// everything the engine now considers lost.
	Lost int
}

// DefaultInitialSegments is the initial window in segments. RFC 6928 allows
// ten segments up to 14600 bytes; like Linux we keep ten segments whatever
// the MSS, so a jumbo-frame path is not held to one or two segments.
const DefaultInitialSegments = 10

// defaultMaxWindow caps the window when Params.MaxWindow is zero. It is far
// above any receive window a peer can advertise with window scaling (1 GiB)
// and keeps window arithmetic far from overflow.
const defaultMaxWindow = 1 << 30

// maxMSS bounds Params.MSS; an IPv6 jumbogram aside no segment is larger.
const maxMSS = 65535

// Params configures a new Controller. Zero fields take their defaults.
type Params struct {
	// MSS is the sender's maximum segment size in bytes. Required.
	MSS int
	// InitialWindow is the window before the first ACK, in bytes; 0 means
	// DefaultInitialSegments segments.
	InitialWindow int
	// MinWindow is the smallest window a congestion event can leave, in
	// bytes; 0 means two segments (RFC 5681). A timeout still collapses the
	// window to one segment.
	MinWindow int
	// MaxWindow caps the window, in bytes; 0 means 1 GiB.
	MaxWindow int
	// Pacing is set when the engine paces its segments at PacingRate.
	// Controllers return a PacingRate of 0 otherwise, and HyStart++ limits
	// the growth per ACK of an unpaced sender (RFC 9406, L = 8).
	Pacing bool
	// Group couples this controller with the other subflows of the same
	// MPTCP connection. Uncoupled algorithms ignore it.
	Group *Group
}

// withDefaults validates p and fills in its defaults.
func (p Params) withDefaults() (Params, error) {
	if p.MSS <= 0 || p.MSS > maxMSS {
		return p, fmt.Errorf("cc: MSS %d not in 1..%d: %w", p.MSS, maxMSS, ErrInvalidParams)
	}
	if p.InitialWindow < 0 || p.MinWindow < 0 || p.MaxWindow < 0 {
		return p, fmt.Errorf("cc: negative window (initial %d, min %d, max %d): %w",
			p.InitialWindow, p.MinWindow, p.MaxWindow, ErrInvalidParams)
	}
	if p.MaxWindow == 0 {
		p.MaxWindow = defaultMaxWindow
	}
	if p.MaxWindow > math.MaxInt32 {
		return p, fmt.Errorf("cc: max window %d above %d: %w", p.MaxWindow, math.MaxInt32, ErrInvalidParams)
	}
	if p.InitialWindow == 0 {
		p.InitialWindow = min(DefaultInitialSegments*p.MSS, p.MaxWindow)
	}
	if p.MaxWindow < p.MSS || p.InitialWindow > p.MaxWindow || (p.MinWindow != 0 && p.MinWindow > p.MaxWindow) {
		return p, fmt.Errorf("cc: windows out of order (MSS %d, initial %d, min %d, max %d): %w",
			p.MSS, p.InitialWindow, p.MinWindow, p.MaxWindow, ErrInvalidParams)
	}
	return p, nil
}

// Coupled congestion control (MPTCP) and how it fits this interface.
//
// A coupled algorithm links the window growth of all subflows of one MPTCP
// connection so that the connection takes no more than one TCP flow would at
// a shared bottleneck and moves traffic off congested paths. The MPTCP layer
// makes one Group per connection and the TCP engine passes it in
// Params.Group to New for every subflow, at both ends (a listener's
// subflows get it from their hooks, tcp.CCGrouper); the coupled
// algorithm's factory calls Group.Join and keeps the *Member it gets
// (without a Group it joins a group of its own and behaves as its
// single-path special case). The engine calls Group.Remove when a subflow
// closes; the MPTCP layer may call Member.SetActive(false) while a subflow
// must not carry data (an idle backup, a failed path), which leaves it out
// of the others' sums. Each controller still sees only the events of
// its own subflow, in the order above; the Group is how it reads the others,
// synchronously, since all subflows of a connection are processed by one
// loop.
//
// Four coupled algorithms are registered, each in its own file:
//
//   - lia (lia.go, RFC 6356), olia (olia.go) and balia (balia.go) keep
//     NewReno's slow start and recovery on each subflow and replace the
//     increase in congestion avoidance by one computed on each ACK from every
//     member's Window and SRTT (BALIA also its decrease). coupled.go holds
//     what they share.
//   - wvegas (wvegas.go) is delay based: once a round trip each subflow
//     compares its backlog with a target that the connection's paths share
//     in proportion to their rates.
//
// Every coupled OnAck starts with member.Observe(a), publishing the
// subflow's SRTT to the others. State beyond window and RTT (OLIA's bytes
// between losses, wVegas's rate) is read from the other members through
// Member.Controller with a type assertion to the algorithm's own concrete
// type, as the kernel's coupled algorithms read each subflow's private
// congestion state; a member of another type counts without that state.
// The sums are recomputed per ACK over the members that are active and have
// an RTT: a connection has a handful of subflows, and an ACK costs some tens
// to a couple of hundred nanoseconds with 2 to 8 of them
// (BenchmarkCoupledOnAck), without allocating.
