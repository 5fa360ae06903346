package netsim

import (
	"fmt"
	"net/netip"
)

// Route is one static route: packets for Dst leave by Out, or, for an
// equal-cost multipath route, by one of Out and Also chosen by a hash of
// the packet's 5-tuple (see Router.AddMultipathRoute).
type Route struct {
	Dst  netip.Prefix
	Out  *Interface
	Also []*Interface
}

// routeTable answers longest-prefix-match lookups. Simulated routers hold a
// handful of routes, so a list kept sorted longest prefix first, scanned
// until the first match, beats a trie in both speed and clarity.
type routeTable struct {
	v4, v6 []Route
}

// add inserts or replaces the route for r.Dst (masked to its prefix).
func (t *routeTable) add(r Route) {
	r.Dst = r.Dst.Masked()
	list := &t.v6
	if r.Dst.Addr().Is4() {
		list = &t.v4
	}
	for i, q := range *list {
		if q.Dst == r.Dst {
			(*list)[i] = r
			return
		}
	}
	// Insert after every route at least as long, so equal lengths keep the
	// order they were added in.
	i := 0
	for i < len(*list) && (*list)[i].Dst.Bits() >= r.Dst.Bits() {
		i++
	}
	*list = append(*list, Route{})
	copy((*list)[i+1:], (*list)[i:])
	(*list)[i] = r
}

// remove deletes the route for dst and reports whether there was one.
func (t *routeTable) remove(dst netip.Prefix) bool {
	dst = dst.Masked()
	list := &t.v6
	if dst.Addr().Is4() {
		list = &t.v4
	}
	for i, q := range *list {
		if q.Dst == dst {
			*list = append((*list)[:i], (*list)[i+1:]...)
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
func (t *routeTable) route(a netip.Addr) *Route {
	list := t.v6
	if a.Is4() {
		list = t.v4
	}
	for i := range list {
		if list[i].Dst.Contains(a) {
			return &list[i]
		}
	}
	return nil
}

func validRoute(n *nodeBase, dst netip.Prefix, out *Interface) error {
	if !dst.IsValid() {
		return fmt.Errorf("%w: route prefix %v", ErrInvalidConfig, dst)
	}
	if out == nil || out.node.base() != n {
		return fmt.Errorf("%w: route %v via %v, not an interface of %s", ErrForeign, dst, out, n.name)
	}
	return nil
}
