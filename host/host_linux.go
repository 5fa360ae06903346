//go:build linux

package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/link/tun"
)

// Host is a user-space MPTCP stack running on the host's uplinks. Its
// embedded Stack dials and listens; Listen here also forwards the port
// from the uplinks when NAT is on.
type Host struct {
	*mptcp.Stack

	cfg   Config
	paths []*path
	drvs  []*tun.Driver // one per protocol loop

	mu      sync.Mutex
	undo    []cmd          // commands that remove what Start added, in order of addition
	ports   map[uint16]int // forwarded listening ports, by listener count
	closed  bool
	lock    *os.File // held while the host runs (see lockName)
	done    chan struct{}
	watcher sync.WaitGroup
}

// path is one path as set up.
type path struct {
	Path
	index int
	dev   string       // the TUN device
	addrs []netip.Addr // the stack's addresses on it
	local bool         // no uplink: the network routes the addresses
	gw4   netip.Addr
	gw6   netip.Addr
	table int
	up    bool // the uplink was up when last looked at
}

// cmd is one command line (ip, iptables, ip6tables).
type cmd []string

func (c cmd) String() string { return strings.Join(c, " ") }

// run runs the command and returns its error with its output.
func (c cmd) run() error {
	var out bytes.Buffer
	x := exec.Command(c[0], c[1:]...)
	x.Stdout, x.Stderr = &out, &out
	if err := x.Run(); err != nil {
		return fmt.Errorf("host: %s: %v: %s", c, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// output runs the command and returns its standard output.
func (c cmd) output() (string, error) {
	out, err := exec.Command(c[0], c[1:]...).Output()
	if err != nil {
		return "", fmt.Errorf("host: %s: %w", c, err)
	}
	return string(out), nil
}

func (cfg *Config) defaults() error {
	if len(cfg.Paths) == 0 {
		return errors.New("host: no paths")
	}
	if cfg.Name == "" {
		cfg.Name = "mptcp-h"
	}
	if len(cfg.Name) > 12 || strings.ContainsAny(cfg.Name, "/ \t%") {
		return fmt.Errorf("host: name %q: want at most 12 characters, no spaces, slashes or %%", cfg.Name)
	}
	if !cfg.Prefix4.IsValid() {
		cfg.Prefix4 = netip.MustParsePrefix("10.77.0.0/16")
	}
	if !cfg.Prefix6.IsValid() {
		cfg.Prefix6 = netip.MustParsePrefix("fd77::/64")
	}
	if !cfg.Prefix4.Addr().Is4() || cfg.Prefix4.Bits() > 16 || cfg.Prefix6.Addr().Is4() || cfg.Prefix6.Bits() > 96 {
		return fmt.Errorf("host: prefixes %v, %v: want an IPv4 /16 or larger and an IPv6 /96 or larger", cfg.Prefix4, cfg.Prefix6)
	}
	if cfg.Table == 0 {
		cfg.Table = 7700
	}
	if cfg.MTU == 0 {
		cfg.MTU = 1500
	}
	if cfg.MTU < 1280 || cfg.MTU > tun.MaxPacket {
		return fmt.Errorf("host: MTU %d: want 1280..%d", cfg.MTU, tun.MaxPacket)
	}
	return nil
}

// comment marks the NAT rules of this configuration's name.
func (cfg *Config) comment() string { return "mptcp-host:" + cfg.Name }

// Start sets the host up and returns the stack running on it.
func Start(cfg Config) (*Host, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	h := &Host{cfg: cfg, ports: map[uint16]int{}, done: make(chan struct{})}
	if slices.ContainsFunc(cfg.Paths, func(p Path) bool { return p.Uplink != "" || p.Gateway.IsValid() }) {
		// Rules, tables and NAT: one process per name and namespace,
		// which first removes what a dead one left.
		lock, err := lockName(cfg.Name)
		if err != nil {
			return nil, err
		}
		h.lock = lock
		sweep(&cfg)
	}
	if err := h.start(); err != nil {
		h.teardown()
		return nil, err
	}
	h.watcher.Add(1)
	go h.watch()
	return h, nil
}

func (h *Host) start() error {
	cfg := &h.cfg
	for i, p := range cfg.Paths {
		pp, err := newPath(cfg, i+1, p)
		if err != nil {
			return err
		}
		h.paths = append(h.paths, pp)
	}
	if slices.ContainsFunc(h.paths, func(p *path) bool { return !p.local }) {
		if err := h.forwarding(); err != nil {
			return err
		}
	}
	st, err := mptcp.NewStack(cfg.Stack)
	if err != nil {
		return fmt.Errorf("host: %w", err)
	}
	loops := st.Loops()
	if loops > 1 && cfg.Capture != nil {
		return errors.New("host: a capture needs a stack of one loop (Stack.Loops)")
	}
	ifs := make([][]tun.Interface, loops) // per loop: queue i of each device
	closeDevs := func() {
		for _, l := range ifs {
			for _, ifc := range l {
				ifc.Device.Close()
			}
		}
	}
	for _, p := range h.paths {
		devs, err := tun.CreateQueues(p.dev, cfg.MTU, loops) // single-queue for one loop
		if err != nil {
			closeDevs()
			return fmt.Errorf("host: creating TUN device %s (needs root or CAP_NET_ADMIN): %w", p.dev, err)
		}
		var prefixes []netip.Prefix
		for _, a := range p.addrs {
			prefixes = append(prefixes, netip.PrefixFrom(a, a.BitLen()))
		}
		for i, dev := range devs {
			ifs[i] = append(ifs[i], tun.Interface{Device: dev, MTU: cfg.MTU, Prefixes: prefixes})
		}
		if p.dev, err = devs[0].Name(); err != nil { // the kernel's choice for a name with %d
			closeDevs()
			return fmt.Errorf("host: TUN device %s: %w", p.dev, err)
		}
		if err := h.setUp(p); err != nil {
			closeDevs()
			return err
		}
	}
	for _, p := range h.paths {
		p.up = p.local || uplinkUp(p.Uplink)
		if p.up {
			h.addAddrs(st, p)
		}
	}
	for i, l := range ifs {
		lk := st.Link()
		if loops > 1 {
			lk = st.Loop(i)
		}
		drv, err := tun.New(lk, tun.Config{Interfaces: l, OnError: cfg.OnError, Capture: cfg.Capture, SuperPackets: !cfg.SplitOffloads,
			TrustKernelChecksums: !cfg.SplitOffloads})
		if err != nil {
			for _, l := range ifs[i:] {
				for _, ifc := range l {
					ifc.Device.Close()
				}
			}
			return fmt.Errorf("host: %w", err)
		}
		h.drvs = append(h.drvs, drv)
	}
	h.Stack = st
	return nil
}

// newPath works out a path's uplink, gateways, addresses and table.
func newPath(cfg *Config, i int, p Path) (*path, error) {
	pp := &path{Path: p, index: i, dev: p.Device, table: cfg.Table + i}
	if pp.dev == "" {
		pp.dev = cfg.Name + strconv.Itoa(i)
	}
	for _, a := range p.Addrs {
		if a = a.Unmap(); !a.IsValid() || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() {
			return nil, fmt.Errorf("host: path %d: %v cannot be a stack's address", i, a)
		}
		pp.addrs = append(pp.addrs, a.Unmap())
	}
	if p.Uplink == "" && !p.Gateway.IsValid() {
		if len(pp.addrs) == 0 {
			return nil, fmt.Errorf("host: path %d: give its uplink, its gateway, or its addresses", i)
		}
		pp.local = true
		return pp, nil
	}
	if p.Uplink == "" {
		name, err := uplinkFor(p.Gateway)
		if err != nil {
			return nil, fmt.Errorf("host: path %d: %w", i, err)
		}
		pp.Uplink = name
	}
	ifi, err := net.InterfaceByName(pp.Uplink)
	if err != nil {
		return nil, fmt.Errorf("host: path %d: uplink %s: %w", i, pp.Uplink, err)
	}
	if len(pp.addrs) == 0 {
		b4 := cfg.Prefix4.Masked().Addr().As4()
		b4[2], b4[3] = byte(i), 2
		pp.addrs = append(pp.addrs, netip.AddrFrom4(b4))
		if hasGlobal6(ifi) {
			b6 := cfg.Prefix6.Masked().Addr().As16()
			b6[13], b6[15] = byte(i), 2
			pp.addrs = append(pp.addrs, netip.AddrFrom16(b6))
		}
	}
	pp.gw4, pp.gw6 = p.Gateway, p.Gateway
	if !pp.gw4.Is4() {
		pp.gw4 = defaultGateway("-4", pp.Uplink)
	}
	if !pp.gw6.Is6() {
		pp.gw6 = defaultGateway("-6", pp.Uplink)
	}
	return pp, nil
}

// addr returns the path's first stack address of the family ("-4" or
// "-6").
func (p *path) addr(fam string) (netip.Addr, bool) {
	for _, a := range p.addrs {
		if a.Is4() == (fam == "-4") {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// hasGlobal6 reports whether the interface has a global IPv6 address.
func hasGlobal6(ifi *net.Interface) bool {
	addrs, _ := ifi.Addrs()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && !p.Addr().Is4() && p.Addr().IsGlobalUnicast() {
			return true
		}
	}
	return false
}

// uplinkFor returns the interface whose subnet holds gw.
func uplinkFor(gw netip.Addr) (string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, ifi := range ifs {
		addrs, _ := ifi.Addrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Masked().Contains(gw) {
				return ifi.Name, nil
			}
		}
	}
	return "", fmt.Errorf("no interface is on the subnet of gateway %s", gw)
}

// defaultGateway returns the gateway of the main table's default route
// out of dev, or the zero Addr.
func defaultGateway(family, dev string) netip.Addr {
	out, err := cmd{"ip", family, "route", "show", "default", "dev", dev}.output()
	if err != nil {
		return netip.Addr{}
	}
	f := strings.Fields(out)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "via" {
			if a, err := netip.ParseAddr(f[i+1]); err == nil {
				return a
			}
		}
	}
	return netip.Addr{}
}

// uplinkUp reports whether the uplink is up and has its carrier.
func uplinkUp(name string) bool {
	b, err := os.ReadFile("/sys/class/net/" + name + "/operstate")
	if err != nil {
		return false
	}
	s := strings.TrimSpace(string(b))
	// A veth or TUN without operstate support says "unknown" while it
	// works; "down" and "lowerlayerdown" do not.
	if s == "up" || s == "unknown" {
		ifi, err := net.InterfaceByName(name)
		return err == nil && ifi.Flags&net.FlagUp != 0
	}
	return false
}

// add runs a command that adds something and records the one that
// removes it.
func (h *Host) add(do, undo cmd) error {
	if err := do.run(); err != nil {
		return err
	}
	h.mu.Lock()
	h.undo = append(h.undo, undo)
	h.mu.Unlock()
	return nil
}

// setUp brings a path's device up and installs its routes, policy rule
// and NAT.
func (h *Host) setUp(p *path) error {
	// No IPv6 link-local address: the kernel sends nothing of its own
	// into the device.
	if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+p.dev+"/addr_gen_mode", []byte("1"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("host: %s: turning off IPv6 address generation: %w", p.dev, err)
	}
	if err := (cmd{"ip", "link", "set", p.dev, "up"}).run(); err != nil {
		return err
	}
	for _, a := range p.addrs {
		if h.cfg.NoRoute {
			break
		}
		if err := (cmd{"ip", family(a), "route", "replace", netip.PrefixFrom(a, a.BitLen()).String(), "dev", p.dev}).run(); err != nil {
			return err
		}
	}
	if p.local {
		return nil
	}
	tbl := strconv.Itoa(p.table)
	for _, a := range p.addrs {
		fam := family(a)
		if err := h.add(cmd{"ip", fam, "rule", "add", "from", a.String(), "table", tbl, "priority", tbl},
			cmd{"ip", fam, "rule", "del", "from", a.String(), "table", tbl, "priority", tbl}); err != nil {
			return err
		}
		if h.cfg.NAT {
			rule := []string{"POSTROUTING", "-s", a.String(), "-o", p.Uplink, "-m", "comment", "--comment", h.cfg.comment(), "-j", "MASQUERADE"}
			ipt := iptables(fam)
			if err := h.add(append(cmd{ipt, "-t", "nat", "-A"}, rule...), append(cmd{ipt, "-t", "nat", "-D"}, rule...)); err != nil {
				return err
			}
		}
	}
	return p.routeTable()
}

// family is the ip tool's flag for a's family.
func family(a netip.Addr) string {
	if a.Is4() {
		return "-4"
	}
	return "-6"
}

// families are the ip tool's family flags of the path's uplink
// addresses (none for a path without an uplink).
func (p *path) families() []string {
	if p.local {
		return nil
	}
	var out []string
	for _, fam := range []string{"-4", "-6"} {
		if _, ok := p.addr(fam); ok {
			out = append(out, fam)
		}
	}
	return out
}

func iptables(family string) string {
	if family == "-6" {
		return "ip6tables"
	}
	return "iptables"
}

// routeTable fills the path's table: the uplink's subnets and a default
// route out of it. The kernel drops these when the uplink goes down, so
// it runs again when it comes back.
func (p *path) routeTable() error {
	tbl := strconv.Itoa(p.table)
	ifi, err := net.InterfaceByName(p.Uplink)
	if err != nil {
		return fmt.Errorf("host: uplink %s: %w", p.Uplink, err)
	}
	addrs, _ := ifi.Addrs()
	for _, a := range addrs {
		pf, err := netip.ParsePrefix(a.String())
		if err != nil || pf.Addr().IsLinkLocalUnicast() {
			continue
		}
		fam := family(pf.Addr())
		if _, ok := p.addr(fam); !ok {
			continue
		}
		if err := (cmd{"ip", fam, "route", "replace", pf.Masked().String(), "dev", p.Uplink, "table", tbl}).run(); err != nil {
			return err
		}
	}
	for _, fam := range p.families() {
		gw := p.gw4
		if fam == "-6" {
			gw = p.gw6
		}
		c := cmd{"ip", fam, "route", "replace", "default", "dev", p.Uplink, "table", tbl}
		if gw.IsValid() {
			c = cmd{"ip", fam, "route", "replace", "default", "via", gw.String(), "dev", p.Uplink, "table", tbl}
		}
		if err := c.run(); err != nil {
			return err
		}
	}
	return nil
}

// forwarding turns IPv4 and IPv6 forwarding on, if they are off, and
// records how to turn them off again.
func (h *Host) forwarding() error {
	for _, f := range []string{"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"} {
		b, err := os.ReadFile(f)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // no IPv6
			}
			return fmt.Errorf("host: %w", err)
		}
		if strings.TrimSpace(string(b)) == "1" {
			continue
		}
		if err := os.WriteFile(f, []byte("1"), 0); err != nil {
			return fmt.Errorf("host: turning forwarding on: %w", err)
		}
		key := strings.ReplaceAll(strings.TrimPrefix(f, "/proc/sys/"), "/", ".")
		h.undo = append(h.undo, cmd{"sysctl", "-qw", key + "=0"})
	}
	return nil
}

// addAddrs gives the stack the path's addresses.
func (h *Host) addAddrs(st *mptcp.Stack, p *path) {
	for _, a := range p.addrs {
		st.AddAddress(a)
		if p.Backup {
			st.SetAddressBackup(a, true)
		}
	}
}

// watchEvery is how often the uplinks' state is looked at.
const watchEvery = 250 * time.Millisecond

// watch follows the uplinks: an uplink that goes down takes its path's
// addresses from the stack (its subflows close, the peer is told), and
// one that comes back gives them back, with its routes.
func (h *Host) watch() {
	defer h.watcher.Done()
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-t.C:
		}
		for _, p := range h.paths {
			if p.local {
				continue
			}
			up := uplinkUp(p.Uplink)
			if up == p.up {
				continue
			}
			p.up = up
			if !up {
				for _, a := range p.addrs {
					h.Stack.RemoveAddress(a)
				}
				continue
			}
			if err := p.routeTable(); err != nil && h.cfg.OnError != nil {
				h.cfg.OnError(fmt.Errorf("uplink %s is back: %w", p.Uplink, err))
			}
			h.addAddrs(h.Stack, p)
		}
	}
}

