//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"golang.org/x/sys/unix"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/internal/tunhost"
	"github.com/mptcp-go/mptcp/link/tun"
	"github.com/mptcp-go/mptcp/observe"
	"github.com/mptcp-go/mptcp/pcap"
)

// tunSpec is one --tun device and the stack addresses behind it.
type tunSpec struct {
	name  string
	addrs []netip.Addr
}

// parseTunSpecs reads --tun and --addr: one device takes every --addr;
// several devices each name their addresses (--tun NAME=ADDR,...).
func parseTunSpecs(tuns, addrs []string) ([]tunSpec, error) {
	parseAddrs := func(list string) ([]netip.Addr, error) {
		var out []netip.Addr
		for _, s := range strings.Split(list, ",") {
			a, err := netip.ParseAddr(strings.Trim(strings.TrimSpace(s), "[]"))
			if err != nil {
				return nil, fmt.Errorf("address %q: want an IPv4 or IPv6 address", s)
			}
			if a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() {
				return nil, fmt.Errorf("address %s cannot be a stack's address", a)
			}
			out = append(out, a.Unmap())
		}
		return out, nil
	}
	var loose []netip.Addr
	for _, l := range addrs {
		as, err := parseAddrs(l)
		if err != nil {
			return nil, fmt.Errorf("--addr: %v", err)
		}
		loose = append(loose, as...)
	}
	if len(tuns) == 0 {
		tuns = []string{"mptcp%d"}
	}
	var specs []tunSpec
	for _, t := range tuns {
		name, list, hasAddrs := strings.Cut(t, "=")
		if name == "" || len(name) >= unix.IFNAMSIZ || strings.ContainsAny(name, "/ \t") {
			return nil, fmt.Errorf("--tun %q: want a device name of 1..15 characters", t)
		}
		sp := tunSpec{name: name}
		if hasAddrs {
			as, err := parseAddrs(list)
			if err != nil {
				return nil, fmt.Errorf("--tun %s: %v", name, err)
			}
			sp.addrs = as
		}
		specs = append(specs, sp)
	}
	if len(loose) > 0 {
		if len(specs) > 1 {
			return nil, errors.New("with several --tun devices, give each its addresses: --tun NAME=ADDR[,ADDR]")
		}
		specs[0].addrs = append(specs[0].addrs, loose...)
	}
	seen := map[netip.Addr]bool{}
	for _, sp := range specs {
		if len(sp.addrs) == 0 {
			return nil, fmt.Errorf("the user-space stack needs its addresses on device %s: --addr ADDR or --tun %s=ADDR (see docs/tun.md)", sp.name, sp.name)
		}
		for _, a := range sp.addrs {
			if seen[a] {
				return nil, fmt.Errorf("address %s given twice", a)
			}
			seen[a] = true
		}
	}
	return specs, nil
}

// userStack is the user-space MPTCP stack on TUN devices this command
// created.
type userStack struct {
	h       *tunhost.Host
	pcap    *os.File // the capture file, closed after the driver
	local   netip.Addr
	noMPTCP bool
	desc    string
	debug   *http.Server // the debug endpoint, with --debug
}

