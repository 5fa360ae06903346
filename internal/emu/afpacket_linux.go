//go:build linux

package emu

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// batch is the most frames a loop reads from one interface, or writes to
// one, per system call or ring sweep.
const batch = 64

// rxPort reads the frames arriving on one interface of the emulator's
// namespace, from a TPACKET_V2 ring or with recvmmsg.
type rxPort struct {
	ifname string
	fd     int
	flow   *flow
	// Ring mode.
	ring      []byte
	frameSize int
	perBlock  int // frames per block: a frame never straddles two
	blockSize int
	frames    int
	idx       int
	// Mmsg mode.
	hdrs []unix.Mmsghdr
	iovs []unix.Iovec
	pks  []*packet
}

// openRx opens a packet socket that receives every frame arriving on the
// interface (but none the emulator sends).
func openRx(ifname string, ifindex int, mode IO, ringBytes, frameMax int) (_ *rxPort, err error) {
	// Protocol 0 receives nothing until bind names the protocol, so no
	// frame of another interface slips in before.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("emu: packet socket: %w", err)
	}
	r := &rxPort{ifname: ifname, fd: fd}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		return nil, fmt.Errorf("emu: %s: PACKET_IGNORE_OUTGOING: %w", ifname, err)
	}
	switch mode {
	case IORing:
		if err := r.setupRing(ringBytes, frameMax); err != nil {
			return nil, fmt.Errorf("emu: %s: %w", ifname, err)
		}
	case IOMmsg:
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, ringBytes)
		r.hdrs = make([]unix.Mmsghdr, batch)
		r.iovs = make([]unix.Iovec, batch)
		r.pks = make([]*packet, batch)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}
	if err := unix.Bind(fd, sa); err != nil {
		return nil, fmt.Errorf("emu: bind packet socket to %s: %w", ifname, err)
	}
	return r, nil
}

// maxStampAge bounds how old a kernel receive timestamp may be and still
// be believed.
const maxStampAge = 20e6

// tpacket2HdrLen is where the kernel may place a frame's MAC header at
// the earliest: TPACKET_ALIGN(TPACKET2_HDRLEN + 16) (see tpacket_rcv).
const tpacket2HdrLen = 80

func (r *rxPort) setupRing(ringBytes, frameMax int) error {
	if err := unix.SetsockoptInt(r.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return fmt.Errorf("TPACKET_V2: %w", err)
	}
	// Frames hold the header and the largest frame, 16-byte aligned;
	// blocks hold whole frames and are whole pages.
	frameSize := (tpacket2HdrLen + frameMax + 15) &^ 15
	blockSize := max(64<<10, (frameSize+4095)&^4095)
	perBlock := blockSize / frameSize
	blocks := max(ringBytes/blockSize, 2)
	req := unix.TpacketReq{
		Block_size: uint32(blockSize),
		Block_nr:   uint32(blocks),
		Frame_size: uint32(frameSize),
		Frame_nr:   uint32(blocks * perBlock),
	}
	if err := unix.SetsockoptTpacketReq(r.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("PACKET_RX_RING: %w", err)
	}
	ring, err := unix.Mmap(r.fd, 0, blockSize*blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap receive ring: %w", err)
	}
	r.ring, r.frameSize, r.perBlock, r.blockSize, r.frames = ring, frameSize, perBlock, blockSize, int(req.Frame_nr)
	return nil
}

// frameOff returns the offset of frame i in the ring.
func (r *rxPort) frameOff(i int) int {
	return i/r.perBlock*r.blockSize + i%r.perBlock*r.frameSize
}

func (r *rxPort) close() {
	if r.ring != nil {
		_ = unix.Munmap(r.ring)
		r.ring = nil
	}
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}

func (r *rxPort) hdr(i int) *unix.Tpacket2Hdr {
	return (*unix.Tpacket2Hdr)(unsafe.Pointer(&r.ring[r.frameOff(i)]))
}

// ready reports whether a frame is waiting in the ring (ring mode only).
func (r *rxPort) ready() bool {
	return r.ring != nil && atomic.LoadUint32(&r.hdr(r.idx).Status)&unix.TP_STATUS_USER != 0
}

