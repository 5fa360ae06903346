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

// TestNotInEpoll: a socket registered with an epoll instance of the
// process is found (by descriptor and inode), one that is not is not.
func TestNotInEpoll(t *testing.T) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ep)
	var socks [2]int
	for i := range socks {
		if socks[i], err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(socks[i])
	}
	ev := unix.EpollEvent{Events: unix.EPOLLOUT, Fd: int32(socks[0])}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, socks[0], &ev); err != nil {
		t.Fatal(err)
	}
	if err := notInEpoll(os.Getpid(), socks[0], socks[0]); err == nil {
		t.Error("the registered socket is not found")
	}
	if err := notInEpoll(os.Getpid(), socks[1], socks[1]); err != nil {
		t.Errorf("the other socket: %v", err)
	}
	info := "pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1038\ntfd:        4 events:       1c data:                4  pos:0 ino:35efa3 sdev:9\n"
	for _, c := range []struct {
		fd   int
		ino  uint64
		want bool
	}{{4, 0x35efa3, true}, {4, 0x35efa4, false}, {5, 0x35efa3, false}} {
		if got := epollHas(info, c.fd, c.ino); got != c.want {
			t.Errorf("epollHas(fd %d, ino %#x) = %v, want %v", c.fd, c.ino, got, c.want)
		}
	}
}
