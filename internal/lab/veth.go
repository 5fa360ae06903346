//go:build linux

package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Veth joins namespace a (interface aName) to b (interface bName) with a
// veth pair, gives each end its addresses and sets both up, failing the
// test on error. An address list is comma-separated CIDR addresses
// ("10.0.0.1/24,fd00::1/64") or empty; IPv6 ones skip duplicate address
// detection, so they are usable at once.
func Veth(t T, a Netns, aName, aAddrs string, b Netns, bName, bAddrs string) {
	t.Helper()
	a.Run(t, "ip", "link", "add", aName, "type", "veth", "peer", "name", bName, "netns", string(b))
	for _, end := range []struct {
		n          Netns
		ifc, addrs string
	}{{a, aName, aAddrs}, {b, bName, bAddrs}} {
		for addr := range strings.SplitSeq(end.addrs, ",") {
			if addr == "" {
				continue
			}
			args := []string{"ip", "addr", "add", addr, "dev", end.ifc}
			if strings.Contains(addr, ":") {
				args = append(args, "nodad")
			}
			end.n.Run(t, args...)
		}
		end.n.Run(t, "ip", "link", "set", end.ifc, "up")
	}
}

// Open opens the namespace's file (for setns, or kpm.Config.NetNS); the
// file is closed when the test ends.
func (n Netns) Open(t T) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("/run/netns", string(n)))
	if err != nil {
		t.Fatal(fmt.Errorf("lab: %w", err))
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// WaitFor polls cond every 50 ms until it holds or timeout passes, then
// fails the test with cond's last word on the state it saw. Tests use it
// for what the kernel does in its own time (an endpoint announced, a
// subflow joined), never to time anything.
func WaitFor(t T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(fmt.Sprintf("timed out after %v waiting for %s; last state:\n%s", timeout, what, state))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