// readRing admits up to batch frames from the ring and returns how many
// it took. now is the loop's clock when the sweep began; each frame's
// arrival is the kernel's receive timestamp (CLOCK_REALTIME, converted),
// unless userTS.
func (r *rxPort) readRing(c *core, clk *clock, now int64, userTS bool) int {
	wallEpoch := clk.wallEpoch
	n := 0
	for ; n < batch; n++ {
		h := r.hdr(r.idx)
		st := atomic.LoadUint32(&h.Status)
		if st&unix.TP_STATUS_USER == 0 {
			break
		}
		at := now
		if !userTS {
			// The kernel's timestamp is when the frame came off the
			// veth, before the loop woke. A timestamp that is not a
			// recent wall-clock time (a delivery time some senders
			// leave in the packet, a clock step) is ignored, and none
			// may go back before the events already run.
			ts := int64(h.Sec)*1e9 + int64(h.Nsec) - wallEpoch
			if ts > now {
				// It came in while this sweep was reading.
				now = clk.now()
				at = now
			}
			if ts <= now && ts > now-maxStampAge {
				at = max(ts, c.now)
			}
		}
		base := r.frameOff(r.idx)
		off := base + int(h.Mac)
		end := off + int(h.Snaplen)
		switch {
		case h.Snaplen != h.Len || end > base+r.frameSize:
			// Cut to the ring's frame size: a GSO super-packet or an
			// MTU the rings were not sized for.
			r.flow.ctr.received.Add(1)
			r.flow.ctr.invalid.Add(1)
		default:
			r.admit(c, at, r.ring[off:end], st, h)
		}
		atomic.StoreUint32(&h.Status, unix.TP_STATUS_KERNEL)
		r.idx++
		if r.idx == r.frames {
			r.idx = 0
		}
	}
	return n
}

// admit copies a frame out of the ring, restoring what the kernel took out
// of it (a VLAN tag) or left unfinished (a checksum left to offload).
func (r *rxPort) admit(c *core, at int64, frame []byte, st uint32, h *unix.Tpacket2Hdr) {
	f := r.flow
	if st&unix.TP_STATUS_VLAN_VALID == 0 && st&unix.TP_STATUS_CSUMNOTREADY == 0 {
		c.receive(f, at, frame)
		return
	}
	n := len(frame)
	vlan := st&unix.TP_STATUS_VLAN_VALID != 0 && n >= 12
	if vlan {
		n += 4
	}
	pk := c.pool.get(n)
	if pk == nil {
		c.receive(f, at, frame) // counts the drop
		return
	}
	if vlan {
		tpid := uint16(unix.ETH_P_8021Q)
		if st&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
			tpid = h.Vlan_tpid
		}
		copy(pk.b, frame[:12])
		pk.b[12], pk.b[13] = byte(tpid>>8), byte(tpid)
		pk.b[14], pk.b[15] = byte(h.Vlan_tci>>8), byte(h.Vlan_tci)
		copy(pk.b[16:], frame[12:])
	} else {
		copy(pk.b, frame)
	}
	if st&unix.TP_STATUS_CSUMNOTREADY != 0 && completeChecksum(pk.b) {
		f.ctr.checksumsFixed.Add(1)
	}
	c.admit(f, at, pk)
}

