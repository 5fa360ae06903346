package core

import (
	"errors"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/wire"
)

// EventType is the kind of an Event. Kernel events carry the numbers of
// the Linux kernel's enum mptcp_event_type (package kpm names them), so
// that a tool shows our stack's events and the kernel's alike; the
// stack's own events are numbered from 128.
type EventType uint8

// The events, emitted at the points where the kernel emits its own.
const (
	// EventCreated: MP_CAPABLE was exchanged on the initial subflow (the
	// client got the SYN/ACK, the server the third ACK).
	EventCreated EventType = 1
	// EventEstablished: the connection is fully established.
	EventEstablished EventType = 2
	// EventClosed: the connection is gone.
	EventClosed EventType = 3
	// EventAnnounced: the peer announced Remote with ID RemoteID (ADD_ADDR).
	EventAnnounced EventType = 6
	// EventRemoved: the peer withdrew address RemoteID (REMOVE_ADDR).
	EventRemoved EventType = 7
	// EventSubEstablished: a joined subflow is established.
	EventSubEstablished EventType = 10
	// EventSubClosed: a subflow closed while the connection lives on.
	EventSubClosed EventType = 11
	// EventSubPriority: the peer changed a subflow's backup flag (MP_PRIO).
	EventSubPriority EventType = 13
	// EventListenerCreated and EventListenerClosed: the stack started or
	// stopped listening on Local.
	EventListenerCreated EventType = 15
	EventListenerClosed  EventType = 16

	// EventScheduled is not a kernel event: the scheduler put the data
	// DSN..DSN+Len on subflow Subflow. It comes once per mapping sent, so
	// a sink that keeps it must be cheap.
	EventScheduled EventType = 128
	// EventFallback is not a kernel event: the connection fell back to
	// TCP; Reason names the MIB counter of the cause.
	EventFallback EventType = 129
)

// Kernel reports whether the kernel has an event of this type.
func (t EventType) Kernel() bool { return t < 128 }

// Event is one thing that happened in a stack, with the attributes the
// kernel sends for it (MPTCP_ATTR_TOKEN, SADDR/SPORT, DADDR/DPORT,
// LOC_ID, REM_ID, BACKUP, ERROR, RESET_REASON, RESET_FLAGS, SERVER_SIDE).
// It is a plain value: handing one to the sink allocates nothing.
type Event struct {
	Type EventType
	Time time.Time
	// Token is the connection's local token, its name in the kernel's
	// events and in ss -M (0 for listener events).
	Token uint32
	// Server is set for connections a listener accepted.
	Server bool
	// Local and Remote are the subflow's addresses (the initial
	// subflow's for CREATED and ESTABLISHED); Remote alone for
	// ANNOUNCED; Local alone for listener events.
	Local, Remote     netip.AddrPort
	LocalID, RemoteID uint8
	Backup            bool
	// Subflow is the stack's ID of the subflow (SubflowInfo.ID) for
	// subflow and scheduling events, -1 otherwise.
	Subflow int
	// Err is why a subflow closed (SF_CLOSED), nil for an orderly close.
	Err error
	// Reset is set when the peer's RST carried MP_TCPRST (SF_CLOSED),
	// with its reason and flags.
	Reset       bool
	ResetReason wire.MPTCPRstReason
	ResetFlags  wire.MPTCPRstFlags
	// DSN and Len are the data of EventScheduled.
	DSN uint64
	Len int
	// Reason is the cause of EventFallback.
	Reason Counter
}

// EventSink receives a stack's events, on the goroutine that drives the
// stack, while the stack is busy: it must not call back into the stack
// and should return quickly (copy the event, count it).
type EventSink func(ev Event)

// emit hands ev to the sink, if there is one.
func (s *Stack) emit(ev Event) {
	if s.cfg.Events == nil {
		return
	}
	ev.Time = s.now
	s.cfg.Events(ev)
}

// connEvent returns an event about c, with its initial subflow's
// addresses.
func (c *Conn) connEvent(t EventType) Event {
	ev := Event{Type: t, Token: c.local.token, Server: c.server, Local: c.initialLocal, Remote: c.initialRemote, Subflow: -1}
	if sf := c.initialSub; sf != nil {
		ev.Local, ev.Remote, ev.LocalID, ev.RemoteID = sf.local, sf.remote, 0, 0
		ev.Backup = sf.backup || sf.peerBackup
	}
	return ev
}

// emitPM emits the kernel event that corresponds to a path-manager event,
// if there is one: the path manager's events are those of the kernel's
// netlink interface, raised at the same points.
func (c *Conn) emitPM(ev *pm.Event) {
	s := c.stack
	if s.cfg.Events == nil {
		return
	}
	var out Event
	switch ev.Kind {
	case pm.Created:
		c.eventCreated = true
		out = c.connEvent(EventCreated)
	case pm.Established:
		out = c.connEvent(EventEstablished)
	case pm.Closed:
		if !c.eventCreated {
			return // plain TCP from the start: the kernel says nothing either
		}
		out = Event{Type: EventClosed, Token: c.local.token, Server: c.server, Subflow: -1}
	case pm.Announced:
		out = Event{Type: EventAnnounced, Token: c.local.token, Server: c.server, Remote: ev.Remote.AddrPort, RemoteID: ev.Remote.ID, Subflow: -1}
	case pm.Removed:
		out = Event{Type: EventRemoved, Token: c.local.token, Server: c.server, RemoteID: ev.RemoteID, Subflow: -1}
	case pm.SubEstablished, pm.SubPriority, pm.SubClosed:
		if c.fallen || c.state == StateClosed {
			return // the kernel reports subflows of live MPTCP connections only
		}
		out = c.subflowEvent(ev)
	case pm.FellBack:
		out = Event{Type: EventFallback, Token: c.local.token, Server: c.server, Reason: c.fallbackCause, Subflow: -1}
	default:
		return // no kernel event
	}
	s.emit(out)
}

// subflowEvent describes the subflow of a path-manager event.
func (c *Conn) subflowEvent(ev *pm.Event) Event {
	t := EventSubEstablished
	switch ev.Kind {
	case pm.SubPriority:
		t = EventSubPriority
	case pm.SubClosed:
		t = EventSubClosed
	}
	si := ev.Subflow
	out := Event{Type: t, Token: c.local.token, Server: c.server, Local: si.Local, Remote: si.Remote,
		LocalID: si.LocalID, RemoteID: si.RemoteID, Backup: si.Backup, Subflow: si.ID, Err: ev.Err}
	var e *SubflowResetError
	if errors.As(ev.Err, &e) {
		out.Reset, out.ResetReason = true, e.Reason
		if e.Transient {
			out.ResetFlags = wire.MPTCPRstTransient
		}
	}
	return out
}

// emitScheduled reports a scheduling decision.
func (sf *subflow) emitScheduled(dsn uint64, n int) {
	c := sf.conn
	if c.stack.cfg.Events == nil {
		return
	}
	c.stack.emit(Event{Type: EventScheduled, Token: c.local.token, Server: c.server, Local: sf.local, Remote: sf.remote,
		LocalID: sf.localID, RemoteID: sf.remoteID, Backup: sf.backup || sf.peerBackup, Subflow: sf.id, DSN: dsn, Len: n})
}

// emitListener reports a listener starting or stopping.
func (s *Stack) emitListener(t EventType, addr netip.AddrPort) {
	s.emit(Event{Type: t, Local: addr, Subflow: -1})
}
