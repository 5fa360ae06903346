package wire

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Checksum returns the 16-bit one's complement sum (RFC 1071) of b added to
// initial, folded but not complemented. Sums of pieces combine with
// ChecksumCombine, so a pseudo-header, a header and a payload that live in
// different buffers are summed without copying. An odd-length b is padded
// with a zero byte, so only the last piece of a message may have odd length.
func Checksum(b []byte, initial uint16) uint16 {
	// The sum is byte-order independent (RFC 1071 section 2(B)): words
	// are loaded in the machine's little-endian order and the folded
	// result swapped once, and the carries of 64-bit additions chain
	// (add with carry) instead of being tested one by one.
	sum := uint64(bits.ReverseBytes16(initial))
	var c uint64
	for len(b) >= 32 {
		sum, c = bits.Add64(sum, binary.LittleEndian.Uint64(b), c)
		sum, c = bits.Add64(sum, binary.LittleEndian.Uint64(b[8:]), c)
		sum, c = bits.Add64(sum, binary.LittleEndian.Uint64(b[16:]), c)
		sum, c = bits.Add64(sum, binary.LittleEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		sum, c = bits.Add64(sum, binary.LittleEndian.Uint64(b), c)
		b = b[8:]
	}
	if len(b) >= 4 {
		sum, c = bits.Add64(sum, uint64(binary.LittleEndian.Uint32(b)), c)
		b = b[4:]
	}
	if len(b) >= 2 {
		sum, c = bits.Add64(sum, uint64(binary.LittleEndian.Uint16(b)), c)
		b = b[2:]
	}
	if len(b) == 1 {
		sum, c = bits.Add64(sum, uint64(b[0]), c)
	}
	sum = add64(sum, c)
	return bits.ReverseBytes16(fold64(sum))
}

// add64 adds with end-around carry.
func add64(a, b uint64) uint64 {
	s := a + b
	if s < a {
		s++
	}
	return s
}

func fold64(s uint64) uint16 {
	s = (s >> 32) + (s & 0xffffffff)
	s = (s >> 32) + (s & 0xffffffff)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	return uint16(s)
}

// ChecksumCombine adds two partial sums in one's complement arithmetic.
func ChecksumCombine(a, b uint16) uint16 {
	s := uint32(a) + uint32(b)
	return uint16(s + s>>16)
}

// PseudoHeaderChecksum returns the partial sum of the IPv4 (RFC 9293
// section 3.1) or IPv6 (RFC 8200 section 8.1) pseudo-header for a transport
// segment of the given length. src and dst must be of the same family.
func PseudoHeaderChecksum(proto uint8, src, dst netip.Addr, length uint32) uint16 {
	var sum uint64
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		sum = uint64(binary.BigEndian.Uint32(s[:])) + uint64(binary.BigEndian.Uint32(d[:]))
		sum += uint64(length&0xffff) + uint64(proto)
	} else {
		s, d := src.As16(), dst.As16()
		sum = add64(sum, binary.BigEndian.Uint64(s[:8]))
		sum = add64(sum, binary.BigEndian.Uint64(s[8:]))
		sum = add64(sum, binary.BigEndian.Uint64(d[:8]))
		sum = add64(sum, binary.BigEndian.Uint64(d[8:]))
		sum = add64(sum, uint64(length)+uint64(proto))
	}
	return fold64(sum)
}

// ChecksumUpdate16 returns the checksum field value (complemented form, as
// stored in a header) after a 16-bit word of the covered data changed from
// old to new, without summing the data again (RFC 1624 equation 3).
func ChecksumUpdate16(field, old, new uint16) uint16 {
	s := ChecksumCombine(^field, ^old)
	s = ChecksumCombine(s, new)
	return ^s
}

// ChecksumUpdate32 is ChecksumUpdate16 for a 32-bit word, such as a TCP
// sequence number rewritten by a middlebox.
func ChecksumUpdate32(field uint16, old, new uint32) uint16 {
	field = ChecksumUpdate16(field, uint16(old>>16), uint16(new>>16))
	return ChecksumUpdate16(field, uint16(old), uint16(new))
}