// readMmsg admits up to batch frames read with recvmmsg, stamped now.
func (r *rxPort) readMmsg(c *core, now int64) int {
	k := 0
	for ; k < batch; k++ {
		pk := c.pool.get(c.pool.frameMax)
		if pk == nil {
			break
		}
		r.pks[k] = pk
		r.iovs[k] = unix.Iovec{Base: &pk.b[0]}
		r.iovs[k].SetLen(len(pk.b))
		r.hdrs[k] = unix.Mmsghdr{}
		r.hdrs[k].Hdr.Iov = &r.iovs[k]
		r.hdrs[k].Hdr.SetIovlen(1)
	}
	n := 0
	if k > 0 {
		for {
			m, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(r.fd), uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(k), unix.MSG_DONTWAIT, 0, 0)
			if errno == unix.EINTR {
				continue
			}
			if errno == 0 {
				n = int(m)
			}
			break
		}
	} else {
		// No memory: read one frame into a scratch buffer to count it.
		var scratch [1]byte
		if _, _, err := unix.Recvfrom(r.fd, scratch[:], unix.MSG_DONTWAIT|unix.MSG_TRUNC); err == nil {
			r.flow.ctr.received.Add(1)
			r.flow.ctr.overflow.Add(1)
			return 1
		}
	}
	for i := range k {
		pk := r.pks[i]
		r.pks[i] = nil
		if i >= n {
			c.pool.put(pk)
			continue
		}
		if r.hdrs[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
			r.flow.ctr.received.Add(1)
			r.flow.ctr.invalid.Add(1)
			c.pool.put(pk)
			continue
		}
		pk.b = pk.b[:r.hdrs[i].Len]
		c.admit(r.flow, now, pk)
	}
	return n
}

// kernelDrops returns the frames the kernel dropped for this socket since
// the last call (the counters reset when read).
func (r *rxPort) kernelDrops() uint64 {
	if r.fd < 0 {
		return 0
	}
	st, err := unix.GetsockoptTpacketStats(r.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0
	}
	return uint64(st.Drops)
}

// txPort writes frames to one interface, in batches, with sendmmsg,
// bypassing the interface's queueing discipline: the emulator is the
// queue.
type txPort struct {
	ifname string
	fd     int
	pks    []*packet
	hdrs   []unix.Mmsghdr
	iovs   []unix.Iovec
}

func openTx(ifname string, ifindex int) (*txPort, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("emu: packet socket: %w", err)
	}
	t := &txPort{ifname: ifname, fd: fd, hdrs: make([]unix.Mmsghdr, batch), iovs: make([]unix.Iovec, batch)}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
		t.close()
		return nil, fmt.Errorf("emu: %s: PACKET_QDISC_BYPASS: %w", ifname, err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20)
	// Bound with protocol 0, the socket sends on the interface and
	// receives nothing.
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifindex}); err != nil {
		t.close()
		return nil, fmt.Errorf("emu: bind packet socket to %s: %w", ifname, err)
	}
	return t, nil
}

func (t *txPort) close() {
	if t.fd >= 0 {
		unix.Close(t.fd)
		t.fd = -1
	}
}

// flush writes the batched frames, counts them in their flows (with how
// late each left) and frees them.
func (t *txPort) flush(p *pool, now int64) {
	n := len(t.pks)
	if n == 0 {
		return
	}
	for i, pk := range t.pks {
		t.iovs[i] = unix.Iovec{Base: &pk.b[0]}
		t.iovs[i].SetLen(len(pk.b))
		t.hdrs[i] = unix.Mmsghdr{}
		t.hdrs[i].Hdr.Iov = &t.iovs[i]
		t.hdrs[i].Hdr.SetIovlen(1)
	}
	for off := 0; off < n; {
		m, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(t.fd), uintptr(unsafe.Pointer(&t.hdrs[off])), uintptr(n-off), unix.MSG_DONTWAIT, 0, 0)
		switch {
		case errno == unix.EINTR:
			continue
		case errno != 0:
			// The frame at off was refused (too big, no buffer):
			// count it and go on with the rest.
			t.pks[off].flow.ctr.txErrors.Add(1)
			off++
		default:
			for _, pk := range t.pks[off : off+int(m)] {
				c := &pk.flow.ctr
				c.forwarded.Add(1)
				c.forwardedBytes.Add(uint64(pk.l3()))
				c.lateness[latenessBucket(now-pk.arrival)].Add(1)
			}
			if h := observeHook.Load(); h != nil {
				for _, pk := range t.pks[off : off+int(m)] {
					(*h)(observation{flow: pk.flow.name, size: pk.size, admitted: pk.admitted, due: pk.arrival, written: now})
				}
			}
			off += int(m)
		}
	}
	for i, pk := range t.pks {
		p.put(pk)
		t.pks[i] = nil
		t.iovs[i] = unix.Iovec{}
	}
	t.pks = t.pks[:0]
}
