//go:build linux

// Package scantest builds the network-namespace topology the prober's tests
// run in: a scanning host, two routers in a chain and three servers whose
// listeners are the Linux kernel itself. It needs root; Require skips a
// test that does not have it.
package scantest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mptcp-go/mptcp/internal/lab"
)

// prefix starts the name of every namespace this package creates; the
// process id follows, so that namespaces left by a killed test run are
// recognised and removed by the next one.
const prefix = "mscan"

// Require skips the test unless it runs as root with the ip and iptables
// commands available.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and opens raw sockets")
	}
	for _, tool := range []string{"ip", "iptables", "ip6tables"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (apt-get install -y iproute2 iptables): %v", tool, err)
		}
	}
}

// Netns is a named network namespace.
type Netns string

var seq atomic.Int32

// NewNetns creates a uniquely named namespace with its loopback up, and
// removes it when the test ends, whether it passed, failed or panicked.
func NewNetns(t testing.TB, role string) Netns {
	t.Helper()
	removeStale()
	n := Netns(fmt.Sprintf("%s%d-%d%s", prefix, os.Getpid(), seq.Add(1), role))
	if out, err := exec.Command("ip", "netns", "add", string(n)).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", n, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", string(n)).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", n, err, out)
		}
	})
	n.Run(t, "ip", "link", "set", "lo", "up")
	// Interfaces created from now on use their IPv6 addresses, link-local
	// ones included, at once: a tentative link-local address delays
	// neighbour discovery by a second or more.
	n.Sysctl(t, "net.ipv6.conf.default.accept_dad", "0")
	n.Sysctl(t, "net.ipv6.conf.all.accept_dad", "0")
	return n
}

// removeStale deletes namespaces this package created in processes that
// no longer exist (a test binary killed by a timeout runs no cleanup).
func removeStale() {
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		pidStr, _, ok := strings.Cut(strings.TrimPrefix(name, prefix), "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid == os.Getpid() {
			continue
		}
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			_ = exec.Command("ip", "netns", "del", name).Run()
		}
	}
}

// Run runs a command inside the namespace and fails the test if it fails.
func (n Netns) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := n.Command(args...).CombinedOutput()
	if err != nil {
		t.Fatalf("in %s: %s: %v: %s", n, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Command returns a command that runs inside the namespace.
func (n Netns) Command(args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", string(n)}, args...)...)
}

// Sysctl sets a sysctl inside the namespace (never on the host).
func (n Netns) Sysctl(t testing.TB, key, value string) {
	t.Helper()
	n.Run(t, "sysctl", "-qw", key+"="+value)
}

// Do runs fn on an OS thread that has entered the namespace, as
// lab.Netns.Do does (the one implementation of it).
func (n Netns) Do(fn func() error) error { return lab.Netns(n).Do(fn) }

// Link joins two namespaces with a veth pair named ifA in a and ifB in b
// and gives each end its addresses (CIDR notation; IPv6 without duplicate
// address detection, so they are usable at once).
func Link(t testing.TB, a Netns, ifA string, addrsA []string, b Netns, ifB string, addrsB []string) {
	t.Helper()
	a.Run(t, "ip", "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", string(b))
	for _, x := range []struct {
		n     Netns
		ifc   string
		addrs []string
	}{{a, ifA, addrsA}, {b, ifB, addrsB}} {
		for _, addr := range x.addrs {
			args := []string{"ip", "addr", "add", addr, "dev", x.ifc}
			if strings.Contains(addr, ":") {
				args = append(args, "nodad")
			}
			x.n.Run(t, args...)
		}
		x.n.Run(t, "ip", "link", "set", x.ifc, "up")
	}
}
