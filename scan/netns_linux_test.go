//go:build linux

package scan_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/internal/scantest"
	"github.com/mptcp-go/mptcp/scan"
	"github.com/mptcp-go/mptcp/wire"
)

// openIn opens a scanner whose sockets live in the namespace n.
func openIn(t *testing.T, n lab.Netns, cfg scan.Config) *scan.Scanner {
	t.Helper()
	cfg.IPv4, cfg.IPv6 = true, true
	var s *scan.Scanner
	if err := n.Do(func() (err error) {
		s, err = scan.Open(cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testConfig keeps the filtered cases short: the topology answers in
// microseconds, so 300 ms is ample.
var testConfig = scan.Config{Timeout: 300 * time.Millisecond, Retries: 1, Concurrency: 8, Rate: 500, MaxTTL: 6}

// TestScanVerdicts scans every case of the topology, over IPv4 and IPv6,
// and checks each verdict and MP_CAPABLE flag against the Linux kernel
// servers.
func TestScanVerdicts(t *testing.T) {
	tp := scantest.New(t)
	s := openIn(t, tp.Scanner, testConfig)
	type want struct {
		verdict scan.Verdict
		flags   wire.MPCapableFlags // for MPTCP verdicts
	}
	H, A, C := wire.MPCapableHMACSHA256, wire.MPCapableChecksum, wire.MPCapableDenyJoinID0
	for _, v6 := range []bool{false, true} {
		ad := tp.Addrs(v6)
		cases := map[scan.Target]want{
			{Addr: ad.A, Port: scantest.PortMPTCP}:    {scan.VerdictMPTCPv1, H},
			{Addr: ad.A, Port: scantest.PortTCP}:      {scan.VerdictTCPOnly, 0},
			{Addr: ad.A, Port: scantest.PortClosed}:   {scan.VerdictClosed, 0},
			{Addr: ad.A, Port: scantest.PortDropped}:  {scan.VerdictFiltered, 0},
			{Addr: ad.A, Port: scantest.PortRejected}: {scan.VerdictFiltered, 0},
			{Addr: ad.C, Port: scantest.PortMPTCP}:    {scan.VerdictMPTCPv1, C | H},
			{Addr: ad.K, Port: scantest.PortMPTCP}:    {scan.VerdictMPTCPv1, A | H},
			{Addr: ad.A, Port: scantest.PortStripR1}:  {scan.VerdictTCPOnly, 0},
			{Addr: ad.A, Port: scantest.PortV0}:       {scan.VerdictMPTCPv0, H},
		}
		var targets []scan.Target
		for tg := range cases {
			targets = append(targets, tg)
		}
		var got []scan.Result
		if err := s.Scan(context.Background(), targets, func(r scan.Result) { got = append(got, r) }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(targets) {
			t.Fatalf("v6=%v: %d results for %d targets", v6, len(got), len(targets))
		}
		for i, r := range got {
			if r.Target != targets[i] {
				t.Errorf("result %d is for %v, want %v (results must come in target order)", i, r.Target, targets[i])
			}
			w := cases[r.Target]
			if r.Verdict != w.verdict {
				t.Errorf("%v: verdict %s (%s), want %s", r.Target, r.Verdict, r.Reason, w.verdict)
				continue
			}
			switch {
			case r.Verdict.IsMPTCP():
				if r.MPTCP == nil || r.MPTCP.Flags != w.flags {
					t.Errorf("%v: MPTCP info %+v, want flags %v", r.Target, r.MPTCP, w.flags)
				}
			case r.MPTCP != nil:
				t.Errorf("%v: %s with MPTCP info %+v", r.Target, r.Verdict, r.MPTCP)
			}
			switch {
			case r.Port == scantest.PortDropped:
				if r.Attempts != 2 || r.From.IsValid() {
					t.Errorf("%v: filtered after %d attempts, answered by %v; want 2 unanswered attempts", r.Target, r.Attempts, r.From)
				}
			case r.Port == scantest.PortRejected:
				if !strings.Contains(r.Reason, "administratively prohibited") {
					t.Errorf("%v: reason %q, want an ICMP administratively prohibited", r.Target, r.Reason)
				}
				fallthrough
			default:
				if r.From != r.Addr || r.Attempts != 1 {
					t.Errorf("%v: answered by %v after %d attempts, want the target after 1", r.Target, r.From, r.Attempts)
				}
			}
		}
	}
	// The probes reset every half-open connection they made: no listener
	// is left with a connection in SYN-RECV.
	for _, n := range []lab.Netns{tp.A, tp.C, tp.K} {
		if out := n.Run(t, "ss", "-Htn", "state", "syn-recv"); strings.TrimSpace(out) != "" {
			t.Errorf("%s has half-open connections left:\n%s", n, out)
		}
	}
}

// TestScanV0 sends version 0 MP_CAPABLE SYNs: Linux speaks only version 1
// and answers them as plain TCP (RFC 8684 section 3.1 lets a host ignore a
// version it does not support), while the v0 stub answers in version 0.
func TestScanV0(t *testing.T) {
	tp := scantest.New(t)
	cfg := testConfig
	cfg.V0 = true
	s := openIn(t, tp.Scanner, cfg)
	for _, v6 := range []bool{false, true} {
		ad := tp.Addrs(v6)
		for tg, want := range map[scan.Target]scan.Verdict{
			{Addr: ad.A, Port: scantest.PortMPTCP}: scan.VerdictTCPOnly,
			{Addr: ad.A, Port: scantest.PortV0}:    scan.VerdictMPTCPv0,
		} {
			if r := s.Probe(context.Background(), tg); r.Verdict != want {
				t.Errorf("--v0 %v: %s (%s), want %s", tg, r.Verdict, r.Reason, want)
			}
		}
	}
}

// TestPath probes the paths through the two routers and checks where each
// change is found.
func TestPath(t *testing.T) {
	tp := scantest.New(t)
	s := openIn(t, tp.Scanner, testConfig)
	for _, v6 := range []bool{false, true} {
		ad := tp.Addrs(v6)
		name := map[bool]string{false: "IPv4", true: "IPv6"}[v6]
		path := func(port uint16) scan.PathResult {
			r := s.Path(context.Background(), scan.Target{Addr: ad.A, Port: port}, nil)
			for _, h := range r.Hops {
				t.Logf("%s port %d hop %d %s from %v quote %+v answer %+v", name, port, h.TTL, h.Kind, h.From, h.Quote, h.Answer)
			}
			return r
		}
		checkHops := func(r scan.PathResult, final scan.Verdict) {
			t.Helper()
			if len(r.Hops) != 3 {
				t.Fatalf("%s port %d: %d hops, want 3", name, r.Port, len(r.Hops))
			}
			for i, from := range []netip.Addr{ad.R1, ad.R2} {
				h := r.Hops[i]
				if h.Kind != scan.HopTimeExceeded || h.From != from || h.Quote == nil || h.Quote.Coverage != wire.CoverageFullHeader {
					t.Errorf("%s port %d hop %d: %s from %v, quote %+v; want time-exceeded from %v quoting the full header",
						name, r.Port, h.TTL, h.Kind, h.From, h.Quote, from)
				}
			}
			if h := r.Hops[2]; h.Kind != scan.HopDestination || h.From != ad.A || r.Final == nil || r.Final.Verdict != final {
				t.Errorf("%s port %d hop 3: %s from %v, final %+v; want the destination answering %s", name, r.Port, h.Kind, h.From, r.Final, final)
			}
		}

		// A clean path: nothing changes, the destination speaks MPTCP.
		r := path(scantest.PortMPTCP)
		checkHops(r, scan.VerdictMPTCPv1)
		if len(r.Findings) != 0 {
			t.Errorf("%s clean path: findings %+v", name, r.Findings)
		}

		// R1 strips option 30: hop 2 (R2) is the first to quote the SYN
		// without MP_CAPABLE, so the change is between hop 1 and hop 2.
		r = path(scantest.PortStripR1)
		checkHops(r, scan.VerdictTCPOnly)
		if len(r.Findings) != 1 || r.Findings[0].Change.Kind != scan.ChangeMPTCPRemoved || r.Findings[0].Hop != 2 || r.Findings[0].After != 1 {
			t.Errorf("%s stripping R1: findings %+v, want MP_CAPABLE removed between hop 1 and hop 2", name, r.Findings)
		} else if note := r.Findings[0].Change.Note; note != "replaced by NOPs" {
			t.Errorf("%s stripping R1: note %q, want replaced by NOPs (TCPOPTSTRIP overwrites)", name, note)
		}
		if h := r.Hops[0]; h.Quote != nil && len(h.Quote.Changes) != 0 {
			t.Errorf("%s stripping R1: hop 1 quote shows changes %v", name, h.Quote.Changes)
		}

		// R2, the last router, strips option 30: every quote is intact, the
		// destination answers without MPTCP, and the probe says it cannot
		// tell where.
		r = path(scantest.PortStripR2)
		checkHops(r, scan.VerdictTCPOnly)
		if len(r.Findings) != 0 || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "cannot tell") {
			t.Errorf("%s stripping R2: findings %+v notes %q; want no finding and a note that quotes cannot tell", name, r.Findings, r.Notes)
		}

		// R1 clamps the MSS.
		r = path(scantest.PortMSSClamp)
		checkHops(r, scan.VerdictMPTCPv1)
		if len(r.Findings) != 1 || r.Findings[0].Change.Kind != scan.ChangeMSS || r.Findings[0].Hop != 2 || r.Findings[0].Change.Seen != "1200" {
			t.Errorf("%s MSS clamp: findings %+v, want MSS -> 1200 at hop 2", name, r.Findings)
		}

		// A rejected port: the destination's ICMP error ends the path.
		r = path(scantest.PortRejected)
		if n := len(r.Hops); n != 3 || r.Final != nil || r.Hops[2].Kind != scan.HopUnreachable || r.Hops[2].From != ad.A ||
			!strings.Contains(r.Hops[2].ICMP, "administratively prohibited") {
			t.Errorf("%s rejected: %d hops, final %+v; want hop 3 unreachable from the destination", name, n, r.Final)
		}

		// A dropped port: two routers answer, then silence up to the TTL limit.
		r = path(scantest.PortDropped)
		if r.Final != nil || len(r.Hops) != testConfig.MaxTTL || r.Hops[2].Kind != scan.HopSilent || r.Hops[testConfig.MaxTTL-1].Kind != scan.HopSilent {
			t.Errorf("%s dropped: final %+v, %d hops; want no answer and %d hops, silent from hop 3", name, r.Final, len(r.Hops), testConfig.MaxTTL)
		}
	}
}
