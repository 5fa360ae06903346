// Package link is the contract between a sans-I/O network stack and the
// drivers that run it on a network: the simulator (package netsim, virtual
// time), the Linux TUN driver (package link/tun, real time), test harnesses.
//
// A stack never reads the clock, never starts a goroutine and never touches
// a file or socket. A driver hands it every packet that arrives with the
// time of arrival, polls it for the packets it wants to send, and polls it
// again at the time it asked for, or sooner when woken.
package link

import (
	"sync"
	"time"
)

// Stack is a sans-I/O network stack: tcp.Stack, the MPTCP stack, or the
// public API's stack all have this shape (as does netsim.Stack).
//
// A driver calls the methods from one goroutine at a time, never
// concurrently and never re-entrantly, and passes the current time: the
// real clock in a real-network driver, the virtual clock in the simulator.
// Time passed to successive calls never goes backwards.
type Stack interface {
	// Deliver hands the stack one IP packet (IPv4 or IPv6, starting at the
	// IP header). pkt is valid only during the call: a stack that keeps
	// data copies it.
	Deliver(now time.Time, pkt []byte)

	// Poll lets the stack run its due timers and send its packets through
	// send, which copies each packet before it returns. Poll returns when
	// the stack next wants to be polled; the zero Time means not until a
	// packet is delivered or the driver is woken.
	Poll(now time.Time, send func(pkt []byte)) time.Time
}

// Waker asks a driver to poll its stack soon.
//
// An application that changes a stack's state from outside the driver (it
// writes into a connection, closes one, dials) calls Wake afterwards, so
// that the driver polls the stack and the stack sends what the change
// allows, rather than at its next timer. A real-time driver's Wake is safe
// from any goroutine and never blocks; calls that come before the driver
// gets to poll are coalesced into one poll.
type Waker interface {
	Wake()
}

// Kicker is a Waker that can poll its stack in the caller's goroutine.
//
// Kick is Wake, except that a driver that is not polling the stack at the
// moment polls it at once in the calling goroutine and sends what the
// stack sends, as a kernel sends in the writer's system call: the hand-
// over to the driver's goroutine, a scheduler wake-up on the path from an
// application's write to the wire, is spared. The caller must not hold
// the stack's lock (Locker).
type Kicker interface {
	Waker
	Kick()
}

// Driver is what a stack that serves applications needs from the driver
// running it: a Wake, and the driver's clock, to stamp what the
// application does between polls (virtual time in a simulator). Both are
// safe from any goroutine.
type Driver interface {
	Waker
	// Now returns the driver's current time.
	Now() time.Time
}

// Attacher is a Stack that wants to know its driver. A driver that is
// handed an Attacher calls Attach once, before it first calls Deliver or
// Poll, with itself (or with what stands for it), so that a program
// attaches a stack to a driver in one step.
type Attacher interface {
	Stack
	Attach(d Driver)
}

// Locker is a Stack that serialises its callers, the driver and the
// application's goroutines, with a lock of its own that its Deliver and
// Poll take on every call (the mptcp package's Stack). A driver that
// hands the stack a batch of packets takes the lock once for the whole
// round instead: Lock, then Deliver and Poll on the Stack that Unlocked
// returns, then Unlock, and it writes to its devices after Unlock so
// that the application never waits on a device.
type Locker interface {
	Stack
	sync.Locker
	// Unlocked returns the stack's Deliver and Poll without the lock: a
	// driver calls them only while it holds the lock.
	Unlocked() Stack
}

// ChecksumOffloader is a Stack that can leave TCP checksums to its driver,
// as Linux leaves them to a network card that offloads them. A driver that
// does this work is handed such a stack and calls OffloadChecksums once,
// before it first calls Deliver or Poll; a stack never told computes and
// verifies every checksum itself, which is what a simulator wants (the same
// bytes whatever runs the stack).
//
// With tx, the driver completes the TCP checksum of every TCP packet the
// stack sends, whose checksum field the stack fills with the
// pseudo-header sum only (Linux's CHECKSUM_PARTIAL): a pass over the
// payload is spared where a kernel or a card finishes the sum anyway.
// With rx, every TCP packet the driver delivers has a checksum that was
// verified, by the driver or by a kernel that vouches for it (Linux's
// CHECKSUM_UNNECESSARY), the driver dropping those that fail: the stack
// verifies no TCP checksum. A driver says rx only for packets it can
// answer for, so a stack cannot be told to trust an unverified link by
// mistake.
type ChecksumOffloader interface {
	Stack
	OffloadChecksums(tx, rx bool)
}

// SegmentOffloader is a Stack whose driver hands runs of the segments it
// sends to a kernel as one super-packet, which the kernel (or a card) cuts
// up again repeating the first segment's header, options included, on
// every piece (TSO, GSO); only segments with the same options join a run.
// A driver that does this calls OffloadSegmentation once, before it first
// calls Deliver or Poll, and the stack then gives the segments of a run
// the same options where it would not otherwise (an MPTCP stack repeats
// each mapping on every segment it covers instead of sending it on the
// first only).
type SegmentOffloader interface {
	Stack
	OffloadSegmentation()
}
