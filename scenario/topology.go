package scenario

import (
	"fmt"
	"net/netip"

	"github.com/mptcp-go/mptcp/netsim"
)

// Topology is a scenario built in a simulator: the client reaches the
// router through one link per path, the router reaches the server through
// the server link, and each competitor has its own link to the router.
//
// Addresses follow one plan so that captures read easily: path i is
// 10.<i+1>.0.0/24 (client .2, router .1), the server is 10.0.0.1, and
// competitor j is 10.<101+j>.0.2; with IPv6 the same numbers sit in
// fd00:<n>::/64.
type Topology struct {
	Sim         *netsim.Sim
	Client      *netsim.Host
	Server      *netsim.Host
	Router      *netsim.Router
	ClientAddrs []netip.Addr   // one per path, in the scenario's order
	PathLinks   []*netsim.Link // one per path
	ServerAddr  netip.Addr
	ServerLink  *netsim.Link
	Competitors []CompetitorNode
}

// CompetitorNode is a competitor built in the simulator.
type CompetitorNode struct {
	Host *netsim.Host
	Addr netip.Addr
	Link *netsim.Link
}

// prefix returns subnet n of the address plan and the address .host in it.
func prefix(v6 bool, n, host int) netip.Prefix {
	if v6 {
		a := netip.AddrFrom16([16]byte{0: 0xfd, 2: byte(n >> 8), 3: byte(n), 15: byte(host)})
		return netip.PrefixFrom(a, 64)
	}
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n), 0, byte(host)}), 24)
}

// Build creates the scenario's hosts, router and links in sim, and
// schedules each path's outages and changes. Stacks are set on the hosts
// by the caller.
func (s *Scenario) Build(sim *netsim.Sim) (*Topology, error) {
	t := &Topology{Sim: sim}
	var err error
	wrap := func(what string, e error) error { return fmt.Errorf("scenario %s: %s: %w", s.Name, what, e) }
	if t.Client, err = sim.NewHost("client"); err != nil {
		return nil, wrap("client", err)
	}
	if t.Server, err = sim.NewHost("server"); err != nil {
		return nil, wrap("server", err)
	}
	if t.Router, err = sim.NewRouter("router"); err != nil {
		return nil, wrap("router", err)
	}
	// connect joins a host interface in subnet n to a new router interface.
	// The host's outgoing pipe is the link's Up direction for clients and
	// competitors and its Down direction (towards the clients) for the
	// server.
	connect := func(h *netsim.Host, ifname string, n int, l Link) (netip.Addr, *netsim.Link, error) {
		hp, rp := prefix(s.IPv6, n, 2), prefix(s.IPv6, n, 1)
		if n == 0 { // the server's subnet: server .1, router .254
			hp, rp = prefix(s.IPv6, 0, 1), prefix(s.IPv6, 0, 254)
			l.Up, l.Down = l.Down, l.Up
		}
		hi, err := h.AddInterface(ifname, hp)
		if err != nil {
			return netip.Addr{}, nil, err
		}
		ri, err := t.Router.AddInterface(fmt.Sprintf("r%d", n), rp)
		if err != nil {
			return netip.Addr{}, nil, err
		}
		// The router sends towards the host on the Down pipe.
		link, err := sim.ConnectAsym(hi, ri, l.Up, l.Down)
		if err != nil {
			return netip.Addr{}, nil, err
		}
		if err := t.Router.AddRoute(hp.Masked(), ri); err != nil {
			return netip.Addr{}, nil, err
		}
		return hp.Addr(), link, nil
	}
	if t.ServerAddr, t.ServerLink, err = connect(t.Server, "eth0", 0, s.ServerLink); err != nil {
		return nil, wrap("server link", err)
	}
	for i, p := range s.Paths {
		addr, link, err := connect(t.Client, p.Name, i+1, p.Link)
		if err != nil {
			return nil, wrap("path "+p.Name, err)
		}
		for _, e := range p.Events {
			if err := link.Schedule(netsim.Epoch.Add(e.At), e.changes()...); err != nil {
				return nil, wrap("path "+p.Name+" schedule", err)
			}
		}
		t.ClientAddrs = append(t.ClientAddrs, addr)
		t.PathLinks = append(t.PathLinks, link)
	}
	for j, c := range s.Competitors {
		h, err := sim.NewHost(c.Name)
		if err != nil {
			return nil, wrap("competitor "+c.Name, err)
		}
		addr, link, err := connect(h, "eth0", 101+j, c.Link)
		if err != nil {
			return nil, wrap("competitor "+c.Name, err)
		}
		t.Competitors = append(t.Competitors, CompetitorNode{Host: h, Addr: addr, Link: link})
	}
	return t, nil
}

// changes converts an event to the simulator's link changes.
func (e Event) changes() []netsim.Change {
	var cs []netsim.Change
	switch {
	case e.Down:
		cs = append(cs, netsim.Down())
	case e.Up:
		cs = append(cs, netsim.Up())
	}
	if e.Rate != nil {
		cs = append(cs, netsim.Rate(*e.Rate))
	}
	if e.Delay != nil {
		cs = append(cs, netsim.Delay(*e.Delay))
	}
	if e.Loss != nil {
		cs = append(cs, netsim.Loss(*e.Loss))
	}
	return cs
}
