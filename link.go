package mptcp

import (
	"time"

	"github.com/mptcp-go/mptcp/link"
)

// Link is the side of a Stack that drivers use, apart from what
// applications call: a driver hands it packets and the time, polls it, and
// attaches itself to it. It is a link.Attacher, so netsim.Host.SetStack
// and tun.New take it as it is, and attach themselves.
type Link struct{ s *Stack }

var _ link.Attacher = (*Link)(nil)

// Attach implements link.Attacher: d runs the stack from now on, and
// Dial and Listen work.
func (l *Link) Attach(d link.Driver) {
	l.s.mu.Lock()
	l.s.drv = d
	l.s.mu.Unlock()
}

// Deliver implements link.Stack: it hands the stack one IP packet.
func (l *Link) Deliver(now time.Time, pkt []byte) {
	s := l.s
	s.mu.Lock()
	s.core.Deliver(s.advance(now), pkt)
	s.mu.Unlock()
}

// Poll implements link.Stack: it lets the stack send and run its timers,
// and returns when the stack next wants to be polled (zero: not until a
// packet arrives or the driver is woken).
func (l *Link) Poll(now time.Time, send func(pkt []byte)) time.Time {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.core.Poll(s.advance(now), send)
}
