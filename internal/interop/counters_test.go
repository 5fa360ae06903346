//go:build linux

package interop

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mptcp-go/mptcp/internal/lab"
)

// counters are MIB counters by the kernel's name, MPTcpExt prefix
// dropped (MPCapableSYNRX); the kernel's other counters keep their full
// name (TcpExtTCPAbortOnData).
type counters map[string]int64

// kernelCounters reads the namespace's counters.
func kernelCounters(t *testing.T, n lab.Netns) counters {
	t.Helper()
	raw, err := n.Nstat()
	if err != nil {
		t.Fatal(err)
	}
	c := make(counters, len(raw))
	for k, v := range raw {
		c[strings.TrimPrefix(k, "MPTcpExt")] = int64(v)
	}
	return c
}

func (e *env) ourCounters() counters {
	c := make(counters)
	for k, v := range e.st.MIB().Map(true) {
		c[k] = int64(v)
	}
	return c
}

// sub returns c - before, counter by counter.
func (c counters) sub(before counters) counters {
	d := make(counters, len(c))
	for k, v := range c {
		d[k] = v - before[k]
	}
	return d
}

// String lists the non-zero counters, sorted, leaving out the IP, ICMP
// and UDP ones, which say nothing about MPTCP.
func (c counters) String() string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(c)) {
		if strings.HasPrefix(k, "Ip") || strings.HasPrefix(k, "Icmp") || strings.HasPrefix(k, "Udp") {
			continue
		}
		if c[k] != 0 {
			fmt.Fprintf(&b, " %s=%d", k, c[k])
		}
	}
	return strings.TrimSpace(b.String())
}

// healthy are the counters that no case expects to move unless it says
// so: corruption, contradicting mappings, failed HMACs, fallbacks,
// resets, infinite mappings.
var healthy = []string{
	"DataCsumErr=0", "DSSNotMatching=0", "DSSNoMatchTCP=0",
	"DSSCorruptionFallback=0", "DSSCorruptionReset=0",
	"InfiniteMapTx=0", "InfiniteMapRx=0", "MPFailTx=0", "MPFailRx=0",
	"MPJoinSynAckHMacFailure=0", "MPJoinAckHMacFailure=0", "MPJoinNoTokenFound=0",
	"MPCapableFallbackACK=0", "MPCapableFallbackSYNACK=0", "MPCapableDataFallback=0",
	"DssFallback=0", "FallbackFailed=0",
	"MPFastcloseTx=0", "MPFastcloseRx=0", "MPRstTx=0", "MPRstRx=0",
	"AddAddrTxDrop=0", "EchoAddTxDrop=0", "RmAddrTxDrop=0",
}

// oursHealthy adds what only our side must never count: data dropped
// beyond the window we advertised (finding F5, fixed in 592df78).
var oursHealthy = []string{"NoDSSInWindow=0"}

// kernelHealthy are kernel TCP counters a clean case never moves.
var kernelHealthy = []string{
	"TcpInCsumErrors=0", "TcpInErrs=0", "TcpEstabResets=0",
	"TcpExtTCPAbortOnData=0", "TcpExtTCPAbortOnClose=0",
}

// rule is one expectation on a counter's change: Name=N, Name>=N or
// Name<=N.
type rule struct {
	name string
	op   string
	n    int64
}

func parseRule(s string) (rule, error) {
	for _, op := range []string{">=", "<=", "="} {
		if name, v, ok := strings.Cut(s, op); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || name == "" {
				break
			}
			return rule{name, op, n}, nil
		}
	}
	return rule{}, fmt.Errorf("bad counter rule %q", s)
}

func (r rule) holds(v int64) bool {
	switch r.op {
	case ">=":
		return v >= r.n
	case "<=":
		return v <= r.n
	}
	return v == r.n
}

// expect checks a counters' change against rules; a later rule on a
// name replaces an earlier one, so a case overrides the healthy
// defaults by naming the counter again.
func expect(t *testing.T, who string, d counters, rules ...[]string) {
	t.Helper()
	byName := map[string]rule{}
	var order []string
	for _, rs := range rules {
		for _, s := range rs {
			r, err := parseRule(s)
			if err != nil {
				t.Fatal(err)
			}
			if _, seen := byName[r.name]; !seen {
				order = append(order, r.name)
			}
			byName[r.name] = r
		}
	}
	bad := false
	for _, name := range order {
		r := byName[name]
		v, ok := d[name]
		if !ok {
			t.Errorf("%s: no counter %s", who, name)
			bad = true
			continue
		}
		if !r.holds(v) {
			t.Errorf("%s: %s moved by %d, want %s%d", who, name, v, r.op, r.n)
			bad = true
		}
	}
	if bad || testing.Verbose() {
		t.Logf("%s counters moved: %v", who, d)
	}
}

// checkKernel checks what the kernel's counters say happened on its side
// since the case began.
func (e *env) checkKernel(rules ...string) {
	e.t.Helper()
	d := kernelCounters(e.t, e.kern).sub(e.kernBefore)
	// NoDSSInWindow: what we sent beyond the kernel's window, dropped
	// (finding F6, fixed in bfef9db).
	extra := []string{"NoDSSInWindow=0"}
	expect(e.t, "kernel", d, healthy, kernelHealthy, extra, rules)
}

// checkOurs checks our stack's counters since the case began.
func (e *env) checkOurs(rules ...string) {
	e.t.Helper()
	d := e.ourCounters().sub(e.ourBefore)
	expect(e.t, "ours", d, healthy, oursHealthy, rules)
}
