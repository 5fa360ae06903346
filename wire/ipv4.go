package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IPv4 header constants.
const (
	IPv4MinHeaderLen = 20
	IPv4MaxHeaderLen = 60
	// IPv4DontFragment is the DF bit in the flags/fragment-offset word.
	IPv4DontFragment  = 0x4000
	ipv4MoreFragments = 0x2000
	ipv4FragOffMask   = 0x1fff
)

// IP protocol numbers used by the stack.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// IPv4 is a view of an IPv4 packet whose header length and total length
// have been validated by ParseIPv4.
type IPv4 []byte

// ParseIPv4 validates b as an IPv4 packet and returns a view trimmed to the
// header's total length (link layers may pad short frames).
func ParseIPv4(b []byte) (IPv4, error) {
	if len(b) < IPv4MinHeaderLen {
		return nil, fmt.Errorf("%w: IPv4 header needs %d bytes, have %d", ErrTruncated, IPv4MinHeaderLen, len(b))
	}
	if v := b[0] >> 4; v != 4 {
		return nil, fmt.Errorf("%w: version %d in IPv4 header", ErrBadVersion, v)
	}
	hl := int(b[0]&0x0f) * 4
	if hl < IPv4MinHeaderLen {
		return nil, fmt.Errorf("%w: IPv4 header length %d", ErrBadLength, hl)
	}
	tl := int(binary.BigEndian.Uint16(b[2:]))
	if tl < hl {
		return nil, fmt.Errorf("%w: IPv4 total length %d below header length %d", ErrBadLength, tl, hl)
	}
	if tl > len(b) {
		return nil, fmt.Errorf("%w: IPv4 total length %d, have %d bytes", ErrTruncated, tl, len(b))
	}
	return IPv4(b[:tl]), nil
}

// HeaderLen returns the header length in bytes, options included.
func (h IPv4) HeaderLen() int { return int(h[0]&0x0f) * 4 }

// TotalLen returns the total length field.
func (h IPv4) TotalLen() int { return int(binary.BigEndian.Uint16(h[2:])) }

// TOS returns the type-of-service (DSCP and ECN) byte.
func (h IPv4) TOS() uint8 { return h[1] }

// ID returns the identification field.
func (h IPv4) ID() uint16 { return binary.BigEndian.Uint16(h[4:]) }

// FlagsFragOff returns the flags and fragment offset word.
func (h IPv4) FlagsFragOff() uint16 { return binary.BigEndian.Uint16(h[6:]) }

// IsFragment reports whether the packet is one fragment of a larger datagram.
func (h IPv4) IsFragment() bool {
	ff := h.FlagsFragOff()
	return ff&ipv4MoreFragments != 0 || ff&ipv4FragOffMask != 0
}

// TTL returns the time-to-live.
func (h IPv4) TTL() uint8 { return h[8] }

// Protocol returns the transport protocol number.
func (h IPv4) Protocol() uint8 { return h[9] }

// Checksum returns the header checksum field.
func (h IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(h[10:]) }

// Src returns the source address.
func (h IPv4) Src() netip.Addr { return netip.AddrFrom4([4]byte(h[12:16])) }

// Dst returns the destination address.
func (h IPv4) Dst() netip.Addr { return netip.AddrFrom4([4]byte(h[16:20])) }

// Payload returns the bytes after the header, up to the total length.
func (h IPv4) Payload() []byte { return h[h.HeaderLen():] }

// ValidChecksum reports whether the header checksum is correct.
func (h IPv4) ValidChecksum() bool { return Checksum(h[:h.HeaderLen()], 0) == 0xffff }

// SetTTL sets the time-to-live and updates the checksum incrementally, as a
// router does when it forwards the packet.
func (h IPv4) SetTTL(ttl uint8) {
	old := binary.BigEndian.Uint16(h[8:])
	h[8] = ttl
	binary.BigEndian.PutUint16(h[10:], ChecksumUpdate16(h.Checksum(), old, binary.BigEndian.Uint16(h[8:])))
}

// SetSrc rewrites the source address (a NAT) and updates the checksum.
func (h IPv4) SetSrc(a netip.Addr) { h.setAddr(12, a) }

// SetDst rewrites the destination address and updates the checksum.
func (h IPv4) SetDst(a netip.Addr) { h.setAddr(16, a) }

func (h IPv4) setAddr(off int, a netip.Addr) {
	b := a.As4()
	old := binary.BigEndian.Uint32(h[off:])
	copy(h[off:off+4], b[:])
	binary.BigEndian.PutUint16(h[10:], ChecksumUpdate32(h.Checksum(), old, binary.BigEndian.Uint32(b[:])))
}

// IPv4Fields are the values EncodeIPv4 writes. Zero TTL means 64.
type IPv4Fields struct {
	TOS      uint8
	ID       uint16
	DF       bool
	TTL      uint8
	Protocol uint8
	Src, Dst netip.Addr
}

// EncodeIPv4 writes a 20-byte IPv4 header for a payload of payloadLen bytes
// into b, with its checksum, and returns the header length. b must have
// room for the header; Src and Dst must be IPv4 addresses.
func EncodeIPv4(b []byte, f *IPv4Fields, payloadLen int) int {
	_ = b[IPv4MinHeaderLen-1]
	b[0] = 0x45
	b[1] = f.TOS
	binary.BigEndian.PutUint16(b[2:], uint16(IPv4MinHeaderLen+payloadLen))
	binary.BigEndian.PutUint16(b[4:], f.ID)
	var ff uint16
	if f.DF {
		ff = IPv4DontFragment
	}
	binary.BigEndian.PutUint16(b[6:], ff)
	ttl := f.TTL
	if ttl == 0 {
		ttl = 64
	}
	b[8] = ttl
	b[9] = f.Protocol
	b[10], b[11] = 0, 0
	s, d := f.Src.As4(), f.Dst.As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	binary.BigEndian.PutUint16(b[10:], ^Checksum(b[:IPv4MinHeaderLen], 0))
	return IPv4MinHeaderLen
}
