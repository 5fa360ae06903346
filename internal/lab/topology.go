//go:build linux

package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Middle says what stands between the client and the server on each path.
type Middle int

const (
	// Direct joins the client and the server with one veth pair per path.
	Direct Middle = iota
	// Router puts a router namespace in the middle: each path is a client
	// link and a server link, two subnets, and the kernel forwards.
	Router
	// Wire puts a namespace in the middle that holds both links of each
	// path but forwards nothing and has no addresses: the path is one
	// subnet, and a program in the middle namespace (a link emulator)
	// moves frames between a path's two interfaces, as a bump in the
	// wire. Build does not wait for the paths, which are dead until that
	// program runs; call WaitReady once it does.
	Wire
)

// String returns the middle's name.
func (m Middle) String() string {
	switch m {
	case Direct:
		return "direct"
	case Router:
		return "router"
	case Wire:
		return "wire"
	}
	return fmt.Sprintf("Middle(%d)", int(m))
}

// LinkConfig shapes one path.
type LinkConfig struct {
	// Rate limits the path to this many bits per second in each direction
	// with a tbf qdisc (0: no limit). With Direct the qdisc sits on both
	// ends' veths, otherwise on the middle namespace's two interfaces of
	// the path, so the bottleneck queue is in the middle as on a real path.
	Rate uint64
	// Burst is the tbf bucket in bytes (0: 1 ms at Rate, at least 4 KiB).
	Burst int
	// Latency bounds the tbf queue: the longest a packet may wait (0: 20 ms).
	Latency time.Duration
}

// Config describes a topology.
type Config struct {
	// Paths is the number of paths between client and server (default 2,
	// at most MaxPaths).
	Paths int
	// Middle is what joins them.
	Middle Middle
	// Links shapes path i+1 with Links[i]; paths beyond it are unshaped.
	Links []LinkConfig
	// MTU of every link (default 1500).
	MTU int
	// NoWait returns from Build without checking that every path carries
	// IPv4 and IPv6 (Wire never waits).
	NoWait bool
	// Name, if set, goes into every namespace's name before its role
	// ("mlab4242-3vtort-c"), so that whoever lists the namespaces sees
	// which tool made them.
	Name string
}

// MaxPaths bounds Config.Paths: the address plan numbers paths in one
// octet, and interface names stay short.
const MaxPaths = 32

// Pair is an IPv4 and an IPv6 address.
type Pair struct{ V4, V6 netip.Addr }

// Get returns the IPv6 address if v6, else the IPv4 one.
func (p Pair) Get(v6 bool) netip.Addr {
	if v6 {
		return p.V6
	}
	return p.V4
}

// Path is one path between client and server, and the addresses on it.
//
// The address plan, for path N (from 1):
//
//	link (Direct, Wire)       10.N.1.0/24   fd00:N:1::/64   client .1 / ::1, server .2 / ::2
//	client link (Router)      10.N.1.0/24   fd00:N:1::/64   client .1, router .2
//	server link (Router)      10.N.2.0/24   fd00:N:2::/64   router .1, server .2
//	client user-space stack   10.N.3.1      fd00:N:3::1
//	server user-space stack   10.N.4.2      fd00:N:4::2
//
// The kernel owns the client and server addresses; it never owns the
// stack addresses, which every namespace routes over path N and which
// StackInterface routes into a TUN device (see docs/tun.md). Client and
// server each send what leaves from path N's addresses over path N:
// policy rules select routing table Table for those sources, as the
// kernel's MPTCP documentation advises for multihomed hosts.
type Path struct {
	N int
	// Interface names: ClientIf in the client, ServerIf in the server,
	// and in the middle namespace MiddleClientIf (towards the client) and
	// MiddleServerIf (towards the server).
	ClientIf, ServerIf             string
	MiddleClientIf, MiddleServerIf string
	// Kernel addresses.
	Client, Server Pair
	// Next hops: the client's towards the server (the router, or the
	// server itself), and the server's towards the client.
	ClientGateway, ServerGateway Pair
	// Addresses for user-space stacks on either side.
	ClientStack, ServerStack Pair
	// Table is the policy-routing table of the path, on both sides.
	Table int
	Link  LinkConfig
}

