//go:build linux

package interop

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mptcp-go/mptcp/internal/lab"
)

// The kernel here has no netem; nftables in the kernel's namespace
// stands in for it: a rule that drops (or changes) a share of a path's
// packets, with a counter of what it did.

// nftTable is the table a case's rules live in, in the kernel's
// namespace (which the case owns: the namespace and its rules go with it).
const nftTable = "interop"

// needTools skips the test, saying why, unless the tools named are
// installed (as, and Debian's package holding each).
func needTools(t *testing.T, tools ...[2]string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool[0]); err != nil {
			t.Skipf("needs %s (apt-get install -y %s): %v", tool[0], tool[1], err)
		}
	}
}

var (
	nftTool     = [2]string{"nft", "nftables"}
	ethtoolTool = [2]string{"ethtool", "ethtool"}
)

// nft runs nft in the kernel's namespace.
func (e *env) nft(args ...string) {
	e.t.Helper()
	if _, err := e.kern.Exec(append([]string{"nft"}, args...)...); err != nil {
		e.t.Fatal(err)
	}
}

// lossy drops one packet in oneIn (every oneIn-th, so that a case moving
// enough packets is sure to lose some) of those the kernel sends from and
// receives at its address on path n: both directions of the subflows that
// use it, data and other packets counted apart. The path's interfaces stop
// offloading segmentation, so that the packets are the wire's, not
// super-packets of tens of segments.
func (e *env) lossy(n, oneIn int) {
	e.t.Helper()
	for _, ns := range []lab.Netns{e.tp.Client, e.tp.Server} {
		if out, err := ns.Command("ethtool", "-K", e.path(n).ClientIf, "tso", "off", "gso", "off", "gro", "off").CombinedOutput(); err != nil && !strings.Contains(string(out), "Actual changes") {
			e.t.Fatalf("ethtool in %s: %v: %s", ns, err, out)
		}
	}
	proto := "ip"
	if e.v6 {
		proto = "ip6"
	}
	addr := e.kernAddr(n).String()
	e.nft("add", "table", "inet", nftTable)
	for _, hook := range []string{"input", "output"} {
		e.nft("add", "chain", "inet", nftTable, hook, fmt.Sprintf("{ type filter hook %s priority 0; }", hook))
		match := "daddr"
		if hook == "output" {
			match = "saddr"
		}
		// Two rules, two counters: data segments, then the others
		// (pure ACKs are at most 80 bytes long, IP header included).
		for _, size := range []string{"> " + dataOver, "<= " + dataOver} {
			e.nft("add", "rule", "inet", nftTable, hook, proto, match, addr, "meta", "l4proto", "tcp",
				"meta", "length", size, "numgen", "inc", "mod", strconv.Itoa(oneIn), "==", "0", "counter", "drop")
		}
	}
}

// dataOver is the length beyond which lossy counts a packet as data.
const dataOver = "140"

var nftPackets = regexp.MustCompile(`counter packets (\d+)`)

// nftCounts returns the packet counts of the counters in a chain of the
// case's table, in rule order.
func (e *env) nftCounts(chain string) []int {
	e.t.Helper()
	out, err := e.kern.Exec("nft", "list", "chain", "inet", nftTable, chain)
	if err != nil {
		e.t.Fatal(err)
	}
	var n []int
	for _, m := range nftPackets.FindAllStringSubmatch(out, -1) {
		k, _ := strconv.Atoi(m[1])
		n = append(n, k)
	}
	return n
}

// TestLossyPath: two paths, one of which loses 2% of its packets (every
// 50th data segment, every 50th other packet) in both directions (the other is limited to 10 Mbit/s, so that
// both sides send much over the lossy one), both ways: 1 MiB each way
// arrives byte for byte over both subflows, and each side's lost data is
// sent again by its subflow over the lossy path.
func TestLossyPath(t *testing.T) {
	t.Parallel() // with the other top-level parallel cases, after the rest
	for _, sd := range sides {
		t.Run(sd.String(), func(t *testing.T) {
			t.Parallel()
			needTools(t, nftTool, ethtoolTool)
			e := newEnv(t, envConfig{side: sd, paths: 2, links: []lab.LinkConfig{{Rate: 10_000_000}}})
			// The join's kernel end is its path-2 address: announced to
			// our client, or the source of the kernel client's subflow.
			if sd == ourClient {
				e.endpoint("signal")
			} else {
				e.endpoint("subflow")
			}
			e.lossy(2, 50)
			cs := e.connect(connOpts{})
			x := e.startMultipath(cs, 2)
			if err := x.exchange(size); err != nil {
				e.failed(cs, err)
			}
			ci := cs.ours.Info()
			logInfo(t, cs.ours)
			subflowsCarried(t, ci)
			js := joinSubflow(t, ci)
			e.close(cs, x)
			// [data, others] the kernel received (ours) and sent.
			in, out := e.nftCounts("input"), e.nftCounts("output")
			t.Logf("dropped on path 2: %v of our packets (data, others), %v of the kernel's; our subflow there retransmitted %d segments", in, out, js.Retransmits)
			if len(in) != 2 || len(out) != 2 || in[0] == 0 || out[0] == 0 {
				t.Fatalf("the lossy path dropped %v of our packets and %v of the kernel's; want data each way", in, out)
			}
			if js.Retransmits == 0 {
				t.Error("our subflow over the lossy path retransmitted nothing")
			}
			// Data our subflow over the lossy path still held may have
			// gone again over the other (a tail copy or a reinjection)
			// and completed the connection: the originals then reach a
			// kernel subflow that is closed, which resets it
			// (TCPAbortOnData), as Linux's own reinjections make it do.
			abort := "TcpExtTCPAbortOnData=0"
			if e.ourCounters().sub(e.ourBefore)["MPTCPRetrans"] > 0 {
				abort = "TcpExtTCPAbortOnData<=1"
			}
			e.checkKernel("TcpRetransSegs>=1", abort)
			e.checkOurs()
			e.stop()
			e.finish()
		})
	}
}
