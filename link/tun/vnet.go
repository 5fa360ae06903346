package tun

import (
	"encoding/binary"

	"github.com/mptcp-go/mptcp/wire"
)

// vnetHdrLen is the size of struct virtio_net_hdr.
const vnetHdrLen = 10

// vnetHdr is struct virtio_net_hdr (include/uapi/linux/virtio_net.h), in
// the host's byte order as the TUN driver uses it by default.
type vnetHdr struct {
	flags      uint8
	gsoType    uint8
	hdrLen     uint16
	gsoSize    uint16
	csumStart  uint16
	csumOffset uint16
}

func decodeVnetHdr(b []byte) vnetHdr {
	return vnetHdr{
		flags:      b[0],
		gsoType:    b[1],
		hdrLen:     binary.NativeEndian.Uint16(b[2:]),
		gsoSize:    binary.NativeEndian.Uint16(b[4:]),
		csumStart:  binary.NativeEndian.Uint16(b[6:]),
		csumOffset: binary.NativeEndian.Uint16(b[8:]),
	}
}

func (h *vnetHdr) encode(b []byte) {
	b[0], b[1] = h.flags, h.gsoType
	binary.NativeEndian.PutUint16(b[2:], h.hdrLen)
	binary.NativeEndian.PutUint16(b[4:], h.gsoSize)
	binary.NativeEndian.PutUint16(b[6:], h.csumStart)
	binary.NativeEndian.PutUint16(b[8:], h.csumOffset)
}

// The virtio-net header values the driver uses (virtio_net.h).
const (
	vnetNeedsCsum = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM
	vnetGSONone   = 0 // VIRTIO_NET_HDR_GSO_NONE
	vnetGSOTCPv4  = 1 // VIRTIO_NET_HDR_GSO_TCPV4
	vnetGSOTCPv6  = 4 // VIRTIO_NET_HDR_GSO_TCPV6
)

// completeChecksum finishes a checksum left partial (Linux's
// CHECKSUM_PARTIAL): the 16-bit field at offset at holds the sum of the
// pseudo-header, and the rest is the one's complement sum of the packet
// from start to its end, that field included.
func completeChecksum(pkt []byte, start, at int) {
	initial := binary.BigEndian.Uint16(pkt[at:])
	pkt[at], pkt[at+1] = 0, 0
	binary.BigEndian.PutUint16(pkt[at:], ^wire.Checksum(pkt[start:], initial))
}

// tcpCsumOffset is where the checksum field lies in a TCP header.
const tcpCsumOffset = 16

// tcpStart returns the offset of the TCP header of a TCP packet, and 0
// for any other packet.
func tcpStart(pkt []byte) int {
	_, _, proto, payload, err := wire.ParseIP(pkt)
	if err != nil || proto != wire.ProtoTCP || len(payload) < wire.TCPMinHeaderLen {
		return 0
	}
	return cap(pkt) - cap(payload) // payload is pkt from there on
}
