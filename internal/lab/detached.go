//go:build linux

package lab

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// StartDetached runs the shell script in the namespace in the background,
// detached from the caller as a daemon is (its own session, re-parented
// once its shell exits), as a user's server left running in a namespace
// would be; args are the script's $1, $2, ... It waits, at most 10 s,
// until ready (if not nil) reports that the process got where the test
// needs it, and returns its pid and a pidfd. When the test ends the
// process is killed if it still runs, and the pidfd closed.
func (n Netns) StartDetached(t T, ready func(pid int) bool, script string, args ...string) (pid, pidfd int) {
	t.Helper()
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	line := fmt.Sprintf("setsid sh -c '%s' sh %s </dev/null >/dev/null 2>&1 & echo $!", strings.ReplaceAll(script, "'", `'\''`), strings.Join(quoted, " "))
	out, err := n.Exec("sh", "-c", line)
	if err != nil {
		t.Fatal(fmt.Sprintf("%v: %s", err, out))
	}
	if pid, err = strconv.Atoi(strings.TrimSpace(out)); err != nil {
		t.Fatal(fmt.Sprintf("pid %q: %v", out, err))
	}
	if pidfd, err = unix.PidfdOpen(pid, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
		unix.Close(pidfd)
	})
	for end := time.Now().Add(10 * time.Second); ready != nil && !ready(pid); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal(fmt.Sprintf("%q in %s did not get ready in 10 s", script, n))
		}
	}
	return pid, pidfd
}

// ProcessName returns the name of process pid as ps shows it, or "?" if
// it cannot be read.
func ProcessName(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
