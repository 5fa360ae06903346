package netsim

import (
	"math/rand/v2"
	"time"

	"github.com/mptcp-go/mptcp/internal/linkq"
	"github.com/mptcp-go/mptcp/pcap"
)

// A Pipe is one direction of a Link: middleboxes, then a drop-tail queue,
// a transmitter of finite rate, and a wire with propagation delay and
// impairments, ending at the far interface.
//
// A packet offered to the pipe passes its middlebox chain, is dropped if the
// pipe is down, too big or its queue full, and otherwise waits for the
// transmitter. Transmission takes len*8/Rate; when it starts, the packet's
// fate on the wire is drawn (loss, corruption, duplication, jitter,
// reordering) and its arrival time fixed at end of transmission + Delay
// (+ jitter, + reorder delay). Only two timers per pipe exist, whatever the
// number of packets: one for the transmitter, one for the next arrival.
type Pipe struct {
	s        *Sim
	name     string
	link     *Link
	from, to *Interface
	cfg      PipeConfig
	up       bool

	queue   linkq.DropTail[*packet]
	line    linkq.Line // the transmitter (line.BusyUntil is virtual time) and the wire
	txTimer *Timer     // fires when the transmitter can take the next queued packet

	flight   linkq.Flight[*packet]
	arrTimer *Timer

	loss LossProcess

	mbox     chain
	capEnq   []*pcap.Writer
	capDeliv []*pcap.Writer

	stats PipeStats
}

func newPipe(s *Sim, l *Link, from, to *Interface, cfg PipeConfig) *Pipe {
	p := &Pipe{s: s, link: l, from: from, to: to, up: true}
	p.name = from.String() + "->" + to.String()
	p.txTimer = s.NewTimer(p.onTransmitterFree)
	p.arrTimer = s.NewTimer(p.onArrival)
	// Separate streams per impairment: turning one on does not shift the
	// draws of another, so a loss pattern survives adding jitter.
	p.loss = NewLossProcess(s.Rand("pipe/" + p.name + "/loss"))
	p.line = linkq.NewLine(func(what string) *rand.Rand { return s.Rand("pipe/" + p.name + "/" + what) })
	p.mbox.init(s, p.admit)
	p.setConfig(cfg)
	return p
}

// Name returns "from->to" with the interfaces' full names.
func (p *Pipe) Name() string { return p.name }

// From returns the interface packets enter by.
func (p *Pipe) From() *Interface { return p.from }

// To returns the interface packets are delivered to.
func (p *Pipe) To() *Interface { return p.to }

// Link returns the link the pipe belongs to.
func (p *Pipe) Link() *Link { return p.link }

// Config returns the pipe's current configuration.
func (p *Pipe) Config() PipeConfig { return p.cfg }

// SetConfig replaces the configuration now. Packets already queued wait
// under the new queue limits (none is dropped for the change); packets
// already in flight keep the arrival time they were given.
func (p *Pipe) SetConfig(cfg PipeConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	p.setConfig(cfg)
	return nil
}

func (p *Pipe) setConfig(cfg PipeConfig) {
	if cfg.Burst != nil {
		b := *cfg.Burst // the caller may reuse the struct
		cfg.Burst = &b
	}
	p.cfg = cfg
	p.line.SetConfig(cfg.line())
	p.queue.MaxPackets = cfg.QueuePackets
	p.queue.MaxBytes = cfg.QueueBytes
}

// Up reports whether the pipe is up.
func (p *Pipe) Up() bool { return p.up }

// SetUp brings the pipe up or down now. Going down is a cable pull: every
// packet queued, being transmitted or on the wire is lost (counted in
// DownDrops), and packets offered while down are dropped too.
func (p *Pipe) SetUp(up bool) {
	if up == p.up {
		return
	}
	p.up = up
	if up {
		return
	}
	for p.queue.Len() > 0 {
		p.dropDown(p.queue.Pop())
	}
	for p.flight.Len() > 0 {
		p.dropDown(p.flight.Pop())
	}
	p.txTimer.Stop()
	p.arrTimer.Stop()
	p.line.Reset(p.s.now)
	p.flight.Restart(p.s.now)
}

func (p *Pipe) dropDown(pk *packet) {
	p.stats.DownDrops++
	p.s.pool.put(pk)
}

