package netsim

import (
	"fmt"
	"net/netip"
)

// node is anything interfaces belong to: a Host or a Router.
type node interface {
	Name() string
	// receive takes ownership of a packet that arrived on ifc.
	receive(ifc *Interface, pk *packet)
	base() *nodeBase
}

// nodeBase holds what hosts and routers share: a name and interfaces.
type nodeBase struct {
	s      *Sim
	name   string
	self   node
	ifaces []*Interface
}

func (n *nodeBase) base() *nodeBase { return n }

// Name returns the node's name.
func (n *nodeBase) Name() string { return n.name }

// Sim returns the simulation the node belongs to.
func (n *nodeBase) Sim() *Sim { return n.s }

// Interfaces returns the node's interfaces in creation order.
func (n *nodeBase) Interfaces() []*Interface { return n.ifaces }

// Interface returns the interface called name, or nil.
func (n *nodeBase) Interface(name string) *Interface {
	for _, ifc := range n.ifaces {
		if ifc.name == name {
			return ifc
		}
	}
	return nil
}

// AddInterface adds an interface called name with the given addresses,
// each an address with its on-link prefix length (10.0.1.2/24,
// 2001:db8:1::2/64). An interface may have several addresses of either
// family, or none (a router's transit interface).
func (n *nodeBase) AddInterface(name string, addrs ...netip.Prefix) (*Interface, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty interface name on %s", ErrInvalidConfig, n.name)
	}
	if n.Interface(name) != nil {
		return nil, fmt.Errorf("%w: interface %s on %s", ErrDuplicateName, name, n.name)
	}
	ifc := &Interface{node: n.self, name: name}
	for _, p := range addrs {
		if err := ifc.addAddr(p); err != nil {
			return nil, err
		}
	}
	n.ifaces = append(n.ifaces, ifc)
	return ifc, nil
}

// owns reports whether any interface of the node has address a. Hosts
// accept a packet for any of their addresses on any interface (the weak
// host model, as Linux does), which multipath tests rely on when a path
// manager announces an address reached through another interface.
func (n *nodeBase) owns(a netip.Addr) bool {
	return n.ifaceFor(a) != nil
}

// ifaceFor returns the interface that owns address a, or nil.
func (n *nodeBase) ifaceFor(a netip.Addr) *Interface {
	for _, ifc := range n.ifaces {
		for _, p := range ifc.addrs {
			if p.Addr() == a {
				return ifc
			}
		}
	}
	return nil
}

func (s *Sim) addNode(name string, nd node) error {
	if name == "" {
		return fmt.Errorf("%w: empty node name", ErrInvalidConfig)
	}
	if _, dup := s.nodes[name]; dup {
		return fmt.Errorf("%w: node %s", ErrDuplicateName, name)
	}
	s.nodes[name] = nd
	return nil
}
