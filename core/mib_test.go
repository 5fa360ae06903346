package core

import (
	"os"
	"strings"
	"testing"
)

func TestCounterNames(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Counters() {
		n := c.String()
		if n == "" || strings.HasPrefix(n, "Counter(") {
			t.Fatalf("counter %d has no name", c)
		}
		if seen[n] {
			t.Fatalf("name %s used twice", n)
		}
		seen[n] = true
		if got, ok := CounterByName(n); !ok || got != c {
			t.Errorf("CounterByName(%q) = %v, %v", n, got, ok)
		}
	}
	if !MPJoinSynAckHMacFailure.Kernel() || AddAddrHMacFailure.Kernel() {
		t.Error("Kernel() misclassifies counters")
	}
}

// TestCounterNamesMatchKernel compares the kernel counters with the names
// the running kernel prints, when it has MPTCP.
func TestCounterNamesMatchKernel(t *testing.T) {
	b, err := os.ReadFile("/proc/net/netstat")
	if err != nil {
		t.Skipf("no /proc/net/netstat: %v", err)
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "MPTcpExt:") {
			names = strings.Fields(line)[1:]
			break
		}
	}
	if len(names) == 0 {
		t.Skip("kernel prints no MPTcpExt counters")
	}
	for _, n := range names {
		if _, ok := CounterByName(n); !ok {
			t.Errorf("kernel counter %s missing", n)
		}
	}
}

func TestMIBSnapshot(t *testing.T) {
	var m MIB
	m.Inc(DSSNotMatching)
	before := m.Snapshot()
	m.Add(DSSNotMatching, 2)
	m.Inc(MPCurrEstab)
	m.Dec(MPCurrEstab)
	m.Dec(MPCurrEstab) // gauges never go below zero
	d := m.Snapshot().Sub(before)
	if d.Get(DSSNotMatching) != 2 || m.Get(DSSNotMatching) != 3 || m.Get(MPCurrEstab) != 0 {
		t.Fatalf("counts wrong: %v", m.Snapshot().Map(false))
	}
	if s := m.Snapshot().String(); !strings.Contains(s, "MPTcpExtDSSNotMatching") || !strings.Contains(s, " 3\n") {
		t.Errorf("String() = %q", s)
	}
	if len(m.Snapshot().Map(true)) != int(numCounters) {
		t.Error("Map(true) does not list every counter")
	}
}
