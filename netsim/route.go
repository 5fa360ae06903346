package netsim

import (
	"fmt"
	"net/netip"
	"slices"
)

// Route is one static route: packets for Dst leave by Out, or, for an
// equal-cost multipath route, by one of Out and Also chosen by a hash of
// the packet's 5-tuple (see Router.AddMultipathRoute).
type Route struct {
	Dst  netip.Prefix
	Out  *Interface
	Also []*Interface
}

// routeTable answers longest-prefix-match lookups from a list kept sorted
// longest prefix first. A handful of routes is scanned until the first
// match; a longer list (a FatTree's switch holds a route per host subnet,
// 128 at k=8, consulted at every hop) is looked up by exact prefix, one
// map probe per prefix length present, longest first, which finds the
// same route the scan would.
type routeTable struct {
	v4, v6 routeList
}

// routeList is one address family's routes and their index.
type routeList struct {
	routes []Route
	stale  bool // routes changed since the index was built
	// at4 and at6 give the position in routes of each prefix: an IPv4
	// prefix (the common case) keyed by its length and address in one
	// integer, which hashes faster than a netip.Prefix.
	at4  map[uint64]int
	at6  map[netip.Prefix]int
	bits []int // the prefix lengths present, longest first
}

// key4 is an IPv4 prefix as a map key.
func key4(a netip.Addr, bits int) uint64 {
	b := a.As4()
	return uint64(bits)<<32 | uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
}

// scanRoutes is the most routes a lookup scans; longer lists use the index.
const scanRoutes = 8

// reindex rebuilds the index after the routes changed.
func (l *routeList) reindex() {
	l.stale = false
	l.at4, l.at6, l.bits = nil, nil, l.bits[:0]
	if len(l.routes) <= scanRoutes {
		return
	}
	l.at4, l.at6 = map[uint64]int{}, map[netip.Prefix]int{}
	for i, r := range l.routes {
		if a := r.Dst.Addr(); a.Is4() {
			l.at4[key4(a, r.Dst.Bits())] = i
		} else {
			l.at6[r.Dst] = i
		}
		if b := r.Dst.Bits(); len(l.bits) == 0 || l.bits[len(l.bits)-1] != b {
			l.bits = append(l.bits, b)
		}
	}
}

// find returns the longest-prefix route containing a, or nil.
func (l *routeList) find(a netip.Addr) *Route {
	if l.stale {
		l.reindex()
	}
	if l.at4 == nil {
		for i := range l.routes {
			if l.routes[i].Dst.Contains(a) {
				return &l.routes[i]
			}
		}
		return nil
	}
	for _, b := range l.bits {
		p, err := a.Prefix(b)
		if err != nil {
			continue
		}
		var i int
		var ok bool
		if a.Is4() {
			i, ok = l.at4[key4(p.Addr(), b)]
		} else {
			i, ok = l.at6[p]
		}
		if ok {
			return &l.routes[i]
		}
	}
	return nil
}

// family returns the list of a's address family.
func (t *routeTable) family(a netip.Addr) *routeList {
	if a.Is4() {
		return &t.v4
	}
	return &t.v6
}

// add inserts or replaces the route for r.Dst (masked to its prefix).
func (t *routeTable) add(r Route) {
	r.Dst = r.Dst.Masked()
	l := t.family(r.Dst.Addr())
	l.stale = true
	for i, q := range l.routes {
		if q.Dst == r.Dst {
			l.routes[i] = r
			return
		}
	}
	// Insert after every route at least as long, so equal lengths keep the
	// order they were added in.
	i := 0
	for i < len(l.routes) && l.routes[i].Dst.Bits() >= r.Dst.Bits() {
		i++
	}
	l.routes = slices.Insert(l.routes, i, r)
}

// remove deletes the route for dst and reports whether there was one.
func (t *routeTable) remove(dst netip.Prefix) bool {
	dst = dst.Masked()
	l := t.family(dst.Addr())
	for i, q := range l.routes {
		if q.Dst == dst {
			l.routes = slices.Delete(l.routes, i, i+1)
			l.stale = true
			return true
		}
	}
	return false
}

// lookup returns the output interface of the longest prefix containing a.
// A multipath route gives its first interface.
func (t *routeTable) lookup(a netip.Addr) *Interface {
	if r := t.route(a); r != nil {
		return r.Out
	}
	return nil
}

// route returns the longest-prefix route containing a, or nil.
func (t *routeTable) route(a netip.Addr) *Route { return t.family(a).find(a) }

func validRoute(n *nodeBase, dst netip.Prefix, out *Interface) error {
	if !dst.IsValid() {
		return fmt.Errorf("%w: route prefix %v", ErrInvalidConfig, dst)
	}
	if out == nil || out.node.base() != n {
		return fmt.Errorf("%w: route %v via %v, not an interface of %s", ErrForeign, dst, out, n.name)
	}
	return nil
}
