package tun

import (
	"cmp"
	"net/netip"
	"slices"
)

// router maps a packet's source address to the interface it leaves by.
// The table is fixed at New; lookups allocate nothing and remember the last
// answer, since a burst of packets mostly shares one source.
type router struct {
	routes  []route // longest prefix first, then interface order
	def     int     // interface without prefixes, or -1
	lastSrc netip.Addr
	lastIdx int
}

type route struct {
	prefix netip.Prefix
	iface  int
}

func newRouter(ifs []Interface) router {
	r := router{def: -1, lastIdx: -1}
	for i, ifc := range ifs {
		if len(ifc.Prefixes) == 0 && r.def < 0 {
			r.def = i
		}
		for _, p := range ifc.Prefixes {
			r.routes = append(r.routes, route{p.Masked(), i})
		}
	}
	slices.SortStableFunc(r.routes, func(a, b route) int {
		return cmp.Compare(b.prefix.Bits(), a.prefix.Bits())
	})
	return r
}

// lookup returns the interface for a packet, or -1 when no interface
// carries its source address (or the packet is not IP).
func (r *router) lookup(pkt []byte) int {
	src, ok := source(pkt)
	if !ok {
		return -1
	}
	if src == r.lastSrc && r.lastIdx >= 0 {
		return r.lastIdx
	}
	idx := r.def
	for _, rt := range r.routes {
		if rt.prefix.Contains(src) {
			idx = rt.iface
			break
		}
	}
	r.lastSrc, r.lastIdx = src, idx
	return idx
}

// source returns the source address of an IPv4 or IPv6 packet.
func source(pkt []byte) (netip.Addr, bool) {
	if len(pkt) == 0 {
		return netip.Addr{}, false
	}
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) >= 20 {
			return netip.AddrFrom4([4]byte(pkt[12:16])), true
		}
	case 6:
		if len(pkt) >= 40 {
			return netip.AddrFrom16([16]byte(pkt[8:24])), true
		}
	}
	return netip.Addr{}, false
}
