//go:build linux

package tun

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mptcp-go/mptcp/wire"
)

// This file reads the device's file directly, virtio-net header and all,
// for Config.SuperPackets: a TSO super-packet from the kernel reaches the
// stack whole, as one large segment, instead of being split into
// MTU-sized segments by the device.

// rawIO is direct access to a TUN device's file. It is used by one
// reader and one writer goroutine; the state of a call lives in the
// struct, so that the RawConn callbacks are bound once and a call
// allocates nothing.
type rawIO struct {
	rc   syscall.RawConn
	mode rawMode
	bad  *atomic.Uint64 // counts packets dropped for their checksum (Stats.BadChecksums)

	// The read in progress (reader goroutine).
	readFn func(uintptr) bool
	rb     *batch
	rn     int
	rerr   error

	// The write in progress (loop goroutine).
	writeFn func(uintptr) bool
	wb      [][]byte
	wi      int
	failed  []int
	werr    error
}

// errNoVnetHdr says a device cannot be read whole: it has no virtio-net
// header, or no file.
var errNoVnetHdr = errors.New("device has no virtio-net header")

func newRawIO(dev Device, mode rawMode, bad *atomic.Uint64) (*rawIO, error) {
	f := dev.File()
	if f == nil {
		return nil, errNoVnetHdr
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var flags uint16
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		ifr, err := unix.NewIfreq("")
		if err != nil {
			ierr = err
			return
		}
		if ierr = unix.IoctlIfreq(int(fd), unix.TUNGETIFF, ifr); ierr == nil {
			flags = ifr.Uint16()
		}
	}); err != nil {
		return nil, err
	}
	if ierr != nil {
		return nil, fmt.Errorf("TUNGETIFF: %w", ierr)
	}
	if flags&unix.IFF_VNET_HDR == 0 {
		return nil, errNoVnetHdr
	}
	// TCP offloads only: the kernel segments UDP before the device, as the
	// driver hands over or builds TCP super-packets only.
	if err := rc.Control(func(fd uintptr) {
		ierr = unix.IoctlSetInt(int(fd), unix.TUNSETOFFLOAD, unix.TUN_F_CSUM|unix.TUN_F_TSO4|unix.TUN_F_TSO6)
	}); err != nil {
		return nil, err
	}
	if ierr != nil {
		return nil, fmt.Errorf("TUNSETOFFLOAD: %w", ierr)
	}
	r := &rawIO{rc: rc, mode: mode, bad: bad}
	r.readFn, r.writeFn = r.readReady, r.writeReady
	return r, nil
}

// read fills the batch with as many packets as the device has ready, at
// least one (it waits for the first): one read(2) per packet, the
// virtio-net header landing in the headroom. Checksums the kernel left
// for the device to finish are finished, unless left partial; with trust,
// packets the kernel does not vouch for are verified, and those that fail
// are dropped and counted in r.bad at once (a read that drops its only
// packet goes on waiting).
func (r *rawIO) read(b *batch) (int, error) {
	r.rb, r.rn, r.rerr = b, 0, nil
	err := r.rc.Read(r.readFn)
	n, rerr := r.rn, r.rerr
	r.rb, r.rerr = nil, nil
	if err != nil {
		return n, closedErr(err)
	}
	return n, rerr
}

