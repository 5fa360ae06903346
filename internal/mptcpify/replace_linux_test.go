//go:build linux

package mptcpify

import (
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpenThread: a thread's id leads to a pidfd (PIDFD_THREAD, or the
// process's on kernels before 6.9) and to its process's id.
func TestOpenThread(t *testing.T) {
	type result struct {
		tid, tgid int
		err       error
	}
	ch := make(chan result)
	go func() {
		// Whichever thread this is, it must lead back to this process.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid := unix.Gettid()
		tgid, err := tgidOf(tid)
		if err == nil {
			var fd int
			if fd, err = openThread(tid); err == nil {
				unix.Close(fd)
			}
		}
		ch <- result{tid, tgid, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("thread %d: %v", r.tid, r.err)
	}
	if r.tgid != os.Getpid() {
		t.Errorf("tgidOf(%d) = %d, want %d", r.tid, r.tgid, os.Getpid())
	}
}
