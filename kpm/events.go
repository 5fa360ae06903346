package kpm

import (
	"errors"
	"fmt"
	"time"

	"github.com/mdlayher/genetlink"
	"syscall"
)

var (
	// ErrEventsLost reports that the kernel dropped events because the
	// socket's receive buffer was full (ENOBUFS). The stream goes on.
	ErrEventsLost = errors.New("kernel dropped MPTCP events: receive buffer overrun")

	// ErrMalformedEvent reports an event message that could not be decoded.
	// The stream goes on.
	ErrMalformedEvent = errors.New("malformed MPTCP event")
)

// EventConn receives the kernel's MPTCP events, from the mptcp_pm_events
// multicast group of the namespace it was opened in. Joining the group
// needs CAP_NET_ADMIN. While at least one EventConn is open the kernel
// considers a userspace path manager present, which the "userspace"
// path_manager mode requires before it accepts joins and announcements.
type EventConn struct {
	c      *genetlink.Conn
	family genetlink.Family
}

// eventBuffer is the receive buffer asked for: a burst of connections
// yields several events each, and a lost event is a lost subflow.
const eventBuffer = 4 << 20

// DialEvents opens an EventConn.
func DialEvents(cfg *Config) (*EventConn, error) {
	c, err := genetlink.Dial(netlinkConfig(cfg))
	if err != nil {
		return nil, opError("open generic netlink socket", err)
	}
	return newEventConn(c)
}

// newEventConn takes over an open generic netlink connection and joins
// the event group.
func newEventConn(c *genetlink.Conn) (*EventConn, error) {
	fam, err := openFamily(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	var group uint32
	for _, g := range fam.Groups {
		if g.Name == eventGroupName {
			group = g.ID
		}
	}
	if group == 0 {
		c.Close()
		return nil, fmt.Errorf("generic netlink family %s has no %s group: %w", familyName, eventGroupName, ErrNotSupported)
	}
	if err := c.JoinGroup(group); err != nil {
		c.Close()
		return nil, opError("join MPTCP event group", err)
	}
	// Best effort: without it the default buffer still works, only a
	// burst is more likely to overrun it.
	_ = c.SetReadBuffer(eventBuffer)
	return &EventConn{c: c, family: fam}, nil
}

// Receive blocks until events arrive and returns them. Events that fail
// to decode are left out and reported with an error wrapping
// ErrMalformedEvent alongside the good ones; an overrun is reported as
// ErrEventsLost. After either, Receive may be called again.
func (ec *EventConn) Receive() ([]Event, error) {
	msgs, nmsgs, err := ec.c.Receive()
	if err != nil {
		if errors.Is(err, syscall.ENOBUFS) {
			return nil, ErrEventsLost
		}
		return nil, opError("receive MPTCP events", err)
	}
	evs := make([]Event, 0, len(msgs))
	var bad error
	for i, m := range msgs {
		if i < len(nmsgs) && uint16(nmsgs[i].Header.Type) != ec.family.ID {
			continue
		}
		e, err := ParseEvent(m)
		if err != nil {
			bad = fmt.Errorf("%w: %v", ErrMalformedEvent, err)
			continue
		}
		evs = append(evs, e)
	}
	return evs, bad
}

// SetReadDeadline makes a blocked Receive return a timeout error at t.
func (ec *EventConn) SetReadDeadline(t time.Time) error { return ec.c.SetReadDeadline(t) }

// Close closes the connection, which also ends a blocked Receive.
func (ec *EventConn) Close() error { return ec.c.Close() }
