//go:build linux

package tun

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mptcp-go/mptcp/wire"
)

// This file reads the device's file directly, virtio-net header and all,
// for Config.SuperPackets: a TSO super-packet from the kernel reaches the
// stack whole, as one large segment, instead of being split into
// MTU-sized segments by the device.

// rawIO is direct access to a TUN device's file.
type rawIO struct {
	rc    syscall.RawConn
	trust bool // Config.TrustKernelChecksums
	bad   uint64
}

// errNoVnetHdr says a device cannot be read whole: it has no virtio-net
// header, or no file.
var errNoVnetHdr = errors.New("device has no virtio-net header")

func newRawIO(dev Device, trust bool) (*rawIO, error) {
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
	return &rawIO{rc: rc, trust: trust}, nil
}

// read fills the batch with as many packets as the device has ready, at
// least one (it waits for the first): one read(2) per packet, the
// virtio-net header landing in the headroom. Checksums the kernel left
// for the device to finish are finished, unless trusted; with trust,
// packets the kernel does not vouch for are verified, and those that fail
// are dropped and counted in r.bad.
func (r *rawIO) read(b *batch) (int, error) {
	n := 0
	var rerr error
	err := r.rc.Read(func(fd uintptr) bool {
		for n < len(b.bufs) {
			buf := b.bufs[n]
			k, err := unix.Read(int(fd), buf[Headroom-vnetHdrLen:])
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				return n > 0
			case err != nil:
				rerr = err
				return true
			}
			if k < vnetHdrLen || Headroom-vnetHdrLen+k == len(buf) {
				// Nothing, or possibly truncated: drop it.
				rerr = fmt.Errorf("read of %d bytes does not fit a packet", k)
				return true
			}
			size := k - vnetHdrLen
			ok, err := finishRead(buf[Headroom:Headroom+size], decodeVnetHdr(buf[Headroom-vnetHdrLen:]), r.trust)
			if err != nil {
				rerr = err
				return true
			}
			if !ok {
				r.bad++
				continue
			}
			b.sizes[n] = size
			n++
		}
		return true
	})
	if err != nil {
		return n, closedErr(err)
	}
	return n, rerr
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
	i := 0
	var first error
	err := r.rc.Write(func(fd uintptr) bool {
		for i < len(bufs) {
			_, err := unix.Write(int(fd), bufs[i][Headroom-vnetHdrLen:])
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				return false // wait until the device takes more
			case err != nil:
				if first == nil {
					first = err
				}
				failed = append(failed, i)
			}
			i++
		}
		return true
	})
	if err != nil {
		for ; i < len(bufs); i++ {
			failed = append(failed, i)
		}
		return failed, closedErr(err)
	}
	return failed, first
}

// finishRead completes a packet as the kernel left it: the checksum it
// deferred to the device (CHECKSUM_PARTIAL) is computed over the whole
// packet, super-packet or not, so the stack can check it as usual. With
// trust, a checksum the kernel vouches for (partial, or already verified)
// is left as it is, and any other TCP packet's is verified here; ok is
// false for one that fails.
func finishRead(pkt []byte, h vnetHdr, trust bool) (ok bool, err error) {
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
		if trust {
			return true, nil
		}
		// The field holds the pseudo-header sum; the rest is the device's.
		initial := binary.BigEndian.Uint16(pkt[at:])
		pkt[at], pkt[at+1] = 0, 0
		binary.BigEndian.PutUint16(pkt[at:], ^wire.Checksum(pkt[start:], initial))
		return true, nil
	case h.flags&unix.VIRTIO_NET_HDR_F_DATA_VALID != 0 || !trust:
		return true, nil
	}
	src, dst, proto, payload, err := wire.ParseIP(pkt)
	if err != nil || proto != wire.ProtoTCP {
		return true, nil // the stack's to judge
	}
	return wire.TCP(payload).ValidChecksum(src, dst), nil
}
