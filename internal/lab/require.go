//go:build linux

package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// T is what the lab's test helpers (Require, TempNetns, Netns.Run, New)
// need of a test: *testing.T and *testing.B satisfy it. An interface
// rather than testing.TB keeps package testing out of the programs that
// build topologies (mptcp lab).
type T interface {
	Helper()
	Skip(args ...any)
	Fatal(args ...any)
	Error(args ...any)
	Cleanup(func())
}

// Require skips the test, saying why, unless the lab can run here.
func Require(t T) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
}

// RequireMPTCP is Require for tests that drive the kernel's MPTCP: it
// also skips, saying why, when the kernel has none.
func RequireMPTCP(t T) {
	t.Helper()
	Require(t)
	if _, err := os.Stat("/proc/sys/net/mptcp/enabled"); err != nil {
		t.Skip("lab: the kernel has no MPTCP (/proc/sys/net/mptcp missing)")
	}
}

// Available reports why the lab cannot run here, or nil: it needs root
// and the tools it drives, ip and tc and nstat (iproute2), sysctl (procps),
// and the TUN device.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("lab: needs root to create network namespaces, veth pairs and TUN devices")
	}
	for _, tool := range []string{"ip", "tc", "nstat", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("lab: needs %s (apt-get install -y iproute2 procps): %w", tool, err)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return fmt.Errorf("lab: needs the TUN device: %w", err)
	}
	return nil
}
