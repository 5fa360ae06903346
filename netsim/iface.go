package netsim

import (
	"fmt"
	"net/netip"

	"github.com/mptcp-go/mptcp/pcap"
)

// An Interface is a node's attachment to one link. It owns addresses and,
// once connected, the pipe that carries what the node sends through it.
type Interface struct {
	node  node
	name  string
	addrs []netip.Prefix
	link  *Link
	out   *Pipe // node -> peer
	in    *Pipe // peer -> node

	captures []*pcap.Writer
}

func (ifc *Interface) addAddr(p netip.Prefix) error {
	if !p.IsValid() {
		return fmt.Errorf("%w: address %v on %s", ErrInvalidConfig, p, ifc)
	}
	// Keep the address as given (not masked): the host part is the
	// interface's own address.
	for _, q := range ifc.addrs {
		if q.Addr() == p.Addr() {
			return fmt.Errorf("%w: address %v twice on %s", ErrDuplicateName, p.Addr(), ifc)
		}
	}
	ifc.addrs = append(ifc.addrs, p)
	return nil
}

// AddAddress adds an address to the interface, for example one a test
// brings up mid-run so a path manager can announce it.
func (ifc *Interface) AddAddress(p netip.Prefix) error { return ifc.addAddr(p) }

// RemoveAddress removes an address; packets sent from it are dropped from
// then on, as on a host whose address went away. It reports whether the
// address was present.
func (ifc *Interface) RemoveAddress(a netip.Addr) bool {
	for i, q := range ifc.addrs {
		if q.Addr() == a {
			ifc.addrs = append(ifc.addrs[:i], ifc.addrs[i+1:]...)
			return true
		}
	}
	return false
}

// Name returns the interface name.
func (ifc *Interface) Name() string { return ifc.name }

// String returns node/interface, the name used in pipe names and errors.
func (ifc *Interface) String() string { return ifc.node.Name() + "/" + ifc.name }

// Addrs returns the interface's addresses with their prefix lengths.
func (ifc *Interface) Addrs() []netip.Prefix { return ifc.addrs }

// Addr returns the interface's first address of the family of v4 (true:
// IPv4), or the zero Addr.
func (ifc *Interface) Addr(v4 bool) netip.Addr {
	for _, p := range ifc.addrs {
		if p.Addr().Is4() == v4 {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

// Link returns the link the interface is attached to, or nil.
func (ifc *Interface) Link() *Link { return ifc.link }

// Out returns the pipe carrying packets away from this interface, or nil
// if it is not connected.
func (ifc *Interface) Out() *Pipe { return ifc.out }

// In returns the pipe carrying packets to this interface, or nil.
func (ifc *Interface) In() *Pipe { return ifc.in }

// Peer returns the interface at the other end of the link, or nil.
func (ifc *Interface) Peer() *Interface {
	if ifc.out == nil {
		return nil
	}
	return ifc.out.to
}

// Capture records every packet the node sends through this interface (when
// the node hands it over, before the link's middleboxes, queue and
// impairments) and every packet delivered to it (when it arrives, before the
// node looks at it), as tcpdump on that interface would. Timestamps are
// virtual.
func (ifc *Interface) Capture(w *pcap.Writer) {
	ifc.captures = append(ifc.captures, w)
}

func (ifc *Interface) capture(s *Sim, b []byte) {
	writeAll(s, ifc.captures, b)
}
