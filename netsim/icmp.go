package netsim

import (
	"net/netip"

	"github.com/mptcp-go/mptcp/wire"
)

// Sizes bounding the quoted packet in ICMP errors: RFC 1812 section 4.3.2.3
// lets an IPv4 router quote as much as keeps the error within 576 bytes;
// RFC 4443 section 2.4 (c) keeps an ICMPv6 error within the minimum IPv6 MTU.
const (
	icmp4MaxLen = 576
	icmp6MaxLen = 1280
)

// timeExceeded sends ICMP time exceeded (code 0, TTL or hop limit exceeded
// in transit) about orig back to its source, from the address of the
// interface the error leaves by. orig has passed ipAddrs. It is rare, so
// it may allocate.
func (r *Router) timeExceeded(orig []byte) {
	src, _, _ := ipAddrs(orig)
	out := r.routes.lookup(src)
	if out == nil || out.out == nil {
		return
	}
	v4 := orig[0]>>4 == 4
	from := out.Addr(v4)
	if !from.IsValid() {
		return
	}
	var pkt []byte
	if v4 {
		pkt = icmp4TimeExceeded(from, src, wire.IPv4(orig))
	} else {
		pkt = icmp6TimeExceeded(from, src, wire.IPv6(orig))
	}
	if pkt == nil {
		return
	}
	r.stats.ICMPSent++
	out.capture(r.s, pkt)
	out.out.send(r.s.pool.get(pkt))
}

func icmp4TimeExceeded(from, to netip.Addr, orig wire.IPv4) []byte {
	if orig.FlagsFragOff()&0x1fff != 0 {
		return nil // RFC 1812 4.3.2.7: only about the first fragment
	}
	if orig.Protocol() == wire.ProtoICMP {
		// RFC 1812 4.3.2.7: never about an ICMP error (nor a message too
		// short to tell).
		if m, err := wire.ParseICMPv4(orig.Payload()); err != nil || m.IsError() {
			return nil
		}
	}
	quote := orig[:min(len(orig), icmp4MaxLen-wire.IPv4MinHeaderLen-wire.ICMPHeaderLen)]
	plen := wire.ICMPHeaderLen + len(quote)
	b := make([]byte, wire.IPv4MinHeaderLen, wire.IPv4MinHeaderLen+plen)
	wire.EncodeIPv4(b, &wire.IPv4Fields{Protocol: wire.ProtoICMP, Src: from, Dst: to}, plen)
	return wire.AppendICMPv4(b, wire.ICMPv4TimeExceeded, 0, 0, quote)
}

func icmp6TimeExceeded(from, to netip.Addr, orig wire.IPv6) []byte {
	// RFC 4443 2.4 (e): never about an ICMPv6 error.
	if proto, p, err := orig.Transport(); err != nil {
		return nil
	} else if proto == wire.ProtoICMPv6 {
		if m, err := wire.ParseICMPv6(p); err != nil || m.IsError() {
			return nil
		}
	}
	quote := orig[:min(len(orig), icmp6MaxLen-wire.IPv6HeaderLen-wire.ICMPHeaderLen)]
	plen := wire.ICMPHeaderLen + len(quote)
	b := make([]byte, wire.IPv6HeaderLen, wire.IPv6HeaderLen+plen)
	wire.EncodeIPv6(b, &wire.IPv6Fields{NextHeader: wire.ProtoICMPv6, Src: from, Dst: to}, plen)
	return wire.AppendICMPv6(b, from, to, wire.ICMPv6TimeExceeded, 0, 0, quote)
}
