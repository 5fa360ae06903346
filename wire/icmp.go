package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// ICMPHeaderLen is the length of the ICMPv4 and ICMPv6 header: type, code,
// checksum and four bytes whose meaning depends on the type.
const ICMPHeaderLen = 8

// ICMPv4 message types (RFC 792) that a prober meets.
const (
	ICMPv4EchoReply       = 0
	ICMPv4DestUnreachable = 3
	ICMPv4SourceQuench    = 4
	ICMPv4Redirect        = 5
	ICMPv4EchoRequest     = 8
	ICMPv4TimeExceeded    = 11
	ICMPv4ParamProblem    = 12
)

// ICMPv4 destination-unreachable codes (RFC 792, RFC 1812 section 5.2.7.1).
const (
	ICMPv4NetUnreachable      = 0
	ICMPv4HostUnreachable     = 1
	ICMPv4ProtoUnreachable    = 2
	ICMPv4PortUnreachable     = 3
	ICMPv4FragmentationNeeded = 4
	ICMPv4NetProhibited       = 9
	ICMPv4HostProhibited      = 10
	ICMPv4AdminProhibited     = 13
)

// ICMPv6 message types (RFC 4443). Types below 128 are errors.
const (
	ICMPv6DestUnreachable = 1
	ICMPv6PacketTooBig    = 2
	ICMPv6TimeExceeded    = 3
	ICMPv6ParamProblem    = 4
	ICMPv6EchoRequest     = 128
	ICMPv6EchoReply       = 129
)

// ICMPv6 destination-unreachable codes (RFC 4443 section 3.1).
const (
	ICMPv6NoRoute          = 0
	ICMPv6AdminProhibited  = 1
	ICMPv6BeyondScope      = 2
	ICMPv6AddrUnreachable  = 3
	ICMPv6PortUnreachable  = 4
	ICMPv6SourcePolicy     = 5
	ICMPv6RejectRoute      = 6
	ICMPv6SourceRouteError = 7
)

// ICMPv4 is a view of an ICMPv4 message (without the IP header carrying it)
// whose length has been validated by ParseICMPv4.
type ICMPv4 []byte

// ParseICMPv4 validates b as an ICMPv4 message: at least the 8-byte header.
func ParseICMPv4(b []byte) (ICMPv4, error) {
	if len(b) < ICMPHeaderLen {
		return nil, fmt.Errorf("%w: ICMPv4 header needs %d bytes, have %d", ErrTruncated, ICMPHeaderLen, len(b))
	}
	return ICMPv4(b), nil
}

// Type returns the message type.
func (m ICMPv4) Type() uint8 { return m[0] }

// Code returns the message code.
func (m ICMPv4) Code() uint8 { return m[1] }

// Checksum returns the checksum field.
func (m ICMPv4) Checksum() uint16 { return binary.BigEndian.Uint16(m[2:]) }

// ValidChecksum reports whether the checksum over the whole message is
// correct (ICMPv4 has no pseudo-header).
func (m ICMPv4) ValidChecksum() bool { return Checksum(m, 0) == 0xffff }

// IsError reports whether the type is an error message that quotes the
// datagram that caused it.
func (m ICMPv4) IsError() bool {
	switch m.Type() {
	case ICMPv4DestUnreachable, ICMPv4SourceQuench, ICMPv4Redirect, ICMPv4TimeExceeded, ICMPv4ParamProblem:
		return true
	}
	return false
}

// NextHopMTU returns the MTU a "fragmentation needed" message reports
// (RFC 1191), or 0 for other messages.
func (m ICMPv4) NextHopMTU() uint16 {
	if m.Type() != ICMPv4DestUnreachable || m.Code() != ICMPv4FragmentationNeeded {
		return 0
	}
	return binary.BigEndian.Uint16(m[6:])
}

// Body returns the bytes after the 8-byte header.
func (m ICMPv4) Body() []byte { return m[ICMPHeaderLen:] }

// Quote decodes the original datagram an error message quotes. RFC 792
// quotes the IP header and 8 bytes of the transport header; RFC 1812
// routers, Linux among them, quote as much as fits in 576 bytes. When the
// message carries an RFC 4884 length (extensions follow the quote), only
// that many bytes are taken as the quote.
func (m ICMPv4) Quote() (ICMPQuote, error) {
	if !m.IsError() {
		return ICMPQuote{}, fmt.Errorf("%w: ICMPv4 type %d quotes no datagram", ErrBadOption, m.Type())
	}
	body := m.Body()
	switch m.Type() {
	case ICMPv4DestUnreachable, ICMPv4TimeExceeded, ICMPv4ParamProblem:
		body = rfc4884Quote(body, int(m[5])*4)
	}
	return parseQuote(body)
}

// ICMPv6 is a view of an ICMPv6 message whose length has been validated by
// ParseICMPv6.
type ICMPv6 []byte

