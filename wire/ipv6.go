package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IPv6HeaderLen is the length of the fixed IPv6 header.
const IPv6HeaderLen = 40

// IPv6 extension header numbers the parser walks over.
const (
	ipv6HopByHop    = 0
	ipv6Routing     = 43
	ipv6Fragment    = 44
	ipv6DestOptions = 60
	ipv6NoNext      = 59
)

// IPv6 is a view of an IPv6 packet whose payload length has been validated
// by ParseIPv6.
type IPv6 []byte

// ParseIPv6 validates b as an IPv6 packet and returns a view trimmed to the
// header's payload length. Jumbograms (payload length 0) are not supported.
func ParseIPv6(b []byte) (IPv6, error) {
	if len(b) < IPv6HeaderLen {
		return nil, fmt.Errorf("%w: IPv6 header needs %d bytes, have %d", ErrTruncated, IPv6HeaderLen, len(b))
	}
	if v := b[0] >> 4; v != 6 {
		return nil, fmt.Errorf("%w: version %d in IPv6 header", ErrBadVersion, v)
	}
	pl := int(binary.BigEndian.Uint16(b[4:]))
	if IPv6HeaderLen+pl > len(b) {
		return nil, fmt.Errorf("%w: IPv6 payload length %d, have %d bytes", ErrTruncated, pl, len(b)-IPv6HeaderLen)
	}
	return IPv6(b[:IPv6HeaderLen+pl]), nil
}

// TrafficClass returns the traffic class (DSCP and ECN).
func (h IPv6) TrafficClass() uint8 {
	return uint8(binary.BigEndian.Uint16(h[0:]) >> 4)
}

// FlowLabel returns the 20-bit flow label.
func (h IPv6) FlowLabel() uint32 { return binary.BigEndian.Uint32(h[0:]) & 0xfffff }

// PayloadLen returns the payload length field.
func (h IPv6) PayloadLen() int { return int(binary.BigEndian.Uint16(h[4:])) }

// NextHeader returns the next-header field of the fixed header.
func (h IPv6) NextHeader() uint8 { return h[6] }

// HopLimit returns the hop limit.
func (h IPv6) HopLimit() uint8 { return h[7] }

// SetHopLimit sets the hop limit (IPv6 has no header checksum to update).
func (h IPv6) SetHopLimit(v uint8) { h[7] = v }

// Src returns the source address.
func (h IPv6) Src() netip.Addr { return netip.AddrFrom16([16]byte(h[8:24])) }

// Dst returns the destination address.
func (h IPv6) Dst() netip.Addr { return netip.AddrFrom16([16]byte(h[24:40])) }

// Payload returns the bytes after the fixed header.
func (h IPv6) Payload() []byte { return h[IPv6HeaderLen:] }

// Transport walks the extension headers (hop-by-hop, routing, destination
// options) and returns the upper-layer protocol and its bytes. A fragment
// header is reported as protocol 44 with the fragment's bytes, since the
// stack does not reassemble; a chain that runs past the packet is an error.
func (h IPv6) Transport() (proto uint8, payload []byte, err error) {
	next, b := h.NextHeader(), h.Payload()
	for {
		switch next {
		case ipv6HopByHop, ipv6Routing, ipv6DestOptions:
			if len(b) < 8 {
				return 0, nil, fmt.Errorf("%w: IPv6 extension header %d", ErrTruncated, next)
			}
			n := (int(b[1]) + 1) * 8
			if n > len(b) {
				return 0, nil, fmt.Errorf("%w: IPv6 extension header %d length %d, have %d", ErrTruncated, next, n, len(b))
			}
			next, b = b[0], b[n:]
		case ipv6NoNext:
			return next, b[:0], nil
		default:
			return next, b, nil
		}
	}
}

// IPv6Fields are the values EncodeIPv6 writes. Zero HopLimit means 64.
type IPv6Fields struct {
	TrafficClass uint8
	FlowLabel    uint32
	NextHeader   uint8
	HopLimit     uint8
	Src, Dst     netip.Addr
}

// EncodeIPv6 writes the fixed 40-byte IPv6 header for a payload of
// payloadLen bytes into b and returns the header length.
func EncodeIPv6(b []byte, f *IPv6Fields, payloadLen int) int {
	_ = b[IPv6HeaderLen-1]
	binary.BigEndian.PutUint32(b[0:], 6<<28|uint32(f.TrafficClass)<<20|f.FlowLabel&0xfffff)
	binary.BigEndian.PutUint16(b[4:], uint16(payloadLen))
	b[6] = f.NextHeader
	hl := f.HopLimit
	if hl == 0 {
		hl = 64
	}
	b[7] = hl
	s, d := f.Src.As16(), f.Dst.As16()
	copy(b[8:24], s[:])
	copy(b[24:40], d[:])
	return IPv6HeaderLen
}
