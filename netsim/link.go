package netsim

import (
	"fmt"
	"time"

	"github.com/mptcp-go/mptcp/internal/linkq"
)

// PipeConfig describes one direction of a link. The zero value is an ideal
// wire: infinite rate, no delay, unlimited queue, no impairment.
type PipeConfig struct {
	// Rate is the transmission rate in bit/s; 0 is infinite. Each packet
	// occupies the transmitter for its length times 8 / Rate, so a queue
	// builds behind a bottleneck as it does on a real one.
	Rate int64
	// Delay is the propagation delay, added after serialisation.
	Delay time.Duration
	// QueuePackets and QueueBytes limit the drop-tail queue of packets
	// waiting for the transmitter (the packet being sent is not counted);
	// a packet that would exceed either limit is dropped. 0 is no limit.
	QueuePackets int
	QueueBytes   int
	// MTU drops packets longer than this many bytes; 0 is no limit.
	MTU int
	// Loss is the probability that a packet is lost on the wire. A lost
	// packet still occupies the transmitter.
	Loss float64
	// Burst, if set, adds Gilbert-Elliott loss: losses in bursts. A packet
	// is lost if either Loss or Burst says so.
	Burst *GilbertElliott
	// Jitter adds a uniformly drawn extra delay in [0, Jitter] to each
	// packet. Jitter alone never reorders: a packet is not delivered before
	// the one sent ahead of it, as on a real link, whose variation comes
	// from queues rather than from photons overtaking each other.
	Jitter time.Duration
	// Reorder is the probability that a packet is held back by
	// ReorderDelay (or, if that is zero, by Delay again), so packets sent
	// after it can overtake it.
	Reorder      float64
	ReorderDelay time.Duration
	// Duplicate is the probability that a packet arrives twice. The copy
	// arrives right after the original and takes no transmitter time, as
	// a duplicate made beyond the bottleneck would.
	Duplicate float64
	// Corrupt is the probability that one bit of a packet, chosen
	// uniformly, is flipped on the wire (after the checksums were
	// computed, so receivers must catch it).
	Corrupt float64
}

// Validate reports whether c is a possible link: no negative rate, delay
// or limit, and every probability in [0, 1]. The error wraps
// ErrInvalidConfig. It is exported so that emu, which runs the same link
// model in real time, accepts exactly the configurations netsim does.
func (c *PipeConfig) Validate() error {
	prob := func(name string, p float64) error {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("%w: %s probability %v not in [0, 1]", ErrInvalidConfig, name, p)
		}
		return nil
	}
	switch {
	case c.Rate < 0:
		return fmt.Errorf("%w: negative rate %d", ErrInvalidConfig, c.Rate)
	case c.Delay < 0, c.Jitter < 0, c.ReorderDelay < 0:
		return fmt.Errorf("%w: negative delay, jitter or reorder delay", ErrInvalidConfig)
	case c.QueuePackets < 0, c.QueueBytes < 0, c.MTU < 0:
		return fmt.Errorf("%w: negative queue limit or MTU", ErrInvalidConfig)
	}
	if err := prob("loss", c.Loss); err != nil {
		return err
	}
	if err := prob("reorder", c.Reorder); err != nil {
		return err
	}
	if err := prob("duplicate", c.Duplicate); err != nil {
		return err
	}
	if err := prob("corrupt", c.Corrupt); err != nil {
		return err
	}
	if c.Burst != nil {
		return c.Burst.validate()
	}
	return nil
}

// A Link joins two interfaces point to point, with one Pipe per direction.
type Link struct {
	s      *Sim
	a, b   *Interface
	ab, ba *Pipe
}

// Connect joins a and b with a link whose two directions are both cfg.
func (s *Sim) Connect(a, b *Interface, cfg PipeConfig) (*Link, error) {
	return s.ConnectAsym(a, b, cfg, cfg)
}

// ConnectAsym joins a and b with a link whose direction a->b is ab and
// b->a is ba (an ADSL line, a cellular uplink).
func (s *Sim) ConnectAsym(a, b *Interface, ab, ba PipeConfig) (*Link, error) {
	for _, ifc := range []*Interface{a, b} {
		if ifc == nil || ifc.node.base().s != s {
			return nil, fmt.Errorf("%w: interface %v", ErrForeign, ifc)
		}
		if ifc.link != nil {
			return nil, fmt.Errorf("%w: %v", ErrConnected, ifc)
		}
	}
	if a == b {
		return nil, fmt.Errorf("%w: link from %v to itself", ErrInvalidConfig, a)
	}
	if err := ab.Validate(); err != nil {
		return nil, fmt.Errorf("link %v->%v: %w", a, b, err)
	}
	if err := ba.Validate(); err != nil {
		return nil, fmt.Errorf("link %v->%v: %w", b, a, err)
	}
	l := &Link{s: s, a: a, b: b}
	l.ab = newPipe(s, l, a, b, ab)
	l.ba = newPipe(s, l, b, a, ba)
	a.link, a.out, a.in = l, l.ab, l.ba
	b.link, b.out, b.in = l, l.ba, l.ab
	s.links = append(s.links, l)
	return l, nil
}

// Name returns "a<->b" with the interfaces' full names.
func (l *Link) Name() string { return l.a.String() + "<->" + l.b.String() }

// Ends returns the two interfaces in the order they were connected.
func (l *Link) Ends() (a, b *Interface) { return l.a, l.b }

// AB returns the pipe from the first interface to the second.
func (l *Link) AB() *Pipe { return l.ab }

// BA returns the pipe from the second interface to the first.
func (l *Link) BA() *Pipe { return l.ba }

// From returns the pipe leaving ifc, or nil if ifc is not an end.
func (l *Link) From(ifc *Interface) *Pipe {
	switch ifc {
	case l.a:
		return l.ab
	case l.b:
		return l.ba
	}
	return nil
}

// SetUp brings both directions up or down now; see Pipe.SetUp.
func (l *Link) SetUp(up bool) {
	l.ab.SetUp(up)
	l.ba.SetUp(up)
}

// Up reports whether both directions are up.
func (l *Link) Up() bool { return l.ab.up && l.ba.up }

// Schedule applies changes to both directions at time at.
func (l *Link) Schedule(at time.Time, changes ...Change) error {
	if err := l.ab.Schedule(at, changes...); err != nil {
		return err
	}
	return l.ba.Schedule(at, changes...)
}

// line returns what the pipe's transmitter and wire need of c.
func (c *PipeConfig) line() linkq.LineConfig {
	return linkq.LineConfig{Rate: c.Rate, Delay: c.Delay, Jitter: c.Jitter, Duplicate: c.Duplicate,
		Reorder: c.Reorder, ReorderDelay: c.ReorderDelay, Corrupt: c.Corrupt}
}