// Addrs returns the stack's address on each path (IPv4, then IPv6 if the
// path has it), in the order of Config.Paths.
func (h *Host) Addrs() [][]netip.Addr {
	out := make([][]netip.Addr, len(h.paths))
	for i, p := range h.paths {
		out[i] = slices.Clone(p.addrs)
	}
	return out
}

// Listen listens on the stack as mptcp.Stack.Listen does; with NAT, the
// port is also forwarded from every uplink to that path's stack address,
// until the listener is closed.
func (h *Host) Listen(network, address string) (net.Listener, error) {
	return h.ListenConfig(context.Background(), mptcp.ListenConfig{}, network, address)
}

// ListenConfig is Listen with lc's options (TCP Fast Open, keepalive);
// lc.Stack is set to the host's.
func (h *Host) ListenConfig(ctx context.Context, lc mptcp.ListenConfig, network, address string) (net.Listener, error) {
	lc.Stack = h.Stack
	ln, err := lc.Listen(ctx, network, address)
	if err != nil || !h.cfg.NAT {
		return ln, err
	}
	ml := ln.(*mptcp.Listener)
	port := uint16(ml.Addr().(*net.TCPAddr).Port)
	if err := h.forward(port); err != nil {
		ln.Close()
		return nil, err
	}
	return &Listener{Listener: ml, h: h, port: port}, nil
}

