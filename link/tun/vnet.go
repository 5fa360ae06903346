package tun

import "encoding/binary"

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
