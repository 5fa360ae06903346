//go:build linux

package pmdaemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrAlreadyRunning reports another daemon in the same network namespace.
// Two path managers would each create the subflows the policy wants.
var ErrAlreadyRunning = errors.New("another mptcp pm daemon is running in this network namespace")

// lockNetns takes an exclusive lock named after the calling thread's
// network namespace. The lock goes with the process, however it ends.
func lockNetns() (release func(), err error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return nil, fmt.Errorf("identify network namespace: %w", err)
	}
	dir := "/run"
	if unix.Access(dir, unix.W_OK) != nil {
		dir = os.TempDir()
	}
	name := filepath.Join(dir, fmt.Sprintf("mptcp-pm-daemon.%d.lock", st.Ino))
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock network namespace: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			if pid := strings.TrimSpace(string(b[:n])); pid != "" {
				return nil, fmt.Errorf("%w (pid %s)", ErrAlreadyRunning, pid)
			}
			return nil, ErrAlreadyRunning
		}
		return nil, fmt.Errorf("lock network namespace: %w", err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		os.Remove(name)
		f.Close()
	}, nil
}
