//go:build linux

package mptcpify

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Converting a socket when it connects or listens. The command's socket()
// calls go through: the kernel creates TCP sockets. When the command calls
// connect(2) or listen(2) on one and the filter wants that destination or
// that side, the supervisor replaces the still unconnected TCP socket with
// an MPTCP one at the same descriptor number, carrying over what the
// program set on it, and lets the call continue: the kernel then connects
// or listens the new socket. See docs/run.md for the caveats.

// tcpClose is tcpi_state of a socket that neither connects nor listens.
const tcpClose = 7

// errNotOurs means the call is not on an unconnected TCP socket of a
// selected family: it is left alone, and not counted.
var errNotOurs = errors.New("not an unconnected TCP socket")

// answerDeferred decides a connect or listen call and lets it continue,
// on the replacement socket when the filter wants one.
func (s *Supervisor) answerDeferred(n *seccompNotif) {
	err := s.replace(n)
	switch {
	case err == nil:
		s.Converted++
	case errors.Is(err, errNotOurs):
	case errors.Is(err, errFiltered):
		s.Kept++
	default:
		s.Fallbacks++
		s.logf("left TCP: %v", err)
	}
	resp := seccompNotifResp{ID: n.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	ioctl(s.fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp))
}

// errFiltered means the filter leaves this socket TCP.
var errFiltered = errors.New("not selected by the filter")

// replace installs an MPTCP socket in place of the TCP socket the call
// names, if the filter selects it.
func (s *Supervisor) replace(n *seccompNotif) error {
	pid, fd := int(n.Pid), int(int32(n.Data.Args[0]))
	side := Server
	var dst netip.AddrPort
	if uint32(n.Data.Nr) == s.sys.Connect {
		side = Client
		var err error
		if dst, err = readSockaddr(pid, n.Data.Args[1], n.Data.Args[2]); err != nil {
			return err
		}
		if !s.filter.Matches(Client, dst) {
			return errFiltered
		}
	}
	pidfd, err := openThread(pid)
	if err != nil {
		return errNotOurs // the caller is gone
	}
	defer unix.Close(pidfd)
	// Still pending: pid named the caller when the address was read and
	// when pidfd was opened.
	if !s.valid(n) {
		return errNotOurs
	}
	old, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return fmt.Errorf("take a copy of fd %d: %w", fd, err)
	}
	defer unix.Close(old)
	family, err := unconnectedTCP(old, s.filter.families())
	if err != nil {
		return err
	}
	if side == Server {
		if dst, err = localAddr(old); err != nil {
			return err
		}
		if !s.filter.Matches(Server, dst) {
			return errFiltered
		}
	}
	cloexec, err := fdCloexec(pid, fd)
	if err != nil {
		return err
	}
	if err := notInEpoll(pid, fd, old); err != nil {
		return err
	}
	mp, base := -1, -1
	defer func() {
		for _, fd := range []int{mp, base} {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}()
	err = inNetns(pid, func() error {
		fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, ipprotoMPTCP)
		if err != nil {
			return fmt.Errorf("create an MPTCP socket: %w", err)
		}
		mp = fd
		// A fresh TCP socket shows the defaults, so that only what the
		// program changed is carried over.
		if fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		base = fd
		return nil
	})
	if err != nil {
		return err
	}
	// carryBind may set SO_REUSEADDR on the program's socket: if it is
	// not replaced after all, it gets its own setting back.
	oldReuse, _ := unix.GetsockoptInt(old, unix.SOL_SOCKET, unix.SO_REUSEADDR)
	installed := false
	defer func() {
		if !installed {
			unix.SetsockoptInt(old, unix.SOL_SOCKET, unix.SO_REUSEADDR, oldReuse)
		}
	}()
	if err := carryOver(old, base, mp, family); err != nil {
		return err
	}
	if !s.valid(n) {
		return errNotOurs
	}
	add := seccompNotifAddfd{ID: n.ID, Flags: unix.SECCOMP_ADDFD_FLAG_SETFD, Srcfd: uint32(mp), Newfd: uint32(fd)}
	if cloexec {
		add.NewfdFlags = unix.O_CLOEXEC
	}
	if err := ioctl(s.fd, unix.SECCOMP_IOCTL_NOTIF_ADDFD, unsafe.Pointer(&add)); err != nil {
		return fmt.Errorf("install the MPTCP socket: %w", err)
	}
	installed = true
	return nil
}

// pidfdThread is PIDFD_THREAD (linux/pidfd.h, Linux 6.9): a pidfd for
// one thread rather than for a thread group's leader.
const pidfdThread = unix.O_EXCL

