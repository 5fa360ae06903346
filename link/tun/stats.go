package tun

import "sync/atomic"

// Stats are a driver's counters, or one interface's.
type Stats struct {
	PacketsIn  uint64 // packets read from the device(s) and delivered to the stack
	BytesIn    uint64
	PacketsOut uint64 // packets the stack sent that were handed to a device
	BytesOut   uint64

	ReadBatches  uint64 // device reads that returned packets
	WriteBatches uint64 // device writes (each of up to BatchSize packets)
	Polls        uint64 // calls of the stack's Poll (driver total only)
	// ReaderRounds counts rounds a device's reader ran itself for a lone
	// packet that found no round running (driver total only).
	ReaderRounds uint64

	// Drops counts packets the stack sent that did not reach a device: no
	// interface carries their source (NoRoute), the device is down or
	// failed, the write failed, or the packet exceeds MaxPacket.
	Drops   uint64
	NoRoute uint64 // driver total only

	ReadErrors   uint64 // failed or partly failed reads
	WriteErrors  uint64 // failed writes
	BadChecksums uint64 // packets dropped by the driver's own checksum check (TrustKernelChecksums)
}

// counters are updated by one goroutine and read by any.
type counters struct {
	packetsIn, bytesIn, packetsOut, bytesOut atomic.Uint64
	readBatches, writeBatches, polls         atomic.Uint64
	readerRounds                             atomic.Uint64
	drops, noRoute, readErrors, writeErrors  atomic.Uint64
	badChecksums                             atomic.Uint64
}

func (c *counters) load() Stats {
	return Stats{
		PacketsIn: c.packetsIn.Load(), BytesIn: c.bytesIn.Load(),
		PacketsOut: c.packetsOut.Load(), BytesOut: c.bytesOut.Load(),
		ReadBatches: c.readBatches.Load(), WriteBatches: c.writeBatches.Load(), Polls: c.polls.Load(),
		ReaderRounds: c.readerRounds.Load(),
		Drops:        c.drops.Load(), NoRoute: c.noRoute.Load(),
		ReadErrors: c.readErrors.Load(), WriteErrors: c.writeErrors.Load(),
		BadChecksums: c.badChecksums.Load(),
	}
}

func (s *Stats) add(o Stats) {
	s.PacketsIn += o.PacketsIn
	s.BytesIn += o.BytesIn
	s.PacketsOut += o.PacketsOut
	s.BytesOut += o.BytesOut
	s.ReadBatches += o.ReadBatches
	s.WriteBatches += o.WriteBatches
	s.Polls += o.Polls
	s.ReaderRounds += o.ReaderRounds
	s.Drops += o.Drops
	s.NoRoute += o.NoRoute
	s.ReadErrors += o.ReadErrors
	s.WriteErrors += o.WriteErrors
	s.BadChecksums += o.BadChecksums
}
