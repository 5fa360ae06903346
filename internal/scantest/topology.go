//go:build linux

package scantest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/wire"
)

// The ports of server A, each a different case.
const (
	// PortMPTCP has a kernel MPTCP listener.
	PortMPTCP = 8001
	// PortTCP has a plain TCP listener.
	PortTCP = 8002
	// PortClosed has no listener: the kernel answers RST.
	PortClosed = 8003
	// PortDropped is dropped by iptables in A: no answer.
	PortDropped = 8004
	// PortRejected is rejected by iptables in A with an ICMP
	// administratively-prohibited error.
	PortRejected = 8005
	// PortStripR1 has a kernel MPTCP listener; router R1 strips option 30
	// from segments forwarded to it, so the quote of hop 2 lacks it.
	PortStripR1 = 8006
	// PortStripR2 has a kernel MPTCP listener; router R2, the last hop,
	// strips option 30, which no quote can show.
	PortStripR2 = 8007
	// PortMSSClamp has a kernel MPTCP listener; R1 sets the MSS of SYNs
	// to ClampedMSS.
	PortMSSClamp = 8008
	// PortV0 is answered by a stub (not the kernel, which speaks only
	// version 1) with a version 0 MP_CAPABLE SYN/ACK.
	PortV0 = 8010
)

// ClampedMSS is the MSS R1 writes into SYNs to PortMSSClamp.
const ClampedMSS = 1200

// Topology is the test network:
//
//	Scanner -- R1 -- R2 -+- A  kernel MPTCP, TCP, closed, dropped, rejected, stub v0
//	                     +- C  kernel MPTCP, allow_join_initial_addr_port=0
//	                     +- K  kernel MPTCP, checksum_enabled=1
//
// Each server is its own namespace because the MPTCP sysctls are per
// namespace. Every link carries IPv4 and IPv6.
type Topology struct {
	Scanner, R1, R2, A, C, K lab.Netns
}

// Addrs are the addresses of one family in the topology. R1 and R2 are the
// addresses the routers send ICMP errors towards the scanner from: the
// address of their interface on the scanner's side.
type Addrs struct {
	Scanner, R1, R2, A, C, K netip.Addr
}

var addrs4 = Addrs{
	Scanner: netip.MustParseAddr("10.9.1.2"), R1: netip.MustParseAddr("10.9.1.1"), R2: netip.MustParseAddr("10.9.2.2"),
	A: netip.MustParseAddr("10.9.3.2"), C: netip.MustParseAddr("10.9.4.2"), K: netip.MustParseAddr("10.9.5.2"),
}

var addrs6 = Addrs{
	Scanner: netip.MustParseAddr("fd09:1::2"), R1: netip.MustParseAddr("fd09:1::1"), R2: netip.MustParseAddr("fd09:2::2"),
	A: netip.MustParseAddr("fd09:3::2"), C: netip.MustParseAddr("fd09:4::2"), K: netip.MustParseAddr("fd09:5::2"),
}

// Addrs returns the addresses of the IPv4 or the IPv6 topology.
func (*Topology) Addrs(v6 bool) Addrs {
	if v6 {
		return addrs6
	}
	return addrs4
}

