package scan

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/mptcp-go/mptcp/wire"
)

// TestFlightMatching checks how answers are matched to the SYNs of a path
// probe, which all share one source port and differ in sequence number.
func TestFlightMatching(t *testing.T) {
	p1, p2 := testProbe(t, false, false), testProbe(t, false, false)
	p2.ISN, p2.TTL = 12345, 6
	if err := p2.Build(); err != nil {
		t.Fatal(err)
	}
	fl := &flight{fixedFlow: true, sent: []sentProbe{{Probe: p1}, {Probe: p2}}}
	icmpEvent := func(pkt []byte) event {
		m, _ := wire.ParseICMPv4(wire.AppendICMPv4(nil, wire.ICMPv4TimeExceeded, 0, 0, pkt))
		q, err := m.Quote()
		if err != nil {
			t.Fatal(err)
		}
		return event{lport: p1.SrcPort, quote: q}
	}
	if sp := fl.matchICMP(icmpEvent(p2.Packet), false); sp == nil || sp.Probe != p2 {
		t.Error("a quote of the second SYN not matched to it")
	}
	rewritten := slices.Clone(p1.Packet)
	binary.BigEndian.PutUint32(rewritten[24:], 999) // the sequence number, after a 20-byte IPv4 header
	if sp := fl.matchICMP(icmpEvent(rewritten), false); sp != nil {
		t.Error("a quote with a foreign sequence number matched in strict mode")
	}
	if sp := fl.matchICMP(icmpEvent(rewritten), true); sp == nil || sp.Probe != p2 {
		t.Error("a quote with a rewritten sequence number not taken as the latest SYN's in lenient mode")
	}
	other := icmpEvent(p2.Packet)
	other.lport++
	if sp := fl.matchICMP(other, true); sp != nil {
		t.Error("a quote for another port matched")
	}
	sp, a := fl.matchTCP(event{lport: p1.SrcPort, tcp: answer(p1, wire.FlagSYN|wire.FlagACK, p1.ISN+1, mpc(1, wire.MPCapableHMACSHA256))})
	if sp == nil || sp.Probe != p1 || a.Verdict != VerdictMPTCPv1 {
		t.Errorf("SYN/ACK to the first SYN: matched %v, verdict %q", sp != nil && sp.Probe == p1, a.Verdict)
	}
	if sp, _ := fl.matchTCP(event{lport: p1.SrcPort, tcp: answer(p1, wire.FlagRST|wire.FlagACK, 7, nil)}); sp != nil {
		t.Error("a RST acknowledging neither SYN matched")
	}
}