// ParseICMPv6 validates b as an ICMPv6 message: at least the 8-byte header.
func ParseICMPv6(b []byte) (ICMPv6, error) {
	if len(b) < ICMPHeaderLen {
		return nil, fmt.Errorf("%w: ICMPv6 header needs %d bytes, have %d", ErrTruncated, ICMPHeaderLen, len(b))
	}
	return ICMPv6(b), nil
}

// Type returns the message type.
func (m ICMPv6) Type() uint8 { return m[0] }

// Code returns the message code.
func (m ICMPv6) Code() uint8 { return m[1] }

// Checksum returns the checksum field.
func (m ICMPv6) Checksum() uint16 { return binary.BigEndian.Uint16(m[2:]) }

// ValidChecksum reports whether the checksum is correct for a message sent
// from src to dst (ICMPv6 covers a pseudo-header, RFC 4443 section 2.3).
func (m ICMPv6) ValidChecksum(src, dst netip.Addr) bool {
	return Checksum(m, PseudoHeaderChecksum(ProtoICMPv6, src, dst, uint32(len(m)))) == 0xffff
}

// IsError reports whether the type is an error message (RFC 4443 section
// 2.1: types 0 to 127), all of which quote the offending packet.
func (m ICMPv6) IsError() bool { return m.Type() < 128 }

// MTU returns the MTU of a packet-too-big message, or 0 for other messages.
func (m ICMPv6) MTU() uint32 {
	if m.Type() != ICMPv6PacketTooBig {
		return 0
	}
	return binary.BigEndian.Uint32(m[4:])
}

// Body returns the bytes after the 8-byte header.
func (m ICMPv6) Body() []byte { return m[ICMPHeaderLen:] }

// Quote decodes the packet an error message quotes: as much of it as fits
// in the minimum IPv6 MTU of 1280 bytes (RFC 4443 section 2.4 (c)), or the
// RFC 4884 length when the message carries one.
func (m ICMPv6) Quote() (ICMPQuote, error) {
	if !m.IsError() {
		return ICMPQuote{}, fmt.Errorf("%w: ICMPv6 type %d quotes no packet", ErrBadOption, m.Type())
	}
	body := m.Body()
	switch m.Type() {
	case ICMPv6DestUnreachable, ICMPv6TimeExceeded:
		body = rfc4884Quote(body, int(m[4])*8) // ICMPv6 counts 64-bit words
	}
	return parseQuote(body)
}

// rfc4884Quote returns the original-datagram field of a message whose
// length attribute says n bytes: with n zero (a sender predating RFC 4884)
// or larger than the body, the whole body is the quote.
func rfc4884Quote(body []byte, n int) []byte {
	if n == 0 || n > len(body) {
		return body
	}
	return body[:n]
}

// ICMPQuote is the original datagram an ICMP error quotes, as the router
// that sent the error saw it. The quote is usually truncated: Transport
// holds only what was quoted, and DatagramLen says how long the datagram
// was, so a caller can tell a short quote from a short packet.
type ICMPQuote struct {
	// IPHeader is the quoted IP header: for IPv4 with its options, for
	// IPv6 the fixed header and the extension headers before the
	// transport header.
	IPHeader []byte
	Version  uint8 // 4 or 6
	Src, Dst netip.Addr
	// Protocol is the transport protocol: for IPv6 the last next-header
	// value, after the extension headers.
	Protocol uint8
	// TTL is the time-to-live (hop limit) in the quoted header, which
	// depends on whether the router quotes before or after decrementing it.
	TTL uint8
	// TOS is the IPv4 type-of-service byte or the IPv6 traffic class.
	TOS uint8
	// ID and FlagsFragOff are the IPv4 identification and flags/fragment
	// offset words; zero for IPv6.
	ID           uint16
	FlagsFragOff uint16
	// FlowLabel is the IPv6 flow label; zero for IPv4.
	FlowLabel uint32
	// DatagramLen is the datagram's length as its header declares it.
	DatagramLen int
	// Transport is the quoted part of the transport segment, never more
	// than the header's length allows.
	Transport []byte
}

// Complete reports whether the whole datagram was quoted.
func (q *ICMPQuote) Complete() bool {
	return len(q.IPHeader)+len(q.Transport) >= q.DatagramLen
}

// LaterFragment reports whether the quoted datagram is an IPv4 fragment
// other than the first, whose bytes after the IP header are not a transport
// header. (An IPv6 fragment shows as Protocol 44.)
func (q *ICMPQuote) LaterFragment() bool { return q.FlagsFragOff&ipv4FragOffMask != 0 }

// TCP returns the quoted transport bytes as a possibly truncated TCP header.
// It is meaningful only when Protocol is ProtoTCP.
func (q *ICMPQuote) TCP() QuotedTCP { return QuotedTCP(q.Transport) }

