package mptcp

import (
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/link"
)

// Link is the side of a Stack that drivers use, apart from what
// applications call: a driver hands it packets and the time, polls it, and
// attaches itself to it. It is a link.Attacher, so netsim.Host.SetStack
// and tun.New take it as it is, and attach themselves.
//
// Stack.Link runs the whole stack from one driver; Stack.Loop(i) runs
// protocol loop i of a stack with several (Config.Loops), each from a
// driver of its own.
type Link struct {
	s  *Stack
	sh *shard // the loop's shard; nil for the whole stack
}

var (
	_ link.Attacher          = (*Link)(nil)
	_ link.Locker            = (*Link)(nil)
	_ link.ChecksumOffloader = (*Link)(nil)
	_ link.SegmentOffloader  = (*Link)(nil)
)

// Attach implements link.Attacher: d runs the stack (or the loop) from
// now on, and Dial and Listen work.
func (l *Link) Attach(d link.Driver) {
	for _, sh := range l.shards() {
		sh.attach(d)
	}
}

// shards returns the shards the link runs.
func (l *Link) shards() []*shard {
	if l.sh != nil {
		return []*shard{l.sh}
	}
	return l.s.shards
}

// OffloadChecksums implements link.ChecksumOffloader: the driver says
// what it does with TCP checksums (link/tun's with super-packets
// completes those the stack sends and, trusting the kernel, verifies
// those it delivers), and the stack leaves that work to it. Only a driver
// calls it: no configuration turns verification off, so a stack on a link
// that checks nothing verifies everything. A loop sends through its own
// driver, but delivers what the other loops' drivers read for it: it skips
// verification only once every loop's driver said it verifies.
func (l *Link) OffloadChecksums(tx, rx bool) {
	all := l.s.shards
	for _, sh := range all {
		sh.mu.Lock()
	}
	for _, sh := range l.shards() {
		sh.csumTx, sh.csumRx = tx, rx
	}
	verified := true
	for _, sh := range all {
		verified = verified && sh.csumRx
	}
	for _, sh := range all {
		sh.core.OffloadChecksums(sh.csumTx, verified)
	}
	for _, sh := range all {
		sh.mu.Unlock()
	}
}

// OffloadSegmentation implements link.SegmentOffloader: the loops this
// link runs send through a driver that coalesces their segments.
func (l *Link) OffloadSegmentation() {
	for _, sh := range l.shards() {
		sh.mu.Lock()
		sh.core.OffloadSegmentation()
		sh.mu.Unlock()
	}
}

// Deliver implements link.Stack: it hands the stack one IP packet.
func (l *Link) Deliver(now time.Time, pkt []byte) {
	l.Lock()
	l.Unlocked().Deliver(now, pkt)
	l.Unlock()
}

// Poll implements link.Stack: it lets the stack send and run its timers,
// and returns when the stack next wants to be polled (zero: not until a
// packet arrives or the driver is woken).
func (l *Link) Poll(now time.Time, send func(pkt []byte)) time.Time {
	l.Lock()
	defer l.Unlock()
	return l.Unlocked().Poll(now, send)
}

// Lock implements link.Locker: it takes the lock that serialises the
// stack's callers (every loop's, in order, for the whole stack), so that
// a driver delivers a batch of packets and polls under one acquisition.
func (l *Link) Lock() {
	if l.sh != nil {
		l.sh.lockRound()
		return
	}
	for _, sh := range l.s.shards {
		sh.lockRound()
	}
}

// Unlock implements link.Locker. The goroutines the round woke are
// woken once it lets go (shard.signal).
func (l *Link) Unlock() {
	if l.sh != nil {
		l.sh.unlockRound()
		return
	}
	for _, sh := range l.s.shards {
		sh.unlockRound()
	}
}

// Unlocked implements link.Locker: Deliver and Poll of the returned stack
// take no lock, and may be called only between Lock and Unlock.
func (l *Link) Unlocked() link.Stack { return unlockedLink{l.s, l.sh} }

// unlockedLink is Link's Deliver and Poll for a caller holding its locks.
type unlockedLink struct {
	s  *Stack
	sh *shard
}

// Deliver hands pkt to the shard that owns it (demux.go). The whole
// stack's link delivers it at once; a loop's link hands another loop's
// packet over to that loop, which delivers it at its next round.
func (u unlockedLink) Deliver(now time.Time, pkt []byte) {
	s := u.s
	if s.dm == nil {
		s.shards[0].deliver(now, pkt)
		return
	}
	self := u.sh
	if self == nil {
		// One driver for every shard: shard 0's scratch, all locks held.
		switch o := s.dm.owner(pkt, 0, &s.shards[0].opts); o {
		case allShards:
			for _, sh := range s.shards {
				sh.deliver(now, pkt)
			}
		default:
			s.shards[o].deliver(now, pkt)
		}
		return
	}
	switch o := s.dm.owner(pkt, self.idx, &self.opts); o {
	case self.idx:
		self.deliver(now, pkt)
	case allShards:
		self.deliver(now, pkt)
		for _, sh := range s.shards {
			if sh != self {
				sh.handOff(pkt)
			}
		}
	default:
		s.shards[o].handOff(pkt)
	}
}

// Poll polls the link's shards, in order, and returns the earliest time
// one of them wants to be polled again.
func (u unlockedLink) Poll(now time.Time, send func(pkt []byte)) time.Time {
	if u.sh != nil {
		return u.sh.poll(now, send)
	}
	var next time.Time
	for _, sh := range u.s.shards {
		next = core.Earliest(next, sh.poll(now, send))
	}
	return next
}