// openThread opens a pidfd for the thread tid, whose descriptor table is
// the one its call names (the notification gives the caller's thread id,
// which in a multi-threaded program is rarely the process id). Before
// Linux 6.9 a pidfd can only name a thread group: its leader's, which
// threads share the table with unless they unshared it.
func openThread(tid int) (int, error) {
	fd, err := unix.PidfdOpen(tid, pidfdThread)
	if !errors.Is(err, unix.EINVAL) {
		return fd, err
	}
	tgid, err := tgidOf(tid)
	if err != nil {
		return -1, err
	}
	return unix.PidfdOpen(tgid, 0)
}

// tgidOf returns the process id (thread group id) of thread tid.
func tgidOf(tid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", tid))
	if err != nil {
		return -1, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return -1, fmt.Errorf("no Tgid in /proc/%d/status", tid)
}

// valid tells whether the notification is still pending, that is, whether
// its caller is still blocked in the call (so its pid was not reused).
func (s *Supervisor) valid(n *seccompNotif) bool {
	return ioctl(s.fd, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&n.ID)) == nil
}

// readSockaddr reads the address a connect call names from the caller's
// memory. Another thread of the caller may change it before the kernel
// reads it again when the call continues: the decision is then made on
// the address as it was, which only the program itself can bring about.
func readSockaddr(pid int, ptr, length uint64) (netip.AddrPort, error) {
	buf := make([]byte, min(length, sockaddrMax))
	local := []unix.Iovec{{Base: &buf[0]}}
	local[0].SetLen(len(buf))
	remote := []unix.RemoteIovec{{Base: uintptr(ptr), Len: len(buf)}}
	if _, err := unix.ProcessVMReadv(pid, local, remote, 0); err != nil {
		return netip.AddrPort{}, errNotOurs // a bad pointer: the call fails by itself
	}
	_, ap, ok := parseSockaddr(buf)
	if !ok {
		return ap, errNotOurs
	}
	return ap, nil
}

// unconnectedTCP checks that fd is a TCP socket of a selected family that
// neither connects nor listens yet, and returns its family.
func unconnectedTCP(fd int, fams Families) (int, error) {
	family, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		return 0, errNotOurs // not a socket
	}
	typ, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	proto, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL)
	want := (family == afInet && fams&Inet != 0) || (family == afInet6 && fams&Inet6 != 0)
	if !want || typ != unix.SOCK_STREAM || proto != ipprotoTCP {
		return 0, errNotOurs
	}
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil || info.State != tcpClose {
		return 0, errNotOurs // connecting, connected or listening already
	}
	return family, nil
}

// localAddr is the address a socket is bound to (the unspecified address
// and port 0 if it is not).
func localAddr(fd int) (netip.AddrPort, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("getsockname: %w", err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), nil
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port)), nil
	}
	return netip.AddrPort{}, errNotOurs
}

// fdCloexec reads the close-on-exec flag of the caller's descriptor, which
// belongs to the descriptor, not to the file pidfd_getfd copies.
func fdCloexec(pid, fd int) (bool, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	if err != nil {
		return false, fmt.Errorf("read the flags of fd %d: %w", fd, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			if err != nil {
				break
			}
			return flags&unix.O_CLOEXEC != 0, nil
		}
	}
	return false, fmt.Errorf("no flags in /proc/%d/fdinfo/%d", pid, fd)
}

