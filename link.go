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

var (
	_ link.Attacher          = (*Link)(nil)
	_ link.Locker            = (*Link)(nil)
	_ link.ChecksumOffloader = (*Link)(nil)
)

// Attach implements link.Attacher: d runs the stack from now on, and
// Dial and Listen work.
func (l *Link) Attach(d link.Driver) {
	l.s.mu.Lock()
	l.s.drv = d
	l.s.mu.Unlock()
}

// OffloadChecksums implements link.ChecksumOffloader: the driver says
// what it does with TCP checksums (link/tun's with super-packets
// completes those the stack sends and, trusting the kernel, verifies
// those it delivers), and the stack leaves that work to it. Only a driver
// calls it: no configuration turns verification off, so a stack on a link
// that checks nothing verifies everything.
func (l *Link) OffloadChecksums(tx, rx bool) {
	l.s.mu.Lock()
	l.s.core.OffloadChecksums(tx, rx)
	l.s.mu.Unlock()
}

// Deliver implements link.Stack: it hands the stack one IP packet.
func (l *Link) Deliver(now time.Time, pkt []byte) {
	l.s.mu.Lock()
	unlockedLink{l.s}.Deliver(now, pkt)
	l.s.mu.Unlock()
}

// Poll implements link.Stack: it lets the stack send and run its timers,
// and returns when the stack next wants to be polled (zero: not until a
// packet arrives or the driver is woken).
func (l *Link) Poll(now time.Time, send func(pkt []byte)) time.Time {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	return unlockedLink{l.s}.Poll(now, send)
}

// Lock implements link.Locker: it takes the lock that serialises the
// stack's callers, so that a driver delivers a batch of packets and polls
// under one acquisition.
func (l *Link) Lock() { l.s.mu.Lock() }

// Unlock implements link.Locker.
func (l *Link) Unlock() { l.s.mu.Unlock() }

// Unlocked implements link.Locker: Deliver and Poll of the returned stack
// take no lock, and may be called only between Lock and Unlock.
func (l *Link) Unlocked() link.Stack { return unlockedLink{l.s} }

// unlockedLink is Link's Deliver and Poll for a caller holding s.mu.
type unlockedLink struct{ s *Stack }

func (u unlockedLink) Deliver(now time.Time, pkt []byte) {
	u.s.core.Deliver(u.s.advance(now), pkt)
}

func (u unlockedLink) Poll(now time.Time, send func(pkt []byte)) time.Time {
	return u.s.core.Poll(u.s.advance(now), send)
}
