package linkq

import (
	"math/rand/v2"
	"time"
)

// LineConfig is what a Line needs of a link direction's configuration
// (netsim.PipeConfig holds the same fields, and is where they are
// documented).
type LineConfig struct {
	Rate         int64 // bit/s; 0 is infinite
	Delay        time.Duration
	Jitter       time.Duration
	Duplicate    float64
	Reorder      float64
	ReorderDelay time.Duration // 0: Delay
	Corrupt      float64
}

// Line is the transmitter and the wire of one direction of a link: a
// packet occupies the transmitter for its serialisation time, and when it
// starts its fate on the wire is drawn (corruption, jitter, duplication,
// reordering; loss is the caller's loss process) and its arrival time
// fixed.
//
// Each impairment draws from its own random stream, so turning one on does
// not shift the draws of another, and a loss pattern survives adding
// jitter.
type Line struct {
	cfg LineConfig
	// BusyUntil is the time (ns) the transmitter is free from.
	BusyUntil int64
	// frac is the remainder of bits*1e9/Rate carried to the next packet,
	// so that the long-run rate is exact.
	frac int64

	rDup, rJitter, rReorder, rCorrupt *rand.Rand
}

// NewLine returns a line whose impairments draw from the streams stream
// returns for "dup", "jitter", "reorder" and "corrupt".
func NewLine(stream func(name string) *rand.Rand) Line {
	return Line{rDup: stream("dup"), rJitter: stream("jitter"), rReorder: stream("reorder"), rCorrupt: stream("corrupt")}
}

// SetConfig applies a configuration from now on; a packet on the wire
// keeps the fate it was given.
func (l *Line) SetConfig(c LineConfig) {
	if c.Rate != l.cfg.Rate {
		l.frac = 0
	}
	l.cfg = c
}

// Reset frees the transmitter at now, as after a cable pull.
func (l *Line) Reset(now int64) {
	l.BusyUntil = now
	l.frac = 0
}

// Fate is what happens to one transmitted packet.
type Fate struct {
	// Arrival is when the packet reaches the far end (ns), the reordering
	// delay included when Late.
	Arrival int64
	// Lost is the loss process's draw: nothing else was drawn.
	Lost bool
	// CorruptBit is the bit of the packet to flip, or -1.
	CorruptBit int
	// Duplicate sends a copy with the same arrival.
	Duplicate bool
	// Late holds the packet back past packets sent after it.
	Late bool
}

// Transmit starts sending a packet of size bytes at now, of which the
// first bits bits may be corrupted, and returns its fate; lost is the loss
// process's draw for it.
func (l *Line) Transmit(now int64, size, bits int, lost bool) Fate {
	end := now
	if r := l.cfg.Rate; r > 0 {
		num := int64(size)*8*1e9 + l.frac
		end += num / r
		l.frac = num % r
	}
	l.BusyUntil = end
	f := Fate{CorruptBit: -1}
	if lost {
		f.Lost = true
		return f
	}
	if c := l.cfg.Corrupt; c > 0 && l.rCorrupt.Float64() < c && bits > 0 {
		f.CorruptBit = l.rCorrupt.IntN(bits)
	}
	f.Arrival = end + int64(l.cfg.Delay)
	if j := l.cfg.Jitter; j > 0 {
		f.Arrival += l.rJitter.Int64N(int64(j) + 1)
	}
	f.Duplicate = l.cfg.Duplicate > 0 && l.rDup.Float64() < l.cfg.Duplicate
	f.Late = l.cfg.Reorder > 0 && l.rReorder.Float64() < l.cfg.Reorder
	if f.Late {
		d := l.cfg.ReorderDelay
		if d == 0 {
			d = l.cfg.Delay
		}
		f.Arrival += int64(d)
	}
	return f
}
