package scan

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

var (
	me4   = netip.MustParseAddr("192.0.2.1")
	them4 = netip.MustParseAddr("198.51.100.7")
	me6   = netip.MustParseAddr("2001:db8:1::1")
	them6 = netip.MustParseAddr("2001:db8:2::7")
)

func testProbe(t *testing.T, v6, v0 bool) *Probe {
	t.Helper()
	p := &Probe{Src: me4, Dst: them4, SrcPort: 61234, DstPort: 443, ISN: 0xfffffff0, TTL: 5, IPID: 0x4321, TSVal: 777, V0: v0, Key: 0x0102030405060708}
	if v6 {
		p.Src, p.Dst = me6, them6
	}
	if err := p.Build(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProbeBuild(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for _, v0 := range []bool{false, true} {
			p := testProbe(t, v6, v0)
			src, dst, proto, seg, err := wire.ParseIP(p.Packet)
			if err != nil || src != p.Src || dst != p.Dst || proto != wire.ProtoTCP {
				t.Fatalf("v6=%v v0=%v: %v %v %v %d", v6, v0, err, src, dst, proto)
			}
			if v6 {
				if wire.IPv6(p.Packet).HopLimit() != 5 {
					t.Errorf("hop limit %d, want 5", wire.IPv6(p.Packet).HopLimit())
				}
			} else if h := wire.IPv4(p.Packet); h.TTL() != 5 || h.ID() != 0x4321 || !h.ValidChecksum() || h.FlagsFragOff() != wire.IPv4DontFragment {
				t.Errorf("IPv4 header: ttl %d id %#x checksum ok %v flags %#x", h.TTL(), h.ID(), h.ValidChecksum(), h.FlagsFragOff())
			}
			tcp, err := wire.ParseTCP(seg)
			if err != nil || !tcp.ValidChecksum(src, dst) || tcp.Flags() != wire.FlagSYN || tcp.Seq() != p.ISN || tcp.SrcPort() != 61234 {
				t.Fatalf("v6=%v v0=%v: TCP %v, checksum ok %v, flags %v", v6, v0, err, err == nil && tcp.ValidChecksum(src, dst), tcp.Flags())
			}
			var o wire.TCPOptions
			if err := wire.ParseTCPOptions(tcp.Options(), tcp.Flags(), &o); err != nil {
				t.Fatal(err)
			}
			c := o.MPTCP.Capable
			wantMSS, wantVer, wantKey := uint16(1460), uint8(1), uint64(0)
			if v6 {
				wantMSS = 1440
			}
			if v0 {
				wantVer, wantKey = 0, p.Key
			}
			if !o.HasMSS || o.MSS != wantMSS || !o.SACKPermitted || !o.HasTimestamps || o.TSVal != 777 || !o.HasWindowScale ||
				!o.MPTCP.Has(wire.SubtypeMPCapable) || c.Version != wantVer || c.SenderKey != wantKey || c.Flags != wire.MPCapableHMACSHA256 {
				t.Errorf("v6=%v v0=%v: options %+v", v6, v0, o)
			}
			if p.TCP().Seq() != p.ISN {
				t.Errorf("TCP() does not point at the segment")
			}
		}
	}
	bad := &Probe{Src: me4, Dst: them6}
	if err := bad.Build(); err == nil {
		t.Error("mixed-family probe built")
	}
}

func TestResetPacket(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		p := testProbe(t, v6, false)
		src, dst, _, seg, err := wire.ParseIP(p.ResetPacket())
		if err != nil {
			t.Fatal(err)
		}
		tcp, _ := wire.ParseTCP(seg)
		// ISN+1 wraps: the listener's RCV.NXT is exactly that.
		if tcp.Flags() != wire.FlagRST || tcp.Seq() != p.ISN+1 || tcp.SrcPort() != p.SrcPort || tcp.DstPort() != p.DstPort ||
			!tcp.ValidChecksum(src, dst) || tcp.HeaderLen() != 20 {
			t.Errorf("v6=%v: RST flags %v seq %#x ports %d>%d", v6, tcp.Flags(), tcp.Seq(), tcp.SrcPort(), tcp.DstPort())
		}
	}
}