// Listener is a listener whose port Host forwards from the uplinks.
type Listener struct {
	*mptcp.Listener
	h    *Host
	port uint16
	once sync.Once
}

// Close stops listening and the forwarding.
func (l *Listener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { err = errors.Join(err, l.h.unforward(l.port)) })
	return err
}

// dnat is the rule that forwards port from a path's uplink to its stack
// address of family fam.
func (h *Host) dnat(op string, p *path, fam string, port uint16) cmd {
	a, _ := p.addr(fam)
	to := a.String()
	if fam == "-6" {
		to = "[" + to + "]"
	}
	return cmd{iptables(fam), "-t", "nat", op, "PREROUTING", "-i", p.Uplink, "-p", "tcp", "--dport", strconv.Itoa(int(port)),
		"-m", "comment", "--comment", h.cfg.comment(), "-j", "DNAT", "--to-destination", to}
}

// forward starts forwarding port, once per port however many listeners.
func (h *Host) forward(port uint16) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ports[port]++; h.ports[port] > 1 {
		return nil
	}
	for _, p := range h.paths {
		for _, fam := range p.families() {
			if err := h.dnat("-A", p, fam, port).run(); err != nil {
				h.mu.Unlock()
				h.unforward(port)
				h.mu.Lock()
				return err
			}
		}
	}
	return nil
}

