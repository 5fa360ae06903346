//go:build !linux

package host

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"github.com/mptcp-go/mptcp"
)

// Host is a user-space MPTCP stack running on the host's uplinks; Start
// needs Linux.
type Host struct {
	*mptcp.Stack
}

// errNotLinux is Start's answer elsewhere.
var errNotLinux = errors.New("host: running the stack on a host's uplinks needs Linux (TUN devices, policy routing)")

// Start sets the host up; it needs Linux.
func Start(Config) (*Host, error) { return nil, errNotLinux }

// Listen listens on the stack.
func (h *Host) Listen(network, address string) (net.Listener, error) { return nil, errNotLinux }

// ListenConfig listens on the stack with lc's options.
func (h *Host) ListenConfig(context.Context, mptcp.ListenConfig, string, string) (net.Listener, error) {
	return nil, errNotLinux
}

// Addrs returns the stack's addresses on each path.
func (h *Host) Addrs() [][]netip.Addr { return nil }

// Shutdown lets closed connections finish, then closes the host.
func (h *Host) Shutdown(context.Context) error { return nil }

// Close removes what Start added.
func (h *Host) Close() error { return nil }

// Devices returns the name of each path's TUN device.
func (h *Host) Devices() []string { return nil }