func openUserStack(f *perfFlags, local netip.Addr, stderr io.Writer) (perfStack, error) {
	specs, err := parseTunSpecs(f.tuns, f.addrs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if f.mtu < 1280 || f.mtu > tun.MaxPacket {
		return nil, fmt.Errorf("%w: --mtu %d: want 1280..%d", errUsage, f.mtu, tun.MaxPacket)
	}
	var all []netip.Addr
	for _, sp := range specs {
		all = append(all, sp.addrs...)
	}
	if local.IsValid() && !containsAddr(all, local) {
		return nil, fmt.Errorf("%w: -B %s is not one of the stack's addresses (%s)", errUsage, local, joinAddrs(all))
	}
	var ifs []tun.Interface
	closeAll := func() {
		for _, ifc := range ifs {
			ifc.Device.Close()
		}
	}
	nl, err := rtnetlink.Dial(nil)
	if err != nil {
		return nil, fmt.Errorf("opening rtnetlink: %w", err)
	}
	defer nl.Close()
	var descs []string
	for _, sp := range specs {
		dev, err := tun.Create(sp.name, f.mtu)
		if err != nil {
			closeAll()
			if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
				return nil, fmt.Errorf("creating TUN device %s needs root (CAP_NET_ADMIN): run as root, or use --stack kernel", sp.name)
			}
			return nil, fmt.Errorf("creating TUN device %s: %w", sp.name, err)
		}
		ifc := tun.Interface{Device: dev, MTU: f.mtu}
		ifs = append(ifs, ifc)
		name, err := dev.Name()
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("TUN device %s: %w", sp.name, err)
		}
		if err := setUpDevice(nl, name, sp.addrs, !f.noRoute); err != nil {
			closeAll()
			return nil, err
		}
		for _, a := range sp.addrs {
			ifs[len(ifs)-1].Prefixes = append(ifs[len(ifs)-1].Prefixes, netip.PrefixFrom(a, a.BitLen()))
		}
		descs = append(descs, fmt.Sprintf("%s on %s", joinAddrs(sp.addrs), name))
		if f.noRoute {
			for _, a := range sp.addrs {
				fmt.Fprintf(stderr, "mptcp perf: route %s into the device yourself: ip route add %s dev %s\n", a, netip.PrefixFrom(a, a.BitLen()), name)
			}
		}
	}
	var capture *pcap.Writer
	var pcapOut *os.File
	if f.pcapFile != "" {
		if pcapOut, err = os.Create(f.pcapFile); err == nil {
			capture, err = pcap.NewWriter(pcapOut)
		}
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("--pcap: %w", err)
		}
	}
	var rec *observe.Recorder
	var events core.EventSink
	if f.debug != "" {
		rec = observe.NewRecorder(0)
		events = rec.Sink
	}
	h, err := tunhost.New(tunhost.Config{
		Stack: mptcp.Config{Scheduler: f.scheduler, CongestionControl: f.cc, PathManager: f.pm, DisableMPTCP: f.noMPTCP, Events: events},
		Addrs: all, Interfaces: ifs, Capture: capture, SuperPackets: !f.split,
		OnError: func(err error) { fmt.Fprintf(stderr, "mptcp perf: %v\n", err) },
	})
	if err != nil {
		if pcapOut != nil {
			pcapOut.Close()
		}
		return nil, fmt.Errorf("starting the user-space stack: %w", err)
	}
	proto := "MPTCP"
	if f.noMPTCP {
		proto = "TCP"
	}
	u := &userStack{h: h, local: local, noMPTCP: f.noMPTCP, pcap: pcapOut,
		desc: fmt.Sprintf("user-space %s stack (%s)", proto, strings.Join(descs, "; "))}
	if f.debug != "" {
		ln, err := observe.Listen(f.debug)
		if err != nil {
			u.close()
			return nil, fmt.Errorf("--debug: %w", err)
		}
		u.debug = &http.Server{Handler: observe.Handler(h.Stack, observe.Options{Recorder: rec}), ReadHeaderTimeout: 10 * time.Second}
		go u.debug.Serve(ln)
		u.desc += ", debug endpoint " + f.debug
	}
	return u, nil
}

// setUpDevice brings a new device up without an IPv6 link-local address
// (so that the kernel sends nothing of its own into it) and routes the
// stack's addresses into it, as docs/tun.md describes.
func setUpDevice(nl *rtnetlink.Conn, name string, addrs []netip.Addr, route bool) error {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return fmt.Errorf("TUN device %s: %w", name, err)
	}
	// addr_gen_mode 1 is "none"; without IPv6 the file does not exist.
	if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/addr_gen_mode", []byte("1"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("TUN device %s: turning off IPv6 address generation: %w", name, err)
	}
	if err := nl.Link.Set(&rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Index: uint32(ifi.Index), Flags: unix.IFF_UP, Change: unix.IFF_UP}); err != nil {
		return fmt.Errorf("TUN device %s: bringing it up: %w", name, err)
	}
	if !route {
		return nil
	}
	for _, a := range addrs {
		fam := uint8(unix.AF_INET)
		if a.Is6() {
			fam = unix.AF_INET6
		}
		err := nl.Route.Add(&rtnetlink.RouteMessage{
			Family: fam, DstLength: uint8(a.BitLen()), Table: unix.RT_TABLE_MAIN,
			Protocol: unix.RTPROT_BOOT, Scope: unix.RT_SCOPE_LINK, Type: unix.RTN_UNICAST,
			Attributes: rtnetlink.RouteAttributes{Dst: net.IP(a.AsSlice()), OutIface: uint32(ifi.Index)},
		})
		if errors.Is(err, syscall.EEXIST) || errors.Is(err, os.ErrExist) {
			return fmt.Errorf("a route to %s exists already (another device has it?): remove it, or use --no-route", a)
		}
		if err != nil {
			return fmt.Errorf("routing %s into %s: %w", a, name, err)
		}
	}
	return nil
}

func containsAddr(as []netip.Addr, a netip.Addr) bool {
	for _, b := range as {
		if a == b {
			return true
		}
	}
	return false
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func (u *userStack) listen(addr string) (net.Listener, error) {
	return u.h.Stack.Listen("tcp", addr)
}

func (u *userStack) dial(ctx context.Context, addr string) (net.Conn, error) {
	d := mptcp.Dialer{Stack: u.h.Stack, DisableMPTCP: u.noMPTCP}
	if u.local.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: u.local.AsSlice()}
	}
	return d.DialContext(ctx, "tcp", addr)
}

func (u *userStack) describe() string { return u.desc }

func (u *userStack) close() error {
	if u.debug != nil {
		u.debug.Close()
	}
	err := u.h.Close()
	if u.pcap != nil {
		if cerr := u.pcap.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
