package tcp

import (
	"fmt"
	"net/netip"
)

// pickPort chooses an ephemeral port for a connection from laddr to
// remote, as RFC 6056 section 3.3.3 (algorithm 3, double-hash port
// selection): a keyed hash of the addresses spreads connections to
// different peers over the range, and a counter moves on after each use.
// It is deterministic given the stack's random source. A stack that is
// one of several shards takes the ports of its share only.
func (s *Stack) pickPort(laddr netip.Addr, remote netip.AddrPort) (uint16, error) {
	lo, hi := uint32(s.cfg.EphemeralPortMin), uint32(s.cfg.EphemeralPortMax)
	num := hi - lo + 1
	offset := uint32(s.secret.hashTuple(netip.AddrPortFrom(laddr, 0), remote, saltPort))
	for i := uint32(0); i < num; i++ {
		port := uint16(lo + (offset+s.portNext+i)%num)
		if int(port)%s.cfg.Shards != s.cfg.Shard {
			continue // another shard's (Config.Shard)
		}
		local := netip.AddrPortFrom(laddr, port)
		k := tuple{local, remote}
		if _, busy := s.conns[k]; busy || s.tw.has(k) {
			continue
		}
		if s.listenerFor(local) != nil {
			continue
		}
		s.portNext += i + 1
		return port, nil
	}
	return 0, fmt.Errorf("%w: no free ephemeral port for %v -> %v", ErrAddrNotAvailable, laddr, remote)
}