// notInEpoll fails if the caller's descriptor fd (whose file sock is our
// copy) is registered with one of its epoll instances: the registration
// belongs to the TCP socket's file and would vanish with it, leaving the
// program waiting forever for its replacement (nginx registers an upstream
// socket before connecting). Such a socket stays TCP. Each epoll
// instance's fdinfo lists its targets by descriptor and inode.
func notInEpoll(pid, fd, sock int) error {
	var st unix.Stat_t
	if err := unix.Fstat(sock, &st); err != nil {
		return err
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if link, _ := os.Readlink(dir + "/" + e.Name()); link != "anon_inode:[eventpoll]" {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if epollHas(string(b), fd, st.Ino) {
			return fmt.Errorf("fd %d was registered with epoll (fd %s) before connect or listen; its replacement would not be", fd, e.Name())
		}
	}
	return nil
}

// epollHas tells whether an epoll instance's fdinfo lists descriptor fd
// with inode ino among its targets ("tfd: 5 events: 1c data: ... ino:1a2b").
func epollHas(fdinfo string, fd int, ino uint64) bool {
	for _, line := range strings.Split(fdinfo, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "tfd:" || f[1] != strconv.Itoa(fd) {
			continue
		}
		for _, kv := range f[2:] {
			if v, ok := strings.CutPrefix(kv, "ino:"); ok {
				if n, err := strconv.ParseUint(v, 16, 64); err == nil && n == ino {
					return true
				}
			}
		}
	}
	return false
}

// sockopt is a socket option carried from the TCP socket to its MPTCP
// replacement when the program changed it.
type sockopt struct {
	level, opt int
	name       string
	inet6      bool // an IPv6 socket's option only
	text       bool // a string (TCP_CONGESTION), not an int
}

// carriedOptions are the options carried over; SO_LINGER and the
// timeouts, which are not ints, are carried by carryOver itself. Buffer
// sizes (SO_RCVBUF, SO_SNDBUF) are not: the kernel reports twice what was
// set, and MPTCP sizes its buffers from its subflows'.
var carriedOptions = []sockopt{
	{level: unix.SOL_SOCKET, opt: unix.SO_REUSEADDR, name: "SO_REUSEADDR"},
	{level: unix.SOL_SOCKET, opt: unix.SO_REUSEPORT, name: "SO_REUSEPORT"},
	{level: unix.SOL_SOCKET, opt: unix.SO_KEEPALIVE, name: "SO_KEEPALIVE"},
	{level: unix.SOL_SOCKET, opt: unix.SO_PRIORITY, name: "SO_PRIORITY"},
	{level: unix.SOL_SOCKET, opt: unix.SO_MARK, name: "SO_MARK"},
	{level: unix.SOL_SOCKET, opt: unix.SO_BINDTOIFINDEX, name: "SO_BINDTOIFINDEX"},
	{level: unix.IPPROTO_IPV6, opt: unix.IPV6_V6ONLY, name: "IPV6_V6ONLY", inet6: true},
	{level: unix.IPPROTO_IPV6, opt: unix.IPV6_TCLASS, name: "IPV6_TCLASS", inet6: true},
	{level: unix.IPPROTO_IP, opt: unix.IP_TOS, name: "IP_TOS"},
	{level: unix.IPPROTO_IP, opt: unix.IP_FREEBIND, name: "IP_FREEBIND"},
	{level: unix.IPPROTO_IP, opt: unix.IP_TRANSPARENT, name: "IP_TRANSPARENT"},
	{level: unix.IPPROTO_IP, opt: unix.IP_BIND_ADDRESS_NO_PORT, name: "IP_BIND_ADDRESS_NO_PORT"},
	{level: unix.IPPROTO_TCP, opt: unix.TCP_NODELAY, name: "TCP_NODELAY"},
	{level: unix.IPPROTO_TCP, opt: unix.TCP_KEEPIDLE, name: "TCP_KEEPIDLE"},
	{level: unix.IPPROTO_TCP, opt: unix.TCP_KEEPINTVL, name: "TCP_KEEPINTVL"},
	{level: unix.IPPROTO_TCP, opt: unix.TCP_KEEPCNT, name: "TCP_KEEPCNT"},
	{level: unix.IPPROTO_TCP, opt: unix.TCP_CONGESTION, name: "TCP_CONGESTION", text: true},
	{level: unix.IPPROTO_TCP, opt: unix.TCP_MAXSEG, name: "TCP_MAXSEG"},
	{level: unix.IPPROTO_TCP, opt: unix.TCP_CORK, name: "TCP_CORK"},
	{level: unix.IPPROTO_TCP, opt: unix.TCP_NOTSENT_LOWAT, name: "TCP_NOTSENT_LOWAT"},
	{level: unix.IPPROTO_TCP, opt: unix.TCP_FASTOPEN, name: "TCP_FASTOPEN"},
	{level: unix.IPPROTO_TCP, opt: unix.TCP_FASTOPEN_CONNECT, name: "TCP_FASTOPEN_CONNECT"},
	{level: unix.IPPROTO_TCP, opt: unix.TCP_INQ, name: "TCP_INQ"},
	{level: unix.IPPROTO_TCP, opt: unix.TCP_DEFER_ACCEPT, name: "TCP_DEFER_ACCEPT"},
	// Options MPTCP refused in Linux 6.18: a program that set one keeps
	// its TCP socket rather than silently lose it.
	{level: unix.IPPROTO_TCP, opt: unix.TCP_USER_TIMEOUT, name: "TCP_USER_TIMEOUT"},
	{level: unix.IPPROTO_TCP, opt: unix.TCP_SYNCNT, name: "TCP_SYNCNT"},
	{level: unix.IPPROTO_TCP, opt: unix.TCP_WINDOW_CLAMP, name: "TCP_WINDOW_CLAMP"},
	{level: unix.IPPROTO_TCP, opt: unix.TCP_QUICKACK, name: "TCP_QUICKACK"},
}

// carryOver gives mp what the program set on old: the file status flags
// (O_NONBLOCK), every option of carriedOptions that differs from base (a
// fresh TCP socket), and the bound address. An option MPTCP refuses
// fails the whole conversion: the socket then stays TCP as the program
// made it.
func carryOver(old, base, mp, family int) error {
	fl, err := unix.FcntlInt(uintptr(old), unix.F_GETFL, 0)
	if err != nil {
		return err
	}
	if _, err := unix.FcntlInt(uintptr(mp), unix.F_SETFL, fl&(unix.O_NONBLOCK|unix.O_ASYNC)); err != nil {
		return err
	}
	for _, o := range carriedOptions {
		if o.inet6 && family != afInet6 {
			continue
		}
		if err := o.carry(old, base, mp); err != nil {
			return err
		}
	}
	if err := carryStructs(old, base, mp); err != nil {
		return err
	}
	return carryBind(old, mp)
}

// carry copies one option from old to mp if old's value is not base's.
func (o sockopt) carry(old, base, mp int) error {
	v, err := o.get(old)
	if err != nil {
		return nil // the kernel has no such option
	}
	if d, err := o.get(base); err == nil && d == v {
		return nil
	}
	if o.text {
		err = unix.SetsockoptString(mp, o.level, o.opt, v)
	} else {
		n, _ := strconv.Atoi(v)
		err = unix.SetsockoptInt(mp, o.level, o.opt, n)
	}
	if err != nil {
		return fmt.Errorf("MPTCP refuses %s %s: %w", o.name, v, err)
	}
	return nil
}

// get reads the option's value, an int in decimal or a string.
func (o sockopt) get(fd int) (string, error) {
	if o.text {
		v, err := unix.GetsockoptString(fd, o.level, o.opt)
		return strings.TrimRight(v, "\x00"), err
	}
	n, err := unix.GetsockoptInt(fd, o.level, o.opt)
	return strconv.Itoa(n), err
}

// carryStructs carries SO_LINGER and the receive and send timeouts.
func carryStructs(old, base, mp int) error {
	l, err := unix.GetsockoptLinger(old, unix.SOL_SOCKET, unix.SO_LINGER)
	if d, _ := unix.GetsockoptLinger(base, unix.SOL_SOCKET, unix.SO_LINGER); err == nil && d != nil && *l != *d {
		if err := unix.SetsockoptLinger(mp, unix.SOL_SOCKET, unix.SO_LINGER, l); err != nil {
			return fmt.Errorf("MPTCP refuses SO_LINGER: %w", err)
		}
	}
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		tv, err := unix.GetsockoptTimeval(old, unix.SOL_SOCKET, opt)
		if err != nil || (tv.Sec == 0 && tv.Usec == 0) {
			continue
		}
		if err := unix.SetsockoptTimeval(mp, unix.SOL_SOCKET, opt, tv); err != nil {
			return fmt.Errorf("MPTCP refuses a socket timeout: %w", err)
		}
	}
	return nil
}

// carryBind binds mp where old is bound. Both hold the address for a
// moment, which the kernel allows when both have SO_REUSEADDR and neither
// listens: old gets it (it is about to be closed; replace gives it its
// own setting back if it is not), mp keeps the program's setting once
// bound. old's own descriptor is closed when mp takes its
// place, and the last copy (ours) right after, before the call continues.
func carryBind(old, mp int) error {
	la, err := localAddr(old)
	if err != nil {
		return err
	}
	if la.Port() == 0 && la.Addr().IsUnspecified() {
		return nil // not bound
	}
	sa, err := unix.Getsockname(old)
	if err != nil {
		return err
	}
	mpReuse, _ := unix.GetsockoptInt(mp, unix.SOL_SOCKET, unix.SO_REUSEADDR)
	unix.SetsockoptInt(old, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	unix.SetsockoptInt(mp, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	err = unix.Bind(mp, sa)
	unix.SetsockoptInt(mp, unix.SOL_SOCKET, unix.SO_REUSEADDR, mpReuse)
	if err != nil {
		return fmt.Errorf("bind the MPTCP socket to %s: %w", la, err)
	}
	return nil
}
