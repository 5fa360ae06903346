//go:build linux

package interop

import (
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// MPTCP option subtypes as tshark's tcp.options.mptcp.subtype shows
// them (RFC 8684 section 7).
const (
	subMPCapable  = 0
	subMPJoin     = 1
	subDSS        = 2
	subAddAddr    = 3
	subRemoveAddr = 4
	subMPPrio     = 5
	subMPFail     = 6
	subFastclose  = 7
	subTCPRST     = 8
)

func haveTshark() bool {
	_, err := exec.LookPath("tshark")
	return err == nil
}

// checkCapture has tshark read a capture of our side: no packet may be
// malformed or carry an error-level expert note (a bad IP or TCP
// checksum among them: tshark checks them when asked).
func checkCapture(t *testing.T, path string) {
	t.Helper()
	if !haveTshark() {
		t.Log("tshark not installed (apt-get install -y tshark): capture not checked")
		return
	}
	out, err := tshark(path, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
		"-Y", "_ws.malformed || _ws.expert.severity >= error")
	if err != nil {
		t.Errorf("tshark -r %s: %v: %s", path, err, out)
		return
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("tshark finds malformed or erroneous packets in %s:\n%s", path, s)
	}
}

// wire returns the lines tshark prints for the packets of our side's
// capture that match filter, with the given fields; ok is false when
// tshark is not installed. The driver must be stopped (e.stop) first, so
// that the capture is complete.
func (e *env) wire(filter string, fields ...string) (lines []string, ok bool) {
	e.t.Helper()
	if !haveTshark() {
		return nil, false
	}
	args := []string{"-Y", filter}
	if len(fields) > 0 {
		args = append(args, "-T", "fields", "-E", "separator=,")
		for _, f := range fields {
			args = append(args, "-e", f)
		}
	}
	out, err := tshark(e.pcap, args...)
	if err != nil {
		e.t.Fatalf("tshark %s: %v", strings.Join(args, " "), err)
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return nil, true
	}
	return strings.Split(s, "\n"), true
}

// wireCount counts the packets of our side's capture that match filter;
// -1 when tshark is not installed.
func (e *env) wireCount(filter string) int {
	e.t.Helper()
	l, ok := e.wire(filter, "frame.number")
	if !ok {
		return -1
	}
	return len(l)
}

// tshark runs tshark on a capture and returns what it prints on
// standard output (it complains on standard error about running as
// root). The payload of every port is decoded as plain data: the
// dissectors of the protocols registered on our ports (NDMP on 10000)
// and the heuristic ones (Thrift) would otherwise take random bytes for
// their protocol and call them malformed.
func tshark(path string, args ...string) ([]byte, error) {
	all := append([]string{"-n", "-r", path, "-d", "tcp.port==1-65535,data",
		"-o", "mptcp.analyze_mptcp:TRUE", "-o", "mptcp.relative_sequence_numbers:TRUE"}, args...)
	cmd := exec.Command("tshark", all...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tshark %s: %w: %s", strings.Join(all, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// dataSeg is one data segment, placed in the data sequence space by the
// DSS mapping it carried.
type dataSeg struct {
	frame         int
	local, remote netip.AddrPort // the subflow: the sender's end, the receiver's
	start, end    uint64         // data sequence numbers
}

// sentData returns the data segments the kernel (or, if ours, our stack)
// sent, in capture order, placed by tshark's MPTCP analysis: each segment
// carries the mapping that covers it (both stacks put it on every segment
// of a mapping, or MP_CAPABLE with data on the first), whose data
// sequence number tshark gives relative to the sender's initial one,
// whatever its size on the wire; the segment's own is that plus its
// offset in the mapping (tshark's relative subflow sequence numbers and
// the mapping's agree).
func (e *env) sentData(ours bool) ([]dataSeg, bool) {
	e.t.Helper()
	ip := "ip"
	if e.v6 {
		ip = "ipv6"
	}
	lines, ok := e.wire("tcp.len > 0 && mptcp.dss.dsn",
		"frame.number", ip+".dst", "tcp.dstport", "tcp.seq", "tcp.len",
		"mptcp.dss.dsn", "tcp.options.mptcp.subflowseqno", ip+".src", "tcp.srcport")
	if !ok {
		return nil, false
	}
	var segs []dataSeg
	for _, l := range lines {
		f := strings.Split(l, ",")
		if len(f) != 9 {
			e.t.Fatalf("tshark line %q", l)
		}
		dst, err := netip.ParseAddr(f[1])
		if err != nil || e.isOurs(dst) == ours {
			continue // the other side's data
		}
		if f[6] == "" {
			f[6] = "1" // MP_CAPABLE with data: the mapping starts the subflow
		}
		n := make([]uint64, 9)
		for _, i := range []int{0, 2, 3, 4, 5, 6, 8} {
			if n[i], err = strconv.ParseUint(f[i], 10, 64); err != nil {
				e.t.Fatalf("tshark line %q: %v", l, err)
			}
		}
		src, err := netip.ParseAddr(f[7])
		if err != nil {
			e.t.Fatalf("tshark line %q: %v", l, err)
		}
		start := n[5] + (n[3] - n[6])
		segs = append(segs, dataSeg{frame: int(n[0]),
			local: netip.AddrPortFrom(src, uint16(n[8])), remote: netip.AddrPortFrom(dst, uint16(n[2])),
			start: start, end: start + n[4]})
	}
	return segs, true
}

// isOurs reports whether a is one of our stack's addresses in the case.
func (e *env) isOurs(a netip.Addr) bool {
	for _, p := range e.tp.Paths {
		if a == e.ourAddr(p.N) {
			return true
		}
	}
	return false
}

// newDataOn counts the bytes from data sequence number fromDSN on that
// were sent on the subflow from -> to (the sender's end first) and had
// not been sent on another subflow before: new data, as opposed to
// reinjected data. (A data sequence number, not a time, says what was
// scheduled after a point: a subflow may transmit late what it was given
// early.)
func newDataOn(segs []dataSeg, from, to netip.AddrPort, fromDSN uint64) (fresh, reinjected uint64) {
	type span struct{ start, end uint64 }
	var elsewhere []span
	covered := func(s, e uint64) uint64 {
		// Bytes of [s, e) inside the union of elsewhere; spans may
		// overlap, so walk byte ranges by merging.
		var got uint64
		for s < e {
			next := e
			hit := false
			for _, sp := range elsewhere {
				if sp.start <= s && s < sp.end {
					next = min(e, sp.end)
					hit = true
					break
				}
				if sp.start > s && sp.start < next {
					next = sp.start
				}
			}
			if hit {
				got += next - s
			}
			s = next
		}
		return got
	}
	for _, g := range segs {
		if g.local != from || g.remote != to {
			elsewhere = append(elsewhere, span{g.start, g.end})
			continue
		}
		start := max(g.start, fromDSN)
		if start >= g.end {
			continue
		}
		c := covered(start, g.end)
		reinjected += c
		fresh += g.end - start - c
	}
	return fresh, reinjected
}

// overrun is one side's data sent beyond the other's connection-level
// window, or sent for nothing after the data-level close.
type overrun struct {
	segs, over int    // data segments, and how many ended beyond the edge
	first      string // the first one: frame and bytes beyond
	// late counts data segments sent after the side's DATA_FIN whose
	// bytes the receiver had all acknowledged at data level already.
	late      int
	firstLate string
}

// windowOverruns checks connection-level flow control on the wire (RFC
// 8684 section 3.3.4), both ways: every data segment must end at or
// before the largest right edge (DATA_ACK + window) its receiver had
// advertised when it was sent. tshark gives the DATA_ACKs and data
// sequence numbers relative to the same initial data sequence number and
// scales the windows. It also counts the segments a side sends late:
// after its DATA_FIN, with data the receiver acknowledged already, which
// a receiver that closed meanwhile answers with a RST.
func (e *env) windowOverruns() (ours, kernel overrun, ok bool) {
	e.t.Helper()
	ip := "ip"
	if e.v6 {
		ip = "ipv6"
	}
	lines, ok := e.wire("mptcp.ack || mptcp.dss.dsn", "frame.number", ip+".src", "tcp.len", "tcp.window_size",
		"mptcp.ack", "mptcp.dss.dsn", "tcp.seq", "tcp.options.mptcp.subflowseqno", "tcp.options.mptcp.datafin.flag")
	if !ok {
		return ours, kernel, false
	}
	// edge[x] is the largest edge x advertised, for the other's data;
	// acked[x] the largest DATA_ACK x sent; fin[x] whether x sent its
	// DATA_FIN.
	var edgeOurs, edgeKernel, ackedOurs, ackedKernel uint64
	var seenOurs, seenKernel, finOurs, finKernel bool
	num := func(s string) uint64 {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			e.t.Fatalf("tshark field %q: %v", s, err)
		}
		return v
	}
	for _, l := range lines {
		f := strings.Split(l, ",")
		if len(f) != 9 {
			e.t.Fatalf("tshark line %q", l)
		}
		src, err := netip.ParseAddr(f[1])
		if err != nil {
			continue
		}
		fromUs := e.isOurs(src)
		if f[4] != "" && f[3] != "" {
			edge := num(f[4]) + num(f[3])
			if fromUs {
				edgeOurs, seenOurs = max(edgeOurs, edge), true
				ackedOurs = max(ackedOurs, num(f[4]))
			} else {
				edgeKernel, seenKernel = max(edgeKernel, edge), true
				ackedKernel = max(ackedKernel, num(f[4]))
			}
		}
		if f[5] == "" || f[2] == "" || f[2] == "0" {
			if f[8] == "1" {
				if fromUs {
					finOurs = true
				} else {
					finKernel = true
				}
			}
			continue
		}
		ssn := uint64(1) // MP_CAPABLE with data: the mapping starts the subflow
		if f[7] != "" {
			ssn = num(f[7])
		}
		end := num(f[5]) + num(f[6]) - ssn + num(f[2])
		o, edge, seen, acked, fin := &kernel, edgeOurs, seenOurs, ackedOurs, finKernel
		if fromUs {
			o, edge, seen, acked, fin = &ours, edgeKernel, seenKernel, ackedKernel, finOurs
		}
		o.segs++
		if seen && end > edge {
			if o.over == 0 {
				o.first = fmt.Sprintf("frame %s, %d bytes beyond", f[0], end-edge)
			}
			o.over++
		}
		if fin && end <= acked {
			if o.late == 0 {
				o.firstLate = "frame " + f[0]
			}
			o.late++
		}
		if f[8] == "1" {
			if fromUs {
				finOurs = true
			} else {
				finKernel = true
			}
		}
	}
	return ours, kernel, true
}
