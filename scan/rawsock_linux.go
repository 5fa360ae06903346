//go:build linux

package scan

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// rawFamily holds the sockets of one address family: a raw TCP socket
// that sends whole IP packets (IP_HDRINCL, IPV6_HDRINCL), so that every
// probe carries its own TTL and is exactly the bytes later compared with a
// quote, and receives every TCP segment; a raw ICMP socket for the errors;
// and a UDP socket used only to ask the kernel which source address it
// would use towards a destination.
//
// All three are opened once, so a caller that opens the scanner inside a
// network namespace keeps working there from any thread.
type rawFamily struct {
	v6      bool
	tcp     *net.IPConn
	icmp    *net.IPConn
	routeMu sync.Mutex
	route   int
}

// recvBuffer is the socket receive buffer asked for: a raw TCP socket sees
// all of the host's TCP traffic, and a burst of answers must not be lost.
const recvBuffer = 4 << 20

func openFamily(v6 bool) (_ *rawFamily, err error) {
	tcpNet, icmpNet, wildcard := "ip4:tcp", "ip4:icmp", "0.0.0.0"
	af := unix.AF_INET
	if v6 {
		tcpNet, icmpNet, wildcard, af = "ip6:tcp", "ip6:ipv6-icmp", "::", unix.AF_INET6
	}
	f := &rawFamily{v6: v6, route: -1}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	c, err := net.ListenPacket(tcpNet, wildcard)
	if err != nil {
		return nil, sockErr(tcpNet, err)
	}
	f.tcp = c.(*net.IPConn)
	if err := control(f.tcp, func(fd int) error {
		if v6 {
			return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_HDRINCL, 1)
		}
		return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_HDRINCL, 1)
	}); err != nil {
		return nil, fmt.Errorf("scan: setting header-include on the %s socket: %w", tcpNet, err)
	}
	_ = f.tcp.SetReadBuffer(recvBuffer)
	c, err = net.ListenPacket(icmpNet, wildcard)
	if err != nil {
		return nil, sockErr(icmpNet, err)
	}
	f.icmp = c.(*net.IPConn)
	_ = f.icmp.SetReadBuffer(recvBuffer)
	if v6 {
		// Only errors quote probes: leave neighbour discovery and echo to
		// the kernel.
		var flt unix.ICMPv6Filter
		for i := range flt.Data {
			flt.Data[i] = 0xffffffff // a set bit blocks the type
		}
		for _, t := range []uint8{1, 2, 3, 4} {
			flt.Data[t>>5] &^= 1 << (t & 31)
		}
		if err := control(f.icmp, func(fd int) error {
			return unix.SetsockoptICMPv6Filter(fd, unix.IPPROTO_ICMPV6, unix.ICMPV6_FILTER, &flt)
		}); err != nil {
			return nil, fmt.Errorf("scan: setting the ICMPv6 filter: %w", err)
		}
	}
	f.route, err = unix.Socket(af, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("scan: opening the route-lookup socket: %w", err)
	}
	return f, nil
}

func sockErr(network string, err error) error {
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		var errno syscall.Errno
		errors.As(err, &errno)
		return fmt.Errorf("%w (%s socket: %v)", ErrPermission, network, errno)
	}
	return fmt.Errorf("scan: opening a %s socket: %w", network, err)
}

func control(c *net.IPConn, fn func(fd int) error) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// source returns the address the kernel would send from towards dst, by
// connecting the UDP socket (which sends nothing) and reading its name.
func (f *rawFamily) source(dst netip.Addr) (netip.Addr, error) {
	f.routeMu.Lock()
	defer f.routeMu.Unlock()
	var sa unix.Sockaddr
	if f.v6 {
		sa = &unix.SockaddrInet6{Port: 9, Addr: dst.As16()}
	} else {
		sa = &unix.SockaddrInet4{Port: 9, Addr: dst.As4()}
	}
	if err := unix.Connect(f.route, sa); err != nil {
		return netip.Addr{}, fmt.Errorf("no route to %v: %w", dst, err)
	}
	got, err := unix.Getsockname(f.route)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("route lookup for %v: %w", dst, err)
	}
	switch a := got.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(a.Addr), nil
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(a.Addr), nil
	}
	return netip.Addr{}, fmt.Errorf("route lookup for %v: unexpected socket name %T", dst, got)
}

// send transmits a whole IP packet to dst.
func (f *rawFamily) send(pkt []byte, dst netip.Addr) error {
	_, err := f.tcp.WriteTo(pkt, &net.IPAddr{IP: dst.AsSlice()})
	return err
}

// readTCP delivers every TCP segment received, with its source address,
// until the socket is closed. The segment aliases a reused buffer.
func (f *rawFamily) readTCP(deliver func(from netip.Addr, seg []byte)) {
	readLoop(f.tcp, deliver)
}

// readICMP delivers every ICMP message received until the socket is closed.
func (f *rawFamily) readICMP(deliver func(from netip.Addr, msg []byte)) {
	readLoop(f.icmp, deliver)
}

// readLoop reads datagrams; Go's IPConn strips the IPv4 header, and an
// IPv6 raw socket never delivers one, so both families see the transport
// bytes alone.
func readLoop(c *net.IPConn, deliver func(from netip.Addr, b []byte)) {
	buf := make([]byte, 65536)
	for {
		n, addr, err := c.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		ip, ok := addr.(*net.IPAddr)
		if !ok {
			continue
		}
		from, ok := netip.AddrFromSlice(ip.IP)
		if !ok {
			continue
		}
		deliver(from.Unmap(), buf[:n])
	}
}

func (f *rawFamily) close() {
	if f.tcp != nil {
		f.tcp.Close()
	}
	if f.icmp != nil {
		f.icmp.Close()
	}
	if f.route >= 0 {
		unix.Close(f.route)
		f.route = -1
	}
}
