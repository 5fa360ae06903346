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
	var dev tun.Device
	err := n.Do(func() error {
		var err error
		dev, err = tun.Create(name, mtu)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lab: in %s: %w", n, err)
	}
	if name, err = dev.Name(); err == nil {
		err = n.IP("link set dev "+name+" addrgenmode none", "link set dev "+name+" up")
	}
	if err != nil {
		dev.Close()
		return nil, err
	}
	return dev, nil
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
	if side != tp.Client && side != tp.Server {
		return tun.Interface{}, fmt.Errorf("lab: %s is neither the client nor the server", side)
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
			return tun.Interface{}, fmt.Errorf("lab: no path %d", n)
		}
		st := tp.Paths[i].ClientStack
		if side == tp.Server {
			st = tp.Paths[i].ServerStack
		}
		addrs = append(addrs, st.V4, st.V6)
	}
	if err := side.Sysctl("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"); err != nil {
		return tun.Interface{}, err
	}
	dev, err := side.CreateTUN(name, tp.MTU)
	if err != nil {
		return tun.Interface{}, err
	}
	if name, err = dev.Name(); err != nil {
		dev.Close()
		return tun.Interface{}, fmt.Errorf("lab: %w", err)
	}
	ifc := tun.Interface{Device: dev, MTU: tp.MTU}
	var cmds []string
	for _, a := range addrs {
		cmds = append(cmds, fmt.Sprintf("route add %s dev %s", host(a), name))
		ifc.Prefixes = append(ifc.Prefixes, host(a))
	}
	if err := side.IP(cmds...); err != nil {
		dev.Close()
		return tun.Interface{}, err
	}
	return ifc, nil
}
