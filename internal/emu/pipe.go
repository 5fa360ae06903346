package emu

import (
	"fmt"
	"math/rand/v2"

	"github.com/mptcp-go/mptcp/internal/linkq"
	"github.com/mptcp-go/mptcp/netsim"
)

// A pipe is one direction of an emulated link, with the semantics of
// netsim's Pipe (see netsim.PipeConfig): a drop-tail queue in front of a
// transmitter of finite rate, then a wire with propagation delay, loss,
// jitter that never reorders, reordering, duplication and corruption.
//
// It is sans-I/O: it is handed packets and times, and hands delivered
// packets to the next pipe of their flow or to the egress. Times are nanoseconds
// on the loop clock, and every decision is taken at the time the model
// says (the end of a serialisation, an arrival), not at the time the loop
// got round to it, so a loop that wakes late sends late but never changes
// the emulated link's rate.
type pipe struct {
	name string
	core *core
	cfg  netsim.PipeConfig
	up   bool

	queue linkq.DropTail[*packet]
	line  linkq.Line // the transmitter (line.BusyUntil is the loop clock) and the wire

	flight linkq.Flight[*packet]

	loss netsim.LossProcess

	ctr *counters // the pipe's own counters when several flows share it, else nil
}

func newPipe(c *core, name string, cfg netsim.PipeConfig, seed uint64) *pipe {
	p := &pipe{name: name, core: c, up: true}
	// One stream per impairment, as netsim has: turning one on does not
	// shift the draws of another.
	p.loss = netsim.NewLossProcess(rand.New(streamSource(seed, "pipe/"+name+"/loss")))
	p.line = linkq.NewLine(func(what string) *rand.Rand { return rand.New(streamSource(seed, "pipe/"+name+"/"+what)) })
	p.setConfig(cfg)
	return p
}

func (p *pipe) setConfig(cfg netsim.PipeConfig) {
	if cfg.Burst != nil {
		b := *cfg.Burst
		cfg.Burst = &b
	}
	p.cfg = cfg
	p.line.SetConfig(linkq.LineConfig{Rate: cfg.Rate, Delay: cfg.Delay, Jitter: cfg.Jitter, Duplicate: cfg.Duplicate,
		Reorder: cfg.Reorder, ReorderDelay: cfg.ReorderDelay, Corrupt: cfg.Corrupt})
	p.queue.MaxPackets = cfg.QueuePackets
	p.queue.MaxBytes = cfg.QueueBytes
}

// drop counts pk as dropped for reason k, in its flow's counters and the
// pipe's own, and frees it.
func (p *pipe) drop(pk *packet, k dropKind) {
	pk.flow.ctr.drop(k)
	if p.ctr != nil {
		p.ctr.drop(k)
	}
	if h := observeHook.Load(); h != nil {
		(*h)(observation{flow: pk.flow.name, size: pk.size, admitted: pk.admitted, dropped: true, why: k, at: p.core.now})
	}
	p.core.pool.put(pk)
}

// setUp brings the pipe up or down at time now. Going down is a cable
// pull: everything queued or on the wire is lost, and packets offered
// while down are dropped.
func (p *pipe) setUp(up bool, now int64) {
	if up == p.up {
		return
	}
	p.up = up
	if up {
		return
	}
	for p.queue.Len() > 0 {
		p.drop(p.dequeue(), dropDown)
	}
	for p.flight.Len() > 0 {
		pk := p.flight.Pop()
		p.gauge(pk, 0, -1)
		p.drop(pk, dropDown)
	}
	p.line.Reset(now)
	p.flight.Restart(now)
}

// gauge adjusts the occupancy counters of pk's flow and of the pipe.
func (p *pipe) gauge(pk *packet, queued, inFlight int64) {
	for _, c := range [2]*counters{&pk.flow.ctr, p.ctr} {
		if c == nil {
			continue
		}
		if queued != 0 {
			c.queued.Add(queued)
			c.queuedBytes.Add(queued * int64(pk.size))
		}
		if inFlight != 0 {
			c.inFlight.Add(inFlight)
		}
	}
}