// answer builds the segment a server sends back to p.
func answer(p *Probe, flags wire.TCPFlags, ack uint32, opts func(*wire.OptionBuilder)) []byte {
	var ob wire.OptionBuilder
	if opts != nil {
		opts(&ob)
	}
	f := wire.TCPFields{SrcPort: p.DstPort, DstPort: p.SrcPort, Seq: 99, Ack: ack, Flags: flags, Window: 65535}
	b := make([]byte, 20+ob.Len())
	wire.EncodeTCP(b, &f, ob.Bytes())
	return b
}

func mpc(version uint8, flags wire.MPCapableFlags) func(*wire.OptionBuilder) {
	return func(ob *wire.OptionBuilder) {
		_ = ob.AddMSS(1460)
		_ = ob.AddMPCapable(&wire.MPCapable{Form: wire.MPCapableSYNACK, Version: version, Flags: flags, SenderKey: 42})
	}
}

func TestClassifyTCP(t *testing.T) {
	p := testProbe(t, false, false)
	ok := p.ISN + 1
	H, A, C := wire.MPCapableHMACSHA256, wire.MPCapableChecksum, wire.MPCapableDenyJoinID0
	for _, c := range []struct {
		name    string
		seg     []byte
		match   bool
		verdict Verdict
		flags   wire.MPCapableFlags
		reason  string
	}{
		{"v1", answer(p, wire.FlagSYN|wire.FlagACK, ok, mpc(1, H)), true, VerdictMPTCPv1, H, "with MP_CAPABLE"},
		{"v1 A C", answer(p, wire.FlagSYN|wire.FlagACK, ok, mpc(1, A|C|H)), true, VerdictMPTCPv1, A | C | H, ""},
		{"v0", answer(p, wire.FlagSYN|wire.FlagACK, ok, mpc(0, H)), true, VerdictMPTCPv0, H, ""},
		{"future version", answer(p, wire.FlagSYN|wire.FlagACK, ok, mpc(2, H)), true, Verdict("mptcp-v2"), H, ""},
		{"plain", answer(p, wire.FlagSYN|wire.FlagACK, ok, func(ob *wire.OptionBuilder) { _ = ob.AddMSS(1460) }), true, VerdictTCPOnly, 0, "without MP_CAPABLE"},
		{"malformed MP_CAPABLE", answer(p, wire.FlagSYN|wire.FlagACK, ok, func(ob *wire.OptionBuilder) {
			// A SYN-form (4-byte) MP_CAPABLE on a SYN/ACK: RFC 8684 wants 12.
			_ = ob.AddMPCapable(&wire.MPCapable{Form: wire.MPCapableSYN, Version: 1, Flags: H})
		}), true, VerdictTCPOnly, 0, "malformed MP_CAPABLE"},
		{"RST", answer(p, wire.FlagRST|wire.FlagACK, ok, nil), true, VerdictClosed, 0, "RST"},
		{"RST without ACK", answer(p, wire.FlagRST, 0, nil), false, "", 0, ""},
		{"SYN/ACK for another SYN", answer(p, wire.FlagSYN|wire.FlagACK, ok+1, mpc(1, H)), false, "", 0, ""},
		{"RST for another SYN", answer(p, wire.FlagRST|wire.FlagACK, p.ISN, nil), false, "", 0, ""},
		{"simultaneous open", answer(p, wire.FlagSYN, 0, nil), false, "", 0, ""},
		{"plain ACK", answer(p, wire.FlagACK, ok, nil), false, "", 0, ""},
		{"short", []byte{1, 2, 3}, false, "", 0, ""},
	} {
		a, match := ClassifyTCP(p, c.seg)
		if match != c.match || a.Verdict != c.verdict || !strings.Contains(a.Reason, c.reason) {
			t.Errorf("%s: match %v verdict %q reason %q; want %v %q containing %q", c.name, match, a.Verdict, a.Reason, c.match, c.verdict, c.reason)
			continue
		}
		if c.verdict.IsMPTCP() != (a.MPTCP != nil) || (a.MPTCP != nil && a.MPTCP.Flags != c.flags) {
			t.Errorf("%s: MPTCP info %+v, want flags %v", c.name, a.MPTCP, c.flags)
		}
	}
	// A segment on other ports is not an answer.
	other := answer(p, wire.FlagSYN|wire.FlagACK, ok, nil)
	wire.TCP(other)[0] ^= 1
	if _, match := ClassifyTCP(p, other); match {
		t.Error("segment from another port taken as the answer")
	}
}

