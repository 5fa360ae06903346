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

	"golang.org/x/sys/unix"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/host"
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

// drainTimeout bounds how long a command that stops its user-space stack
// waits for the connections it closed to deliver their last bytes
// (host.Host.Shutdown).
const drainTimeout = 5 * time.Second

// userStack is the user-space MPTCP stack on TUN devices this command
// created.
type userStack struct {
	h       *host.Host
	pcap    *os.File // the capture file, closed after the stack
	local   netip.Addr
	noMPTCP bool
	desc    string
	debug   *http.Server // the debug endpoint, with --debug
	// stopTrace ends the trace writer (--trace) and waits for it.
	stopTrace func() error
}

func openUserStack(f *perfFlags, local netip.Addr, stderr io.Writer) (perfStack, error) {
	specs, err := parseTunSpecs(f.tuns, f.addrs)
	if err != nil {
		return nil, usagef("%v", err)
	}
	// 0: a command that does not register --loops (check serve).
	if f.loops < 0 || f.loops > 64 {
		return nil, usagef("--loops %d: want 1..64", f.loops)
	}
	if f.loops > 1 && f.pcapFile != "" {
		return nil, usagef("--pcap needs --loops 1 (a capture takes one loop)")
	}
	if f.mtu < 1280 || f.mtu > tun.MaxPacket {
		return nil, usagef("--mtu %d: want 1280..%d", f.mtu, tun.MaxPacket)
	}
	var all []netip.Addr
	var paths []host.Path
	for _, sp := range specs {
		all = append(all, sp.addrs...)
		// The network routes the addresses (see docs/perf.md): a path
		// without an uplink.
		paths = append(paths, host.Path{Device: sp.name, Addrs: sp.addrs})
	}
	if local.IsValid() && !containsAddr(all, local) {
		return nil, usagef("-B %s is not one of the stack's addresses (%s)", local, joinAddrs(all))
	}
	if a, ifname, ok := hostOwns(all); ok {
		return nil, usagef("address %s is already the kernel's (on %s): the kernel answers for it, so the user-space stack would never see its packets and every connection would time out; give the stack an address of its own", a, ifname)
	}
	var capture *pcap.Writer
	var pcapOut *os.File
	if f.pcapFile != "" {
		if pcapOut, err = os.Create(f.pcapFile); err == nil {
			capture, err = pcap.NewWriter(pcapOut)
		}
		if err != nil {
			return nil, fmt.Errorf("--pcap: %w", err)
		}
	}
	var rec *observe.Recorder
	var events core.EventSink
	if f.debug != "" || f.traceDir != "" {
		rec = observe.NewRecorder(0)
		events = rec.Sink
	}
	h, err := host.Start(host.Config{
		Paths: paths, MTU: f.mtu, NoRoute: f.noRoute, Capture: capture, SplitOffloads: f.split,
		Stack:   mptcp.Config{Scheduler: f.scheduler, CongestionControl: f.cc, PathManager: f.pm, DisableMPTCP: f.noMPTCP, Pacing: f.pacing, Loops: f.loops, Events: events},
		OnError: func(err error) { fmt.Fprintf(stderr, "mptcp perf: %v\n", err) },
	})
	if err != nil {
		if pcapOut != nil {
			pcapOut.Close()
		}
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			// The first device is the first thing made.
			return nil, fmt.Errorf("creating TUN device %s needs root (CAP_NET_ADMIN): run as root, or use --stack kernel", specs[0].name)
		}
		return nil, fmt.Errorf("starting the user-space stack: %w", err)
	}
	var descs []string
	for i, as := range h.Addrs() {
		name := h.Devices()[i]
		descs = append(descs, fmt.Sprintf("%s on %s", joinAddrs(as), name))
		if f.noRoute {
			for _, a := range as {
				fmt.Fprintf(stderr, "mptcp perf: route %s into the device yourself: ip route add %s dev %s\n", a, netip.PrefixFrom(a, a.BitLen()), name)
			}
		}
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
	if f.traceDir != "" {
		if u.stopTrace, err = startTraceDir(f.traceDir, h.Stack, rec); err != nil {
			u.close()
			return nil, err
		}
		u.desc += ", traces in " + f.traceDir
	}
	return u, nil
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
	return u.h.Listen("tcp", addr)
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
	var terr error
	if u.stopTrace != nil {
		terr = u.stopTrace()
	}
	// The results the server wrote last on its control connection leave
	// only while the stack runs.
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	err := u.h.Shutdown(ctx)
	cancel()
	if err == nil {
		err = terr
	}
	if u.pcap != nil {
		if cerr := u.pcap.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// hostOwns finds an address of addrs that an interface of this network
// namespace already has, and names the interface.
func hostOwns(addrs []netip.Addr) (netip.Addr, string, bool) {
	ifs, err := net.Interfaces()
	if err != nil {
		return netip.Addr{}, "", false // nothing to compare with: the run will tell
	}
	for _, ifc := range ifs {
		ias, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, ia := range ias {
			p, err := netip.ParsePrefix(ia.String())
			if err == nil && containsAddr(addrs, p.Addr().Unmap()) {
				return p.Addr().Unmap(), ifc.Name, true
			}
		}
	}
	return netip.Addr{}, "", false
}
