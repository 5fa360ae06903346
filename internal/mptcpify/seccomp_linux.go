//go:build linux

package mptcpify

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ChildEnv names the environment variable that tells a re-executed
// "mptcp run" to install the filter and exec the command: its value is the
// family selection and the hooks ("inet,inet6/socket"), and the socket to
// the supervisor is file descriptor 3.
const ChildEnv = "MPTCP_RUN_SECCOMP_CHILD"

// nativeSyscalls are this architecture's numbers of the calls the filter
// hands over.
var nativeSyscalls = Syscalls{Socket: unix.SYS_SOCKET, Connect: unix.SYS_CONNECT, Listen: unix.SYS_LISTEN}

// childSpec is ChildEnv's value for a filter.
func childSpec(f Filter) string { return f.families().String() + "/" + f.Hooks().String() }

func parseChildSpec(v string) (Families, Hooks, error) {
	fs, hs, _ := strings.Cut(v, "/")
	fams, err := ParseFamilies(fs)
	if err != nil {
		return 0, 0, err
	}
	h, err := ParseHooks(hs)
	return fams, h, err
}

// auditArch returns this architecture's AUDIT_ARCH value.
func auditArch() (uint32, error) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, nil
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, nil
	}
	return 0, fmt.Errorf("the seccomp backend is not supported on %s (amd64 and arm64 are)", runtime.GOARCH)
}

// ExecChild runs in the re-executed child, with ChildEnv's value as spec:
// it installs the filter, sends the notification descriptor to the
// supervisor over fd 3 and executes argv. It returns only on error.
func ExecChild(spec string, argv []string) error {
	arch, err := auditArch()
	if err != nil {
		return err
	}
	fams, hooks, err := parseChildSpec(spec)
	if err != nil {
		return err
	}
	filter, err := SeccompFilter(fams, hooks, arch, nativeSyscalls)
	if err != nil {
		return err
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	sock := 3
	// The filter belongs to this thread, which then executes the command.
	runtime.LockOSThread()
	if _, err := checkCaps(); err != nil {
		// Without CAP_SYS_ADMIN a filter needs no_new_privs.
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
	}
	raw := make([]unix.SockFilter, len(filter))
	for i, in := range filter {
		raw[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(raw)), Filter: &raw[0]}
	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return fmt.Errorf("install the seccomp filter: %w", errno)
	}
	if err := unix.Sendmsg(sock, []byte{0}, unix.UnixRights(int(fd)), nil, 0); err != nil {
		return fmt.Errorf("hand the filter to the supervisor: %w", err)
	}
	unix.Close(int(fd))
	unix.Close(sock)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, ChildEnv+"=") {
			env = append(env, kv)
		}
	}
	return syscall.Exec(path, argv, env)
}

// Supervisor creates MPTCP sockets for the processes under one filter.
type Supervisor struct {
	fd     int // the filter's notification descriptor
	filter Filter
	sys    Syscalls
	// Converted counts the sockets made MPTCP; Fallbacks those left TCP
	// because MPTCP failed (it is disabled in the caller's network
	// namespace, or refuses an option the program set); Kept those the
	// filter left TCP.
	Converted, Fallbacks, Kept int
	// Log, if set, is told why a socket was left TCP.
	Log func(string)
}

func (s *Supervisor) logf(format string, args ...any) {
	if s.Log != nil {
		s.Log(fmt.Sprintf(format, args...))
	}
}

// StartCommand starts cmd (whose Path and Args are set) under the filter,
// through a re-execution of this binary with ChildEnv, and returns the
// supervisor of its socket calls. The caller runs Serve and waits for cmd.
func StartCommand(cmd *exec.Cmd, f Filter) (*Supervisor, error) {
	if _, err := auditArch(); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	parent := pair[0]
	child := os.NewFile(uintptr(pair[1]), "seccomp-child")
	argv := cmd.Args
	cmd.Path = self
	cmd.Args = append([]string{self, "run", "--"}, argv...)
	cmd.Env = append(cmd.Environ(), ChildEnv+"="+childSpec(f))
	cmd.ExtraFiles = []*os.File{child}
	err = cmd.Start()
	child.Close()
	if err != nil {
		unix.Close(parent)
		return nil, err
	}
	fd, err := receiveFD(parent)
	unix.Close(parent)
	if err != nil {
		// The child reported its failure on stderr; reap it.
		cmd.Wait()
		return nil, err
	}
	return &Supervisor{fd: fd, filter: f, sys: nativeSyscalls}, nil
}

