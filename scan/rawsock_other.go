//go:build !linux

package scan

import (
	"errors"
	"net/netip"
)

// rawFamily is a stub: header-including raw IPv4 and IPv6 sockets, as the
// prober uses them, are a Linux feature.
type rawFamily struct{ v6 bool }

func openFamily(v6 bool) (*rawFamily, error) {
	return nil, errors.New("scan: raw-socket probing is supported on Linux only")
}

func (f *rawFamily) source(dst netip.Addr) (netip.Addr, error) {
	return netip.Addr{}, errors.ErrUnsupported
}
func (f *rawFamily) send(pkt []byte, dst netip.Addr) error { return errors.ErrUnsupported }
func (f *rawFamily) readTCP(func(netip.Addr, []byte))      {}
func (f *rawFamily) readICMP(func(netip.Addr, []byte))     {}
func (f *rawFamily) close()                                {}
