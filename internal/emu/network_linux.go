//go:build linux

package emu

import (
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/scenario"
)

// Network is a scenario on emulated real links: a client, an emulator and
// a server namespace (lab's Wire topology), one veth path from the
// client through the emulator to the server per scenario path, and one
// per competitor, which shares the server link as in the simulator but
// starts from the client's namespace.
type Network struct {
	Scenario *scenario.Scenario
	Topology *lab.Topology
	Emulator *Emulator
	// Paths[i] is the lab path of the scenario's path i, Competitors[j]
	// that of its competitor j; Names[k] the emulator's name of lab path
	// k+1.
	Paths, Competitors []lab.Path
	Names              []string
}

// NetworkOptions configure Build.
type NetworkOptions struct {
	// Options tune the emulator; HoldSchedule holds the scenario's events
	// until Emulator.StartSchedule, otherwise they start when Build
	// returns.
	Options
	// MTU of every link (default 1500).
	MTU int
	// KernelEndpoints configures the kernel's in-kernel path manager for
	// the scenario's paths: the client gets a subflow endpoint for each
	// path beyond the first (backup for backup paths), and both sides
	// limits that allow them; competitor paths get none.
	KernelEndpoints bool
	// ReadyTimeout bounds the wait for every path to carry traffic
	// (default 10 s).
	ReadyTimeout time.Duration
}

// buildHook, when set by a test, runs at each stage of Build and may fail
// it.
var buildHook func(stage string) error

