package netsim

import "time"

// A Processor is a middlebox: it sees each packet passing a pipe or a
// router and emits what should continue, which may be nothing (a drop), the
// packet rewritten in place, several packets (a split or a duplicate) or,
// later, one packet standing for several (a coalescer). Concrete middleboxes
// that MPTCP must survive (option stripping, sequence rewriting) build on
// this.
//
// pkt is valid only during the call and may be modified in place. emit
// copies what it is given before returning, and passes it to the next
// processor, or past the chain. emit stays valid after Process returns, so a
// processor may hold packets (copied) and emit them later from a Timer.
type Processor interface {
	Process(now time.Time, pkt []byte, emit func(pkt []byte))
}

// ProcessorFunc adapts a function to Processor.
type ProcessorFunc func(now time.Time, pkt []byte, emit func(pkt []byte))

// Process implements Processor.
func (f ProcessorFunc) Process(now time.Time, pkt []byte, emit func(pkt []byte)) {
	f(now, pkt, emit)
}

// chain runs packets through processors in order, then hands them to final.
// The emit function of each stage is built once, so a packet crossing the
// chain allocates nothing beyond the copy emit makes.
type chain struct {
	s     *Sim
	procs []Processor
	emits []func([]byte) // emits[i] takes the output of procs[i]
	final func(*packet)
}

func (c *chain) init(s *Sim, final func(*packet)) {
	c.s = s
	c.final = final
}

func (c *chain) empty() bool { return len(c.procs) == 0 }

func (c *chain) add(p Processor) {
	i := len(c.procs)
	c.procs = append(c.procs, p)
	c.emits = append(c.emits, func(b []byte) { c.stage(i+1, b) })
}

// stage feeds b to processor i, or past the chain if i is the end.
func (c *chain) stage(i int, b []byte) {
	if i == len(c.procs) {
		c.final(c.s.pool.get(b))
		return
	}
	c.procs[i].Process(c.s.nowT, b, c.emits[i])
}

// run passes pk through the chain; the chain consumes pk.
func (c *chain) run(pk *packet) {
	c.procs[0].Process(c.s.nowT, pk.b, c.emits[0])
	c.s.pool.put(pk)
}
