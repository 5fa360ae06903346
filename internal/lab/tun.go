//go:build linux

package lab

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/mptcp-go/mptcp/link/tun"
)

// CreateTUN creates a TUN device inside the namespace (with the
// virtio-net header and offloads, see link/tun.Create), brings it up
// without IPv6 link-local address (so the kernel sends nothing of its own
// into it) and returns it. The calling process keeps the device's file
// descriptor while the device lives in the namespace: a user-space stack
// in this process then sits on the namespace's network.
func (n Netns) CreateTUN(name string, mtu int) (tun.Device, error) {
	devs, err := n.CreateTUNQueues(name, mtu, 1)
	if err != nil {
		return nil, err
	}
	return devs[0], nil
}

// CreateTUNQueues is CreateTUN for a device with several queues, one
// Device each (link/tun.CreateQueues), for a stack with as many protocol
// loops; one queue makes the single-queue device of link/tun.Create.
func (n Netns) CreateTUNQueues(name string, mtu, queues int) ([]tun.Device, error) {
	var devs []tun.Device
	err := n.Do(func() error {
		var err error
		devs, err = tun.CreateQueues(name, mtu, queues)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lab: in %s: %w", n, err)
	}
	if name, err = devs[0].Name(); err == nil {
		err = n.IP("link set dev "+name+" addrgenmode none", "link set dev "+name+" up")
	}
	if err != nil {
		for _, d := range devs {
			d.Close()
		}
		return nil, err
	}
	return devs, nil
}

// StackInterface creates a TUN device called name in the client's or the
// server's namespace (side is tp.Client or tp.Server) for a user-space
// stack holding that side's stack addresses of the given paths (all paths
// when none are given). It routes those addresses into the device and
// makes the namespace forward between the device and the path links; the
// namespace's policy rules send what the stack sends from path N's
// address over path N. The result is ready for link/tun.New; the stack
// itself must be given the addresses (Path.ClientStack or ServerStack).
func (tp *Topology) StackInterface(side Netns, name string, paths ...int) (tun.Interface, error) {
	ifs, err := tp.StackInterfaces(side, name, 1, paths...)
	if err != nil {
		return tun.Interface{}, err
	}
	return ifs[0], nil
}

// StackInterfaces is StackInterface for a stack with several protocol
// loops: the device has that many queues, and the result one interface
// per queue (the same prefixes), for one link/tun driver per loop.
func (tp *Topology) StackInterfaces(side Netns, name string, queues int, paths ...int) ([]tun.Interface, error) {
	if side != tp.Client && side != tp.Server {
		return nil, fmt.Errorf("lab: %s is neither the client nor the server", side)
	}
	if len(paths) == 0 {
		for _, p := range tp.Paths {
			paths = append(paths, p.N)
		}
	}
	var addrs []netip.Addr
	for _, n := range paths {
		i := slices.IndexFunc(tp.Paths, func(p Path) bool { return p.N == n })
		if i < 0 {
			return nil, fmt.Errorf("lab: no path %d", n)
		}
		st := tp.Paths[i].ClientStack
		if side == tp.Server {
			st = tp.Paths[i].ServerStack
		}
		addrs = append(addrs, st.V4, st.V6)
	}
	if err := side.Sysctl("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"); err != nil {
		return nil, err
	}
	devs, err := side.CreateTUNQueues(name, tp.MTU, queues)
	if err != nil {
		return nil, err
	}
	closeAll := func() {
		for _, d := range devs {
			d.Close()
		}
	}
	if name, err = devs[0].Name(); err != nil {
		closeAll()
		return nil, fmt.Errorf("lab: %w", err)
	}
	var prefixes []netip.Prefix
	var cmds []string
	for _, a := range addrs {
		cmds = append(cmds, fmt.Sprintf("route add %s dev %s", host(a), name))
		prefixes = append(prefixes, host(a))
	}
	if err := side.IP(cmds...); err != nil {
		closeAll()
		return nil, err
	}
	ifs := make([]tun.Interface, len(devs))
	for i, d := range devs {
		ifs[i] = tun.Interface{Device: d, MTU: tp.MTU, Prefixes: prefixes}
	}
	return ifs, nil
}