// Build creates the namespaces for sc, starts the emulator between them
// and waits until every path carries IPv4 and IPv6 both ways. On any
// error everything it made is removed. The caller calls Close.
func Build(sc *scenario.Scenario, o NetworkOptions) (n *Network, err error) {
	if err := lab.Available(); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("ethtool"); err != nil {
		return nil, fmt.Errorf("emu: needs ethtool to turn offloads off (apt-get install -y ethtool): %w", err)
	}
	if o.KernelEndpoints {
		if err := CheckKernelEndpoints(len(sc.Paths)); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	total := len(sc.Paths) + len(sc.Competitors)
	if total > lab.MaxPaths {
		return nil, fmt.Errorf("%w: %d paths and competitors, at most %d", ErrInvalidConfig, total, lab.MaxPaths)
	}
	hook := func(stage string) error {
		if buildHook != nil {
			return buildHook(stage)
		}
		return nil
	}
	n = &Network{Scenario: sc}
	defer func() {
		if err != nil {
			err = errors.Join(err, n.Close())
			n = nil
		}
	}()
	if n.Topology, err = lab.Build(lab.Config{Paths: total, Middle: lab.Wire, MTU: o.MTU}); err != nil {
		return
	}
	tp := n.Topology
	if err = hook("topology"); err != nil {
		return
	}
	used := map[string]bool{}
	cfg := Config{Shared: sc.ServerLink, Seed: sc.Seed, Options: o.Options}
	cfg.HoldSchedule = true
	for k, lp := range tp.Paths {
		var p Path
		if k < len(sc.Paths) {
			sp := sc.Paths[k]
			p = Path{Name: sp.Name, Link: sp.Link, Events: sp.Events}
			n.Paths = append(n.Paths, lp)
		} else {
			c := sc.Competitors[k-len(sc.Paths)]
			p = Path{Name: c.Name, Link: c.Link}
			if used[p.Name] {
				p.Name += "-competitor"
			}
			n.Competitors = append(n.Competitors, lp)
		}
		used[p.Name] = true
		p.ClientIf, p.ServerIf = lp.MiddleClientIf, lp.MiddleServerIf
		cfg.Paths = append(cfg.Paths, p)
		n.Names = append(n.Names, p.Name)
		for _, end := range []struct {
			ns  lab.Netns
			ifc string
		}{{tp.Client, lp.ClientIf}, {tp.Server, lp.ServerIf}, {tp.Middle, lp.MiddleClientIf}, {tp.Middle, lp.MiddleServerIf}} {
			if err = DisableOffloads(end.ns, end.ifc); err != nil {
				return
			}
		}
	}
	if err = routeReplies(tp); err != nil {
		return
	}
	if n.Emulator, err = Start(tp.Middle.Name(), cfg); err != nil {
		return
	}
	if err = hook("emulator"); err != nil {
		return
	}
	if o.KernelEndpoints {
		if err = n.kernelEndpoints(); err != nil {
			return
		}
	}
	timeout := o.ReadyTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	if err = tp.WaitReady(timeout); err != nil {
		return
	}
	if !o.HoldSchedule {
		err = n.Emulator.StartSchedule()
	}
	return
}

// kernelEndpoints sets up the in-kernel path manager for the scenario's
// paths, in the scenario's address family.
func (n *Network) kernelEndpoints() error {
	tp := n.Topology
	// The kernel accepts at most 8 extra subflows and 8 addresses.
	lim := min(len(n.Paths), MaxKernelEndpoints)
	for _, ns := range []lab.Netns{tp.Client, tp.Server} {
		if err := ns.MPTCPLimits(lim, lim); err != nil {
			return err
		}
	}
	for i, lp := range n.Paths {
		if i == 0 {
			continue // the initial subflow's address
		}
		flags := []string{"subflow"}
		if n.Scenario.Paths[i].Backup {
			flags = append(flags, "backup")
		}
		ep := lab.Endpoint{Addr: lp.Client.Get(n.Scenario.IPv6), Dev: lp.ClientIf, Flags: flags}
		if err := tp.Client.AddMPTCPEndpoint(ep); err != nil {
			return err
		}
	}
	return nil
}

// routeReplies makes the server send what it sends to a client address
// over that address's path, as the simulator's router does. Lab's policy
// rules route by source, so that a multihomed host picks its path by
// picking its address; but the server answers an MPTCP join from the
// client's second address, sent to the server's first address, from that
// first address, and the rule for it would send the whole subflow back
// over the first path. Rules by destination, checked first, keep each
// subflow on its path both ways.
func routeReplies(tp *lab.Topology) error {
	var cmds []string
	for _, lp := range tp.Paths {
		for _, v6 := range []bool{false, true} {
			fam, bits := "-4", 24
			if v6 {
				fam, bits = "-6", 64
			}
			sub := netip.PrefixFrom(lp.Client.Get(v6), bits).Masked()
			stack := netip.PrefixFrom(lp.ClientStack.Get(v6), lp.ClientStack.Get(v6).BitLen())
			for _, to := range []netip.Prefix{sub, stack} {
				cmds = append(cmds, fmt.Sprintf("%s rule add to %s lookup main pref %d", fam, to, 100+lp.N))
			}
		}
	}
	return tp.Server.IP(cmds...)
}

// Server returns the server's address on the scenario's first path, in
// the scenario's family: the address clients connect to.
func (n *Network) Server() string { return n.Paths[0].Server.Get(n.Scenario.IPv6).String() }

// Close stops the emulator, ends the processes still running in the
// namespaces (EndProcesses) and removes the namespaces. It is safe to
// call more than once.
func (n *Network) Close() error {
	var errs error
	if n.Emulator != nil {
		errs = n.Emulator.Stop()
	}
	if n.Topology != nil {
		// A process left in a namespace would keep it, and its
		// interfaces, alive after its name is gone.
		_, err := n.EndProcesses(EndGrace)
		errs = errors.Join(errs, err, n.Topology.Close())
	}
	return errs
}

// offloadFeatures are turned off on every interface a path crosses. With
// segmentation offloads on, a sender hands the veth 64 KB super-packets
// that the emulator would have to shape as one; with checksum offload
// on, frames carry partial checksums that only the sender's driver would
// complete. Off, every frame the emulator sees is one wire packet, and
// its rate shaping counts what a real link would carry.
var offloadFeatures = []string{"tso", "gso", "gro", "tx", "rx", "rxvlan", "txvlan"}

// DisableOffloads turns off the offloads of interface ifc in namespace
// ns (see offloadFeatures), with ethtool.
func DisableOffloads(ns lab.Netns, ifc string) error {
	args := []string{"ethtool", "-K", ifc}
	for _, f := range offloadFeatures {
		args = append(args, f, "off")
	}
	out, err := ns.Command(args...).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "Actual changes") {
		return fmt.Errorf("emu: in %s: ethtool -K %s: %w: %s", ns, ifc, err, strings.TrimSpace(string(out)))
	}
	return nil
}
