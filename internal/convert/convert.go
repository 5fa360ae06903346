// Package convert encodes and decodes the messages of the 0-RTT TCP Convert
// Protocol (RFC 8803), which a client and a Transport Converter exchange at
// the very start of each byte stream: a 32-bit fixed header (version, total
// length in 32-bit words) followed by TLVs whose lengths are also counted
// in 32-bit words. A message is at most 255 words (1020 bytes), so a reader
// never buffers more than that before the relayed bytes begin.
//
// The hybrid-access proxy (internal/proxy) is the user: its client puts a
// Connect TLV in the SYN (TCP Fast Open), its server answers with an
// Extended TCP Header TLV or an Error TLV.
package convert

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
)

// Version is the only Convert version (RFC 8803 section 4.1; 0 is reserved).
const Version = 1

// MaxMessageLen is the largest message the fixed header can describe:
// 255 words of 4 bytes, header included.
const MaxMessageLen = 255 * 4

// TLV types (RFC 8803 section 4.2, IANA "Convert TLVs").
const (
	TypeInfo              = 1
	TypeConnect           = 10
	TypeExtendedTCPHeader = 20
	TypeSupportedTCPExt   = 21
	TypeCookie            = 22
	TypeError             = 30
	// TypePrivateMin is the first type reserved for private use
	// (192-255); this project puts its authentication there.
	TypePrivateMin = 192
)

// ErrorCode is the code of an Error TLV (RFC 8803 section 4.2.8).
type ErrorCode uint8

// The error codes RFC 8803 defines.
const (
	ErrUnsupportedVersion     ErrorCode = 0
	ErrMalformedMessage       ErrorCode = 1
	ErrUnsupportedMessage     ErrorCode = 2
	ErrMissingCookie          ErrorCode = 3
	ErrNotAuthorized          ErrorCode = 32
	ErrUnsupportedTCPOption   ErrorCode = 33
	ErrResourceExceeded       ErrorCode = 64
	ErrNetworkFailure         ErrorCode = 65
	ErrConnectionReset        ErrorCode = 96
	ErrDestinationUnreachable ErrorCode = 97
)

var errorNames = map[ErrorCode]string{
	ErrUnsupportedVersion:     "unsupported version",
	ErrMalformedMessage:       "malformed message",
	ErrUnsupportedMessage:     "unsupported message",
	ErrMissingCookie:          "missing cookie",
	ErrNotAuthorized:          "not authorized",
	ErrUnsupportedTCPOption:   "unsupported TCP option",
	ErrResourceExceeded:       "resource exceeded",
	ErrNetworkFailure:         "network failure",
	ErrConnectionReset:        "connection reset by destination",
	ErrDestinationUnreachable: "destination unreachable",
}

// String names the code as RFC 8803 does.
func (c ErrorCode) String() string {
	if s, ok := errorNames[c]; ok {
		return s
	}
	return fmt.Sprintf("error %d", uint8(c))
}

// Connect is the Connect TLV: the destination the converter is asked to
// reach, and TCP options the client wants it to present there.
type Connect struct {
	Dest netip.AddrPort
	// Options holds TCP options as kind, length, value blocks (no EOL or
	// NOP); the encoder pads them to a word.
	Options []byte
}

// Error is the Error TLV.
type Error struct {
	Code ErrorCode
	// Value is the code's value field: one byte for most codes, the
	// echoed message for Malformed and Unsupported Message.
	Value []byte
}

// Error implements error, so a client can return what the converter said.
func (e *Error) Error() string { return "converter: " + e.Code.String() }

// TLV is a TLV this package does not interpret (a private-use type, or one
// it does not know); Value excludes the type and length bytes.
type TLV struct {
	Type  uint8
	Value []byte
}

// Message is one Convert message. Zero fields are absent TLVs.
type Message struct {
	Info              bool
	Connect           *Connect
	ExtendedTCPHeader []byte
	SupportedTCPExt   []uint8
	Cookie            []byte
	Error             *Error
	// Other holds private-use TLVs (types 192-255) in order.
	Other []TLV
}

// Errors the decoder returns, wrapped with detail; a server answers each
// with the Error TLV of the matching code (see Code).
var (
	ErrVersion   = errors.New("unsupported Convert version")
	ErrMalformed = errors.New("malformed Convert message")
	ErrUnknown   = errors.New("unsupported Convert TLV")
)

// Code maps a decoding error to the Error TLV code RFC 8803 says to answer.
func Code(err error) ErrorCode {
	switch {
	case errors.Is(err, ErrVersion):
		return ErrUnsupportedVersion
	case errors.Is(err, ErrUnknown):
		return ErrUnsupportedMessage
	default:
		return ErrMalformedMessage
	}
}

// Append encodes m after b. It fails when the message would exceed
// MaxMessageLen or a TLV its 255-word limit.
func (m *Message) Append(b []byte) ([]byte, error) {
	start := len(b)
	b = append(b, Version, 0, 0, 0)
	if m.Info {
		b = append(b, TypeInfo, 1, 0, 0)
	}
	if c := m.Connect; c != nil {
		v := make([]byte, 0, 18+len(c.Options)+3)
		v = binary.BigEndian.AppendUint16(v, c.Dest.Port())
		a16 := c.Dest.Addr().As16() // IPv4 as IPv4-mapped IPv6, as section 4.2.4 requires
		v = append(v, a16[:]...)
		v = append(v, c.Options...)
		b = appendTLV(b, TypeConnect, v)
	}
	if m.ExtendedTCPHeader != nil {
		b = appendTLV(b, TypeExtendedTCPHeader, append([]byte{0, 0}, m.ExtendedTCPHeader...))
	}
	if m.SupportedTCPExt != nil {
		b = appendTLV(b, TypeSupportedTCPExt, append([]byte{0, 0}, m.SupportedTCPExt...))
	}
	if m.Cookie != nil {
		b = appendTLV(b, TypeCookie, append([]byte{0, 0}, m.Cookie...))
	}
	for _, t := range m.Other {
		b = appendTLV(b, t.Type, t.Value)
	}
	if e := m.Error; e != nil {
		v := append([]byte{byte(e.Code)}, e.Value...)
		if len(e.Value) == 0 {
			v = append(v, 0)
		}
		b = appendTLV(b, TypeError, v)
	}
	n := len(b) - start
	if n > MaxMessageLen {
		return b[:start], fmt.Errorf("convert: message of %d bytes exceeds %d", n, MaxMessageLen)
	}
	b[start+1] = byte(n / 4)
	return b, nil
}

