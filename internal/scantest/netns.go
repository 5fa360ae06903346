//go:build linux

// Package scantest builds the network-namespace topology the prober's tests
// run in: a scanning host, two routers in a chain and three servers whose
// listeners are the Linux kernel itself. The namespaces are package lab's;
// it needs root, and Require skips a test that does not have it.
package scantest

import (
	"os/exec"
	"testing"

	"github.com/mptcp-go/mptcp/internal/lab"
)

// Require skips the test, saying why, unless the lab can run here and the
// iptables commands the servers' filters need are available.
func Require(t testing.TB) {
	t.Helper()
	lab.RequireMPTCP(t)
	for _, tool := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (apt-get install -y iptables): %v", tool, err)
		}
	}
}
