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
	Stack  *mptcp.Stack
	Driver *tun.Driver
}

// New creates the stack, gives it its addresses and starts the driver.
func New(cfg Config) (*Host, error) {
	closeAll := func() {
		for _, ifc := range cfg.Interfaces {
			if ifc.Device != nil {
				ifc.Device.Close()
			}
		}
	}
	if len(cfg.Addrs) == 0 {
		closeAll()
		return nil, errors.New("tunhost: the stack has no address")
	}
	st, err := mptcp.NewStack(cfg.Stack)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("tunhost: %w", err)
	}
	for _, a := range cfg.Addrs {
		st.AddAddress(a)
	}
	// The stack locks itself in Deliver and Poll: the driver needs no
	// Locker (and must not share the stack's, which is not reentrant).
	drv, err := tun.New(st.Link(), tun.Config{
		Interfaces: cfg.Interfaces, OnError: cfg.OnError, Capture: cfg.Capture,
		SuperPackets: cfg.SuperPackets, TrustKernelChecksums: cfg.SuperPackets,
	})
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("tunhost: %w", err)
	}
	return &Host{Stack: st, Driver: drv}, nil
}

// Close stops the driver and closes the devices. Connections still open
// are left as they are: the peer sees a silent host.
func (h *Host) Close() error {
	return h.Driver.Close()
}
