package proxy

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
)

// Policy says which destinations the converter relays to. The zero Policy
// allows everything except the converter's own loopback and link-local
// networks, so that a client cannot reach services bound to the server's
// localhost through it.
type Policy struct {
	// Allow, when not empty, lists the only destination prefixes allowed.
	Allow []netip.Prefix
	// Deny lists prefixes refused even when Allow matches.
	Deny []netip.Prefix
	// Ports, when not empty, lists the only destination ports allowed.
	Ports []uint16
	// AllowLocal permits loopback, link-local and unspecified destinations.
	AllowLocal bool
}

// Check returns an error naming why dest is refused, or nil.
func (p *Policy) Check(dest netip.AddrPort) error {
	a := dest.Addr().Unmap()
	if !p.AllowLocal && (a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsMulticast()) {
		return fmt.Errorf("destination %v is local to the converter", dest)
	}
	if len(p.Ports) > 0 && !slices.Contains(p.Ports, dest.Port()) {
		return fmt.Errorf("destination port %d not allowed", dest.Port())
	}
	if len(p.Allow) > 0 && !slices.ContainsFunc(p.Allow, func(q netip.Prefix) bool { return q.Contains(a) }) {
		return fmt.Errorf("destination %v not in the allowed prefixes", a)
	}
	if slices.ContainsFunc(p.Deny, func(q netip.Prefix) bool { return q.Contains(a) }) {
		return fmt.Errorf("destination %v denied", a)
	}
	return nil
}

// limiter bounds the connections each client address has open at once.
type limiter struct {
	mu sync.Mutex
	n  map[netip.Addr]int
}

// acquire takes a slot for a, or reports false when a is at its limit.
func (l *limiter) acquire(a netip.Addr, max int) bool {
	if max <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == nil {
		l.n = map[netip.Addr]int{}
	}
	if l.n[a] >= max {
		return false
	}
	l.n[a]++
	return true
}

func (l *limiter) release(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.n[a]; !ok {
		return
	}
	if l.n[a]--; l.n[a] <= 0 {
		delete(l.n, a)
	}
}
