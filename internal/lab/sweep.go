//go:build linux

package lab

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Prefix starts the name of every namespace this package creates. The
// creating process's id follows, then a sequence number and the role
// ("mlab4242-3s"), so that Sweep can tell which namespaces a dead process
// left behind.
const Prefix = "mlab"

var sweeper sync.Once

// sweepOnce sweeps before a process's first namespace.
func sweepOnce() { sweeper.Do(func() { _, _ = Sweep() }) }

// Sweep deletes the namespaces that processes no longer running created
// through this package (a test binary killed by a timeout or a signal runs
// no cleanup), and returns their names. Namespaces of live processes,
// this one included, are left alone. A process id reused by an unrelated
// live process keeps its stale namespaces until that process ends.
func Sweep() ([]string, error) {
	ents, err := os.ReadDir("/run/netns")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lab: sweep: %w", err)
	}
	var removed []string
	var errs error
	for _, e := range ents {
		pid, ok := creator(e.Name())
		if !ok || pid == os.Getpid() || alive(pid) {
			continue
		}
		if out, err := exec.Command("ip", "netns", "del", e.Name()).CombinedOutput(); err != nil {
			errs = errors.Join(errs, fmt.Errorf("lab: sweep %s: %w: %s", e.Name(), err, bytes.TrimSpace(out)))
			continue
		}
		removed = append(removed, e.Name())
	}
	return removed, errs
}

// creator returns the process id in a namespace name of this package.
func creator(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return 0, false
	}
	pidStr, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(pidStr)
	return pid, err == nil && pid > 0
}

func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
