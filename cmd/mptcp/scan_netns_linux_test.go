//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/internal/scantest"
)

// runIn runs the mptcp command in process, with its sockets in namespace n.
func runIn(t *testing.T, n lab.Netns, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	if err := n.Do(func() error {
		code = run(args, &o, &e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return code, o.String(), e.String()
}

// TestScanCommand runs "mptcp scan" against the kernel servers of the test
// topology, in JSON and in text, and "mptcp scan --path" through the
// routers.
func TestScanCommand(t *testing.T) {
	tp := scantest.New(t)
	fast := []string{"--timeout", "300ms", "--retries", "1", "--rate", "0"}
	for _, v6 := range []bool{false, true} {
		ad := tp.Addrs(v6)
		host := func(a fmt.Stringer) string {
			if v6 {
				return "[" + a.String() + "]"
			}
			return a.String()
		}
		args := append([]string{"scan", "--json", "--ports", fmt.Sprintf("%d-%d", scantest.PortMPTCP, scantest.PortDropped)}, fast...)
		args = append(args, ad.A.String(), fmt.Sprintf("%s:%d", host(ad.C), scantest.PortMPTCP), fmt.Sprintf("%s:%d", host(ad.K), scantest.PortMPTCP))
		code, out, errOut := runIn(t, tp.Scanner, args...)
		if code != 0 || errOut != "" {
			t.Fatalf("%q: exit %d, stderr %q", args, code, errOut)
		}
		want := []struct {
			port    int
			verdict string
			letters string
		}{
			{scantest.PortMPTCP, "mptcp-v1", "H"}, {scantest.PortTCP, "tcp-only", ""}, {scantest.PortClosed, "closed", ""},
			{scantest.PortDropped, "filtered", ""}, {scantest.PortMPTCP, "mptcp-v1", "C|H"}, {scantest.PortMPTCP, "mptcp-v1", "A|H"},
		}
		t.Logf("mptcp scan --json:\n%s", out)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(want) {
			t.Fatalf("%d JSON lines, want %d:\n%s", len(lines), len(want), out)
		}
		for i, l := range lines {
			var r struct {
				Port    int
				Verdict string
				MPTCP   *struct {
					FlagLetters string `json:"flag_letters"`
				}
			}
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatalf("line %d: %v: %s", i, err, l)
			}
			w := want[i]
			if r.Port != w.port || r.Verdict != w.verdict || (w.letters != "") != (r.MPTCP != nil) || (r.MPTCP != nil && r.MPTCP.FlagLetters != w.letters) {
				t.Errorf("line %d: %s\nwant port %d %s flags %q", i, l, w.port, w.verdict, w.letters)
			}
		}

		// The same scan as text, as the documentation shows it.
		code, out, _ = runIn(t, tp.Scanner, append(append([]string{"scan", "--ports", "8001-8004"}, fast...),
			ad.A.String(), fmt.Sprintf("%s:%d", host(ad.C), scantest.PortMPTCP), fmt.Sprintf("%s:%d", host(ad.K), scantest.PortMPTCP),
			fmt.Sprintf("%s:%d", host(ad.A), scantest.PortStripR1), fmt.Sprintf("%s:%d", host(ad.A), scantest.PortV0))...)
		t.Logf("mptcp scan (exit %d):\n%s", code, out)
		words := strings.Join(strings.Fields(out), " ")
		for _, s := range []string{"8001 mptcp-v1 H HMAC-SHA256", "8001 mptcp-v1 C|H no join to this address, HMAC-SHA256",
			"8001 mptcp-v1 A|H checksum required, HMAC-SHA256", "8010 mptcp-v0 H HMAC-SHA1", "8003 closed - RST",
			"8004 filtered - no answer to 2 SYNs", "8006 tcp-only - SYN/ACK without MP_CAPABLE",
			"8 of 8 targets: 3 mptcp-v1, 1 mptcp-v0, 2 tcp-only, 1 closed, 1 filtered"} {
			if !strings.Contains(words, s) {
				t.Errorf("text output lacks %q", s)
			}
		}

		// The path to the port whose SYNs R1 strips of MP_CAPABLE.
		target := fmt.Sprintf("%s:%d", host(ad.A), scantest.PortStripR1)
		code, out, errOut = runIn(t, tp.Scanner, append(append([]string{"scan", "--path", "--max-ttl", "5"}, fast...), target)...)
		t.Logf("mptcp scan --path %s (exit %d):\n%s", target, code, out)
		wantHop2 := fmt.Sprintf("MP_CAPABLE removed (replaced by NOPs): between hop 1 (%v) and hop 2 (%v)", ad.R1, ad.R2)
		if code != 0 || errOut != "" || !strings.Contains(out, wantHop2) || !strings.Contains(out, "verdict: tcp-only") {
			t.Errorf("--path: exit %d stderr %q; output lacks %q", code, errOut, wantHop2)
		}
		code, out, _ = runIn(t, tp.Scanner, append(append([]string{"scan", "--path", "--json", "--max-ttl", "5"}, fast...), target)...)
		t.Logf("mptcp scan --path --json:\n%s", out)
		var pr struct {
			Reached  bool
			Verdict  string
			Hops     []json.RawMessage
			Findings []struct {
				Change struct{ Kind string }
				Hop    int
				After  int
			}
		}
		if err := json.Unmarshal([]byte(out), &pr); err != nil || code != 0 {
			t.Fatalf("--path --json: exit %d, %v: %s", code, err, out)
		}
		if !pr.Reached || pr.Verdict != "tcp-only" || len(pr.Hops) != 3 || len(pr.Findings) != 1 ||
			pr.Findings[0].Change.Kind != "mptcp-removed" || pr.Findings[0].Hop != 2 || pr.Findings[0].After != 1 {
			t.Errorf("--path --json: %s", out)
		}
	}
	// A path where R1 clamps the MSS of SYNs.
	mssTarget := fmt.Sprintf("%s:%d", tp.Addrs(false).A, scantest.PortMSSClamp)
	code, out, _ := runIn(t, tp.Scanner, append(append([]string{"scan", "--path", "--max-ttl", "5"}, fast...), mssTarget)...)
	t.Logf("mptcp scan --path %s (exit %d):\n%s", mssTarget, code, out)
	if want := fmt.Sprintf("MSS 1460 -> %d: between hop 1 (10.9.1.1) and hop 2 (10.9.2.2)", scantest.ClampedMSS); !strings.Contains(out, want) {
		t.Errorf("MSS clamp: output lacks %q", want)
	}
	// A path the last router strips: the quotes cannot tell where.
	code, out, _ = runIn(t, tp.Scanner, append(append([]string{"scan", "--path", "--max-ttl", "5"}, fast...),
		fmt.Sprintf("%s:%d", tp.Addrs(false).A, scantest.PortStripR2))...)
	t.Logf("mptcp scan --path (exit %d):\n%s", code, out)
	if !strings.Contains(out, "quotes cannot tell which") {
		t.Errorf("the last router's stripping is not reported as undetectable")
	}
}
