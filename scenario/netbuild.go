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
	b := &netBuilder{n: n, sim: sim, routers: map[string]*netsim.Router{}, ifaces: map[string]int{},
		t: &NetTopology{Sim: sim, Hosts: map[string]*netsim.Host{}, Addrs: map[string][]HostAddr{}}}
	if err := b.nodes(); err != nil {
		return nil, err
	}
	b.ends = make([][2]*netsim.Interface, len(n.Links))
	for i, l := range n.Links {
		if err := b.link(i, l); err != nil {
			return nil, fmt.Errorf("scenario %s: link %s-%s: %w", n.Name, l.A, l.B, err)
		}
	}
	adj := b.adjacency()
	for _, hn := range b.nets {
		if err := b.route(hn, adj); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", n.Name, err)
		}
	}
	return b.t, nil
}

// netBuilder is the state of one Build.
type netBuilder struct {
	n       *Net
	sim     *netsim.Sim
	t       *NetTopology
	routers map[string]*netsim.Router
	ifaces  map[string]int // interfaces made so far, by node
	// ends[i] are link i's interfaces; nets the host subnets and the
	// router each hangs off.
	ends [][2]*netsim.Interface
	nets []hostNet
}

// hostNet is a host's subnet and the router it hangs off.
type hostNet struct {
	prefix netip.Prefix
	router string
}

// nodes creates the hosts and routers.
func (b *netBuilder) nodes() error {
	for _, h := range b.n.Hosts {
		hh, err := b.sim.NewHost(h)
		if err != nil {
			return err
		}
		b.t.Hosts[h] = hh
	}
	for _, r := range b.n.Routers {
		rr, err := b.sim.NewRouter(r)
		if err != nil {
			return err
		}
		b.routers[r] = rr
	}
	return nil
}

// link creates link i's interfaces, addressed from its /24 (a host end
// .2, the router facing it .1, none between routers), the link itself
// and its scheduled events.
func (b *netBuilder) link(i int, l NetLink) error {
	sub := func(host byte) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), host}), 24)
	}
	hostEnd := -1
	if _, ok := b.t.Hosts[l.A]; ok {
		hostEnd = 0
	} else if _, ok := b.t.Hosts[l.B]; ok {
		hostEnd = 1
	}
	for e, name := range []string{l.A, l.B} {
		ifname := fmt.Sprintf("eth%d", b.ifaces[name])
		b.ifaces[name]++
		var err error
		switch {
		case e == hostEnd:
			p := sub(2)
			b.ends[i][e], err = b.t.Hosts[name].AddInterface(ifname, p)
			b.t.Addrs[name] = append(b.t.Addrs[name], HostAddr{Addr: p.Addr(), Flags: l.Endpoint})
			b.nets = append(b.nets, hostNet{prefix: p.Masked(), router: []string{l.A, l.B}[1-e]})
		case hostEnd >= 0:
			b.ends[i][e], err = b.routers[name].AddInterface(ifname, sub(1))
		default:
			b.ends[i][e], err = b.routers[name].AddInterface(ifname)
		}
		if err != nil {
			return err
		}
	}
	link, err := b.sim.ConnectAsym(b.ends[i][0], b.ends[i][1], l.Link.Up, l.Link.Down)
	if err != nil {
		return err
	}
	for _, e := range l.Events {
		if err := link.Schedule(netsim.Epoch.Add(e.At), e.changes()...); err != nil {
			return fmt.Errorf("schedule: %w", err)
		}
	}
	b.t.Links = append(b.t.Links, link)
	return nil
}

// adjacency returns, for each router, its interfaces towards each
// neighbouring router.
func (b *netBuilder) adjacency() map[string]map[string][]*netsim.Interface {
	adj := map[string]map[string][]*netsim.Interface{}
	for i, l := range b.n.Links {
		if b.routers[l.A] == nil || b.routers[l.B] == nil {
			continue
		}
		for e, pair := range [][2]string{{l.A, l.B}, {l.B, l.A}} {
			if adj[pair[0]] == nil {
				adj[pair[0]] = map[string][]*netsim.Interface{}
			}
			adj[pair[0]][pair[1]] = append(adj[pair[0]][pair[1]], b.ends[i][e])
		}
	}
	return adj
}

// route gives every router that reaches hn's subnet through others a
// multipath route over all its next hops on shortest paths.
func (b *netBuilder) route(hn hostNet, adj map[string]map[string][]*netsim.Interface) error {
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
	for _, r := range b.n.Routers {
		d, ok := dist[r]
		if !ok || d == 0 {
			continue // unreachable, or the subnet is connected
		}
		var outs []*netsim.Interface
		for _, m := range b.n.Routers { // scenario order: deterministic
			if dm, ok := dist[m]; ok && dm == d-1 {
				outs = append(outs, adj[r][m]...)
			}
		}
		if err := b.routers[r].AddMultipathRoute(hn.prefix, outs...); err != nil {
			return err
		}
	}
	return nil
}