// errChildFailed means the child exited before handing over its filter.
var errChildFailed = errors.New("the command could not be started under the seccomp filter")

func receiveFD(sock int) (int, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return -1, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) == 0 {
		return -1, errChildFailed
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return -1, errChildFailed
	}
	return fds[0], nil
}

// seccomp_notif and friends (linux/seccomp.h).
type seccompData struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

type seccompNotifAddfd struct {
	ID         uint64
	Flags      uint32
	Srcfd      uint32
	Newfd      uint32
	NewfdFlags uint32
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

// Serve answers socket calls until no process uses the filter any more:
// the command and everything it started have exited. Their calls would
// fail (ENOSYS) without a supervisor, so it must outlive them.
func (s *Supervisor) Serve() error {
	defer unix.Close(s.fd)
	for {
		pfd := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("poll the seccomp listener: %w", err)
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			return nil // POLLHUP: the last process under the filter is gone
		}
		var n seccompNotif
		if err := ioctl(s.fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&n)); err != nil {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINTR) {
				continue // the caller died before we read its call
			}
			return fmt.Errorf("receive a seccomp notification: %w", err)
		}
		if n.Data.Nr == int32(s.sys.Socket) {
			s.answer(&n)
		} else {
			s.answerDeferred(&n)
		}
	}
}

// answer creates the socket the caller asked for as MPTCP, in the caller's
// network namespace, and installs it as the call's result; if that fails,
// the kernel carries out the call as it was made.
func (s *Supervisor) answer(n *seccompNotif) {
	family, typ := int(int32(n.Data.Args[0])), int(int32(n.Data.Args[1]))
	fd, err := socketIn(int(n.Pid), family, typ)
	// The notification must still be pending: the pid may otherwise have
	// been reused by another process, whose namespace we just looked at.
	if !s.valid(n) {
		if err == nil {
			unix.Close(fd)
		}
		return
	}
	if err != nil {
		s.Fallbacks++
		resp := seccompNotifResp{ID: n.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
		ioctl(s.fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp))
		return
	}
	add := seccompNotifAddfd{ID: n.ID, Flags: unix.SECCOMP_ADDFD_FLAG_SEND, Srcfd: uint32(fd)}
	if typ&unix.SOCK_CLOEXEC != 0 {
		add.NewfdFlags = unix.O_CLOEXEC
	}
	if err := addfdSend(s.fd, &add); err == nil {
		s.Converted++
	} else {
		s.logf("install the MPTCP socket: %v", err)
	}
	unix.Close(fd)
}

// addfdSend installs a descriptor in the caller and makes it the call's
// result in one step (SECCOMP_ADDFD_FLAG_SEND), with every signal blocked
// on this thread meanwhile. The kernel marks the call answered when the
// request is queued; if a signal (the Go runtime's preemption signal, a
// child's exit) interrupts the wait, the request is taken back but the
// mark stays, and the caller's system call returns 0 — its standard
// input as the new socket. Blocked signals wait until the ioctl is done.
func addfdSend(fd int, add *seccompNotifAddfd) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var all, old unix.Sigset_t
	for i := range all.Val {
		all.Val[i] = ^uint64(0)
	}
	if err := unix.PthreadSigmask(unix.SIG_SETMASK, &all, &old); err != nil {
		return err
	}
	err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_ADDFD, unsafe.Pointer(add))
	unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	return err
}

// socketIn creates an MPTCP socket in the network namespace of process
// pid.
func socketIn(pid, family, typ int) (int, error) {
	fd := -1
	err := inNetns(pid, func() (err error) {
		fd, err = unix.Socket(family, typ, ipprotoMPTCP)
		return err
	})
	if err != nil && fd >= 0 {
		unix.Close(fd) // made, but we are stuck in its namespace
	}
	return fd, err
}

// inNetns runs fn in the network namespace of process pid, entering it on
// a locked thread when it is not ours.
func inNetns(pid int, fn func() error) error {
	nsPath := fmt.Sprintf("/proc/%d/ns/net", pid)
	var theirs, ours unix.Stat_t
	if err := unix.Stat(nsPath, &theirs); err != nil {
		return err
	}
	if err := unix.Stat("/proc/thread-self/ns/net", &ours); err != nil {
		return err
	}
	if theirs.Ino == ours.Ino && theirs.Dev == ours.Dev {
		return fn()
	}
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := os.Open(nsPath)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	ferr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// This thread stays in the wrong namespace: keep it locked, so
		// that it ends with this goroutine. What fn made was made in
		// the right one.
		return fmt.Errorf("return to our network namespace: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}
