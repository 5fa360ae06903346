package netsim

import (
	"net/netip"

	"github.com/mptcp-go/mptcp/wire"
)

// ipAddrs returns the source and destination of the IP packet b, or
// ok == false if b is not a well-formed IPv4 or IPv6 packet. Nothing past
// the IP header is looked at: the network forwards what it is given.
func ipAddrs(b []byte) (src, dst netip.Addr, ok bool) {
	if len(b) == 0 {
		return src, dst, false
	}
	switch b[0] >> 4 {
	case 4:
		h, err := wire.ParseIPv4(b)
		if err != nil {
			return src, dst, false
		}
		return h.Src(), h.Dst(), true
	case 6:
		h, err := wire.ParseIPv6(b)
		if err != nil {
			return src, dst, false
		}
		return h.Src(), h.Dst(), true
	}
	return src, dst, false
}

// decrementHopLimit lowers the IPv4 TTL (fixing the header checksum
// incrementally, RFC 1624) or the IPv6 hop limit of a packet that ipAddrs
// accepted, and reports false, leaving the packet unchanged, if the packet
// must not be forwarded because the limit would reach zero.
func decrementHopLimit(b []byte) bool {
	if b[0]>>4 == 4 {
		h := wire.IPv4(b)
		ttl := h.TTL()
		if ttl <= 1 {
			return false
		}
		h.SetTTL(ttl - 1)
		return true
	}
	h := wire.IPv6(b)
	hl := h.HopLimit()
	if hl <= 1 {
		return false
	}
	h.SetHopLimit(hl - 1)
	return true
}
