//go:build linux

// Package tunhost puts a user-space MPTCP stack (package mptcp) on Linux
// TUN devices with the real clock: the stack, its addresses and a
// link/tun driver, started and stopped together. mptcp perf, its tests and
// its benchmark run the stack this way.
package tunhost

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/link/tun"
	"github.com/mptcp-go/mptcp/pcap"
)

// Config configures a Host.
type Config struct {
	// Stack configures the user-space stack.
	Stack mptcp.Config
	// Addrs are the stack's addresses. The kernel must route them into
	// the devices (see docs/tun.md).
	Addrs []netip.Addr
	// Interfaces are the TUN devices the stack runs on; the Host owns
	// them from New on, even when New fails.
	Interfaces []tun.Interface
	// Loops, for a stack of several protocol loops (Stack.Loops of
	// them), replaces Interfaces: Loops[j] are the interfaces of loop j,
	// queue j of each multi-queue device (lab.StackInterfaces), each run
	// by a driver of its own. The Host owns them as it owns Interfaces.
	Loops [][]tun.Interface
	// OnError, if set, is called with device errors, from the driver's
	// goroutine; it must not block.
	OnError func(error)
	// Capture, if set, records every packet the stack receives and sends.
	Capture *pcap.Writer
	// SuperPackets has the driver hand the stack the kernel's TSO
	// super-packets whole and coalesce what the stack sends (see
	// link/tun.Config.SuperPackets). The driver then also completes the
	// checksums the stack sends and trusts the kernel's on receive,
	// verifying only what the kernel does not vouch for
	// (link/tun.Config.TrustKernelChecksums).
	SuperPackets bool
}

// Host is a user-space MPTCP stack running on TUN devices.
type Host struct {
	Stack *mptcp.Stack
	// Drivers run the stack: one, or one per protocol loop.
	Drivers []*tun.Driver
}

// New creates the stack, gives it its addresses and starts the drivers.
func New(cfg Config) (h *Host, err error) {
	loops := cfg.Loops
	if len(loops) == 0 {
		loops = [][]tun.Interface{cfg.Interfaces}
	} else if len(cfg.Interfaces) != 0 {
		loops = append(loops[:len(loops):len(loops)], cfg.Interfaces) // closed below
		err = errors.New("tunhost: both Interfaces and Loops given")
	}
	h = &Host{}
	defer func() {
		if err != nil {
			h.Close()
			for _, ifs := range loops[len(h.Drivers):] {
				for _, ifc := range ifs {
					if ifc.Device != nil {
						ifc.Device.Close()
					}
				}
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("tunhost: the stack has no address")
	}
	if n := max(cfg.Stack.Loops, 1); len(loops) != n {
		return nil, fmt.Errorf("tunhost: %d loops' interfaces for a stack of %d loops", len(loops), n)
	}
	if len(loops) > 1 && cfg.Capture != nil {
		// A pcap.Writer takes one writer at a time.
		return nil, errors.New("tunhost: a capture needs a stack of one loop")
	}
	if h.Stack, err = mptcp.NewStack(cfg.Stack); err != nil {
		return nil, fmt.Errorf("tunhost: %w", err)
	}
	for _, a := range cfg.Addrs {
		h.Stack.AddAddress(a)
	}
	// The stack locks itself in Deliver and Poll: the drivers need no
	// Locker (and must not share the stack's, which is not reentrant).
	for j, ifs := range loops {
		lk := h.Stack.Link()
		if len(loops) > 1 {
			lk = h.Stack.Loop(j)
		}
		drv, err := tun.New(lk, tun.Config{
			Interfaces: ifs, OnError: cfg.OnError, Capture: cfg.Capture,
			SuperPackets: cfg.SuperPackets, TrustKernelChecksums: cfg.SuperPackets,
		})
		if err != nil {
			return nil, fmt.Errorf("tunhost: loop %d: %w", j, err)
		}
		h.Drivers = append(h.Drivers, drv)
	}
	return h, nil
}

// Close stops the drivers and closes the devices. Connections still open
// are left as they are: the peer sees a silent host.
func (h *Host) Close() error {
	var err error
	for _, d := range h.Drivers {
		err = errors.Join(err, d.Close())
	}
	return err
}
