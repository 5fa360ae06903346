package mptcpify

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Side selects which sockets become MPTCP by the way they are used.
type Side uint8

// The sides: Client is a socket that connects, Server one that listens
// (the connections it accepts inherit its protocol); Both is either.
const (
	Client Side = 1 << iota
	Server
	Both = Client | Server
)

// String returns "client", "server" or "both".
func (s Side) String() string {
	switch s {
	case Client:
		return "client"
	case Server:
		return "server"
	case Both:
		return "both"
	}
	return fmt.Sprintf("Side(%d)", uint8(s))
}

// ParseSide reads "client", "server" or "both".
func ParseSide(s string) (Side, error) {
	switch s {
	case "client":
		return Client, nil
	case "server":
		return Server, nil
	case "both", "":
		return Both, nil
	}
	return 0, fmt.Errorf("unknown side %q (want client, server or both)", s)
}

// ParsePrefixes reads a comma-separated list of prefixes ("10.0.0.0/8",
// "2001:db8::/32"); a bare address stands for itself alone.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("bad prefix %q (want an address or ADDRESS/BITS)", f)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("bad prefix %q (want an address or ADDRESS/BITS)", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Filter says which TCP sockets of a command become MPTCP.
//
// Only the family is known when a socket is created; the destination and
// the side are known when the socket connects or listens, so a filter
// that names them (Deferred) needs the seccomp backend, which converts the
// socket then (see docs/run.md).
type Filter struct {
	Families Families
	// Side: sockets that connect, that listen, or both (zero means Both).
	Side Side
	// Ports: destination ports (a listener's own port); none means all.
	Ports []uint16
	// Prefixes: destination addresses (a listener's own address); none
	// means all.
	Prefixes []netip.Prefix
}

// Deferred tells whether the filter needs to see where a socket connects
// or whether it listens: anything beyond the family.
func (f Filter) Deferred() bool {
	return (f.Side != 0 && f.Side != Both) || len(f.Ports) > 0 || len(f.Prefixes) > 0
}

// side returns the side with its zero value resolved.
func (f Filter) side() Side {
	if f.Side == 0 {
		return Both
	}
	return f.Side
}

// families returns the families with the zero value resolved.
func (f Filter) families() Families {
	if f.Families == 0 {
		return All
	}
	return f.Families
}

// Matches tells whether a socket used on side s with destination ap (the
// peer of a client, the bound address of a listener) becomes MPTCP.
// IPv4-mapped IPv6 addresses are matched as IPv4 ones.
func (f Filter) Matches(s Side, ap netip.AddrPort) bool {
	if f.side()&s == 0 {
		return false
	}
	if len(f.Ports) > 0 && !slices.Contains(f.Ports, ap.Port()) {
		return false
	}
	if len(f.Prefixes) == 0 {
		return true
	}
	a := ap.Addr().Unmap()
	for _, p := range f.Prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// String describes the filter for "mptcp run -v".
func (f Filter) String() string {
	s := f.families().String()
	if f.side() != Both {
		s += ", " + f.side().String() + " side"
	}
	switch n := len(f.Ports); {
	case n > 4:
		s += fmt.Sprintf(", %d destination ports", n)
	case n > 0:
		ps := make([]string, n)
		for i, p := range f.Ports {
			ps[i] = strconv.Itoa(int(p))
		}
		s += ", destination ports " + strings.Join(ps, ",")
	}
	if len(f.Prefixes) > 0 {
		ps := make([]string, len(f.Prefixes))
		for i, p := range f.Prefixes {
			ps[i] = p.String()
		}
		s += ", destinations " + strings.Join(ps, ",")
	}
	return s
}

// parseSockaddr reads a struct sockaddr_in or sockaddr_in6 as the kernel
// takes it from connect(2) or bind(2): family in the machine's order (the
// backend runs on little-endian machines), port and address in network
// order. ok is false for other families or a short buffer.
func parseSockaddr(b []byte) (family int, ap netip.AddrPort, ok bool) {
	if len(b) < 2 {
		return 0, ap, false
	}
	family = int(binary.LittleEndian.Uint16(b))
	switch {
	case family == afInet && len(b) >= 16:
		a := netip.AddrFrom4([4]byte(b[4:8]))
		return family, netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[2:])), true
	case family == afInet6 && len(b) >= 24:
		a := netip.AddrFrom16([16]byte(b[8:24]))
		return family, netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[2:])), true
	}
	return family, ap, false
}
