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

// TestMPFail: a path changes the payload of one data segment while DSS
// checksums are on (RFC 8684 section 3.7). With another subflow up, the
// receiver closes the affected subflow with a RST carrying MP_FAIL and
// MP_TCPRST ("middlebox interference"), and the sender sends its data
// again on the other: 1 MiB each way arrives intact. Both ways: the
// kernel's data changed on its way to our client, ours on its way to the
// kernel's client.
//
// With a single subflow RFC 8684 has the sender answer MP_FAIL with an
// infinite mapping from the failed data on, sent again; Linux neither
// sends it again (its infinite mapping starts at its next new data) nor,
// as a receiver, discards what failed (it delivers it, changed), so the
// stream cannot arrive intact either way with the kernel, and no case
// here tries it.
func TestMPFail(t *testing.T) {
	for _, tc := range []struct {
		name string
		side side
		ours bool // our data is changed; else the kernel's
	}{
		{"OurClient/KernelDataChanged", ourClient, false},
		{"OurServer/OurDataChanged", ourServer, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			needTools(t, nftTool)
			e := newEnv(t, envConfig{side: tc.side, paths: 2, cfg: mptcp.Config{Checksum: true}})
			if tc.side == ourClient {
				e.endpoint("signal")
			} else {
				e.endpoint("subflow")
			}
			cs := e.connect(connOpts{})
			x := e.startMultipath(cs, 2)
			// The join is up: from now on, a data segment on it is changed.
			e.corrupt(2, tc.ours)
			if err := x.exchange(size); err != nil {
				e.failed(cs, err)
			}
			ci := cs.ours.Info()
			logInfo(t, cs.ours)
			if ci.FellBack || !ci.Checksum {
				t.Errorf("ours: fell back %v (%s), checksum %v; want checksummed MPTCP on", ci.FellBack, ci.FallbackReason, ci.Checksum)
			}
			if err := x.shutdown(); err != nil {
				e.failed(cs, err)
			}
			cs.kernel.Close()
			cs.ours.Close()
			waitClosed(t, cs.ours)
			hook := "output"
			if tc.ours {
				hook = "input"
			}
			if n := e.nftCounts(hook); len(n) != 1 || n[0] != 1 {
				t.Fatalf("the path changed %v packets, want one", n)
			}
			if tc.ours {
				e.checkKernel("DataCsumErr=1", "MPFailTx=1", "MPRstTx=1", "MPRstRx=0", "InfiniteMapRx=0", "TcpEstabResets=1")
				e.checkOurs("MPFailRx=1", "MPRstRx=1", "MPRstTx=0", "InfiniteMapTx=0")
			} else {
				e.checkOurs("DataCsumErr=1", "DSSCorruptionReset=1", "MPFailTx=1", "MPRstTx=1", "MPRstRx=0", "InfiniteMapRx=0")
				e.checkKernel("MPFailRx=1", "MPRstRx=1", "MPRstTx=0", "InfiniteMapTx=0", "TcpEstabResets=1")
			}
			e.stop()
			// On the wire: one RST with MP_FAIL and MP_TCPRST reason 6
			// (middlebox interference), from the receiver.
			from := e.fromUs()
			if tc.ours {
				from = e.fromKernel()
			}
			lines, ok := e.wire(fmt.Sprintf("tcp.flags.reset == 1 && tcp.options.mptcp.subtype == %d && %s", subMPFail, from), "tcp.options.mptcp.rst_reason")
			if ok && (len(lines) != 1 || lines[0] != "0x06") {
				t.Errorf("RSTs with MP_FAIL from the receiver: MP_TCPRST reasons %q; want one, reason 6", lines)
			}
			e.finish()
		})
	}
}