// Stats returns the pipe's counters and current occupancy.
func (p *Pipe) Stats() PipeStats {
	st := p.stats
	st.Queued = p.queue.Len()
	st.QueuedBytes = p.queue.Bytes()
	st.InFlight = p.flight.Len()
	return st
}

// send takes ownership of a packet leaving p.from.
func (p *Pipe) send(pk *packet) {
	if p.mbox.empty() {
		p.admit(pk)
		return
	}
	p.mbox.run(pk)
}

// admit offers a packet, past the middleboxes, to the queue.
func (p *Pipe) admit(pk *packet) {
	s := p.s
	writeAll(s, p.capEnq, pk.b)
	n := len(pk.b)
	p.stats.Sent++
	p.stats.SentBytes += uint64(n)
	switch {
	case !p.up:
		p.dropDown(pk)
	case p.cfg.MTU > 0 && n > p.cfg.MTU:
		p.stats.TooBig++
		s.pool.put(pk)
	case p.queue.Len() == 0 && s.now >= p.line.BusyUntil:
		p.transmit(pk)
	case !p.queue.Fits(n):
		p.stats.QueueDrops++
		s.pool.put(pk)
	default:
		p.queue.Push(pk, n)
		if !p.txTimer.Pending() {
			p.txTimer.resetNS(p.line.BusyUntil)
		}
	}
}

// onTransmitterFree starts sending the packet at the head of the queue.
func (p *Pipe) onTransmitterFree() {
	if p.queue.Len() == 0 {
		return
	}
	p.transmit(p.queue.Pop())
	if p.queue.Len() > 0 {
		p.txTimer.resetNS(p.line.BusyUntil)
	}
}

// transmit puts pk on the wire now: it occupies the transmitter for its
// serialisation time and its fate is drawn.
func (p *Pipe) transmit(pk *packet) {
	s := p.s
	n := len(pk.b)
	f := p.line.Transmit(s.now, n, n*8, p.loss.Lose(&p.cfg))
	if f.Lost {
		p.stats.LossDrops++
		s.pool.put(pk)
		return
	}
	if f.CorruptBit >= 0 {
		pk.b[f.CorruptBit/8] ^= 1 << (f.CorruptBit % 8)
		p.stats.Corrupted++
	}
	if f.Late {
		p.stats.Reordered++
	}
	p.launch(pk, f)
	if f.Duplicate {
		p.stats.Duplicated++
		p.launch(s.pool.get(pk.b), f)
	}
}

// launch records pk as in flight with its fate's arrival (held back if
// late).
func (p *Pipe) launch(pk *packet, f linkq.Fate) {
	arr := f.Arrival
	if f.Late {
		p.flight.SendLate(pk, arr)
	} else {
		arr = p.flight.Send(pk, arr)
	}
	if !p.arrTimer.Pending() || arr < p.arrTimer.at {
		p.arrTimer.resetNS(arr)
	}
}

// onArrival delivers every packet due now, in arrival order.
func (p *Pipe) onArrival() {
	s := p.s
	for {
		pk, arr, ok := p.flight.Next()
		if !ok {
			return
		}
		if arr > s.now {
			p.arrTimer.resetNS(arr)
			return
		}
		p.flight.Pop()
		p.stats.Delivered++
		p.stats.DeliveredBytes += uint64(len(pk.b))
		writeAll(s, p.capDeliv, pk.b)
		p.to.node.receive(p.to, pk)
	}
}

// Capture records the pipe's packets at the given point; see CapturePoint.
func (p *Pipe) Capture(w *pcap.Writer, at CapturePoint) {
	if at == AtDelivery {
		p.capDeliv = append(p.capDeliv, w)
	} else {
		p.capEnq = append(p.capEnq, w)
	}
}

// AddProcessor appends a middlebox to the pipe's chain; packets pass the
// processors in the order they were added, before the queue.
func (p *Pipe) AddProcessor(pr Processor) { p.mbox.add(pr) }

// Delay returns the current propagation delay.
func (p *Pipe) Delay() time.Duration { return p.cfg.Delay }

// Rate returns the current rate in bit/s (0: infinite).
func (p *Pipe) Rate() int64 { return p.cfg.Rate }
