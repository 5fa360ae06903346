package scan

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Target is one address and port to probe.
type Target struct {
	Addr netip.Addr
	Port uint16
}

// String formats the target as host:port, with brackets for IPv6.
func (t Target) String() string { return netip.AddrPortFrom(t.Addr, t.Port).String() }

// DefaultPorts are probed on targets that name no port.
var DefaultPorts = []uint16{80, 443}

// DefaultMaxAddrs caps how many addresses the targets of one scan may
// expand to: a /16, or a few hundred names.
const DefaultMaxAddrs = 1 << 16

// Resolver looks up the addresses of a host name.
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

// Family restricts targets to one address family.
type Family uint8

// The families a scan may be restricted to.
const (
	AnyFamily Family = iota
	IPv4Only
	IPv6Only
)

// ExpandConfig says how Expand turns target strings into targets.
type ExpandConfig struct {
	// Ports are probed on targets that name none; DefaultPorts when empty.
	Ports []uint16
	// MaxAddrs caps the number of addresses all targets together expand
	// to; DefaultMaxAddrs when zero.
	MaxAddrs int
	// Family restricts the scan to one address family: a literal address
	// of the other family is an error, a name's other addresses are dropped.
	Family Family
	// Resolve looks up host names; net.DefaultResolver when nil.
	Resolve Resolver
}

// Expand turns target strings into the list of targets to probe, in the
// order given, without duplicates. A target is an address (IPv4 or IPv6,
// "::1"), a host name, either with a port ("10.0.0.1:443", "[::1]:443",
// "example.net:443"), or a CIDR range, optionally with a port
// ("10.0.0.0/24", "10.0.0.0/24:443", "[2001:db8::/120]:443"). A range
// expands to every address in it, network and broadcast included, as the
// caller named them. Nothing outside what the strings name is ever
// returned. The first malformed target ends expansion with an error naming
// it and wrapping ErrBadTarget; too many addresses wrap ErrTooManyTargets.
func Expand(ctx context.Context, specs []string, cfg ExpandConfig) ([]Target, error) {
	ports := cfg.Ports
	if len(ports) == 0 {
		ports = DefaultPorts
	}
	maxAddrs := cfg.MaxAddrs
	if maxAddrs <= 0 {
		maxAddrs = DefaultMaxAddrs
	}
	resolve := cfg.Resolve
	if resolve == nil {
		resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("%w: no target given", ErrBadTarget)
	}
	var out []Target
	seen := make(map[Target]bool)
	naddrs := 0
	add := func(a netip.Addr, port uint16) {
		for _, p := range portsOr(port, ports) {
			t := Target{a, p}
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	for _, s := range specs {
		spec, err := parseSpec(s)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %v", ErrBadTarget, s, err)
		}
		switch {
		case spec.prefix.IsValid():
			p := spec.prefix
			if err := familyOK(p.Addr(), cfg.Family); err != nil {
				return nil, fmt.Errorf("%w %q: %v", ErrBadTarget, s, err)
			}
			hostBits := p.Addr().BitLen() - p.Bits()
			if hostBits >= 62 || naddrs+(1<<hostBits) > maxAddrs {
				return nil, fmt.Errorf("%w: target %q expands to %s addresses, more than the limit of %d", ErrTooManyTargets, s, rangeSize(hostBits), maxAddrs)
			}
			naddrs += 1 << hostBits
			for a, i := p.Addr(), 0; i < 1<<hostBits; a, i = a.Next(), i+1 {
				if unicastOK(a) == nil { // 0.0.0.0 and 255.255.255.255 are never hosts
					add(a, spec.port)
				}
			}
		case spec.addr.IsValid():
			if err := familyOK(spec.addr, cfg.Family); err != nil {
				return nil, fmt.Errorf("%w %q: %v", ErrBadTarget, s, err)
			}
			if naddrs++; naddrs > maxAddrs {
				return nil, fmt.Errorf("%w: %d addresses, more than the limit of %d", ErrTooManyTargets, naddrs, maxAddrs)
			}
			add(spec.addr, spec.port)
		default:
			addrs, err := resolve(ctx, spec.host)
			if err != nil {
				return nil, fmt.Errorf("%w %q: %v", ErrBadTarget, s, err)
			}
			n := 0
			for _, a := range addrs {
				a = a.Unmap().WithZone("")
				if familyOK(a, cfg.Family) != nil || unicastOK(a) != nil {
					continue
				}
				if naddrs++; naddrs > maxAddrs {
					return nil, fmt.Errorf("%w: %d addresses, more than the limit of %d", ErrTooManyTargets, naddrs, maxAddrs)
				}
				add(a, spec.port)
				n++
			}
			if n == 0 {
				return nil, fmt.Errorf("%w %q: the name has no usable address of the requested family", ErrBadTarget, s)
			}
		}
	}
	return out, nil
}

func portsOr(port uint16, ports []uint16) []uint16 {
	if port != 0 {
		return []uint16{port}
	}
	return ports
}

func rangeSize(hostBits int) string {
	if hostBits >= 62 {
		return "2^" + strconv.Itoa(hostBits)
	}
	return strconv.Itoa(1 << hostBits)
}

// spec is one parsed target string: exactly one of prefix, addr and host
// is set; port is zero when the string names none.
type spec struct {
	prefix netip.Prefix
	addr   netip.Addr
	host   string
	port   uint16
}

func parseSpec(s string) (spec, error) {
	if s == "" {
		return spec{}, fmt.Errorf("empty target")
	}
	if strings.ContainsRune(s, '/') {
		return parseRange(s)
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return addrSpec(a, 0)
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return spec{}, fmt.Errorf("port 0 cannot be probed")
		}
		return addrSpec(ap.Addr(), ap.Port())
	}
	host, port := s, uint16(0)
	if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			return spec{}, err
		}
		if port, err = parsePort(p); err != nil {
			return spec{}, err
		}
		if a, err := netip.ParseAddr(h); err == nil {
			return addrSpec(a, port)
		}
		host = h
	}
	if strings.Contains(host, ":") {
		return spec{}, fmt.Errorf("not a valid IPv6 address (write an address with a port as [addr]:port)")
	}
	if looksNumeric(host) {
		return spec{}, fmt.Errorf("not a valid IPv4 address")
	}
	if err := checkHostname(host); err != nil {
		return spec{}, err
	}
	return spec{host: host, port: port}, nil
}