// New builds the topology, starts the servers, and tears everything down
// when the test ends.
func New(t testing.TB) *Topology {
	t.Helper()
	Require(t)
	tp := &Topology{
		Scanner: lab.TempNetns(t, "s"), R1: lab.TempNetns(t, "r1"), R2: lab.TempNetns(t, "r2"),
		A: lab.TempNetns(t, "a"), C: lab.TempNetns(t, "c"), K: lab.TempNetns(t, "k"),
	}
	// Routers are routers before their interfaces come up.
	for _, r := range []lab.Netns{tp.R1, tp.R2} {
		r.Run(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
		r.Run(t, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
		// Routers answer every expired probe: the default rate limit
		// (one ICMP error per second per destination after a burst of
		// six) would make a test's path probes wait for retries.
		r.Run(t, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
		r.Run(t, "sysctl", "-qw", "net.ipv6.icmp.ratelimit=0")
	}
	lab.Veth(t, tp.Scanner, "eth0", "10.9.1.2/24,fd09:1::2/64", tp.R1, "eth0", "10.9.1.1/24,fd09:1::1/64")
	lab.Veth(t, tp.R1, "eth1", "10.9.2.1/24,fd09:2::1/64", tp.R2, "eth0", "10.9.2.2/24,fd09:2::2/64")
	for i, srv := range []lab.Netns{tp.A, tp.C, tp.K} {
		n := i + 3
		lab.Veth(t, tp.R2, fmt.Sprintf("eth%d", i+1), fmt.Sprintf("10.9.%d.1/24,fd09:%d::1/64", n, n),
			srv, "eth0", fmt.Sprintf("10.9.%d.2/24,fd09:%d::2/64", n, n))
		srv.Run(t, "ip", "route", "add", "default", "via", fmt.Sprintf("10.9.%d.1", n))
		srv.Run(t, "ip", "-6", "route", "add", "default", "via", fmt.Sprintf("fd09:%d::1", n))
	}
	tp.Scanner.Run(t, "ip", "route", "add", "default", "via", "10.9.1.1")
	tp.Scanner.Run(t, "ip", "-6", "route", "add", "default", "via", "fd09:1::1")
	tp.R1.Run(t, "ip", "route", "add", "default", "via", "10.9.2.2")
	tp.R1.Run(t, "ip", "-6", "route", "add", "default", "via", "fd09:2::2")
	tp.R2.Run(t, "ip", "route", "add", "10.9.1.0/24", "via", "10.9.2.1")
	tp.R2.Run(t, "ip", "-6", "route", "add", "fd09:1::/64", "via", "fd09:2::1")
	tp.C.Run(t, "sysctl", "-qw", "net.mptcp.allow_join_initial_addr_port=0")
	tp.K.Run(t, "sysctl", "-qw", "net.mptcp.checksum_enabled=1")

	for _, ipt := range []string{"iptables", "ip6tables"} {
		tp.A.Run(t, ipt, "-A", "INPUT", "-p", "tcp", "--dport", fmt.Sprint(PortDropped), "-j", "DROP")
		reject := map[string]string{"iptables": "icmp-admin-prohibited", "ip6tables": "icmp6-adm-prohibited"}[ipt]
		tp.A.Run(t, ipt, "-A", "INPUT", "-p", "tcp", "--dport", fmt.Sprint(PortRejected), "-j", "REJECT", "--reject-with", reject)
		// The v0 stub answers from a raw socket; the kernel, which has
		// no socket on the port, would race it with a RST.
		tp.A.Run(t, ipt, "-A", "OUTPUT", "-p", "tcp", "--sport", fmt.Sprint(PortV0), "--tcp-flags", "RST", "RST", "-j", "DROP")
		tp.R1.Run(t, ipt, "-t", "mangle", "-A", "FORWARD", "-p", "tcp", "--dport", fmt.Sprint(PortStripR1), "-j", "TCPOPTSTRIP", "--strip-options", "30")
		tp.R1.Run(t, ipt, "-t", "mangle", "-A", "FORWARD", "-p", "tcp", "--dport", fmt.Sprint(PortMSSClamp),
			"--tcp-flags", "SYN,RST", "SYN", "-j", "TCPMSS", "--set-mss", fmt.Sprint(ClampedMSS))
		tp.R2.Run(t, ipt, "-t", "mangle", "-A", "FORWARD", "-p", "tcp", "--dport", fmt.Sprint(PortStripR2), "-j", "TCPOPTSTRIP", "--strip-options", "30")
	}

	listen(t, tp.A, PortMPTCP, true)
	listen(t, tp.A, PortTCP, false)
	listen(t, tp.A, PortStripR1, true)
	listen(t, tp.A, PortStripR2, true)
	listen(t, tp.A, PortMSSClamp, true)
	listen(t, tp.C, PortMPTCP, true)
	listen(t, tp.K, PortMPTCP, true)
	for _, v6 := range []bool{false, true} {
		startV0Stub(t, tp.A, tp.Addrs(v6).A)
	}
	tp.waitReady(t)
	return tp
}

// waitReady returns once the scanner reaches every server over both
// families. A veth's carrier-up event reaches IPv6 address configuration
// through linkwatch, which delays it by up to a second; until then the
// routers do not answer neighbour solicitations, and IPv6 probes vanish.
func (tp *Topology) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, v6 := range []bool{false, true} {
		ad := tp.Addrs(v6)
		for _, dst := range []netip.AddrPort{
			netip.AddrPortFrom(ad.A, PortTCP), netip.AddrPortFrom(ad.C, PortMPTCP), netip.AddrPortFrom(ad.K, PortMPTCP),
		} {
			for {
				err := tp.Scanner.Do(func() error {
					c, err := net.DialTimeout("tcp", dst.String(), 200*time.Millisecond)
					if err == nil {
						c.Close()
					}
					return err
				})
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the topology does not come up: %v", err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
}

// listen opens a kernel listener (MPTCP or plain TCP) on every address of
// the namespace, IPv4 and IPv6, and closes it when the test ends.
func listen(t testing.TB, n lab.Netns, port int, mptcp bool) {
	t.Helper()
	var ln net.Listener
	err := n.Do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(mptcp)
		var err error
		ln, err = lc.Listen(context.Background(), "tcp", fmt.Sprintf(":%d", port))
		return err
	})
	if err != nil {
		t.Fatalf("listening on port %d in %s: %v", port, n, err)
	}
	t.Cleanup(func() { ln.Close() })
	// Nothing ever completes a handshake, but drain the queue anyway.
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// startV0Stub answers SYNs to PortV0 at addr with a SYN/ACK carrying an
// RFC 6824 (version 0) MP_CAPABLE, as an old out-of-tree MPTCP kernel did.
func startV0Stub(t testing.TB, n lab.Netns, addr netip.Addr) {
	t.Helper()
	network, wildcard := "ip4:tcp", "0.0.0.0"
	if addr.Is6() {
		network, wildcard = "ip6:tcp", "::"
	}
	var c net.PacketConn
	if err := n.Do(func() (err error) {
		c, err = net.ListenPacket(network, wildcard)
		return err
	}); err != nil {
		t.Fatalf("v0 stub in %s: %v", n, err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			k, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			seg, err := wire.ParseTCP(buf[:k])
			if err != nil || seg.DstPort() != PortV0 || seg.Flags() != wire.FlagSYN {
				continue
			}
			peer, ok := netip.AddrFromSlice(from.(*net.IPAddr).IP)
			if !ok {
				continue
			}
			peer = peer.Unmap()
			var ob wire.OptionBuilder
			_ = ob.AddMSS(1460)
			_ = ob.AddMPCapable(&wire.MPCapable{Form: wire.MPCapableSYNACK, Version: 0, Flags: wire.MPCapableHMACSHA256, SenderKey: rand.Uint64()})
			f := wire.TCPFields{SrcPort: PortV0, DstPort: seg.SrcPort(), Seq: rand.Uint32(), Ack: seg.Seq() + 1,
				Flags: wire.FlagSYN | wire.FlagACK, Window: 65535}
			out := make([]byte, wire.TCPMinHeaderLen+ob.Len())
			wire.EncodeTCP(out, &f, ob.Bytes())
			wire.TCP(out).SetChecksum(wire.TCP(out).ComputeChecksum(addr, peer))
			_, _ = c.WriteTo(out, &net.IPAddr{IP: peer.AsSlice()})
		}
	}()
}
