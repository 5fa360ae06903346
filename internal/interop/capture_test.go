//go:build linux

package interop

import (
	"fmt"
	"net/netip"
	"os/exec"
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
		args = append(args, "-T", "fields", "-E", "separator=,", "-E", "aggregator=;")
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
// sent, in capture order.
func (e *env) sentData(ours bool) ([]dataSeg, bool) {
	e.t.Helper()
	segs, ok := e.mptcpSegs()
	if !ok {
		return nil, false
	}
	var out []dataSeg
	for _, g := range segs {
		if g.hasData && g.fromUs == ours {
			out = append(out, dataSeg{frame: g.frame, local: g.local, remote: g.remote, start: g.start, end: g.start + uint64(g.len)})
		}
	}
	return out, true
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
// advertised when it was sent. It also counts the segments a side sends
// late (counted for both, meaningful for ours only: the capture shows
// when we learnt of the kernel's acknowledgments and FINs, not when the
// kernel learnt of ours): first transmissions on their subflow (not TCP retransmissions,
// which TCP owes whatever the DATA_ACK says) after its DATA_FIN of data
// the receiver had acknowledged already, or on a subflow the receiver
// closed with a FIN (RFC 8684 section 3.3.3: that subflow is done); a
// receiver that closed its end answers them with a RST.
func (e *env) windowOverruns() (ours, kernel overrun, ok bool) {
	e.t.Helper()
	segs, ok := e.mptcpSegs()
	if !ok {
		return ours, kernel, false
	}
	// For each side: the largest edge and DATA_ACK it advertised, for the
	// other's data, and whether it sent its DATA_FIN.
	type state struct {
		edge, acked uint64
		seen, fin   bool
	}
	var us, them state
	type subflow struct{ from, to netip.AddrPort }
	sent := map[subflow]uint64{} // highest subflow sequence number sent, +1
	closed := map[subflow]bool{} // the receiver sent its FIN on it
	for _, g := range segs {
		if g.tcpFin {
			closed[subflow{g.remote, g.local}] = true
		}
		me, peer, o := &them, &us, &kernel
		if g.fromUs {
			me, peer, o = &us, &them, &ours
		}
		if g.hasAck {
			me.edge, me.acked, me.seen = max(me.edge, g.ack+g.window), max(me.acked, g.ack), true
		}
		if g.hasData {
			end := g.start + uint64(g.len)
			o.segs++
			if peer.seen && end > peer.edge {
				if o.over == 0 {
					o.first = fmt.Sprintf("frame %d, %d bytes beyond", g.frame, end-peer.edge)
				}
				o.over++
			}
			sf := subflow{g.local, g.remote}
			fresh := g.seq+uint64(g.len) > sent[sf]
			sent[sf] = max(sent[sf], g.seq+uint64(g.len))
			if fresh && (me.fin && end <= peer.acked || closed[sf]) {
				if o.late == 0 {
					o.firstLate = fmt.Sprintf("frame %d", g.frame)
				}
				o.late++
			}
		}
		if g.fin {
			me.fin = true
		}
	}
	return ours, kernel, true
}