// unforward stops forwarding port when its last listener closes.
func (h *Host) unforward(port uint16) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ports[port]--; h.ports[port] > 0 {
		return nil
	}
	delete(h.ports, port)
	var err error
	for _, p := range h.paths {
		for _, fam := range p.families() {
			if e := h.dnat("-D", p, fam, port).run(); e != nil && !h.closed {
				err = errors.Join(err, e)
			}
		}
	}
	return err
}

// Shutdown waits until the connections the application closed have
// delivered what was written to them (Stack.Drain), or until ctx is done,
// then closes the host as Close does. A program that exits after closing
// its connections calls Shutdown rather than Close: the peers get the
// last bytes and an orderly end. It returns Close's error, joined with
// ctx's if the wait was cut short.
func (h *Host) Shutdown(ctx context.Context) error {
	derr := h.Stack.Drain(ctx)
	return errors.Join(h.Close(), derr)
}

// Close stops the stack and removes everything Start added: devices,
// routes, rules, NAT, forwarding. It does not wait: what connections
// still had to send is lost, and their peers see a silent host (Shutdown
// lets closed connections finish first).
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	close(h.done)
	h.watcher.Wait()
	return h.teardown()
}

// teardown removes what was set up, newest first; the devices go with the
// driver (and with them their routes).
func (h *Host) teardown() error {
	var err error
	for _, d := range h.drvs {
		err = errors.Join(err, d.Close())
	}
	h.drvs = nil
	h.mu.Lock()
	undo := h.undo
	h.undo = nil
	ports := h.ports
	h.ports = map[uint16]int{}
	h.mu.Unlock()
	for port := range ports {
		for _, p := range h.paths {
			for _, fam := range p.families() {
				err = errors.Join(err, h.dnat("-D", p, fam, port).run())
			}
		}
	}
	for i := len(undo) - 1; i >= 0; i-- {
		err = errors.Join(err, undo[i].run())
	}
	for _, p := range h.paths {
		for _, fam := range p.families() {
			_ = (cmd{"ip", fam, "route", "flush", "table", strconv.Itoa(p.table)}).run()
		}
	}
	if h.lock != nil {
		h.lock.Close() // releases the lock
	}
	return err
}