// parseQuote decodes a quoted datagram. Unlike ParseIPv4 and ParseIPv6 it
// accepts a datagram shorter than its header's length field, since a quote
// is normally truncated; it needs the whole IP header (and for IPv6 every
// extension header) to find the transport bytes.
func parseQuote(b []byte) (ICMPQuote, error) {
	if len(b) == 0 {
		return ICMPQuote{}, fmt.Errorf("%w: ICMP error quotes nothing", ErrTruncated)
	}
	switch v := b[0] >> 4; v {
	case 4:
		return parseQuoteIPv4(b)
	case 6:
		return parseQuoteIPv6(b)
	default:
		return ICMPQuote{}, fmt.Errorf("%w: quoted datagram has IP version %d", ErrBadVersion, v)
	}
}

func parseQuoteIPv4(b []byte) (ICMPQuote, error) {
	if len(b) < IPv4MinHeaderLen {
		return ICMPQuote{}, fmt.Errorf("%w: quoted IPv4 header needs %d bytes, have %d", ErrTruncated, IPv4MinHeaderLen, len(b))
	}
	hl := int(b[0]&0x0f) * 4
	if hl < IPv4MinHeaderLen {
		return ICMPQuote{}, fmt.Errorf("%w: quoted IPv4 header length %d", ErrBadLength, hl)
	}
	if hl > len(b) {
		return ICMPQuote{}, fmt.Errorf("%w: quoted IPv4 header length %d, have %d bytes", ErrTruncated, hl, len(b))
	}
	h := IPv4(b[:hl])
	tl := h.TotalLen()
	if tl < hl {
		return ICMPQuote{}, fmt.Errorf("%w: quoted IPv4 total length %d below header length %d", ErrBadLength, tl, hl)
	}
	// Routers may quote padding or more than the datagram: never more
	// than its total length is the datagram.
	end := min(len(b), tl)
	return ICMPQuote{
		IPHeader:     b[:hl],
		Version:      4,
		Src:          h.Src(),
		Dst:          h.Dst(),
		Protocol:     h.Protocol(),
		TTL:          h.TTL(),
		TOS:          h.TOS(),
		ID:           h.ID(),
		FlagsFragOff: h.FlagsFragOff(),
		DatagramLen:  tl,
		Transport:    b[hl:end],
	}, nil
}

func parseQuoteIPv6(b []byte) (ICMPQuote, error) {
	if len(b) < IPv6HeaderLen {
		return ICMPQuote{}, fmt.Errorf("%w: quoted IPv6 header needs %d bytes, have %d", ErrTruncated, IPv6HeaderLen, len(b))
	}
	h := IPv6(b[:IPv6HeaderLen])
	dl := IPv6HeaderLen + h.PayloadLen()
	end := min(len(b), dl)
	next, off := h.NextHeader(), IPv6HeaderLen
	for next == ipv6HopByHop || next == ipv6Routing || next == ipv6DestOptions {
		if off+8 > end {
			return ICMPQuote{}, fmt.Errorf("%w: quoted IPv6 extension header %d", ErrTruncated, next)
		}
		n := (int(b[off+1]) + 1) * 8
		if off+n > end {
			return ICMPQuote{}, fmt.Errorf("%w: quoted IPv6 extension header %d length %d, have %d bytes", ErrTruncated, next, n, end-off)
		}
		next, off = b[off], off+n
	}
	return ICMPQuote{
		IPHeader:    b[:off],
		Version:     6,
		Src:         h.Src(),
		Dst:         h.Dst(),
		Protocol:    next,
		TTL:         h.HopLimit(),
		TOS:         h.TrafficClass(),
		FlowLabel:   h.FlowLabel(),
		DatagramLen: dl,
		Transport:   b[off:end],
	}, nil
}

// AppendICMPv4 appends an ICMPv4 message with the given type, code, the four
// type-specific header bytes rest, and body (for an error, the quoted
// datagram), with its checksum, and returns the extended slice.
func AppendICMPv4(dst []byte, typ, code uint8, rest uint32, body []byte) []byte {
	start := len(dst)
	dst = appendICMP(dst, typ, code, rest, body)
	m := dst[start:]
	binary.BigEndian.PutUint16(m[2:], ^Checksum(m, 0))
	return dst
}

// AppendICMPv6 is AppendICMPv4 for ICMPv6, whose checksum covers the
// pseudo-header of a message from src to dstAddr.
func AppendICMPv6(dst []byte, src, dstAddr netip.Addr, typ, code uint8, rest uint32, body []byte) []byte {
	start := len(dst)
	dst = appendICMP(dst, typ, code, rest, body)
	m := dst[start:]
	sum := PseudoHeaderChecksum(ProtoICMPv6, src, dstAddr, uint32(len(m)))
	binary.BigEndian.PutUint16(m[2:], ^Checksum(m, sum))
	return dst
}

func appendICMP(dst []byte, typ, code uint8, rest uint32, body []byte) []byte {
	start := len(dst)
	dst = grow(dst, ICMPHeaderLen+len(body))
	m := dst[start:]
	m[0], m[1], m[2], m[3] = typ, code, 0, 0
	binary.BigEndian.PutUint32(m[4:], rest)
	copy(m[ICMPHeaderLen:], body)
	return dst
}