// appendTLV appends type, length in words and value, padded with zeros to
// a word boundary. Callers keep the whole message under MaxMessageLen, so
// the length always fits.
func appendTLV(b []byte, typ uint8, v []byte) []byte {
	n := (2 + len(v) + 3) / 4
	b = append(b, typ, byte(min(n, 255)))
	b = append(b, v...)
	for range n*4 - 2 - len(v) {
		b = append(b, 0)
	}
	return b
}

// ReadMessage reads one whole message from r: the fixed header, then as
// many bytes as its total length says (never more than MaxMessageLen).
// The raw bytes are returned too, for echoing in an Error TLV.
func ReadMessage(r io.Reader) (Message, []byte, error) {
	var buf [MaxMessageLen]byte
	if _, err := io.ReadFull(r, buf[:4]); err != nil {
		return Message{}, nil, fmt.Errorf("convert: reading header: %w", err)
	}
	n := int(buf[1]) * 4
	if buf[0] != Version {
		return Message{}, buf[:4], fmt.Errorf("%w: %d", ErrVersion, buf[0])
	}
	if n < 4 {
		return Message{}, buf[:4], fmt.Errorf("%w: total length 0", ErrMalformed)
	}
	if _, err := io.ReadFull(r, buf[4:n]); err != nil {
		return Message{}, buf[:4], fmt.Errorf("convert: reading %d-byte message: %w", n, err)
	}
	raw := append([]byte(nil), buf[:n]...)
	m, err := Parse(raw)
	return m, raw, err
}

// Parse decodes a whole message (fixed header included). Each TLV may
// appear once (section 4.2.1: a repeated TLV closes the connection).
func Parse(b []byte) (Message, error) {
	var m Message
	if len(b) < 4 {
		return m, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	if b[0] != Version {
		return m, fmt.Errorf("%w: %d", ErrVersion, b[0])
	}
	if n := int(b[1]) * 4; n != len(b) {
		return m, fmt.Errorf("%w: total length %d bytes, have %d", ErrMalformed, n, len(b))
	}
	seen := map[uint8]bool{}
	for rest := b[4:]; len(rest) > 0; {
		if len(rest) < 4 {
			return m, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(rest))
		}
		typ, n := rest[0], int(rest[1])*4
		if n == 0 || n > len(rest) {
			return m, fmt.Errorf("%w: TLV %d of %d bytes in %d", ErrMalformed, typ, n, len(rest))
		}
		if seen[typ] {
			return m, fmt.Errorf("%w: TLV %d repeated", ErrMalformed, typ)
		}
		seen[typ] = true
		if err := m.setTLV(typ, rest[2:n]); err != nil {
			return m, err
		}
		rest = rest[n:]
	}
	return m, nil
}

// setTLV stores one TLV's value (the bytes after type and length, padding
// included).
func (m *Message) setTLV(typ uint8, v []byte) error {
	switch typ {
	case TypeInfo:
		m.Info = true
	case TypeConnect:
		if len(v) < 18 {
			return fmt.Errorf("%w: Connect TLV of %d bytes", ErrMalformed, len(v)+2)
		}
		a := netip.AddrFrom16([16]byte(v[2:18])).Unmap()
		m.Connect = &Connect{Dest: netip.AddrPortFrom(a, binary.BigEndian.Uint16(v)), Options: trimOptions(v[18:])}
	case TypeExtendedTCPHeader:
		m.ExtendedTCPHeader = append([]byte{}, v[2:]...)
	case TypeSupportedTCPExt:
		m.SupportedTCPExt = trimZeros(v[2:])
	case TypeCookie:
		m.Cookie = append([]byte{}, v[2:]...)
	case TypeError:
		m.Error = &Error{Code: ErrorCode(v[0]), Value: append([]byte{}, v[1:]...)}
	default:
		if typ < TypePrivateMin {
			return fmt.Errorf("%w: type %d", ErrUnknown, typ)
		}
		m.Other = append(m.Other, TLV{Type: typ, Value: append([]byte{}, v...)})
	}
	return nil
}

// trimOptions drops the zero padding after the last TCP option block.
func trimOptions(v []byte) []byte {
	i := 0
	for i+2 <= len(v) && v[i] != 0 && v[i+1] >= 2 && i+int(v[i+1]) <= len(v) {
		i += int(v[i+1])
	}
	if i == 0 {
		return nil
	}
	return append([]byte{}, v[:i]...)
}

// trimZeros drops trailing zero padding (kind 0 is never listed).
func trimZeros(v []byte) []uint8 {
	for len(v) > 0 && v[len(v)-1] == 0 {
		v = v[:len(v)-1]
	}
	return append([]uint8{}, v...)
}

// Private returns the value of the private-use TLV of the given type.
func (m *Message) Private(typ uint8) ([]byte, bool) {
	for _, t := range m.Other {
		if t.Type == typ {
			return t.Value, true
		}
	}
	return nil, false
}
