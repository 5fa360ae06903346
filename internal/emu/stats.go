package emu

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Counters count the packets of one direction of a path (a Stats.Paths
// entry) or of one shared pipe (Stats.Shared). Bytes are those the link
// model counts: the IP packet, without the Ethernet header.
//
// For a direction, at any moment
//
//	Received + Duplicated = Forwarded + QueueDrops + LossDrops + DownDrops + TooBig + Overflow + TxErrors + Queued + InFlight
//
// once the frames read but not yet admitted are counted (there are none
// between two loop iterations).
type Counters struct {
	// Received counts the frames read from the ingress interface (for a
	// shared pipe: offered to it).
	Received      uint64 `json:"received"`
	ReceivedBytes uint64 `json:"received_bytes"`
	// Forwarded counts the frames written to the egress interface (for a
	// shared pipe: handed on).
	Forwarded      uint64 `json:"forwarded"`
	ForwardedBytes uint64 `json:"forwarded_bytes"`
	// Drops of the link model, as netsim.PipeStats counts them.
	QueueDrops uint64 `json:"queue_drops"` // refused by the full drop-tail queue
	LossDrops  uint64 `json:"loss_drops"`  // lost on the wire (random or burst loss)
	DownDrops  uint64 `json:"down_drops"`  // offered while down, or queued or in flight when it went down
	TooBig     uint64 `json:"too_big"`     // longer than the pipe's MTU
	// Drops outside the model: each one is a departure from the
	// configured link and says the emulator was short of something.
	Overflow  uint64 `json:"overflow"`   // no buffer memory left (Options.Memory)
	Invalid   uint64 `json:"invalid"`    // frames too short to hold an Ethernet header, or too long for the buffers (offloads left on)
	TxErrors  uint64 `json:"tx_errors"`  // the egress interface refused the frame
	RingDrops uint64 `json:"ring_drops"` // frames the kernel dropped because the receive ring was full
	// Impairments applied.
	Duplicated uint64 `json:"duplicated"`
	Reordered  uint64 `json:"reordered"`
	Corrupted  uint64 `json:"corrupted"`
	// ChecksumsFixed counts frames that arrived with a partial checksum
	// (transmit checksum offload left on at the sender) and were completed.
	ChecksumsFixed uint64 `json:"checksums_fixed"`
	// Occupancy now.
	Queued      int64 `json:"queued"`
	QueuedBytes int64 `json:"queued_bytes"`
	InFlight    int64 `json:"in_flight"`
	// Lateness is how long after its due time each frame was written to
	// the egress interface: the emulator's own timing error.
	Lateness Lateness `json:"lateness"`
}

// Drops returns the sum of every drop counter, in and outside the model.
func (c Counters) Drops() uint64 {
	return c.QueueDrops + c.LossDrops + c.DownDrops + c.TooBig + c.Overflow + c.Invalid + c.TxErrors + c.RingDrops
}

// latenessBuckets is the number of histogram buckets: bucket 0 holds
// lateness below 1 µs, bucket i in [2^(i-1), 2^i) µs; the last one holds
// everything from 2^(latenessBuckets-2) µs (about 8.4 s) up.
const latenessBuckets = 25

// Lateness is a histogram of delays in power-of-two microsecond buckets.
type Lateness struct {
	Buckets [latenessBuckets]uint64 `json:"buckets_pow2_us"`
}

func latenessBucket(ns int64) int {
	us := uint64(max(ns, 0)) / 1000
	return min(bits.Len64(us), latenessBuckets-1)
}

// Count returns the number of samples.
func (l *Lateness) Count() uint64 {
	var n uint64
	for _, b := range l.Buckets {
		n += b
	}
	return n
}

// Quantile returns an upper bound of the q-quantile (0 <= q <= 1): the
// upper edge of the bucket holding it; 0 without samples.
func (l *Lateness) Quantile(q float64) time.Duration {
	n := l.Count()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n-1)) + 1
	var acc uint64
	for i, b := range l.Buckets {
		acc += b
		if acc >= rank {
			return time.Duration(uint64(1)<<i) * time.Microsecond
		}
	}
	return time.Duration(uint64(1)<<(latenessBuckets-1)) * time.Microsecond
}

// counters is the live, atomically updated form of Counters: the loop
// that owns a direction writes it, Stats reads it from any goroutine.
type counters struct {
	received, receivedBytes     atomic.Uint64
	forwarded, forwardedBytes   atomic.Uint64
	queueDrops, lossDrops       atomic.Uint64
	downDrops, tooBig, overflow atomic.Uint64
	invalid, txErrors           atomic.Uint64
	ringDrops                   atomic.Uint64
	duplicated, reordered       atomic.Uint64
	corrupted, checksumsFixed   atomic.Uint64
	queued, queuedBytes         atomic.Int64
	inFlight                    atomic.Int64
	lateness                    [latenessBuckets]atomic.Uint64
}

func (c *counters) snapshot() Counters {
	s := Counters{
		Received: c.received.Load(), ReceivedBytes: c.receivedBytes.Load(),
		Forwarded: c.forwarded.Load(), ForwardedBytes: c.forwardedBytes.Load(),
		QueueDrops: c.queueDrops.Load(), LossDrops: c.lossDrops.Load(),
		DownDrops: c.downDrops.Load(), TooBig: c.tooBig.Load(), Overflow: c.overflow.Load(),
		Invalid: c.invalid.Load(), TxErrors: c.txErrors.Load(), RingDrops: c.ringDrops.Load(),
		Duplicated: c.duplicated.Load(), Reordered: c.reordered.Load(),
		Corrupted: c.corrupted.Load(), ChecksumsFixed: c.checksumsFixed.Load(),
		Queued: c.queued.Load(), QueuedBytes: c.queuedBytes.Load(), InFlight: c.inFlight.Load(),
	}
	for i := range c.lateness {
		s.Lateness.Buckets[i] = c.lateness[i].Load()
	}
	return s
}

// dropKind names a drop counter.
type dropKind int

const (
	dropQueue dropKind = iota
	dropLoss
	dropDown
	dropTooBig
	dropOverflow
	dropInvalid
	dropTx
)

func (c *counters) drop(k dropKind) {
	switch k {
	case dropQueue:
		c.queueDrops.Add(1)
	case dropLoss:
		c.lossDrops.Add(1)
	case dropDown:
		c.downDrops.Add(1)
	case dropTooBig:
		c.tooBig.Add(1)
	case dropOverflow:
		c.overflow.Add(1)
	case dropInvalid:
		c.invalid.Add(1)
	case dropTx:
		c.txErrors.Add(1)
	}
}
