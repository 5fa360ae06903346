//go:build linux

package compare

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/internal/tunhost"
	"github.com/mptcp-go/mptcp/link/tun"
	"golang.org/x/sys/unix"
)

// port is the MPTCP server's port; competitorPort the TCP competitor's.
const (
	port           = 5201
	competitorPort = 5202
)

// side is a client and a server of one implementation on an emulated
// network: dial reaches the server, which answers transfer requests.
type side struct {
	dial    dialFunc
	closers []func()
}

func (s *side) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// kernelSide runs the kernel's MPTCP on both ends, through Go's net with
// SetMultipathTCP, as an application would. The emulator configured the
// client's subflow endpoints and both sides' limits.
func kernelSide(ctx context.Context, e *emulator) (*side, error) {
	addr := netip.AddrPortFrom(e.info.Paths[0].ServerV4, port).String()
	var ln net.Listener
	err := e.server.Do(func() (err error) {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		ln, err = lc.Listen(ctx, "tcp", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kernel server: %w", err)
	}
	srv := serve(ln, nil)
	s := &side{closers: []func(){srv.close}}
	s.dial = func(ctx context.Context) (c net.Conn, err error) {
		err = e.client.Do(func() (err error) {
			var d net.Dialer
			d.SetMultipathTCP(true)
			c, err = d.DialContext(ctx, "tcp", addr)
			return err
		})
		return c, err
	}
	return s, nil
}

// oursSide runs our stack on both ends, each on a TUN device in its
// namespace: the client with its stack address on every path, the server
// single-homed on path 1 (as in the simulator), policies from cfg; super
// runs the TUN drivers in super-packet mode (tunhost.Config.SuperPackets).
func oursSide(ctx context.Context, e *emulator, cfg mptcp.Config, super bool) (*side, error) {
	tp := &lab.Topology{Client: e.client, Server: e.server, MTU: 1500}
	for i, p := range e.info.Paths {
		n := i + 1
		tp.Paths = append(tp.Paths, lab.Path{N: n,
			ClientStack: lab.Pair{V4: p.ClientStack, V6: stackV6(n, 3, 1)},
			ServerStack: lab.Pair{V4: p.ServerStack, V6: stackV6(n, 4, 2)}})
	}
	s := &side{}
	host := func(ns lab.Netns, paths []int, addrs []netip.Addr) (*tunhost.Host, error) {
		ifc, err := tp.StackInterface(ns, "tun0", paths...)
		if err != nil {
			return nil, err
		}
		h, err := tunhost.New(tunhost.Config{Stack: cfg, Addrs: addrs, Interfaces: []tun.Interface{ifc}, SuperPackets: super})
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() { h.Close() })
		return h, nil
	}
	srvHost, err := host(e.server, []int{1}, []netip.Addr{e.info.Paths[0].ServerStack})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("our server: %w", err)
	}
	addr := netip.AddrPortFrom(e.info.Paths[0].ServerStack, port).String()
	ln, err := srvHost.Stack.Listen("tcp", addr)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("our server: %w", err)
	}
	srv := serve(ln, nil)
	s.closers = append(s.closers, srv.close)
	var paths []int
	var addrs []netip.Addr
	for i, p := range e.info.Paths {
		paths = append(paths, i+1)
		addrs = append(addrs, p.ClientStack)
	}
	cliHost, err := host(e.client, paths, addrs)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("our client: %w", err)
	}
	s.dial = func(ctx context.Context) (net.Conn, error) {
		return cliHost.Stack.DialContext(ctx, "tcp", addr)
	}
	return s, nil
}

// stackV6 is lab's IPv6 stack address of path n (fd00:n:third::last),
// which the --info file does not carry.
func stackV6(n, third, last int) netip.Addr {
	var b [16]byte
	b[0], b[1] = 0xfd, 0x00
	b[2], b[3] = byte(n>>8), byte(n)
	b[4], b[5] = byte(third>>8), byte(third)
	b[15] = byte(last)
	return netip.AddrFrom16(b)
}

// competitorSide is the scenario's competing single-path TCP flow: the
// kernel's TCP with the competitor's congestion control on the sender
// (the server), over the competitor's own path.
func competitorSide(ctx context.Context, e *emulator, cc string) (*side, error) {
	if len(e.info.Competitors) == 0 {
		return nil, fmt.Errorf("the scenario has no competitor")
	}
	p := e.info.Competitors[0]
	addr := netip.AddrPortFrom(p.ServerV4, competitorPort).String()
	var ln net.Listener
	err := e.server.Do(func() (err error) {
		ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("competitor server: %w", err)
	}
	setup := func(c net.Conn) error {
		if cc == "" {
			return nil
		}
		return setCongestion(c, cc)
	}
	srv := serve(ln, setup)
	s := &side{closers: []func(){srv.close}}
	s.dial = func(ctx context.Context) (c net.Conn, err error) {
		err = e.client.Do(func() (err error) {
			d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(p.ClientV4, 0))}
			c, err = d.DialContext(ctx, "tcp", addr)
			return err
		})
		return c, err
	}
	return s, nil
}

// setCongestion sets a kernel TCP connection's congestion control.
func setCongestion(c net.Conn, name string) error {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return fmt.Errorf("not a kernel TCP connection")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), syscall.IPPROTO_TCP, unix.TCP_CONGESTION, name)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("congestion control %q: %w", name, serr)
	}
	return nil
}
