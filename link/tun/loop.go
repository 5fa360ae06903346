package tun

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// loop runs the stack when nothing else does: it waits for packets, a
// wake-up or the stack's timer, and runs a round. Kick runs a round in the
// application's goroutine when no round is running (roundMu), sparing a
// hand-over to this goroutine between a write and the packets it lets
// out; a kick that finds a round running is left for whoever runs that
// round, who runs another after it. A round a kick leaves due at once is
// passed on to the loop by the doorbell.
// The device readers hand their batches to the loop, except a lone packet
// that finds no round running, which its reader runs a round for itself
// (roundHere).
func (d *Driver) loop() {
	defer d.wg.Done()
	defer close(d.ended)
	again := true // the first poll
	for {
		var b *batch
		var err error
		timerFired, fineFired := false, false
		if !again {
			select {
			case b = <-d.in:
			case err = <-d.errc:
			case <-d.wake:
			case <-d.timer.C:
				timerFired = true
			case <-d.fine.ring:
				fineFired = true
			case <-d.done:
				return
			}
		}
		d.roundMu.Lock()
		d.kicked.Store(false)
		if b != nil {
			d.handed.Add(-1)
		}
		if err != nil {
			d.report(err)
		}
		if timerFired {
			d.timerAt = time.Time{}
		}
		if fineFired {
			d.fineAt = time.Time{}
		}
		ok := d.runRound(b)
		again = d.takePending()
		d.roundMu.Unlock()
		if !ok {
			return
		}
		again = again || d.kicked.Load()
	}
}

// runRound takes b (if not nil) and the batches ready, and runs a round.
// It reports false, running none, when the driver is closing. roundMu is
// held.
func (d *Driver) runRound(b *batch) bool {
	if b != nil {
		d.batches = append(d.batches, b)
	}
	if !d.takeReady() {
		for _, b := range d.batches {
			b.f.free <- b
		}
		d.batches = d.batches[:0]
		return false
	}
	d.round()
	return true
}

// takePending reports and clears the stack's wish to be polled again at
// once. roundMu is held.
func (d *Driver) takePending() bool {
	p := d.pending
	d.pending = false
	return p
}

// takeReady takes, without blocking, the read batches and errors already
// waiting, up to maxBatchesPerRound batches.
func (d *Driver) takeReady() bool {
	for len(d.batches) < maxBatchesPerRound {
		select {
		case b := <-d.in:
			d.handed.Add(-1)
			d.batches = append(d.batches, b)
		case err := <-d.errc:
			d.report(err)
		case <-d.done:
			return false
		default:
			return true
		}
	}
	return true
}

// round delivers the batches taken, polling every pollEvery bytes and at
// the end, writes what the stack sent and arms the timer.
func (d *Driver) round() {
	d.now = time.Now()
	if d.locker != nil {
		d.locker.Lock()
	}
	d.unpolled = 0
	for _, b := range d.batches {
		d.deliver(b)
	}
	next := d.poll()
	if d.locker != nil {
		d.locker.Unlock()
	}
	for i, b := range d.batches {
		b.f.free <- b
		d.batches[i] = nil
	}
	d.batches = d.batches[:0]
	for _, f := range d.ifs {
		d.flush(f)
	}
	d.schedule(next)
}

// deliver hands the stack every packet of a batch.
func (d *Driver) deliver(b *batch) {
	f := b.f
	var bytes uint64
	n := 0
	for i := range b.n {
		size := b.sizes[i]
		if size <= 0 || Headroom+size > len(b.bufs[i]) {
			f.c.readErrors.Add(1)
			continue
		}
		pkt := b.bufs[i][Headroom : Headroom+size]
		if d.capture != nil {
			d.record(pkt)
		}
		d.stack.Deliver(d.now, pkt)
		bytes += uint64(size)
		n++
		if d.unpolled += size; d.unpolled >= pollEvery {
			d.poll()
		}
	}
	f.c.packetsIn.Add(uint64(n))
	f.c.bytesIn.Add(bytes)
}

// poll polls the stack.
func (d *Driver) poll() time.Time {
	d.unpolled = 0
	d.c.polls.Add(1)
	return d.stack.Poll(d.now, d.sendFn)
}