// readReady is read's RawConn callback: it reads until the device has
// nothing more or the batch is full, and asks to wait only when it has
// read nothing.
func (r *rawIO) readReady(fd uintptr) bool {
	b := r.rb
	for r.rn < len(b.bufs) {
		buf := b.bufs[r.rn]
		k, err := rawIOCall(unix.SYS_READ, fd, buf[Headroom-vnetHdrLen:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return r.rn > 0
		case err != nil:
			r.rerr = err
			return true
		}
		if k < vnetHdrLen || Headroom-vnetHdrLen+k == len(buf) {
			// Nothing, or possibly truncated: drop it.
			r.rerr = fmt.Errorf("read of %d bytes does not fit a packet", k)
			return true
		}
		size := k - vnetHdrLen
		ok, err := finishRead(buf[Headroom:Headroom+size], decodeVnetHdr(buf[Headroom-vnetHdrLen:]), r.mode)
		if err != nil {
			r.rerr = err
			return true
		}
		if !ok {
			r.bad.Add(1)
			continue
		}
		b.sizes[r.rn] = size
		r.rn++
	}
	return true
}

// closedErr wraps an error of the file's RawConn, which fails only once
// the file is closed, as os.ErrClosed.
func closedErr(err error) error {
	if errors.Is(err, os.ErrClosed) {
		return err
	}
	return fmt.Errorf("%w (%v)", os.ErrClosed, err)
}

// write writes each buffer's packet, virtio-net header first (in the
// headroom), one write(2) each, and returns the indexes of the buffers
// that failed with the first error. A failed packet does not stop the
// others.
func (r *rawIO) write(bufs [][]byte, failed []int) ([]int, error) {
	r.wb, r.wi, r.failed, r.werr = bufs, 0, failed, nil
	err := r.rc.Write(r.writeFn)
	failed, werr := r.failed, r.werr
	if err != nil {
		for i := r.wi; i < len(bufs); i++ {
			failed = append(failed, i)
		}
		werr = closedErr(err)
	}
	r.wb, r.failed, r.werr = nil, nil, nil
	return failed, werr
}

// writeReady is write's RawConn callback.
func (r *rawIO) writeReady(fd uintptr) bool {
	for r.wi < len(r.wb) {
		_, err := rawIOCall(unix.SYS_WRITE, fd, r.wb[r.wi][Headroom-vnetHdrLen:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return false // wait until the device takes more
		case err != nil:
			if r.werr == nil {
				r.werr = err
			}
			r.failed = append(r.failed, r.wi)
		}
		r.wi++
	}
	return true
}

// finishRead completes a packet as the kernel left it: the checksum it
// deferred to the device (CHECKSUM_PARTIAL) is computed over the whole
// packet, super-packet or not, so the stack can check it as usual, unless
// mode.leavePartial. With mode.trust, a checksum the kernel vouches for
// (partial, or already verified) is not verified, and any other TCP
// packet's is verified here; ok is false for one that fails.
func finishRead(pkt []byte, h vnetHdr, mode rawMode) (ok bool, err error) {
	switch h.gsoType {
	case unix.VIRTIO_NET_HDR_GSO_NONE, unix.VIRTIO_NET_HDR_GSO_TCPV4, unix.VIRTIO_NET_HDR_GSO_TCPV6:
	default:
		return false, fmt.Errorf("unsupported GSO type %d", h.gsoType)
	}
	switch {
	case h.flags&unix.VIRTIO_NET_HDR_F_NEEDS_CSUM != 0:
		start, at := int(h.csumStart), int(h.csumStart)+int(h.csumOffset)
		if at+2 > len(pkt) {
			return false, fmt.Errorf("checksum at %d beyond a %d-byte packet", at, len(pkt))
		}
		if !mode.leavePartial {
			completeChecksum(pkt, start, at)
		}
		return true, nil
	case h.flags&unix.VIRTIO_NET_HDR_F_DATA_VALID != 0 || !mode.trust:
		return true, nil
	}
	src, dst, proto, payload, err := wire.ParseIP(pkt)
	if err != nil || proto != wire.ProtoTCP {
		return true, nil // the stack's to judge
	}
	return wire.TCP(payload).ValidChecksum(src, dst), nil
}

// rawIOCall is read(2) or write(2) (trap) of b on the device's
// non-blocking file without telling the runtime a system call is under
// way: it never blocks, and the runtime's entry into a system call wakes
// its monitor thread (sysmon) whenever it sleeps, as it does in a process
// that waits for the network: on a quiet link, a context switch and a
// thread that then runs for a millisecond on every packet that arrives.
func rawIOCall(trap, fd uintptr, b []byte) (int, error) {
	n, _, e := unix.RawSyscall(trap, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
