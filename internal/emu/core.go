package emu

import (
	"math"
	"sort"

	"github.com/mptcp-go/mptcp/scenario"
)

// noEvent is the time of an event that will not happen.
const noEvent = math.MaxInt64

// A flow is one direction of one path: frames read from one interface,
// passed through its pipes, written to another.
type flow struct {
	name  string  // "wifi/up"
	pipes []*pipe // in the order frames cross them; a shared pipe belongs to several flows
	out   int     // the egress, an index the I/O layer gives meaning to
	ctr   counters
}

// change is a scheduled change to some pipes, at a time relative to the
// start of the schedule.
type change struct {
	at    int64
	pipes []*pipe
	ev    scenario.Event
}

// core is the deterministic heart of one forwarding loop: the pipes of its
// flows, their schedule and the buffer pool, driven by times it is handed.
// The loop (I/O, clock, sleeping) sits around it; tests drive it in
// virtual time.
type core struct {
	pool     pool
	pipes    []*pipe
	sched    []change // sorted by at
	si       int      // next change to apply
	schedAt  int64    // loop time the schedule started, or noEvent while held
	now      int64    // time of the last event run or packet admitted
	overhead int      // bytes added to each packet's IP length for the rate and queue limits
	emit     func(pk *packet)
}

func (c *core) init(frameMax int, memory int64, overhead int, emit func(*packet)) {
	c.pool.init(frameMax, memory)
	c.overhead = overhead
	c.emit = emit
	c.schedAt = noEvent
}

// addChanges adds scheduled changes; they are sorted, ties keeping the
// order given.
func (c *core) addChanges(chs ...change) {
	c.sched = append(c.sched, chs...)
	sort.SliceStable(c.sched, func(a, b int) bool { return c.sched[a].at < c.sched[b].at })
}

// startSchedule starts (or restarts from its first change) the schedule
// at loop time t.
func (c *core) startSchedule(t int64) {
	c.schedAt = t
	c.si = 0
}

func (c *core) nextChange() int64 {
	if c.schedAt == noEvent || c.si >= len(c.sched) {
		return noEvent
	}
	return c.schedAt + c.sched[c.si].at
}

// nextEvent returns the time of the earliest event, or noEvent.
func (c *core) nextEvent() int64 {
	t := c.nextChange()
	for _, p := range c.pipes {
		t = min(t, p.nextEvent())
	}
	return t
}

// advance runs every event due at or before t, in time order; a change
// due at the same time as a packet event runs first.
func (c *core) advance(t int64) {
	for {
		best, bp := c.nextChange(), (*pipe)(nil)
		for _, p := range c.pipes {
			if n := p.nextEvent(); n < best {
				best, bp = n, p
			}
		}
		if best > t {
			break
		}
		c.now = max(c.now, best)
		if bp == nil {
			ch := &c.sched[c.si]
			c.si++
			c.apply(ch, best)
			continue
		}
		bp.fire(best)
	}
	c.now = max(c.now, t)
}

func (c *core) apply(ch *change, at int64) {
	e := &ch.ev
	for _, p := range ch.pipes {
		switch {
		case e.Down:
			p.setUp(false, at)
		case e.Up:
			p.setUp(true, at)
		}
		if e.Rate == nil && e.Delay == nil && e.Loss == nil {
			continue
		}
		cfg := p.cfg
		if e.Rate != nil {
			cfg.Rate = *e.Rate
		}
		if e.Delay != nil {
			cfg.Delay = *e.Delay
		}
		if e.Loss != nil {
			cfg.Loss = *e.Loss
		}
		p.setConfig(cfg)
	}
}

// admit hands the core a frame of flow f that arrived at time at: events
// due before it run first, then it enters the flow's first pipe. The
// packet's buffer must come from the core's pool.
func (c *core) admit(f *flow, at int64, pk *packet) {
	at = max(at, c.now)
	c.advance(at)
	pk.flow = f
	f.ctr.received.Add(1)
	f.ctr.receivedBytes.Add(uint64(max(pk.l3(), 0)))
	if len(pk.b) < ethHeaderLen {
		f.ctr.invalid.Add(1)
		c.pool.put(pk)
		return
	}
	pk.size = pk.l3() + c.overhead
	pk.stage = 0
	pk.admitted = at
	if len(f.pipes) == 0 {
		pk.arrival = at
		c.emit(pk)
		return
	}
	f.pipes[0].admit(at, pk)
}

// receive copies a frame into a buffer of the pool and admits it; frames
// that no buffer can hold, and frames arriving when the memory bound is
// reached, are counted and dropped.
func (c *core) receive(f *flow, at int64, frame []byte) {
	pk := c.pool.get(len(frame))
	if pk == nil {
		f.ctr.received.Add(1)
		f.ctr.receivedBytes.Add(uint64(max(len(frame)-ethHeaderLen, 0)))
		if len(frame) > c.pool.frameMax {
			f.ctr.invalid.Add(1)
		} else {
			f.ctr.overflow.Add(1)
		}
		return
	}
	copy(pk.b, frame)
	c.admit(f, at, pk)
}
