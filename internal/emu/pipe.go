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

	queue     dropTail
	busyUntil int64 // the transmitter is free from then on
	frac      int64 // remainder of bits*1e9/Rate carried over, so the long-run rate is exact

	flight linkq.Flight[*packet]

	loss                              netsim.LossProcess
	rDup, rJitter, rReorder, rCorrupt *rand.Rand

	ctr *counters // the pipe's own counters when several flows share it, else nil
}

func newPipe(c *core, name string, cfg netsim.PipeConfig, seed uint64) *pipe {
	p := &pipe{name: name, core: c, up: true}
	// One stream per impairment, as netsim has: turning one on does not
	// shift the draws of another.
	p.loss = netsim.NewLossProcess(rand.New(streamSource(seed, "pipe/"+name+"/loss")))
	p.rDup = rand.New(streamSource(seed, "pipe/"+name+"/dup"))
	p.rJitter = rand.New(streamSource(seed, "pipe/"+name+"/jitter"))
	p.rReorder = rand.New(streamSource(seed, "pipe/"+name+"/reorder"))
	p.rCorrupt = rand.New(streamSource(seed, "pipe/"+name+"/corrupt"))
	p.setConfig(cfg)
	return p
}

func (p *pipe) setConfig(cfg netsim.PipeConfig) {
	if cfg.Burst != nil {
		b := *cfg.Burst
		cfg.Burst = &b
	}
	if cfg.Rate != p.cfg.Rate {
		p.frac = 0
	}
	p.cfg = cfg
	p.queue.maxPackets = cfg.QueuePackets
	p.queue.maxBytes = cfg.QueueBytes
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
	for p.queue.len() > 0 {
		p.drop(p.dequeue(), dropDown)
	}
	for p.flight.Len() > 0 {
		pk := p.flight.Pop()
		p.gauge(pk, 0, -1)
		p.drop(pk, dropDown)
	}
	p.busyUntil = now
	p.flight.Restart(now)
	p.frac = 0
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
	pk := p.queue.pop()
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
	case p.queue.len() == 0 && now >= p.busyUntil:
		p.transmit(now, pk)
	case !p.queue.fits(pk.size):
		p.drop(pk, dropQueue)
	default:
		p.queue.push(pk)
		p.gauge(pk, 1, 0)
	}
}

// nextEvent returns the time of the pipe's next event, or noEvent.
func (p *pipe) nextEvent() int64 {
	t := int64(noEvent)
	if p.queue.len() > 0 {
		t = p.busyUntil
	}
	if _, arr, ok := p.flight.Next(); ok && arr < t {
		t = arr
	}
	return t
}

// fire runs the pipe's next event, due at t: the transmitter takes the
// next queued packet, or the next packet on the wire arrives.
func (p *pipe) fire(t int64) {
	if p.queue.len() > 0 && p.busyUntil <= t {
		if _, arr, ok := p.flight.Next(); !ok || p.busyUntil <= arr {
			p.transmit(p.busyUntil, p.dequeue())
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
	end := now
	if r := p.cfg.Rate; r > 0 {
		num := int64(pk.size)*8*1e9 + p.frac
		end += num / r
		p.frac = num % r
	}
	p.busyUntil = end
	if p.loss.Lose(&p.cfg) {
		p.drop(pk, dropLoss)
		return
	}
	if c := p.cfg.Corrupt; c > 0 && p.rCorrupt.Float64() < c && pk.l3() > 0 {
		bit := p.rCorrupt.IntN(pk.l3() * 8)
		pk.b[ethHeaderLen+bit/8] ^= 1 << (bit % 8)
		pk.flow.ctr.corrupted.Add(1)
	}
	arr := end + int64(p.cfg.Delay)
	if j := p.cfg.Jitter; j > 0 {
		arr += p.rJitter.Int64N(int64(j) + 1)
	}
	dup := p.cfg.Duplicate > 0 && p.rDup.Float64() < p.cfg.Duplicate
	late := p.cfg.Reorder > 0 && p.rReorder.Float64() < p.cfg.Reorder
	if late {
		pk.flow.ctr.reordered.Add(1)
	}
	if dup {
		if c := p.core.pool.clone(pk); c != nil {
			pk.flow.ctr.duplicated.Add(1)
			p.launch(pk, arr, late)
			p.launch(c, arr, late)
			return
		}
		pk.flow.ctr.overflow.Add(1) // the copy, not pk, is lost
	}
	p.launch(pk, arr, late)
}

// launch records pk as on the wire, arriving at arr (held back if late).
func (p *pipe) launch(pk *packet, arr int64, late bool) {
	if late {
		d := p.cfg.ReorderDelay
		if d == 0 {
			d = p.cfg.Delay
		}
		pk.arrival = arr + int64(d)
		p.flight.SendLate(pk, pk.arrival)
	} else {
		pk.arrival = p.flight.Send(pk, arr)
	}
	p.gauge(pk, 0, 1)
}

// dropTail is the FIFO in front of the transmitter; when full, the
// arriving packet is dropped, as in Linux's pfifo and bfifo.
type dropTail struct {
	q          linkq.Ring[*packet]
	bytes      int
	maxPackets int // 0: unlimited (the pool's memory bound still holds)
	maxBytes   int
}

func (d *dropTail) fits(n int) bool {
	if d.maxPackets > 0 && d.q.Len() >= d.maxPackets {
		return false
	}
	return d.maxBytes <= 0 || d.bytes+n <= d.maxBytes
}

func (d *dropTail) push(pk *packet) { d.q.Push(pk); d.bytes += pk.size }

func (d *dropTail) pop() *packet {
	pk := d.q.Pop()
	d.bytes -= pk.size
	return pk
}

func (d *dropTail) len() int { return d.q.Len() }

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
