package wire

import "encoding/binary"

// QuotedTCP is the start of a TCP segment as an ICMP error quotes it. Unlike
// the TCP view it may stop anywhere: RFC 792 guarantees only the first 8
// bytes (ports and sequence number). Each accessor says whether its field
// was quoted and returns zero when it was not; none can panic.
type QuotedTCP []byte

// QuoteCoverage says how much of a TCP header a quote holds.
type QuoteCoverage uint8

// The coverage levels, from nothing to the whole header with its options.
const (
	// CoverageNone: fewer than 4 bytes, not even the ports.
	CoverageNone QuoteCoverage = iota
	// CoveragePorts: the ports, not the whole sequence number.
	CoveragePorts
	// CoverageSeq: ports and sequence number, the RFC 792 minimum of 8
	// bytes; nothing about the options can be told.
	CoverageSeq
	// CoverageFixedHeader: the 20-byte fixed header but not all of the
	// options it announces.
	CoverageFixedHeader
	// CoverageFullHeader: the header with all its options.
	CoverageFullHeader
)

var coverageNames = [...]string{"none", "ports", "ports+seq", "fixed header", "full header"}

// String names the coverage.
func (c QuoteCoverage) String() string {
	if int(c) < len(coverageNames) {
		return coverageNames[c]
	}
	return "QuoteCoverage(?)"
}

// Coverage says how much of the header was quoted. A header whose data
// offset is below 5 counts as CoverageFixedHeader however long the quote:
// its options cannot be found.
func (t QuotedTCP) Coverage() QuoteCoverage {
	switch n := len(t); {
	case n < 4:
		return CoverageNone
	case n < 8:
		return CoveragePorts
	case n < TCPMinHeaderLen:
		return CoverageSeq
	}
	if hl := t.HeaderLen(); hl >= TCPMinHeaderLen && len(t) >= hl {
		return CoverageFullHeader
	}
	return CoverageFixedHeader
}

func (t QuotedTCP) u16(off int) (uint16, bool) {
	if len(t) < off+2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(t[off:]), true
}

func (t QuotedTCP) u32(off int) (uint32, bool) {
	if len(t) < off+4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(t[off:]), true
}

// SrcPort returns the source port and whether it was quoted.
func (t QuotedTCP) SrcPort() (uint16, bool) { return t.u16(0) }

// DstPort returns the destination port and whether it was quoted.
func (t QuotedTCP) DstPort() (uint16, bool) { return t.u16(2) }

// Seq returns the sequence number and whether it was quoted.
func (t QuotedTCP) Seq() (uint32, bool) { return t.u32(4) }

// Ack returns the acknowledgment number and whether it was quoted.
func (t QuotedTCP) Ack() (uint32, bool) { return t.u32(8) }

// HeaderLen returns the header length the data offset announces, or 0 if
// that byte was not quoted.
func (t QuotedTCP) HeaderLen() int {
	if len(t) < 13 {
		return 0
	}
	return int(t[12]>>4) * 4
}

// Flags returns the control bits and whether they were quoted.
func (t QuotedTCP) Flags() (TCPFlags, bool) {
	if len(t) < 14 {
		return 0, false
	}
	return TCPFlags(t[13]), true
}

// Window returns the window field and whether it was quoted.
func (t QuotedTCP) Window() (uint16, bool) { return t.u16(14) }

// Checksum returns the checksum field and whether it was quoted.
func (t QuotedTCP) Checksum() (uint16, bool) { return t.u16(16) }

// Options returns the quoted option bytes and whether they are all of the
// options the data offset announces. It returns nil and false when the
// fixed header was not quoted whole or the data offset is impossible.
func (t QuotedTCP) Options() (opts []byte, complete bool) {
	hl := t.HeaderLen()
	if len(t) < TCPMinHeaderLen || hl < TCPMinHeaderLen {
		return nil, false
	}
	end := min(hl, len(t))
	return t[TCPMinHeaderLen:end], end == hl
}

// Header returns the quoted segment as a TCP view when the whole header,
// options included, was quoted.
func (t QuotedTCP) Header() (TCP, bool) {
	if t.Coverage() != CoverageFullHeader {
		return nil, false
	}
	h, err := ParseTCP(t)
	return h, err == nil
}
