package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// TCP header constants.
const (
	TCPMinHeaderLen = 20
	TCPMaxHeaderLen = 60
)

// TCPFlags are the control bits of a TCP header.
type TCPFlags uint8

// The TCP control bits (RFC 9293 section 3.1, RFC 3168 for ECE and CWR).
const (
	FlagFIN TCPFlags = 0x01
	FlagSYN TCPFlags = 0x02
	FlagRST TCPFlags = 0x04
	FlagPSH TCPFlags = 0x08
	FlagACK TCPFlags = 0x10
	FlagURG TCPFlags = 0x20
	FlagECE TCPFlags = 0x40
	FlagCWR TCPFlags = 0x80
)

// Has reports whether all bits of m are set in f.
func (f TCPFlags) Has(m TCPFlags) bool { return f&m == m }

// String renders the flags as tcpdump does, for example "S." for SYN/ACK.
func (f TCPFlags) String() string {
	var sb strings.Builder
	for _, x := range [...]struct {
		f TCPFlags
		c byte
	}{{FlagSYN, 'S'}, {FlagFIN, 'F'}, {FlagRST, 'R'}, {FlagPSH, 'P'}, {FlagURG, 'U'}, {FlagECE, 'E'}, {FlagCWR, 'W'}, {FlagACK, '.'}} {
		if f&x.f != 0 {
			sb.WriteByte(x.c)
		}
	}
	if sb.Len() == 0 {
		return "none"
	}
	return sb.String()
}

// TCP is a view of a TCP segment (header and payload) whose data offset has
// been validated by ParseTCP.
type TCP []byte

// ParseTCP validates b as a TCP segment: at least a minimal header, and a
// data offset that covers the fixed header and lies within b.
func ParseTCP(b []byte) (TCP, error) {
	if len(b) < TCPMinHeaderLen {
		return nil, fmt.Errorf("%w: TCP header needs %d bytes, have %d", ErrTruncated, TCPMinHeaderLen, len(b))
	}
	off := int(b[12]>>4) * 4
	if off < TCPMinHeaderLen {
		return nil, fmt.Errorf("%w: TCP data offset %d", ErrBadLength, off)
	}
	if off > len(b) {
		return nil, fmt.Errorf("%w: TCP data offset %d, have %d bytes", ErrTruncated, off, len(b))
	}
	return TCP(b), nil
}

// SrcPort returns the source port.
func (t TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(t[0:]) }

// DstPort returns the destination port.
func (t TCP) DstPort() uint16 { return binary.BigEndian.Uint16(t[2:]) }

// Seq returns the sequence number.
func (t TCP) Seq() uint32 { return binary.BigEndian.Uint32(t[4:]) }

// Ack returns the acknowledgment number.
func (t TCP) Ack() uint32 { return binary.BigEndian.Uint32(t[8:]) }

// HeaderLen returns the header length in bytes (the data offset).
func (t TCP) HeaderLen() int { return int(t[12]>>4) * 4 }

// Flags returns the control bits.
func (t TCP) Flags() TCPFlags { return TCPFlags(t[13]) }

// Window returns the window field, not scaled.
func (t TCP) Window() uint16 { return binary.BigEndian.Uint16(t[14:]) }

// Checksum returns the checksum field.
func (t TCP) Checksum() uint16 { return binary.BigEndian.Uint16(t[16:]) }

// Urgent returns the urgent pointer.
func (t TCP) Urgent() uint16 { return binary.BigEndian.Uint16(t[18:]) }

// Options returns the option bytes between the fixed header and the data.
func (t TCP) Options() []byte { return t[TCPMinHeaderLen:t.HeaderLen()] }

// Payload returns the segment's data.
func (t TCP) Payload() []byte { return t[t.HeaderLen():] }

// SetSeq rewrites the sequence number and updates the checksum.
func (t TCP) SetSeq(v uint32) { t.set32(4, v) }

// SetAck rewrites the acknowledgment number and updates the checksum.
func (t TCP) SetAck(v uint32) { t.set32(8, v) }

func (t TCP) set32(off int, v uint32) {
	old := binary.BigEndian.Uint32(t[off:])
	binary.BigEndian.PutUint32(t[off:], v)
	binary.BigEndian.PutUint16(t[16:], ChecksumUpdate32(t.Checksum(), old, v))
}

// SetChecksum stores c in the checksum field.
func (t TCP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(t[16:], c) }

// ComputeChecksum returns the checksum the segment should carry between src
// and dst, computed with the checksum field taken as zero.
func (t TCP) ComputeChecksum(src, dst netip.Addr) uint16 {
	sum := PseudoHeaderChecksum(ProtoTCP, src, dst, uint32(len(t)))
	sum = Checksum(t[:16], sum)
	sum = Checksum(t[18:], sum)
	return ^sum
}

