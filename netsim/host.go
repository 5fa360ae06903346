package netsim

import (
	"math/rand/v2"
	"time"

	"github.com/mptcp-go/mptcp/link"
)

// Stack is a sans-I/O network stack run by a Host: it is handed packets and
// the time, hands back packets, and says when it next wants to run. All of
// its methods are called on the simulation's goroutine.
type Stack interface {
	// Deliver hands the stack one IP packet that arrived for the host.
	// pkt is valid only during the call.
	Deliver(now time.Time, pkt []byte)
	// Poll lets the stack send packets through send, which copies each
	// packet before it returns, and returns when the stack next wants to
	// be polled; the zero Time means not until something happens (a
	// delivery or a Wake).
	Poll(now time.Time, send func(pkt []byte)) time.Time
}

// A Host is an end system: interfaces with addresses and a Stack.
//
// The host polls its stack after every packet it delivers to it, at the
// time the stack last asked for, and soon after Wake; a stack that keeps
// asking for the current instant is polled every link.EagerBackoff of
// virtual time instead, so the clock moves on (HostStats.PollBackoffs
// counts it). Packets the stack
// sends leave by the interface that owns their source address, so a
// multihomed stack picks its path by picking the source, as MPTCP subflows
// do; packets whose source the host does not own are dropped and counted.
type Host struct {
	nodeBase
	stack  Stack
	poller *Timer
	sendFn func([]byte) // h.send, bound once so Poll does not allocate
	guard  link.PollGuard
	stats  HostStats
}

// NewHost adds a host called name, with no interfaces and no stack yet.
func (s *Sim) NewHost(name string) (*Host, error) {
	h := &Host{}
	h.nodeBase = nodeBase{s: s, name: name, self: h}
	if err := s.addNode(name, h); err != nil {
		return nil, err
	}
	h.poller = s.NewTimer(h.poll)
	h.sendFn = h.send
	s.hosts = append(s.hosts, h)
	return h, nil
}

// SetStack installs the host's stack and polls it at the current time, so
// it can send its first packets. A stack that wants its driver
// (link.Attacher, as the mptcp package's Stack.Link) is attached to the
// host: its Wake and clock are the simulation's, or those of the Realtime
// runner when one drives the simulation.
func (h *Host) SetStack(st Stack) {
	h.stack = st
	if a, ok := st.(link.Attacher); ok {
		a.Attach(hostDriver{h})
	}
	h.Wake()
}

// hostDriver is the link.Driver a host gives the stack it runs.
type hostDriver struct{ h *Host }

// Wake implements link.Waker: it polls the host's stack soon, through the
// Realtime runner when one drives the simulation (then it is safe from any
// goroutine), else directly (on the simulation's goroutine).
func (d hostDriver) Wake() {
	if r := d.h.s.realtime; r != nil {
		r.Do(d.h.Wake)
		return
	}
	d.h.Wake()
}

// Now implements link.Driver: the Realtime runner's clock, or the
// simulation's virtual time.
func (d hostDriver) Now() time.Time {
	if r := d.h.s.realtime; r != nil {
		return r.Now()
	}
	return d.h.s.Now()
}

// Stack returns the host's stack.
func (h *Host) Stack() Stack { return h.stack }

// Wake asks for the stack to be polled at the current virtual time, after
// the event now running. Application code calls it after changing the
// stack's state from outside (writing to a connection from a scheduled
// callback, say). It never polls re-entrantly, so a stack may call it from
// inside Deliver or Poll.
func (h *Host) Wake() {
	if !h.poller.Pending() || h.poller.at > h.s.now {
		h.poller.resetNS(h.s.now)
	}
}

// Rand returns a random stream for this host's stack (initial sequence
// numbers, keys), derived from the seed and the host's name. Each call
// returns a further, independent stream (see Sim.Rand): call it once per
// purpose, in a fixed order, and keep the result.
func (h *Host) Rand() *rand.Rand { return h.s.Rand("host/" + h.name) }

// Stats returns the host's counters.
func (h *Host) Stats() HostStats {
	st := h.stats
	st.PollBackoffs = h.guard.Backoffs()
	return st
}

func (h *Host) poll() {
	if h.stack == nil {
		return
	}
	h.poller.Stop()
	next := h.guard.Next(h.s.nowT, h.stack.Poll(h.s.nowT, h.sendFn))
	if !next.IsZero() && !h.poller.Pending() {
		// A Wake from inside Poll already asked for now, which is sooner.
		h.poller.Reset(next)
	}
}

// send routes one packet from the stack to the interface owning its source
// address. It copies the packet (Stack.Poll's contract) into a pooled buffer.
func (h *Host) send(b []byte) {
	src, _, ok := ipAddrs(b)
	if !ok {
		h.stats.Malformed++
		return
	}
	ifc := h.ifaceFor(src)
	if ifc == nil {
		h.stats.NoSource++
		return
	}
	if ifc.out == nil {
		h.stats.NoLink++
		return
	}
	h.stats.Sent++
	h.stats.SentBytes += uint64(len(b))
	ifc.capture(h.s, b)
	ifc.out.send(h.s.pool.get(b))
}

// receive implements node. The packet is handed to the stack and returned
// to the pool; the stack is then polled so it can answer at once.
func (h *Host) receive(ifc *Interface, pk *packet) {
	s := h.s
	ifc.capture(s, pk.b)
	_, dst, ok := ipAddrs(pk.b)
	switch {
	case !ok:
		h.stats.Malformed++
	case !h.owns(dst):
		h.stats.Undeliverable++
	case h.stack == nil:
		h.stats.NoStack++
	default:
		h.stats.Delivered++
		h.stats.DeliveredBytes += uint64(len(pk.b))
		h.stack.Deliver(s.nowT, pk.b)
		s.pool.put(pk)
		h.poll()
		return
	}
	s.pool.put(pk)
}
