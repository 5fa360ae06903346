//go:build linux

package lab

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Netns is a named network namespace (a name under /run/netns).
type Netns string

var seq atomic.Int32

// NewNetns creates a network namespace named after the package prefix,
// this process's id and role, with loopback up, duplicate address
// detection off (addresses are usable at once) and reverse-path
// filtering off (the paths of a multihomed host are asymmetric). It first
// removes namespaces left by dead processes (see Sweep). The caller
// deletes it with Delete.
func NewNetns(role string) (Netns, error) {
	sweepOnce()
	n := Netns(fmt.Sprintf("%s%d-%d%s", Prefix, os.Getpid(), seq.Add(1), role))
	if out, err := exec.Command("ip", "netns", "add", string(n)).CombinedOutput(); err != nil {
		return "", fmt.Errorf("lab: ip netns add %s: %w: %s", n, err, bytes.TrimSpace(out))
	}
	if err := n.setup(); err != nil {
		_ = n.Delete()
		return "", err
	}
	return n, nil
}

func (n Netns) setup() error {
	if _, err := n.Exec("ip", "link", "set", "lo", "up"); err != nil {
		return err
	}
	return n.Sysctl(
		"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
		"net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
	)
}

// TempNetns is NewNetns for a test, as t.TempDir is for directories: it skips the test when Require would,
// fails it on error, and deletes the namespace when the test ends,
// whether it passed, failed or panicked.
func TempNetns(t T, role string) Netns {
	t.Helper()
	Require(t)
	n, err := NewNetns(role)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Delete(); err != nil {
			t.Error(err)
		}
	})
	return n
}

// Delete removes the namespace's name; the kernel frees it, with its
// interfaces, once no process or open socket uses it.
func (n Netns) Delete() error {
	if out, err := exec.Command("ip", "netns", "del", string(n)).CombinedOutput(); err != nil {
		return fmt.Errorf("lab: ip netns del %s: %w: %s", n, err, bytes.TrimSpace(out))
	}
	return nil
}

// Name returns the namespace's name.
func (n Netns) Name() string { return string(n) }

// Command returns a command that runs inside the namespace (through ip
// netns exec).
func (n Netns) Command(args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", string(n)}, args...)...)
}

// Exec runs a command inside the namespace and returns its combined
// output; the error carries the output.
func (n Netns) Exec(args ...string) (string, error) {
	out, err := n.Command(args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("lab: in %s: %s: %w: %s", n, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// Run is Exec for a test: a failure fails the test.
func (n Netns) Run(t T, args ...string) string {
	t.Helper()
	out, err := n.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// IP runs ip(8) commands in the namespace, one per line, stopping at the
// first that fails. A line may start with -4 or -6 for the family (ip
// -batch takes no option per line, so consecutive lines of one family run
// as one ip -batch process).
func (n Netns) IP(cmds ...string) error {
	for len(cmds) > 0 {
		fam := family(cmds[0])
		k := 1
		for k < len(cmds) && family(cmds[k]) == fam {
			k++
		}
		args := []string{"-n", string(n)}
		if fam != "" {
			args = append(args, fam)
		}
		var in strings.Builder
		for _, c := range cmds[:k] {
			in.WriteString(strings.TrimPrefix(c, fam+" "))
			in.WriteByte('\n')
		}
		c := exec.Command("ip", append(args, "-batch", "-")...)
		c.Stdin = strings.NewReader(in.String())
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("lab: ip in %s: %w: %s", n, err, bytes.TrimSpace(out))
		}
		cmds = cmds[k:]
	}
	return nil
}

// family returns a command line's family option, or "".
func family(cmd string) string {
	if strings.HasPrefix(cmd, "-4 ") || strings.HasPrefix(cmd, "-6 ") {
		return cmd[:2]
	}
	return ""
}

// Sysctl sets sysctls inside the namespace, never on the host; each
// setting is "key=value" (net.mptcp.checksum_enabled=1).
func (n Netns) Sysctl(settings ...string) error {
	if len(settings) == 0 {
		return nil
	}
	_, err := n.Exec(append([]string{"sysctl", "-qw"}, settings...)...)
	return err
}

// GetSysctl reads a sysctl inside the namespace.
func (n Netns) GetSysctl(key string) (string, error) {
	out, err := n.Exec("sysctl", "-n", key)
	return strings.TrimSpace(out), err
}

// Do runs fn on an OS thread that has entered the namespace, so that the
// sockets and devices fn opens belong to it; they stay there when used
// later from any thread. The thread then returns to its namespace, or, if
// that fails, stays locked so that the runtime discards it.
func (n Netns) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("lab: %w", err)
			return
		}
		defer orig.Close()
		target, err := os.Open("/run/netns/" + string(n))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("lab: %w", err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("lab: setns %s: %w", n, err)
			return
		}
		ferr := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("lab: panic in %s: %v", n, r)
				}
			}()
			return fn()
		}()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("lab: leaving %s: %w", n, err))
			return // the thread stays locked and ends with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