// send is the stack's send function: it copies pkt into the write batch
// of the interface that carries its source address.
func (d *Driver) send(pkt []byte) {
	idx := d.router.lookup(pkt)
	if idx < 0 {
		d.c.noRoute.Add(1)
		d.c.drops.Add(1)
		return
	}
	f := d.ifs[idx]
	if len(pkt) > MaxPacket || f.dead.Load() {
		f.c.drops.Add(1)
		return
	}
	csum := 0
	if d.csumTx {
		csum = tcpStart(pkt)
	}
	if d.capture != nil {
		d.recordSent(pkt, csum)
	}
	if f.raw != nil && f.gso.open {
		last := f.outN - 1
		if buf, ok := f.gso.append(f.out[last], pkt); ok {
			f.out[last] = buf
			f.outPkts[last]++
			f.outBytes[last] += len(pkt)
			return
		}
	}
	if f.outN == len(f.out) && !f.grow() {
		d.flush(f)
	}
	if f.raw != nil && f.outN > 0 {
		f.gso.finish(f.out[f.outN-1])
	}
	buf := f.out[f.outN][:Headroom+len(pkt)]
	copy(buf[Headroom:], pkt)
	f.out[f.outN] = buf
	f.outPkts[f.outN], f.outBytes[f.outN] = 1, len(pkt)
	f.outN++
	if f.raw != nil {
		f.gso.start(pkt, csum)
	}
}

// flush writes an interface's batch.
func (d *Driver) flush(f *iface) {
	n := f.outN
	if n == 0 {
		return
	}
	bufs := f.out[:n]
	var err error
	f.failed = f.failed[:0]
	if f.raw != nil {
		f.gso.finish(bufs[n-1])
		f.failed, err = f.raw.write(bufs, f.failed)
	} else {
		// The device takes at most its batch size per write (wireguard-
		// go's coalescing tables are sized for it); the batch may have
		// grown past it.
		for lo := 0; lo < n; lo += f.batch {
			hi := min(lo+f.batch, n)
			if _, werr := f.dev.Write(bufs[lo:hi], Headroom); werr != nil {
				// A failed write may be partly done; all of it counts
				// as dropped.
				err = werr
				for i := lo; i < hi; i++ {
					f.failed = append(f.failed, i)
				}
			}
		}
	}
	var pkts, bytes, dropped int
	for i := range n {
		pkts += f.outPkts[i]
		bytes += f.outBytes[i]
	}
	for _, i := range f.failed {
		dropped += f.outPkts[i]
		pkts -= f.outPkts[i]
		bytes -= f.outBytes[i]
	}
	// The device may have coalesced, swapped and grown the buffers: give
	// each its full capacity back.
	for i := range bufs {
		bufs[i] = bufs[i][:cap(bufs[i])]
	}
	f.outN = 0
	f.c.writeBatches.Add(1)
	f.c.packetsOut.Add(uint64(pkts))
	f.c.bytesOut.Add(uint64(bytes))
	if err == nil {
		return
	}
	f.c.writeErrors.Add(1)
	f.c.drops.Add(uint64(dropped))
	if d.closing() {
		return
	}
	if errors.Is(err, os.ErrClosed) {
		err = fmt.Errorf("%w: write %s: %w", ErrClosed, f.name, err)
		if !f.dead.Swap(true) {
			d.fail(err)
			d.report(err)
		}
		return
	}
	if d.now.Sub(f.lastW) >= time.Second {
		f.lastW = d.now
		d.report(fmt.Errorf("tun: write %s: %w", f.name, err))
	}
}

// schedule arms the timer for the stack's next wake. A stack that keeps
// asking for now is polled every link.EagerBackoff instead of in a spin.
func (d *Driver) schedule(next time.Time) {
	next = d.guard.Next(d.now, next)
	switch {
	case next.IsZero():
		d.stopTimer()
	case !next.After(d.now):
		d.pending = true
	case next.Sub(d.now) <= fineHorizon:
		// Sooner than a Go timer can wake the loop precisely.
		d.stopTimer()
		if !next.Equal(d.fineAt) {
			d.fineAt = next
			d.fine.arm(next)
		}
	default:
		if !next.Equal(d.timerAt) {
			d.arm(next)
		}
	}
}

// stopTimer stops the Go timer if it is armed.
func (d *Driver) stopTimer() {
	if !d.timerAt.IsZero() {
		d.timer.Stop()
		d.timerAt = time.Time{}
	}
}

func (d *Driver) arm(at time.Time) {
	d.timer.Reset(at.Sub(d.now))
	d.timerAt = at
}

// recordSent captures a packet the stack sends; one whose TCP checksum the
// stack left partial (its TCP header at csum) is captured with the
// checksum finished, in a copy: the device gets it partial.
func (d *Driver) recordSent(pkt []byte, csum int) {
	if csum > 0 && len(pkt) <= len(d.capCopy) {
		c := d.capCopy[:len(pkt)]
		copy(c, pkt)
		completeChecksum(c, csum, csum+tcpCsumOffset)
		pkt = c
	}
	d.record(pkt)
}

// record writes a packet to the capture; after an error, capturing stops.
func (d *Driver) record(pkt []byte) {
	if err := d.capture.WritePacket(d.now, pkt); err != nil {
		d.capture = nil
		d.report(fmt.Errorf("tun: capture stopped: %w", err))
	}
}
