package tun

import (
	"bytes"
	"encoding/binary"
	"net/netip"

	"github.com/mptcp-go/mptcp/wire"
)

// gso coalesces the consecutive segments of one TCP flow that the stack
// sends into one super-packet with a virtio-net header, which the kernel
// takes as a TSO packet: segmentation offload towards the kernel, done as
// the stack sends, with one copy of the payload and no checksum pass (the
// kernel is told the checksum is partial, and finishes it only if a link
// on the way needs it). A segment sent alone whose checksum the stack left
// partial (link.ChecksumOffloader) is handed over the same way. Only the
// last packet of a write batch is open to more segments, so order is
// kept. Used with Config.SuperPackets.
type gso struct {
	open    bool // the batch's last buffer may take more segments
	csum    int  // where the TCP header starts if its checksum is partial, else 0
	v6      bool
	ipLen   int    // IP header length
	hdrLen  int    // IP and TCP header length
	mss     int    // payload of the first segment: every other but the last has as much
	segs    int    // segments in the super-packet
	nextSeq uint32 // sequence number the next segment must have
}

// TCP flags that a segment of a super-packet may carry; PSH only on the
// last (it closes the super-packet).
const (
	flagACK = 0x10
	flagPSH = 0x08
)

// start considers pkt, just copied to the head of a new buffer, as the
// beginning of a super-packet. csum is where its TCP header starts if the
// stack left its checksum partial, else 0.
func (g *gso) start(pkt []byte, csum int) {
	*g = gso{csum: csum}
	ipLen, v6, ok := tcpOffset(pkt)
	if !ok {
		return
	}
	tcpLen := int(pkt[ipLen+12]>>4) * 4
	flags := pkt[ipLen+13]
	payload := len(pkt) - ipLen - tcpLen
	if tcpLen < 20 || payload <= 0 || flags&^flagPSH != flagACK {
		return
	}
	g.v6, g.ipLen, g.hdrLen, g.mss, g.segs = v6, ipLen, ipLen+tcpLen, payload, 1
	g.nextSeq = binary.BigEndian.Uint32(pkt[ipLen+4:]) + uint32(payload)
	g.open = flags&flagPSH == 0
}

// tcpOffset returns the IP header length of a TCP packet whose IP header
// a super-packet can repeat: IPv4 without options and not a fragment, or
// IPv6 without extension headers.
func tcpOffset(pkt []byte) (ipLen int, v6, ok bool) {
	switch {
	case len(pkt) >= 40 && pkt[0] == 0x45 && pkt[9] == wire.ProtoTCP && binary.BigEndian.Uint16(pkt[6:])&0x3fff == 0:
		ipLen = 20
	case len(pkt) >= 60 && pkt[0]>>4 == 6 && pkt[6] == wire.ProtoTCP:
		ipLen, v6 = 40, true
	default:
		return 0, false, false
	}
	return ipLen, v6, len(pkt) >= ipLen+20
}

// append adds pkt to the super-packet in head (the buffer, headroom and
// all) if pkt is its flow's next segment, and returns the grown buffer.
func (g *gso) append(head, pkt []byte) ([]byte, bool) {
	h := head[Headroom:]
	if len(pkt) <= g.hdrLen || len(pkt)-g.hdrLen > g.mss || len(h)+len(pkt)-g.hdrLen > MaxPacket ||
		len(head)+len(pkt)-g.hdrLen > cap(head) {
		return head, false
	}
	if g.v6 {
		// Version, traffic class, flow label; next header and hop limit;
		// addresses.
		if pkt[0]>>4 != 6 || !bytes.Equal(pkt[:4], h[:4]) || !bytes.Equal(pkt[6:40], h[6:40]) {
			return head, false
		}
	} else {
		// Version and length, TOS; flags and fragment offset; TTL,
		// protocol; addresses. The identification and checksum differ.
		if pkt[0] != 0x45 || pkt[1] != h[1] || !bytes.Equal(pkt[6:10], h[6:10]) || !bytes.Equal(pkt[12:20], h[12:20]) {
			return head, false
		}
	}
	t, ht := pkt[g.ipLen:g.hdrLen], h[g.ipLen:g.hdrLen]
	flags := t[13]
	// Ports; acknowledgment, data offset; window; urgent pointer and
	// options: all as the head's. The sequence number follows on.
	if flags&^flagPSH != flagACK || !bytes.Equal(t[:4], ht[:4]) || !bytes.Equal(t[8:13], ht[8:13]) ||
		!bytes.Equal(t[14:16], ht[14:16]) || !bytes.Equal(t[18:], ht[18:]) ||
		binary.BigEndian.Uint32(t[4:]) != g.nextSeq {
		return head, false
	}
	payload := pkt[g.hdrLen:]
	head = append(head, payload...)
	g.segs++
	g.nextSeq += uint32(len(payload))
	if len(payload) < g.mss || flags&flagPSH != 0 {
		// Only the last segment may be short or pushed.
		g.open = false
		head[Headroom+g.ipLen+13] |= flags & flagPSH
	}
	return head, true
}

// finish writes the virtio-net header of the buffer's packet into its
// headroom, and for a super-packet fixes the IP lengths and checksum and
// leaves the TCP checksum partial (the pseudo-header sum). A single
// packet's header says whether the stack left its checksum partial.
func (g *gso) finish(buf []byte) {
	var h vnetHdr
	switch {
	case g.segs <= 1 && g.csum > 0:
		h = vnetHdr{flags: vnetNeedsCsum, gsoType: vnetGSONone, csumStart: uint16(g.csum), csumOffset: tcpCsumOffset}
	case g.segs > 1:
		pkt := buf[Headroom:]
		h = vnetHdr{
			flags:      vnetNeedsCsum,
			gsoType:    vnetGSOTCPv4,
			hdrLen:     uint16(g.hdrLen),
			gsoSize:    uint16(g.mss),
			csumStart:  uint16(g.ipLen),
			csumOffset: tcpCsumOffset,
		}
		var src, dst netip.Addr
		if g.v6 {
			h.gsoType = vnetGSOTCPv6
			binary.BigEndian.PutUint16(pkt[4:], uint16(len(pkt)-40))
			src, dst = netip.AddrFrom16([16]byte(pkt[8:24])), netip.AddrFrom16([16]byte(pkt[24:40]))
		} else {
			binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
			pkt[10], pkt[11] = 0, 0
			binary.BigEndian.PutUint16(pkt[10:], ^wire.Checksum(pkt[:20], 0))
			src, dst = netip.AddrFrom4([4]byte(pkt[12:16])), netip.AddrFrom4([4]byte(pkt[16:20]))
		}
		binary.BigEndian.PutUint16(pkt[g.ipLen+tcpCsumOffset:], wire.PseudoHeaderChecksum(wire.ProtoTCP, src, dst, uint32(len(pkt)-g.ipLen)))
	}
	h.encode(buf[Headroom-vnetHdrLen : Headroom])
	*g = gso{}
}