// lockDir holds the lock files of running hosts.
const lockDir = "/run/mptcp-host"

// lockName takes the lock of a configuration name in the calling
// process's network namespace: an exclusive flock on a file named after
// the namespace and the name, which the kernel releases when the process
// dies, however it dies. Holding it, Start knows that whatever carries the
// name in this namespace is a dead run's, and sweeps it.
func lockName(name string) (*os.File, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		return nil, fmt.Errorf("host: network namespace: %w", err)
	}
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	path := fmt.Sprintf("%s/%d-%s.lock", lockDir, st.Ino, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("host: another process runs a host named %q in this network namespace (%s): give this one another Config.Name", name, path)
		}
		return nil, fmt.Errorf("host: locking %s: %w", path, err)
	}
	return f, nil
}

// sweepPaths bounds how many paths' leftovers the sweep looks for.
const sweepPaths = 32

// sweep removes what an earlier run with the same name left behind when
// it could not close (a crash, a kill): its devices, policy rules and
// tables, and NAT rules. It lists what is there first (a few commands);
// most runs find nothing.
func sweep(cfg *Config) {
	for i := 1; i <= sweepPaths; i++ {
		dev := cfg.Name + strconv.Itoa(i)
		if _, err := net.InterfaceByName(dev); err == nil {
			_ = (cmd{"ip", "link", "del", dev}).run()
		}
	}
	for _, fam := range []string{"-4", "-6"} {
		sweepRules(cfg, fam)
		sweepNAT(cfg, fam)
	}
}

