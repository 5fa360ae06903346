package netsim

import (
	"fmt"
	"net/netip"
)

// A Router forwards packets between its interfaces by destination, with
// static routes and longest-prefix match. It decrements the IPv4 TTL (fixing
// the header checksum incrementally) or the IPv6 hop limit, and drops a
// packet whose limit would reach zero, answering with ICMP time exceeded if
// SendICMP is set. It has no queue of its own: each output interface's pipe
// is the queue, so flows routed to one interface share its bottleneck.
type Router struct {
	nodeBase
	routes routeTable
	mbox   chain
	stats  RouterStats
	salt   uint64 // ECMP hash salt, from the seed and the router's name

	// SendICMP makes the router answer expired packets with ICMP (or
	// ICMPv6) time exceeded from the address of the interface the answer
	// leaves by, as Linux does by default.
	SendICMP bool
}

// NewRouter adds a router called name.
func (s *Sim) NewRouter(name string) (*Router, error) {
	r := &Router{}
	r.nodeBase = nodeBase{s: s, name: name, self: r}
	r.salt = s.Rand("ecmp/" + name).Uint64()
	if err := s.addNode(name, r); err != nil {
		return nil, err
	}
	r.mbox.init(s, r.forward)
	s.routers = append(s.routers, r)
	return r, nil
}

// AddInterface adds an interface as Host.AddInterface does, and a connected
// route for the prefix of each of its addresses.
func (r *Router) AddInterface(name string, addrs ...netip.Prefix) (*Interface, error) {
	ifc, err := r.nodeBase.AddInterface(name, addrs...)
	if err != nil {
		return nil, err
	}
	for _, p := range addrs {
		r.routes.add(Route{Dst: p, Out: ifc})
	}
	return ifc, nil
}

// AddRoute routes packets for dst out of out, replacing any route for the
// same prefix. 0.0.0.0/0 and ::/0 are default routes.
func (r *Router) AddRoute(dst netip.Prefix, out *Interface) error {
	if err := validRoute(&r.nodeBase, dst, out); err != nil {
		return fmt.Errorf("router %s: %w", r.name, err)
	}
	r.routes.add(Route{Dst: dst, Out: out})
	return nil
}

// AddMultipathRoute routes packets for dst over several equal-cost next
// hops, replacing any route for the same prefix: each packet leaves by
// outs[h % len(outs)], h a hash of its 5-tuple (addresses, protocol and,
// for TCP and UDP, ports) salted per router. Every packet of a flow takes
// one path, so TCP sees no reordering, and a different salt at each router
// keeps the choices of successive routers independent (no polarisation),
// as datacenter switches do for FatTree and leaf-spine fabrics.
func (r *Router) AddMultipathRoute(dst netip.Prefix, outs ...*Interface) error {
	if len(outs) == 0 {
		return fmt.Errorf("router %s: %w: multipath route %v without next hops", r.name, ErrInvalidConfig, dst)
	}
	for _, o := range outs {
		if err := validRoute(&r.nodeBase, dst, o); err != nil {
			return fmt.Errorf("router %s: %w", r.name, err)
		}
	}
	rt := Route{Dst: dst, Out: outs[0]}
	if len(outs) > 1 {
		rt.Also = append([]*Interface(nil), outs[1:]...)
	}
	r.routes.add(rt)
	return nil
}

// RemoveRoute deletes the route for dst and reports whether there was one.
func (r *Router) RemoveRoute(dst netip.Prefix) bool { return r.routes.remove(dst) }

// Routes returns the routing table, longest prefixes first, IPv4 then IPv6.
func (r *Router) Routes() []Route {
	out := make([]Route, 0, len(r.routes.v4.routes)+len(r.routes.v6.routes))
	return append(append(out, r.routes.v4.routes...), r.routes.v6.routes...)
}

// Lookup returns the interface a packet for dst would leave by, or nil.
func (r *Router) Lookup(dst netip.Addr) *Interface { return r.routes.lookup(dst) }

// AddProcessor appends a middlebox that sees every packet the router
// receives, before the routing decision (so a NAT may rewrite addresses).
func (r *Router) AddProcessor(p Processor) { r.mbox.add(p) }

// Stats returns the router's counters.
func (r *Router) Stats() RouterStats { return r.stats }

// receive implements node.
func (r *Router) receive(ifc *Interface, pk *packet) {
	ifc.capture(r.s, pk.b)
	r.stats.Received++
	if r.mbox.empty() {
		r.forward(pk)
		return
	}
	r.mbox.run(pk)
}

// forward routes pk, passing its buffer on to the output pipe.
func (r *Router) forward(pk *packet) {
	s := r.s
	_, dst, ok := ipAddrs(pk.b)
	if !ok {
		r.stats.Malformed++
		s.pool.put(pk)
		return
	}
	if r.owns(dst) {
		r.stats.Local++
		s.pool.put(pk)
		return
	}
	var out *Interface
	if rt := r.routes.route(dst); rt != nil {
		out = rt.Out
		if len(rt.Also) > 0 {
			if i := flowHash(pk.b, r.salt) % uint64(len(rt.Also)+1); i > 0 {
				out = rt.Also[i-1]
			}
		}
	}
	switch {
	case out == nil:
		r.stats.NoRoute++
	case out.out == nil:
		r.stats.NoLink++
	case !decrementHopLimit(pk.b):
		r.stats.TTLExpired++
		if r.SendICMP {
			r.timeExceeded(pk.b)
		}
	default:
		r.stats.Forwarded++
		out.capture(s, pk.b)
		out.out.send(pk)
		return
	}
	s.pool.put(pk)
}