func TestMPTCPInfo(t *testing.T) {
	i := MPTCPInfo{Version: 1, Flags: wire.MPCapableChecksum | wire.MPCapableDenyJoinID0 | wire.MPCapableHMACSHA256}
	if !i.ChecksumRequired() || !i.DenyJoinInitialAddr() || i.HMAC() != "HMAC-SHA256" ||
		i.Describe() != "checksum required, no join to this address, HMAC-SHA256" {
		t.Errorf("%+v: %q", i, i.Describe())
	}
	if v0 := (MPTCPInfo{Version: 0, Flags: wire.MPCapableHMACSHA256}); v0.HMAC() != "HMAC-SHA1" {
		t.Errorf("v0 H means %s", v0.HMAC())
	}
	b, err := json.Marshal(i)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":1,"flags":"0xa1","flag_letters":"A|C|H","checksum_required":true,"deny_join_initial_addr":true,"hmac":"HMAC-SHA256"}`
	if string(b) != want {
		t.Errorf("JSON %s\nwant %s", b, want)
	}
}

func TestResultJSON(t *testing.T) {
	r := Result{Target: Target{them6, 443}, Verdict: VerdictMPTCPv1, MPTCP: &MPTCPInfo{Version: 1, Flags: wire.MPCapableHMACSHA256},
		From: them6, Reason: "SYN/ACK with MP_CAPABLE", RTT: 1500 * time.Microsecond, Attempts: 1}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"address":"2001:db8:2::7","port":443,"verdict":"mptcp-v1","mptcp":{"version":1,"flags":"0x01","flag_letters":"H","checksum_required":false,"deny_join_initial_addr":false,"hmac":"HMAC-SHA256"},"from":"2001:db8:2::7","reason":"SYN/ACK with MP_CAPABLE","rtt_ms":1.5,"attempts":1}`
	if string(b) != want {
		t.Errorf("JSON %s\nwant %s", b, want)
	}
	f := Result{Target: Target{them4, 80}, Verdict: VerdictFiltered, Reason: "no answer to 3 SYNs", Attempts: 3}
	b, _ = json.Marshal(f)
	if want := `{"address":"198.51.100.7","port":80,"verdict":"filtered","reason":"no answer to 3 SYNs","attempts":3}`; string(b) != want {
		t.Errorf("JSON %s\nwant %s", b, want)
	}
}

func TestICMPName(t *testing.T) {
	for _, c := range []struct {
		v6        bool
		typ, code uint8
		want      string
	}{
		{false, 3, 13, "ICMP unreachable (administratively prohibited)"},
		{false, 3, 99, "ICMP unreachable (code 99)"},
		{false, 11, 0, "ICMP time exceeded"},
		{true, 1, 1, "ICMPv6 unreachable (administratively prohibited)"},
		{true, 3, 0, "ICMPv6 time exceeded"},
		{true, 200, 1, "ICMPv6 type 200 code 1"},
	} {
		if got := ICMPName(c.v6, c.typ, c.code); got != c.want {
			t.Errorf("%v %d/%d: %q, want %q", c.v6, c.typ, c.code, got, c.want)
		}
	}
	a := ClassifyICMP(them4, false, 3, 13)
	if a.Verdict != VerdictFiltered || a.Reason != "ICMP unreachable (administratively prohibited) from 198.51.100.7" {
		t.Errorf("%+v", a)
	}
}

func TestResultString(t *testing.T) {
	r := Result{Target: Target{them4, 443}, Verdict: VerdictMPTCPv1, MPTCP: &MPTCPInfo{Version: 1, Flags: wire.MPCapableChecksum | wire.MPCapableHMACSHA256}}
	if got, want := r.String(), "198.51.100.7:443 mptcp-v1 (checksum required, HMAC-SHA256)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	r = Result{Target: Target{them6, 80}, Verdict: VerdictClosed, Reason: "RST"}
	if got, want := r.String(), "[2001:db8:2::7]:80 closed (RST)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
