package tun

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

// iface is the driver's state for one device.
type iface struct {
	idx  int
	name string
	dev  Device
	raw  *rawIO // reads the file directly (Config.SuperPackets)
	mtu  int
	free chan *batch // read batches the reader may fill
	out  [][]byte    // write batch: full-capacity buffers, outN in use
	outN int
	// batch is the most packets the device takes in one write.
	batch int
	// Per buffer of the write batch: the stack's packets and bytes in it
	// (several when coalesced into a super-packet).
	outPkts, outBytes []int
	gso               gso         // the last buffer's super-packet, with raw
	failed            []int       // scratch for rawIO.write
	dead              atomic.Bool // reads failed for good; writes are dropped
	c                 counters
	lastW             time.Time // last write error reported
	arenas            [][]byte  // the memory of the buffers (freeArenas)
}

// batch is one device read: n packets, each at bufs[i][Headroom:][:sizes[i]].
type batch struct {
	f     *iface
	bufs  [][]byte
	sizes []int
	n     int
}

// maxReadErrors is how many failed reads in a row stop a device.
const maxReadErrors = 100

// superBatch is the read batch size with Config.SuperPackets: each buffer
// holds up to a 64 KiB packet.
const superBatch = 16

// rawMode is how an interface handles the virtio-net header
// (Config.SuperPackets) and the checksums of what it reads.
type rawMode struct {
	super bool // the driver handles the virtio-net header itself
	// trust: checksums the kernel vouches for are trusted and others
	// verified here (Config.TrustKernelChecksums, told to the stack).
	trust bool
	// leavePartial: checksums the kernel left partial stay so (with
	// trust, when nothing captures them).
	leavePartial bool
}

func newIface(idx int, ic Interface, readAhead int, mode rawMode) (*iface, error) {
	name, err := ic.Device.Name()
	if err != nil {
		name = fmt.Sprintf("interface %d", idx)
	}
	mtu := ic.MTU
	if mtu == 0 {
		if mtu, err = ic.Device.MTU(); err != nil {
			return nil, fmt.Errorf("tun: %s: MTU not given and not readable: %w", name, err)
		}
	}
	if mtu < 576 || mtu > MaxPacket {
		return nil, fmt.Errorf("tun: %s: MTU %d outside 576..%d", name, mtu, MaxPacket)
	}
	bs := max(ic.Device.BatchSize(), 1)
	f := &iface{idx: idx, name: name, dev: ic.Device, mtu: mtu, batch: bs, free: make(chan *batch, readAhead)}
	rbs, rsize := bs, Headroom+mtu
	if mode.super {
		if f.raw, err = newRawIO(ic.Device, mode, &f.c.badChecksums); err != nil {
			return nil, fmt.Errorf("tun: %s: super-packets: %w", name, err)
		}
		// One byte more than the largest packet tells a full read from a
		// truncated one.
		rbs, rsize = superBatch, Headroom+MaxPacket+1
	}
	// One arena per batch; pages the kernel never fills are never
	// touched, so a large batch costs address space, not memory.
	for range readAhead {
		bufs, err := f.carve(rbs, rsize)
		if err != nil {
			f.freeArenas()
			return nil, err
		}
		f.free <- &batch{f: f, bufs: bufs, sizes: make([]int, rbs)}
	}
	// Write buffers leave room for the device to coalesce segments into a
	// super-packet in place.
	if f.out, err = f.carve(bs, Headroom+MaxPacket); err != nil {
		f.freeArenas()
		return nil, err
	}
	f.outPkts, f.outBytes = make([]int, bs), make([]int, bs)
	f.failed = make([]int, 0, bs)
	return f, nil
}

// maxOut bounds an interface's write batch. The loop keeps what the stack
// sends during a round and writes it after the round, outside the stack's
// lock, growing the batch beyond the device's batch size as needed (once:
// the buffers are kept); a round that sends more is written as it goes.
const maxOut = 512

// grow adds a buffer to the write batch and reports whether it could.
func (f *iface) grow() bool {
	if len(f.out) >= maxOut {
		return false
	}
	buf, err := f.carve(1, Headroom+MaxPacket)
	if err != nil {
		return false
	}
	f.out = append(f.out, buf[0])
	f.outPkts = append(f.outPkts, 0)
	f.outBytes = append(f.outBytes, 0)
	return true
}

// carve returns n buffers of size bytes cut from one arena, each capped
// so that appending to one never runs into the next.
func (f *iface) carve(n, size int) ([][]byte, error) {
	arena, err := newArena(n * size)
	if err != nil {
		return nil, fmt.Errorf("tun: %s: %w", f.name, err)
	}
	f.arenas = append(f.arenas, arena)
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = arena[i*size : (i+1)*size : (i+1)*size]
	}
	return bufs, nil
}

// freeArenas releases the memory of the interface's buffers, once nothing
// reads into or writes from them any more.
func (f *iface) freeArenas() {
	for _, a := range f.arenas {
		freeArena(a)
	}
	f.arenas = nil
}

// read is a device's reader goroutine: it fills free batches and hands
// them to the loop until the driver closes or the device fails. A lone
// packet it runs a round for itself when no round is running (roundHere).
func (d *Driver) read(f *iface) {
	defer d.wg.Done()
	failures := 0
	for {
		var b *batch
		select {
		case b = <-f.free:
		case <-d.done:
			return
		}
		var n int
		var err error
		if f.raw != nil {
			n, err = f.raw.read(b)
		} else {
			n, err = f.dev.Read(b.bufs, b.sizes, Headroom)
		}
		if err != nil {
			if d.closing() {
				return
			}
			f.c.readErrors.Add(1)
			failures++
			closed := errors.Is(err, os.ErrClosed) || deviceGone(err)
			if closed || failures >= maxReadErrors {
				if closed {
					err = fmt.Errorf("%w: read %s: %w", ErrClosed, f.name, err)
				} else {
					err = fmt.Errorf("tun: read %s: giving up after %d failures: %w", f.name, failures, err)
				}
				f.dead.Store(true)
				d.fail(err)
				d.reportAsync(err)
				return
			}
			d.reportAsync(fmt.Errorf("tun: read %s: %w", f.name, err))
			if n <= 0 {
				f.free <- b
				// A device that keeps failing must not spin.
				time.Sleep(time.Duration(failures) * 100 * time.Microsecond)
				continue
			}
		} else {
			failures = 0
		}
		if n <= 0 {
			f.free <- b
			continue
		}
		b.n = min(n, len(b.bufs))
		f.c.readBatches.Add(1)
		if d.roundHere(b) {
			continue
		}
		d.handed.Add(1)
		select {
		case d.in <- b:
		case <-d.done:
			return
		}
	}
}
