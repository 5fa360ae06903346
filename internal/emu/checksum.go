package emu

import "encoding/binary"

// completeChecksum computes the TCP or UDP checksum of an Ethernet frame
// whose sender left it to offload (the kernel marks such frames
// TP_STATUS_CSUMNOTREADY): written as is to another interface, the
// receiver would drop it. It handles IPv4 and IPv6 without extension
// headers, with or without one VLAN tag, and reports whether it wrote a
// checksum.
func completeChecksum(f []byte) bool {
	if len(f) < ethHeaderLen {
		return false
	}
	et, off := binary.BigEndian.Uint16(f[12:]), ethHeaderLen
	if (et == 0x8100 || et == 0x88a8) && len(f) >= off+4 {
		et, off = binary.BigEndian.Uint16(f[16:]), off+4
	}
	ip := f[off:]
	var sum uint32
	var proto byte
	var l4 []byte
	switch et {
	case 0x0800:
		if len(ip) < 20 || ip[0]>>4 != 4 {
			return false
		}
		hl, tl := int(ip[0]&0xf)*4, int(binary.BigEndian.Uint16(ip[2:]))
		if hl < 20 || tl < hl || tl > len(ip) || binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
			return false // malformed or a fragment
		}
		proto, l4 = ip[9], ip[hl:tl]
		sum = sum16(ip[12:20], 0)
	case 0x86dd:
		if len(ip) < 40 || ip[0]>>4 != 6 {
			return false
		}
		pl := int(binary.BigEndian.Uint16(ip[4:]))
		if 40+pl > len(ip) {
			return false
		}
		proto, l4 = ip[6], ip[40:40+pl]
		sum = sum16(ip[8:40], 0)
	default:
		return false
	}
	var at int
	switch proto {
	case 6:
		at = 16
	case 17:
		at = 6
	default:
		return false
	}
	if len(l4) < at+2 || len(l4) > 0xffff {
		return false
	}
	sum += uint32(proto) + uint32(len(l4))
	l4[at], l4[at+1] = 0, 0
	cs := ^fold(sum16(l4, sum))
	if proto == 17 && cs == 0 {
		cs = 0xffff
	}
	binary.BigEndian.PutUint16(l4[at:], cs)
	return true
}

// sum16 adds b, as big-endian 16-bit words, to the one's-complement sum s.
func sum16(b []byte, s uint32) uint32 {
	for len(b) >= 2 {
		s += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
