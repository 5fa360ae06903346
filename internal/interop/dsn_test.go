//go:build linux

package interop

import (
	"net/netip"
	"strconv"
	"strings"
)

// The captures' MPTCP segments in the data sequence space. tshark's MPTCP
// analysis gives relative data sequence numbers, but it expands 4-byte
// ones (which our stack sends once the connection is fully established,
// and the kernel answers with 4-byte DATA_ACKs) wrongly when their low 32
// bits wrap during the connection; so the suite expands them itself, as a
// receiver does (RFC 8684 section 3.3: the upper bits are those closest
// to the latest known value), from each side's initial data sequence
// number, which tshark derives from the keys.

// mpSeg is one MPTCP segment of the capture, its data sequence numbers
// relative to the initial one of the side that sends the data (the first
// data byte is 1), as tshark shows them when it gets them right.
type mpSeg struct {
	frame         int
	fromUs        bool
	local, remote netip.AddrPort // sender's end, receiver's end
	seq           uint64         // relative subflow sequence number
	len           int
	window        uint64 // scaled

	hasAck bool
	ack    uint64 // DATA_ACK, of the receiver's data

	hasData bool
	start   uint64 // the payload's first data sequence number
	fin     bool   // DATA_FIN flag set
	tcpFin  bool   // the subflow's FIN
}

// expand32 returns the 64-bit value whose low 32 bits are v and which is
// closest to near.
func expand32(near uint64, v uint32) uint64 {
	c := near&^0xffffffff | uint64(v)
	best := c
	dist := func(x uint64) uint64 {
		if x > near {
			return x - near
		}
		return near - x
	}
	for _, alt := range []uint64{c - 1<<32, c + 1<<32} {
		if dist(alt) < dist(best) {
			best = alt
		}
	}
	return best
}

// mptcpSegs reads our side's capture into MPTCP segments; ok is false
// without tshark, and the slice is empty for a connection without MPTCP.
func (e *env) mptcpSegs() (segs []mpSeg, ok bool) {
	e.t.Helper()
	ip := "ip"
	if e.v6 {
		ip = "ipv6"
	}
	lines, ok := e.wire("tcp.options.mptcp.subtype",
		"frame.number", ip+".src", "tcp.srcport", ip+".dst", "tcp.dstport", // 0-4
		"tcp.len", "tcp.window_size", "tcp.seq", "tcp.flags.syn", // 5-8
		"mptcp.expected_idsn", "tcp.options.mptcp.datalvllen", // 9-10: MP_CAPABLE
		"tcp.options.mptcp.rawdataseqno", "tcp.options.mptcp.dseqn8.flag", "tcp.options.mptcp.subflowseqno", // 11-13
		"tcp.options.mptcp.rawdataack", "tcp.options.mptcp.dataack8.flag", "tcp.options.mptcp.datafin.flag", // 14-16
		"tcp.flags.fin") // 17
	if !ok {
		return nil, false
	}
	num := func(s string) uint64 {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			e.t.Fatalf("tshark field %q: %v", s, err)
		}
		return v
	}
	// The fields of a packet with two MPTCP options (DSS and ADD_ADDR)
	// repeat some values: the first is the one of interest.
	first := func(s string) string { a, _, _ := strings.Cut(s, ";"); return a }
	// idsn[us] and idsn[them]; last[x] the latest 64-bit DSN x sent,
	// lastAck[x] the latest DATA_ACK x sent.
	var idsn, last, lastAck [2]uint64
	var known [2]bool
	side := func(us bool) int {
		if us {
			return 0
		}
		return 1
	}
	for _, l := range lines {
		f := strings.Split(l, ",")
		if len(f) != 18 {
			e.t.Fatalf("tshark line %q", l)
		}
		for i := range f {
			f[i] = first(f[i])
		}
		src, err1 := netip.ParseAddr(f[1])
		dst, err2 := netip.ParseAddr(f[3])
		if err1 != nil || err2 != nil {
			continue
		}
		us := e.isOurs(src)
		me, peer := side(us), side(!us)
		if f[9] != "" && !known[me] {
			idsn[me], last[me], known[me] = num(f[9]), num(f[9]), true
			lastAck[peer] = num(f[9])
		}
		if f[8] == "1" {
			continue
		}
		g := mpSeg{frame: int(num(f[0])), fromUs: us,
			local: netip.AddrPortFrom(src, uint16(num(f[2]))), remote: netip.AddrPortFrom(dst, uint16(num(f[4]))),
			seq: num(f[7]), len: int(num(f[5])), tcpFin: f[17] == "1"}
		if f[6] != "" {
			g.window = num(f[6])
		}
		if f[14] != "" && known[peer] {
			a := num(f[14])
			if f[15] != "1" {
				a = expand32(lastAck[me], uint32(a))
			}
			lastAck[me] = a
			g.hasAck, g.ack = true, a-idsn[peer]
		}
		switch {
		case f[11] != "" && known[me]:
			d := num(f[11])
			if f[12] != "1" {
				d = expand32(last[me], uint32(d))
			}
			last[me] = d
			ssn := uint64(0)
			if f[13] != "" {
				ssn = num(f[13])
			}
			g.hasData = g.len > 0
			g.start = d - idsn[me] + num(f[7]) - ssn
			g.fin = f[16] == "1"
		case f[10] != "" && g.len > 0 && known[me]:
			// MP_CAPABLE with data: the first bytes, from DSN 1.
			g.hasData, g.start = true, num(f[7])
		}
		segs = append(segs, g)
	}
	return segs, true
}
