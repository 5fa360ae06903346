//go:build linux

package proxy

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// soOriginalDst is SO_ORIGINAL_DST (netfilter's conntrack, IPv4) and
// IP6T_SO_ORIGINAL_DST (IPv6): both 80.
const soOriginalDst = 80

// originalDst recovers where an intercepted connection was going: the
// conntrack entry of an iptables REDIRECT, or, for TPROXY (where nothing
// was rewritten), the connection's own local address.
func originalDst(c net.Conn) (netip.AddrPort, error) {
	local := addrOf(c.LocalAddr())
	sc, ok := c.(syscall.Conn)
	if !ok {
		return local, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, err
	}
	var dst netip.AddrPort
	var serr error
	err = rc.Control(func(fd uintptr) {
		if local.Addr().Is4() || local.Addr().Is4In6() {
			var m *unix.IPv6Mreq // 20 bytes: room for a sockaddr_in
			m, serr = unix.GetsockoptIPv6Mreq(int(fd), unix.IPPROTO_IP, soOriginalDst)
			if serr == nil {
				b := m.Multiaddr[:]
				dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), binary.BigEndian.Uint16(b[2:4]))
			}
			return
		}
		var mi *unix.IPv6MTUInfo // a sockaddr_in6 and a u32
		mi, serr = unix.GetsockoptIPv6MTUInfo(int(fd), unix.IPPROTO_IPV6, soOriginalDst)
		if serr == nil {
			p := (*[2]byte)(unsafe.Pointer(&mi.Addr.Port)) // network byte order in memory
			dst = netip.AddrPortFrom(netip.AddrFrom16(mi.Addr.Addr), binary.BigEndian.Uint16(p[:]))
		}
	})
	if err != nil {
		return netip.AddrPort{}, err
	}
	if serr != nil { // not redirected: TPROXY keeps the original address
		return local, nil
	}
	return dst, nil
}

// ListenTransparent listens on addr with IP_TRANSPARENT (and
// IPV6_TRANSPARENT), as iptables' TPROXY target needs; CAP_NET_ADMIN.
func ListenTransparent(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_TRANSPARENT, 1); serr != nil {
				return
			}
			if network == "tcp6" || network == "tcp" {
				_ = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_TRANSPARENT, 1)
			}
		})
		if err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("setting IP_TRANSPARENT (needs CAP_NET_ADMIN): %w", serr)
		}
		return nil
	}}
	return lc.Listen(ctx, "tcp", addr)
}
