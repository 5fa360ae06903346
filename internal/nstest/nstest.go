//go:build linux

// Package nstest creates network namespaces and veth links for tests that
// need the kernel: uniquely named, always removed, set up only through the
// "ip" tool as an administrator would. It serves the tests of kpm and of
// "mptcp pm"; it is not meant for other use.
package nstest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// prefix starts every namespace name this package creates; the process id
// follows, so that leftovers of a killed run can be told apart and removed.
const prefix = "kpmt-"

var seq atomic.Int64

// Require skips the test unless it runs as root with the ip tool and a
// kernel with MPTCP.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and drives the kernel's MPTCP")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip tool (iproute2)")
	}
	if _, err := os.Stat("/proc/sys/net/mptcp/enabled"); err != nil {
		t.Skip("the kernel has no MPTCP (/proc/sys/net/mptcp missing)")
	}
	removeStale()
}

// removeStale deletes namespaces left by test processes that no longer
// run (a test binary killed by its timeout skips its cleanups).
func removeStale() {
	ents, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if unix.Kill(pid, 0) == unix.ESRCH {
			exec.Command("ip", "netns", "del", e.Name()).Run()
		}
	}
}

// NS is a network namespace that lives as long as its test.
type NS struct {
	Name string
	t    testing.TB
}

// New creates a namespace with loopback up and registers its removal.
func New(t testing.TB, role string) *NS {
	t.Helper()
	name := fmt.Sprintf("%s%d-%d-%s", prefix, os.Getpid(), seq.Add(1), role)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	ns := &NS{Name: name, t: t}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	ns.MustRun("ip", "link", "set", "lo", "up")
	return ns
}

// Run runs a command inside the namespace and returns its combined output.
func (ns *NS) Run(args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name}, args...)...)
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return b.String(), err
}

// MustRun is Run that fails the test on error.
func (ns *NS) MustRun(args ...string) string {
	ns.t.Helper()
	out, err := ns.Run(args...)
	if err != nil {
		ns.t.Fatalf("in %s: %s: %v\n%s", ns.Name, strings.Join(args, " "), err, out)
	}
	return out
}

// Command returns a command that runs inside the namespace.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Do runs fn on a thread that has entered the namespace, so that sockets
// fn opens belong to it (sockets keep their namespace afterwards). If the
// thread cannot return to its namespace it is left locked, and so dies
// with its goroutine rather than serve other goroutines in the wrong one.
func (ns *NS) Do(fn func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := os.Open(filepath.Join("/run/netns", ns.Name))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter %s: %w", ns.Name, err)
	}
	ferr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("leave %s: %w", ns.Name, err) // thread stays locked
	}
	runtime.UnlockOSThread()
	return ferr
}

// FD opens the namespace for kpm.Config.NetNS; the file is closed with the test.
func (ns *NS) FD() int {
	ns.t.Helper()
	f, err := os.Open(filepath.Join("/run/netns", ns.Name))
	if err != nil {
		ns.t.Fatal(err)
	}
	ns.t.Cleanup(func() { f.Close() })
	return int(f.Fd())
}

// Veth links namespace a (interface aName, address aAddr in CIDR form) to b.
func Veth(t testing.TB, a *NS, aName, aAddr string, b *NS, bName, bAddr string) {
	t.Helper()
	if out, err := exec.Command("ip", "link", "add", aName, "netns", a.Name, "type", "veth",
		"peer", "name", bName, "netns", b.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip link add %s/%s: %v: %s", aName, bName, err, out)
	}
	a.MustRun("ip", "addr", "add", aAddr, "dev", aName)
	b.MustRun("ip", "addr", "add", bAddr, "dev", bName)
	a.MustRun("ip", "link", "set", aName, "up")
	b.MustRun("ip", "link", "set", bName, "up")
}

// WaitFor polls cond until it holds or timeout passes, then fails the test
// with cond's last word on the state it saw.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last state:\n%s", timeout, what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