func (p *pipe) dequeue() *packet {
	pk := p.queue.Pop()
	p.gauge(pk, -1, 0)
	return pk
}

// admit offers pk to the pipe at time now.
func (p *pipe) admit(now int64, pk *packet) {
	if p.ctr != nil {
		p.ctr.received.Add(1)
		p.ctr.receivedBytes.Add(uint64(pk.l3()))
	}
	switch {
	case !p.up:
		p.drop(pk, dropDown)
	case p.cfg.MTU > 0 && pk.l3() > p.cfg.MTU:
		p.drop(pk, dropTooBig)
	case p.queue.Len() == 0 && now >= p.line.BusyUntil:
		p.transmit(now, pk)
	case !p.queue.Fits(pk.size):
		p.drop(pk, dropQueue)
	default:
		p.queue.Push(pk, pk.size)
		p.gauge(pk, 1, 0)
	}
}

// nextEvent returns the time of the pipe's next event, or noEvent.
func (p *pipe) nextEvent() int64 {
	t := int64(noEvent)
	if p.queue.Len() > 0 {
		t = p.line.BusyUntil
	}
	if _, arr, ok := p.flight.Next(); ok && arr < t {
		t = arr
	}
	return t
}

// fire runs the pipe's next event, due at t: the transmitter takes the
// next queued packet, or the next packet on the wire arrives.
func (p *pipe) fire(t int64) {
	if busy := p.line.BusyUntil; p.queue.Len() > 0 && busy <= t {
		if _, arr, ok := p.flight.Next(); !ok || busy <= arr {
			p.transmit(busy, p.dequeue())
			return
		}
	}
	pk := p.flight.Pop()
	p.gauge(pk, 0, -1)
	if p.ctr != nil {
		p.ctr.forwarded.Add(1)
		p.ctr.forwardedBytes.Add(uint64(pk.l3()))
	}
	// The packet goes on to its flow's next pipe, or out.
	pk.stage++
	if int(pk.stage) < len(pk.flow.pipes) {
		pk.flow.pipes[pk.stage].admit(pk.arrival, pk)
		return
	}
	p.core.emit(pk)
}

// transmit puts pk on the wire at time now: it occupies the transmitter
// for its serialisation time, and its fate is drawn.
func (p *pipe) transmit(now int64, pk *packet) {
	f := p.line.Transmit(now, pk.size, pk.l3()*8, p.loss.Lose(&p.cfg))
	if f.Lost {
		p.drop(pk, dropLoss)
		return
	}
	if f.CorruptBit >= 0 {
		pk.b[ethHeaderLen+f.CorruptBit/8] ^= 1 << (f.CorruptBit % 8)
		pk.flow.ctr.corrupted.Add(1)
	}
	if f.Late {
		pk.flow.ctr.reordered.Add(1)
	}
	if f.Duplicate {
		if c := p.core.pool.clone(pk); c != nil {
			pk.flow.ctr.duplicated.Add(1)
			p.launch(pk, f)
			p.launch(c, f)
			return
		}
		pk.flow.ctr.overflow.Add(1) // the copy, not pk, is lost
	}
	p.launch(pk, f)
}

// launch records pk as on the wire with its fate's arrival (held back if
// late).
func (p *pipe) launch(pk *packet, f linkq.Fate) {
	if f.Late {
		pk.arrival = f.Arrival
		p.flight.SendLate(pk, pk.arrival)
	} else {
		pk.arrival = p.flight.Send(pk, f.Arrival)
	}
	p.gauge(pk, 0, 1)
}

// validatePipe checks a configuration with netsim's own rules, so that
// the emulator accepts exactly the links the simulator does. The error
// wraps both ErrInvalidConfig and netsim's.
func validatePipe(c *netsim.PipeConfig) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// streamSource returns the random source of the stream called name under
// seed: SplitMix64 over the seed and an FNV-1a hash of the name, so that
// streams depend on nothing but (seed, name).
func streamSource(seed uint64, name string) *rand.PCG {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	x := seed ^ splitmix64(h)
	return rand.NewPCG(splitmix64(x), splitmix64(x+0x9e3779b97f4a7c15))
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