// ValidChecksum reports whether the segment's checksum is correct.
func (t TCP) ValidChecksum(src, dst netip.Addr) bool {
	sum := PseudoHeaderChecksum(ProtoTCP, src, dst, uint32(len(t)))
	return Checksum(t, sum) == 0xffff
}

// TCPFields are the values EncodeTCP writes.
type TCPFields struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            TCPFlags
	Window           uint16
	Urgent           uint16
}

// EncodeTCP writes a TCP header with the given options into b and returns
// the header length. opts must be padded to a multiple of four bytes and at
// most 40 long (OptionBuilder.Bytes returns such a slice). The checksum is
// left zero: set it with SetChecksum once the payload is in place.
func EncodeTCP(b []byte, f *TCPFields, opts []byte) int {
	hl := TCPMinHeaderLen + len(opts)
	_ = b[hl-1]
	binary.BigEndian.PutUint16(b[0:], f.SrcPort)
	binary.BigEndian.PutUint16(b[2:], f.DstPort)
	binary.BigEndian.PutUint32(b[4:], f.Seq)
	binary.BigEndian.PutUint32(b[8:], f.Ack)
	b[12] = uint8(hl/4) << 4
	b[13] = uint8(f.Flags)
	binary.BigEndian.PutUint16(b[14:], f.Window)
	b[16], b[17] = 0, 0
	binary.BigEndian.PutUint16(b[18:], f.Urgent)
	copy(b[TCPMinHeaderLen:hl], opts)
	return hl
}

// AppendTCPPacket appends a complete IP packet carrying one TCP segment to
// dst and returns the extended slice: an IPv4 header (DF set) or an IPv6
// header by the family of src, the TCP header with opts, and payload, with
// all checksums filled in. It allocates only if dst lacks capacity, so a
// sender that reuses its buffer builds packets without allocating.
func AppendTCPPacket(dst []byte, src, dstAddr netip.Addr, f *TCPFields, opts, payload []byte) []byte {
	tcpLen := TCPMinHeaderLen + len(opts) + len(payload)
	ipLen := IPv4MinHeaderLen
	if !src.Is4() {
		ipLen = IPv6HeaderLen
	}
	start := len(dst)
	dst = grow(dst, ipLen+tcpLen)
	b := dst[start:]
	if src.Is4() {
		EncodeIPv4(b, &IPv4Fields{DF: true, Protocol: ProtoTCP, Src: src, Dst: dstAddr}, tcpLen)
	} else {
		EncodeIPv6(b, &IPv6Fields{NextHeader: ProtoTCP, Src: src, Dst: dstAddr}, tcpLen)
	}
	seg := TCP(b[ipLen:])
	hl := EncodeTCP(seg, f, opts)
	copy(seg[hl:], payload)
	seg.SetChecksum(seg.ComputeChecksum(src, dstAddr))
	return dst
}

// grow extends b by n bytes, reallocating only when capacity is short.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, 2*len(b)+n)
	copy(nb, b)
	return nb
}

// ParseTCPPacket validates an IPv4 or IPv6 packet that carries a TCP
// segment, the inverse of AppendTCPPacket, and returns its addresses and
// the segment; a packet of another protocol is ErrNotTCP.
func ParseTCPPacket(b []byte) (src, dst netip.Addr, t TCP, err error) {
	src, dst, proto, payload, err := ParseIP(b)
	if err != nil {
		return src, dst, nil, err
	}
	if proto != ProtoTCP {
		return src, dst, nil, fmt.Errorf("%w: protocol %d", ErrNotTCP, proto)
	}
	t, err = ParseTCP(payload)
	if err != nil {
		return src, dst, nil, err
	}
	return src, dst, t, nil
}

// ParseIP validates an IPv4 or IPv6 packet, choosing by the version nibble,
// and returns its addresses, transport protocol and transport bytes. It is
// what a driver calls on each packet it receives.
func ParseIP(b []byte) (src, dst netip.Addr, proto uint8, payload []byte, err error) {
	if len(b) == 0 {
		return src, dst, 0, nil, fmt.Errorf("%w: empty packet", ErrTruncated)
	}
	switch b[0] >> 4 {
	case 4:
		h, err := ParseIPv4(b)
		if err != nil {
			return src, dst, 0, nil, err
		}
		if h.IsFragment() {
			// The stack sends with DF and never reassembles: a fragment
			// cannot be a whole TCP segment.
			return src, dst, 0, nil, fmt.Errorf("%w: IPv4 fragment", ErrFragment)
		}
		return h.Src(), h.Dst(), h.Protocol(), h.Payload(), nil
	case 6:
		h, err := ParseIPv6(b)
		if err != nil {
			return src, dst, 0, nil, err
		}
		proto, payload, err := h.Transport()
		return h.Src(), h.Dst(), proto, payload, err
	default:
		return src, dst, 0, nil, fmt.Errorf("%w: version %d", ErrBadVersion, b[0]>>4)
	}
}