// parseRange parses "prefix", "prefix:port" or "[prefix]:port".
func parseRange(s string) (spec, error) {
	ps, port := s, uint16(0)
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return spec{}, fmt.Errorf("missing ']'")
		}
		ps = s[1:end]
		rest := s[end+1:]
		if rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return spec{}, fmt.Errorf("unexpected %q after ']'", rest)
			}
			var err error
			if port, err = parsePort(rest[1:]); err != nil {
				return spec{}, err
			}
		}
	} else if i := strings.LastIndexByte(s, ':'); i > strings.IndexByte(s, '/') {
		// A prefix length has no colon, so a colon after the slash
		// starts a port.
		var err error
		if port, err = parsePort(s[i+1:]); err != nil {
			return spec{}, err
		}
		ps = s[:i]
	}
	p, err := netip.ParsePrefix(ps)
	if err != nil {
		return spec{}, fmt.Errorf("not a valid CIDR range: %v", err)
	}
	if p.Addr().Zone() != "" {
		return spec{}, fmt.Errorf("scoped (zoned) addresses are not supported")
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	p = p.Masked()
	if p.Addr().IsMulticast() {
		return spec{}, fmt.Errorf("a multicast range cannot be probed with TCP")
	}
	return spec{prefix: p, port: port}, nil
}

func addrSpec(a netip.Addr, port uint16) (spec, error) {
	if a.Zone() != "" {
		return spec{}, fmt.Errorf("scoped (zoned) addresses are not supported")
	}
	a = a.Unmap()
	if err := unicastOK(a); err != nil {
		return spec{}, err
	}
	return spec{addr: a, port: port}, nil
}

func unicastOK(a netip.Addr) error {
	switch {
	case a.IsUnspecified():
		return fmt.Errorf("the unspecified address cannot be probed")
	case a.IsMulticast():
		return fmt.Errorf("a multicast address cannot be probed with TCP")
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("the broadcast address cannot be probed with TCP")
	}
	return nil
}

func familyOK(a netip.Addr, f Family) error {
	switch {
	case f == IPv4Only && !a.Is4():
		return fmt.Errorf("an IPv6 target in an IPv4-only scan")
	case f == IPv6Only && a.Is4():
		return fmt.Errorf("an IPv4 target in an IPv6-only scan")
	}
	return nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("bad port %q (want 1 to 65535)", s)
	}
	return uint16(n), nil
}

// ParsePorts parses a comma-separated port list such as "80,443,8000-8003".
func ParsePorts(s string) ([]uint16, error) {
	var out []uint16
	seen := make(map[uint16]bool)
	for _, f := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(f, "-")
		a, err := parsePort(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = parsePort(hi); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("bad port range %q", f)
			}
		}
		for p := int(a); p <= int(b); p++ {
			if !seen[uint16(p)] {
				seen[uint16(p)] = true
				out = append(out, uint16(p))
			}
		}
	}
	return out, nil
}

func looksNumeric(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

// checkHostname accepts the letters, digits, hyphens, underscores and dots
// of DNS names, so that a typo is reported here rather than as a lookup
// failure.
func checkHostname(h string) error {
	if len(h) > 253 {
		return fmt.Errorf("host name longer than 253 characters")
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("not a valid host name")
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("not a valid host name (character %q)", c)
			}
		}
	}
	return nil
}
