package scenario

import (
	"fmt"
	"net/netip"

	"github.com/mptcp-go/mptcp/netsim"
)

// NetTopology is a version 2 scenario built in a simulator.
//
// Link i of the scenario is subnet 10.<i/256>.<i%256>.0/24: a host end is
// .2 and a router end .1; links between routers carry no addresses (the
// simulator routes by interface). Each router has a route to every host
// subnet over all its neighbours on a shortest path (in hops), chosen per
// flow by ECMP.
type NetTopology struct {
	Sim   *netsim.Sim
	Hosts map[string]*netsim.Host
	// Addrs are each host's addresses, in the order of its links.
	Addrs map[string][]HostAddr
	// Links are the scenario's links, in its order.
	Links []*netsim.Link
}

// HostAddr is one address of a host, with its endpoint flags.
type HostAddr struct {
	Addr  netip.Addr
	Flags EndpointFlags
}

// MaxLinks bounds a version 2 topology's links, which the address plan
// numbers.
const MaxLinks = 1 << 16

// Build creates the scenario's nodes and links in sim, routes, and
// schedules the links' events. Stacks are set on the hosts by the caller.
func (n *Net) Build(sim *netsim.Sim) (*NetTopology, error) {
	if len(n.Links) > MaxLinks {
		return nil, fmt.Errorf("scenario %s: %d links, at most %d", n.Name, len(n.Links), MaxLinks)
	}
	t := &NetTopology{Sim: sim, Hosts: map[string]*netsim.Host{}, Addrs: map[string][]HostAddr{}}
	routers := map[string]*netsim.Router{}
	for _, h := range n.Hosts {
		hh, err := sim.NewHost(h)
		if err != nil {
			return nil, err
		}
		t.Hosts[h] = hh
	}
	for _, r := range n.Routers {
		rr, err := sim.NewRouter(r)
		if err != nil {
			return nil, err
		}
		routers[r] = rr
	}
	// ends[i] are link i's interfaces; prefixes the host subnets and the
	// router each hangs off.
	type hostNet struct {
		prefix netip.Prefix
		router string
	}
	var nets []hostNet
	ends := make([][2]*netsim.Interface, len(n.Links))
	ifaceCount := map[string]int{}
	for i, l := range n.Links {
		sub := func(host byte) netip.Prefix {
			return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), host}), 24)
		}
		hostEnd := -1
		if _, ok := t.Hosts[l.A]; ok {
			hostEnd = 0
		} else if _, ok := t.Hosts[l.B]; ok {
			hostEnd = 1
		}
		for e, name := range []string{l.A, l.B} {
			ifname := fmt.Sprintf("eth%d", ifaceCount[name])
			ifaceCount[name]++
			var err error
			switch {
			case e == hostEnd:
				p := sub(2)
				ends[i][e], err = t.Hosts[name].AddInterface(ifname, p)
				t.Addrs[name] = append(t.Addrs[name], HostAddr{Addr: p.Addr(), Flags: l.Endpoint})
				nets = append(nets, hostNet{prefix: p.Masked(), router: []string{l.A, l.B}[1-e]})
			case hostEnd >= 0:
				ends[i][e], err = routers[name].AddInterface(ifname, sub(1))
			default:
				ends[i][e], err = routers[name].AddInterface(ifname)
			}
			if err != nil {
				return nil, fmt.Errorf("scenario %s: link %s-%s: %w", n.Name, l.A, l.B, err)
			}
		}
		link, err := sim.ConnectAsym(ends[i][0], ends[i][1], l.Link.Up, l.Link.Down)
		if err != nil {
			return nil, fmt.Errorf("scenario %s: link %s-%s: %w", n.Name, l.A, l.B, err)
		}
		for _, e := range l.Events {
			if err := link.Schedule(netsim.Epoch.Add(e.At), e.changes()...); err != nil {
				return nil, fmt.Errorf("scenario %s: link %s-%s schedule: %w", n.Name, l.A, l.B, err)
			}
		}
		t.Links = append(t.Links, link)
	}
	// Router adjacency: for each router, its interfaces towards each
	// neighbouring router.
	adj := map[string]map[string][]*netsim.Interface{}
	for i, l := range n.Links {
		if routers[l.A] == nil || routers[l.B] == nil {
			continue
		}
		for e, pair := range [][2]string{{l.A, l.B}, {l.B, l.A}} {
			if adj[pair[0]] == nil {
				adj[pair[0]] = map[string][]*netsim.Interface{}
			}
			adj[pair[0]][pair[1]] = append(adj[pair[0]][pair[1]], ends[i][e])
		}
	}
	for _, hn := range nets {
		// Hops from every router to the subnet's own router.
		dist := map[string]int{hn.router: 0}
		queue := []string{hn.router}
		for len(queue) > 0 {
			r := queue[0]
			queue = queue[1:]
			for m := range adj[r] {
				if _, seen := dist[m]; !seen {
					dist[m] = dist[r] + 1
					queue = append(queue, m)
				}
			}
		}
		for _, r := range n.Routers {
			d, ok := dist[r]
			if !ok || d == 0 {
				continue // unreachable, or the subnet is connected
			}
			var outs []*netsim.Interface
			for _, m := range n.Routers { // scenario order: deterministic
				if dm, ok := dist[m]; ok && dm == d-1 {
					outs = append(outs, adj[r][m]...)
				}
			}
			if err := routers[r].AddMultipathRoute(hn.prefix, outs...); err != nil {
				return nil, fmt.Errorf("scenario %s: %w", n.Name, err)
			}
		}
	}
	return t, nil
}