// sweepRules removes the policy rules and tables in the name's range.
func sweepRules(cfg *Config, fam string) {
	ours := func(field string) bool {
		n, err := strconv.Atoi(strings.TrimSuffix(field, ":"))
		return err == nil && n > cfg.Table && n <= cfg.Table+sweepPaths
	}
	// "7701:	from 10.77.1.2 lookup 7701"
	rules, _ := cmd{"ip", fam, "rule", "show"}.output()
	for _, line := range strings.Split(rules, "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && ours(f[0]) && f[1] == "from" && f[3] == "lookup" {
			_ = (cmd{"ip", fam, "rule", "del", "from", f[2], "table", f[4], "priority", strings.TrimSuffix(f[0], ":")}).run()
		}
	}
	// "default dev eth0 table 7701 ..."
	routes, _ := cmd{"ip", fam, "route", "show", "table", "all"}.output()
	flushed := map[string]bool{}
	for _, line := range strings.Split(routes, "\n") {
		f := strings.Fields(line)
		for k := 0; k+1 < len(f); k++ {
			if f[k] == "table" && ours(f[k+1]) && !flushed[f[k+1]] {
				flushed[f[k+1]] = true
				_ = (cmd{"ip", fam, "route", "flush", "table", f[k+1]}).run()
			}
		}
	}
}

// sweepNAT removes the NAT rules marked with the name.
func sweepNAT(cfg *Config, fam string) {
	ipt := iptables(fam)
	out, err := cmd{ipt, "-t", "nat", "-S"}.output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "-A ") || !strings.Contains(line, cfg.comment()) {
			continue
		}
		args := strings.Fields(strings.Replace(line, "-A ", "-D ", 1))
		for i, a := range args {
			args[i] = strings.Trim(a, `"`)
		}
		_ = append(cmd{ipt, "-t", "nat"}, args...).run()
	}
}

// Devices returns the name of each path's TUN device, in the order of
// Config.Paths.
func (h *Host) Devices() []string {
	out := make([]string, len(h.paths))
	for i, p := range h.paths {
		out[i] = p.dev
	}
	return out
}
