//go:build linux

package perf

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's MPTCP socket options (include/uapi/linux/mptcp.h), at
// level SOL_MPTCP.
const (
	mptcpInfo         = 1 // struct mptcp_info
	mptcpTCPInfo      = 2 // struct mptcp_subflow_data + struct tcp_info[]
	mptcpSubflowAddrs = 3 // struct mptcp_subflow_data + struct mptcp_subflow_addrs[]

	// struct mptcp_subflow_data: four __u32, 8-byte aligned.
	subflowDataLen = 16
	// struct mptcp_subflow_addrs: two unions the size of a
	// sockaddr_storage.
	subflowAddrsLen = 2 * 128
	// maxKernelSubflows bounds what is asked for (the kernel allows 8
	// additional subflows).
	maxKernelSubflows = 16

	// mptcp_info.mptcpi_flags: the connection fell back to TCP.
	mptcpInfoFlagFallback = 1 << 0
)

// kernelStats reads a kernel socket's subflows. An MPTCP socket gives
// MPTCP_TCPINFO and MPTCP_SUBFLOW_ADDRS; a plain TCP socket, or an MPTCP
// one that fell back (the kernel then answers SOL_MPTCP options with an
// error), gives TCP_INFO as its one subflow.
func kernelStats(c *net.TCPConn) ConnStats {
	cs := ConnStats{Stack: "kernel"}
	isMPTCP, _ := c.MultipathTCP()
	rc, err := c.SyscallConn()
	if err != nil {
		return cs
	}
	var subs []SubflowStats
	ok := false
	_ = rc.Control(func(fd uintptr) {
		if isMPTCP {
			subs, ok = mptcpSubflows(int(fd))
			if ok {
				cs.MPTCP = true
				return
			}
		}
		ti, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return
		}
		ok = true
		subs = []SubflowStats{tcpInfoStats(ti, c.LocalAddr().String(), c.RemoteAddr().String())}
	})
	if !ok {
		return cs
	}
	if !cs.MPTCP {
		// An MPTCP socket whose MPTCP options fail has fallen back;
		// SO_PROTOCOL tells one from a plain TCP socket.
		if p, err := soProtocol(rc); err == nil && p == unix.IPPROTO_MPTCP {
			cs.FellBack = true
		}
	}
	cs.Subflows = subs
	return cs
}

func soProtocol(rc syscall.RawConn) (int, error) {
	var p int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		p, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PROTOCOL)
	}); err != nil {
		return 0, err
	}
	return p, serr
}

// mptcpSubflows reads the subflows of an MPTCP socket. The two calls are
// not atomic: a subflow that comes or goes between them makes the
// addresses unreliable, so the answer is refused when the counts differ.
func mptcpSubflows(fd int) ([]SubflowStats, bool) {
	var mi [96]byte // struct mptcp_info
	if _, err := getsockopt(fd, mptcpInfo, mi[:]); err != nil {
		return nil, false
	}
	if binary.NativeEndian.Uint32(mi[8:12])&mptcpInfoFlagFallback != 0 {
		return nil, false
	}
	tiSize := int(unsafe.Sizeof(unix.TCPInfo{}))
	tis := make([]byte, subflowDataLen+maxKernelSubflows*tiSize)
	nTI, tiLen, err := subflowArray(fd, mptcpTCPInfo, tis, tiSize)
	if err != nil {
		return nil, false
	}
	addrs := make([]byte, subflowDataLen+maxKernelSubflows*subflowAddrsLen)
	nA, aLen, err := subflowArray(fd, mptcpSubflowAddrs, addrs, subflowAddrsLen)
	if err != nil || nA != nTI {
		return nil, false
	}
	out := make([]SubflowStats, 0, nTI)
	for i := range min(nTI, maxKernelSubflows) {
		var ti unix.TCPInfo
		b := tis[subflowDataLen+i*tiLen:][:min(tiLen, tiSize)]
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&ti)), tiSize), b)
		a := addrs[subflowDataLen+i*aLen:][:subflowAddrsLen]
		out = append(out, tcpInfoStats(&ti, sockaddr(a[:128]).String(), sockaddr(a[128:]).String()))
	}
	return out, true
}

// subflowArray runs an MPTCP getsockopt that returns a struct
// mptcp_subflow_data followed by an array of elements of elemSize bytes;
// it returns the number of elements and the size of each as returned.
func subflowArray(fd, opt int, buf []byte, elemSize int) (n, size int, err error) {
	clear(buf)
	binary.NativeEndian.PutUint32(buf[0:], subflowDataLen)
	binary.NativeEndian.PutUint32(buf[12:], uint32(elemSize))
	if _, err := getsockopt(fd, opt, buf); err != nil {
		return 0, 0, err
	}
	n = int(binary.NativeEndian.Uint32(buf[4:]))
	size = int(binary.NativeEndian.Uint32(buf[12:]))
	if size <= 0 || size > elemSize {
		return 0, 0, errors.New("unexpected subflow element size")
	}
	return n, size, nil
}

func getsockopt(fd, opt int, buf []byte) (int, error) {
	l := uint32(len(buf))
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_MPTCP, uintptr(opt),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return 0, e
	}
	return int(l), nil
}

// sockaddr decodes a struct sockaddr_in or sockaddr_in6.
func sockaddr(b []byte) netip.AddrPort {
	fam := binary.NativeEndian.Uint16(b[0:])
	port := binary.BigEndian.Uint16(b[2:])
	switch fam {
	case unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port)
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])).Unmap(), port)
	}
	return netip.AddrPort{}
}

func tcpInfoStats(ti *unix.TCPInfo, local, remote string) SubflowStats {
	return SubflowStats{
		Local: local, Remote: remote,
		BytesSent: ti.Bytes_acked, BytesReceived: ti.Bytes_received,
		SRTT:        time.Duration(ti.Rtt) * time.Microsecond,
		Cwnd:        int(ti.Snd_cwnd) * int(ti.Snd_mss),
		Retransmits: uint64(ti.Total_retrans),
	}
}

// kernelUnacked returns the bytes of a kernel socket's send queue not yet
// acknowledged (SIOCOUTQ; MPTCP sockets answer it at the connection
// level).
func kernelUnacked(c *net.TCPConn) (int64, bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	var n int
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
	}); err != nil || ierr != nil {
		return 0, false
	}
	return int64(n), true
}
