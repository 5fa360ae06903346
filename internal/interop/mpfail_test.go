//go:build linux

package interop

import (
	"fmt"
	"testing"

	"github.com/mptcp-go/mptcp"
)

// corrupt has nftables in the kernel's namespace flip the first two
// payload bytes of one data segment on the subflows of the kernel's
// path-n address: one the kernel sends (ours false) or one it receives
// (ours true). The TCP checksum stays good: the packets carry a partial
// checksum (CHECKSUM_PARTIAL), completed after the change (the kernel's
// own by its device, ours, super-packets of our TUN driver, trusted as
// the kernel trusts what it forwards); only the DSS checksum can tell.
func (e *env) corrupt(n int, ours bool) {
	e.t.Helper()
	proto := "ip"
	if e.v6 {
		proto = "ip6"
	}
	hook, match, size := "output", "saddr", "140"
	if ours {
		// Only our super-packets carry a partial checksum: a
		// single segment's, complete, would fail at TCP.
		hook, match, size = "input", "daddr", "1500"
	}
	e.nft("add", "table", "inet", nftTable)
	e.nft("add", "chain", "inet", nftTable, hook, fmt.Sprintf("{ type filter hook %s priority 0; }", hook))
	e.nft("add", "rule", "inet", nftTable, hook, proto, match, e.kernAddr(n).String(), "meta", "l4proto", "tcp",
		"meta", "length", ">", size, "limit", "rate", "1/hour", "burst", "1", "packets",
		"@ih,0,16", "set", "@ih,0,16", "^", "0xffff", "counter")
}

// TestMPFail: paths change the payload of a data segment while DSS
// checksums are on (RFC 8684 section 3.7): one of the kernel's, on the
// way to us, on path 2, and one of ours, on the way to the kernel, on
// path 3 (one connection for both directions, since each costs the suite
// a topology). With another subflow up, the receiver closes the affected
// subflow with a RST carrying MP_FAIL and MP_TCPRST ("middlebox
// interference"), and the sender sends its data again on the others: 1
// MiB each way arrives intact.
//
// With a single subflow RFC 8684 has the sender answer MP_FAIL with an
// infinite mapping from the failed data on, sent again; Linux neither
// sends it again (its infinite mapping starts at its next new data) nor,
// as a receiver, discards what failed (it delivers it, changed), so the
// stream cannot arrive intact either way with the kernel, and no case
// here tries it.
func TestMPFail(t *testing.T) {
	t.Parallel() // with the other top-level parallel cases, after the rest
	needTools(t, nftTool)
	e := newEnv(t, envConfig{side: ourClient, paths: 3, cfg: mptcp.Config{Checksum: true}})
	e.endpoints([]int{2, 3}, "signal")
	cs := e.connect(connOpts{})
	x := e.startMultipath(cs, 3)
	// The joins are up: from now on, a data segment on each is changed.
	e.corrupt(2, false)
	e.corrupt(3, true)
	if err := x.exchange(size); err != nil {
		e.failed(cs, err)
	}
	ci := cs.ours.Info()
	logInfo(t, cs.ours)
	if ci.FellBack || !ci.Checksum {
		t.Errorf("ours: fell back %v (%s), checksum %v; want checksummed MPTCP on", ci.FellBack, ci.FallbackReason, ci.Checksum)
	}
	e.close(cs, x)
	for _, hook := range []string{"output", "input"} {
		if n := e.nftCounts(hook); len(n) != 1 || n[0] != 1 {
			t.Fatalf("the path changed %v packets (%s), want one", n, hook)
		}
	}
	// Each side detects one failure and resets one subflow; each sees
	// the other's MP_FAIL and reset.
	fail := []string{"DataCsumErr=1", "MPFailTx=1", "MPRstTx=1", "MPFailRx=1", "MPRstRx=1", "InfiniteMapTx=0", "InfiniteMapRx=0"}
	e.checkKernel(append(fail, "TcpEstabResets>=1")...)
	e.checkOurs(append(fail, "DSSCorruptionReset=1")...)
	e.stop()
	// On the wire: one RST with MP_FAIL and MP_TCPRST reason 6 (middlebox
	// interference) each way.
	for who, from := range map[string]string{"us": e.fromUs(), "the kernel": e.fromKernel()} {
		lines, ok := e.wire(fmt.Sprintf("tcp.flags.reset == 1 && tcp.options.mptcp.subtype == %d && %s", subMPFail, from), "tcp.options.mptcp.rst_reason")
		if ok && (len(lines) != 1 || lines[0] != "0x06") {
			t.Errorf("RSTs with MP_FAIL from %s: MP_TCPRST reasons %q; want one, reason 6", who, lines)
		}
	}
	e.finish()
}
