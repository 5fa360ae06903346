//go:build linux

package checkserve

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Socket options of level SOL_MPTCP (linux/mptcp.h).
const (
	solMPTCP          = 284
	mptcpInfo         = 1
	mptcpSubflowAddrs = 3
	infoFallback      = 1 // MPTCP_INFO_FLAG_FALLBACK
	subflowAddrsLen   = 256
	maxSubflows       = 16
)

// Kernel inspects a kernel socket: whether it is MPTCP (Go's
// TCPConn.MultipathTCP), its struct mptcp_info (MPTCP_INFO) and its
// subflows' addresses (MPTCP_SUBFLOW_ADDRS).
func Kernel(c net.Conn) Result {
	r := base(c, "kernel")
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return r
	}
	r.MPTCP, _ = tc.MultipathTCP()
	rc, err := tc.SyscallConn()
	if err != nil {
		return r
	}
	var info [96]byte
	infoLen := 0
	addrs := make([]byte, 16+maxSubflows*subflowAddrsLen)
	_ = rc.Control(func(fd uintptr) {
		infoLen = getsockopt(fd, mptcpInfo, info[:])
		binary.NativeEndian.PutUint32(addrs[0:], 16)               // size_subflow_data
		binary.NativeEndian.PutUint32(addrs[12:], subflowAddrsLen) // size_user
		if getsockopt(fd, mptcpSubflowAddrs, addrs) < 16 {
			addrs = nil
		}
	})
	if infoLen >= 44 {
		flags := binary.NativeEndian.Uint32(info[8:])
		r.Fallback = flags&infoFallback != 0
		r.Checksum = info[42] != 0
		r.MPTCP = r.MPTCP && !r.Fallback
	}
	if r.MPTCP {
		r.Version = 1 // the kernel speaks RFC 8684 only
	}
	if !r.MPTCP || addrs == nil {
		return r
	}
	n := int(binary.NativeEndian.Uint32(addrs[4:]))
	initial := r.Client
	for i := range min(n, maxSubflows) {
		e := addrs[16+i*subflowAddrsLen:]
		local, remote := sockaddr(e[:128]), sockaddr(e[128:256])
		s := Subflow{Client: remote.String(), Server: local.String()}
		s.Join = s.Client != initial
		r.Join = r.Join || s.Join
		r.Subflows = append(r.Subflows, s)
	}
	// The initial subflow first.
	for i, s := range r.Subflows {
		if !s.Join && i > 0 {
			r.Subflows[0], r.Subflows[i] = r.Subflows[i], r.Subflows[0]
		}
	}
	return r
}

// getsockopt reads a SOL_MPTCP option into b and returns its length, or
// -1.
func getsockopt(fd uintptr, opt int, b []byte) int {
	l := uint32(len(b))
	_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, solMPTCP, uintptr(opt),
		uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&l)), 0)
	if errno != 0 {
		return -1
	}
	return int(l)
}

// sockaddr decodes a struct sockaddr_in or sockaddr_in6.
func sockaddr(b []byte) netip.AddrPort {
	port := binary.BigEndian.Uint16(b[2:4])
	switch binary.NativeEndian.Uint16(b[0:2]) {
	case unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port)
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])).Unmap(), port)
	}
	return netip.AddrPort{}
}