// Topology is a client and a server joined by several paths, each its own
// subnet, in network namespaces:
//
//	Direct:          client ==== server
//	Router, Wire:    client ==== middle ==== server
//
// (one line per path). Close removes every namespace, and with them
// their interfaces, routes and qdiscs.
type Topology struct {
	Client, Server Netns
	Middle         Netns // "" for Direct
	Mode           Middle
	Paths          []Path
	MTU            int
	nss            []Netns
	closed         bool
}

// Build creates the topology. On error, whatever it made is removed.
func Build(cfg Config) (tp *Topology, err error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if cfg.Paths == 0 {
		cfg.Paths = 2
	}
	if cfg.Paths < 1 || cfg.Paths > MaxPaths {
		return nil, fmt.Errorf("lab: %d paths, want 1..%d", cfg.Paths, MaxPaths)
	}
	if cfg.Middle < Direct || cfg.Middle > Wire {
		return nil, fmt.Errorf("lab: unknown middle %v", cfg.Middle)
	}
	if cfg.MTU == 0 {
		cfg.MTU = 1500
	}
	if cfg.MTU < 1280 || cfg.MTU > 65535 {
		return nil, fmt.Errorf("lab: MTU %d, want 1280..65535 (IPv6 needs 1280)", cfg.MTU)
	}
	tp = &Topology{Mode: cfg.Middle, MTU: cfg.MTU}
	defer func() {
		if err != nil {
			_ = tp.Close()
			tp = nil
		}
	}()
	if tp.Client, err = tp.newNetns(cfg.Name + "c"); err != nil {
		return
	}
	if tp.Server, err = tp.newNetns(cfg.Name + "s"); err != nil {
		return
	}
	switch cfg.Middle {
	case Router:
		if tp.Middle, err = tp.newNetns(cfg.Name + "r"); err != nil {
			return
		}
		err = tp.Middle.Sysctl("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
	case Wire:
		if tp.Middle, err = tp.newNetns(cfg.Name + "w"); err != nil {
			return
		}
		// Nothing of the middle's own may go on the wire: no IPv6
		// link-local addresses, router solicitations or MLD reports.
		err = tp.Middle.Sysctl("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	}
	if err != nil {
		return
	}
	for i := range cfg.Paths {
		p := plan(i+1, cfg.Middle)
		if i < len(cfg.Links) {
			p.Link = cfg.Links[i]
		}
		tp.Paths = append(tp.Paths, p)
	}
	if err = tp.wire(); err != nil {
		return
	}
	if err = tp.route(); err != nil {
		return
	}
	if err = tp.shape(); err != nil {
		return
	}
	if cfg.Middle != Wire && !cfg.NoWait {
		err = tp.WaitReady(10 * time.Second)
	}
	return
}

// New is Build for a test: it skips the test when the lab cannot run,
// fails it on error, and removes the topology when the test ends, whether
// it passed, failed or panicked.
func New(t T, cfg Config) *Topology {
	t.Helper()
	Require(t)
	tp, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tp.Close(); err != nil {
			t.Error(err)
		}
	})
	return tp
}

// Close removes the topology's namespaces. It is safe to call twice.
func (tp *Topology) Close() error {
	if tp.closed {
		return nil
	}
	tp.closed = true
	var errs error
	for i := len(tp.nss) - 1; i >= 0; i-- {
		errs = errors.Join(errs, tp.nss[i].Delete())
	}
	return errs
}

// Namespaces returns the topology's namespaces: client, server and, if
// there is one, the middle.
func (tp *Topology) Namespaces() []Netns { return append([]Netns(nil), tp.nss...) }

func (tp *Topology) newNetns(role string) (Netns, error) {
	n, err := NewNetns(role)
	if err == nil {
		tp.nss = append(tp.nss, n)
	}
	return n, err
}

// plan returns path n's names and addresses.
func plan(n int, m Middle) Path {
	a4 := func(third, fourth int) netip.Addr {
		return netip.AddrFrom4([4]byte{10, byte(n), byte(third), byte(fourth)})
	}
	a6 := func(third, last int) netip.Addr {
		var b [16]byte
		b[0], b[1] = 0xfd, 0x00
		b[2], b[3] = byte(n>>8), byte(n)
		b[4], b[5] = byte(third>>8), byte(third)
		b[15] = byte(last)
		return netip.AddrFrom16(b)
	}
	p := Path{
		N:           n,
		ClientIf:    fmt.Sprintf("p%d", n),
		ServerIf:    fmt.Sprintf("p%d", n),
		Client:      Pair{a4(1, 1), a6(1, 1)},
		ClientStack: Pair{a4(3, 1), a6(3, 1)},
		ServerStack: Pair{a4(4, 2), a6(4, 2)},
		Table:       100 + n,
	}
	switch m {
	case Direct, Wire:
		p.Server = Pair{a4(1, 2), a6(1, 2)}
		p.ClientGateway, p.ServerGateway = p.Server, p.Client
	case Router:
		p.Server = Pair{a4(2, 2), a6(2, 2)}
		p.ClientGateway = Pair{a4(1, 2), a6(1, 2)}
		p.ServerGateway = Pair{a4(2, 1), a6(2, 1)}
	}
	if m != Direct {
		p.MiddleClientIf = fmt.Sprintf("c%d", n)
		p.MiddleServerIf = fmt.Sprintf("s%d", n)
	}
	return p
}

// prefixLen is the length of a path subnet's prefix.
func prefixLen(a netip.Addr) int {
	if a.Is4() {
		return 24
	}
	return 64
}

// wire creates the veth pairs, addresses them and brings them up.
func (tp *Topology) wire() error {
	var cl, sv, mid []string
	ifUp := func(cmds *[]string, ifc string, addrs ...netip.Addr) {
		*cmds = append(*cmds, fmt.Sprintf("link set %s mtu %d", ifc, tp.MTU))
		for _, a := range addrs {
			line := fmt.Sprintf("addr add %s/%d dev %s", a, prefixLen(a), ifc)
			if a.Is6() {
				line += " nodad"
			}
			*cmds = append(*cmds, line)
		}
		*cmds = append(*cmds, fmt.Sprintf("link set %s up", ifc))
	}
	for _, p := range tp.Paths {
		if tp.Mode == Direct {
			cl = append(cl, fmt.Sprintf("link add %s type veth peer name %s netns %s", p.ClientIf, p.ServerIf, tp.Server))
			ifUp(&cl, p.ClientIf, p.Client.V4, p.Client.V6)
			ifUp(&sv, p.ServerIf, p.Server.V4, p.Server.V6)
			continue
		}
		cl = append(cl, fmt.Sprintf("link add %s type veth peer name %s netns %s", p.ClientIf, p.MiddleClientIf, tp.Middle))
		sv = append(sv, fmt.Sprintf("link add %s type veth peer name %s netns %s", p.ServerIf, p.MiddleServerIf, tp.Middle))
		ifUp(&cl, p.ClientIf, p.Client.V4, p.Client.V6)
		ifUp(&sv, p.ServerIf, p.Server.V4, p.Server.V6)
		if tp.Mode == Router {
			ifUp(&mid, p.MiddleClientIf, p.ClientGateway.V4, p.ClientGateway.V6)
			ifUp(&mid, p.MiddleServerIf, p.ServerGateway.V4, p.ServerGateway.V6)
		} else {
			ifUp(&mid, p.MiddleClientIf)
			ifUp(&mid, p.MiddleServerIf)
		}
	}
	// The client creates every pair it is part of, and the server those
	// to the middle, so each side's interfaces exist before it configures
	// them; the middle comes last.
	if err := tp.Client.IP(cl...); err != nil {
		return err
	}
	if err := tp.Server.IP(sv...); err != nil {
		return err
	}
	if tp.Middle != "" {
		return tp.Middle.IP(mid...)
	}
	return nil
}

// route installs the routes and policy rules of every namespace.
func (tp *Topology) route() error {
	var cl, sv, mid []string
	for i, p := range tp.Paths {
		for _, v6 := range []bool{false, true} {
			fam, def := "-4", "0.0.0.0/0"
			if v6 {
				fam, def = "-6", "::/0"
			}
			side := func(cmds *[]string, ifc string, self, stack, gw, peer, peerStack netip.Addr) {
				sub := netip.PrefixFrom(self, prefixLen(self)).Masked()
				*cmds = append(*cmds,
					fmt.Sprintf(fam+" route add %s dev %s table %d", sub, ifc, p.Table),
					fmt.Sprintf(fam+" route add %s via %s dev %s table %d", def, gw, ifc, p.Table),
					fmt.Sprintf(fam+" rule add from %s table %d", self, p.Table),
					fmt.Sprintf(fam+" rule add from %s table %d", stack, p.Table),
					fmt.Sprintf(fam+" route add %s via %s dev %s", host(peerStack), gw, ifc),
				)
				if tp.Mode == Router {
					*cmds = append(*cmds, fmt.Sprintf(fam+" route add %s via %s dev %s", host(peer), gw, ifc))
				}
				if i == 0 {
					*cmds = append(*cmds, fmt.Sprintf(fam+" route add %s via %s dev %s", def, gw, ifc))
				}
			}
			side(&cl, p.ClientIf, p.Client.Get(v6), p.ClientStack.Get(v6), p.ClientGateway.Get(v6), p.Server.Get(v6), p.ServerStack.Get(v6))
			side(&sv, p.ServerIf, p.Server.Get(v6), p.ServerStack.Get(v6), p.ServerGateway.Get(v6), p.Client.Get(v6), p.ClientStack.Get(v6))
			if tp.Mode == Router {
				mid = append(mid,
					fmt.Sprintf(fam+" route add %s via %s dev %s", host(p.ClientStack.Get(v6)), p.Client.Get(v6), p.MiddleClientIf),
					fmt.Sprintf(fam+" route add %s via %s dev %s", host(p.ServerStack.Get(v6)), p.Server.Get(v6), p.MiddleServerIf),
				)
			}
		}
	}
	if err := tp.Client.IP(cl...); err != nil {
		return err
	}
	if err := tp.Server.IP(sv...); err != nil {
		return err
	}
	if tp.Middle != "" {
		return tp.Middle.IP(mid...)
	}
	return nil
}

// host returns the single-address prefix of a.
func host(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

// shape adds the tbf qdiscs of the rate-limited paths.
func (tp *Topology) shape() error {
	for _, p := range tp.Paths {
		if p.Link.Rate == 0 {
			continue
		}
		type ep struct {
			n   Netns
			ifc string
		}
		eps := []ep{{tp.Client, p.ClientIf}, {tp.Server, p.ServerIf}}
		if tp.Middle != "" {
			eps = []ep{{tp.Middle, p.MiddleClientIf}, {tp.Middle, p.MiddleServerIf}}
		}
		for _, e := range eps {
			if err := e.n.SetRate(e.ifc, p.Link); err != nil {
				return err
			}
		}
	}
	return nil
}

// BridgeWire joins each path's two interfaces in the middle namespace of a
// Wire topology with a Linux bridge, so that frames cross unchanged: the
// wire without an emulator, for tests and as the baseline an emulator is
// compared with. UnbridgeWire undoes it.
func (tp *Topology) BridgeWire() error {
	if tp.Mode != Wire {
		return fmt.Errorf("lab: BridgeWire on a %v topology", tp.Mode)
	}
	var cmds []string
	for _, p := range tp.Paths {
		br := fmt.Sprintf("br%d", p.N)
		cmds = append(cmds, "link add "+br+" type bridge", "link set "+br+" up",
			"link set "+p.MiddleClientIf+" master "+br, "link set "+p.MiddleServerIf+" master "+br)
	}
	return tp.Middle.IP(cmds...)
}

// UnbridgeWire removes the bridges BridgeWire made.
func (tp *Topology) UnbridgeWire() error {
	if tp.Mode != Wire {
		return fmt.Errorf("lab: UnbridgeWire on a %v topology", tp.Mode)
	}
	var cmds []string
	for _, p := range tp.Paths {
		cmds = append(cmds, fmt.Sprintf("link del br%d", p.N))
	}
	return tp.Middle.IP(cmds...)
}
