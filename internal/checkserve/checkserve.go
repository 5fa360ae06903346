// Package checkserve is the "am I using MPTCP" site that mptcp check serve
// runs: it tells each visitor whether its connection is Multipath TCP, on
// several ports so that a page can find the port where a middlebox strips
// MPTCP, with echo (RFC 862) and discard (RFC 863) services for tests and
// a rate limit per client address. It serves on any net.Listener: the
// kernel's MPTCP sockets or our stack's.
package checkserve

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
)

// Result is what the site tells a visitor about its connection.
type Result struct {
	// MPTCP is true when the connection is Multipath TCP (not fallen
	// back to TCP).
	MPTCP bool `json:"mptcp"`
	// Version is the MPTCP version in use (1, RFC 8684), 0 for none.
	Version int `json:"version"`
	// Stack is whose MPTCP answered: "kernel" or "user".
	Stack string `json:"stack"`
	// Client and Server are the addresses of the connection's initial
	// subflow as the server sees them.
	Client string `json:"client"`
	Server string `json:"server"`
	Port   int    `json:"port"`
	// TLS is true when the visitor came over HTTPS.
	TLS bool `json:"tls"`
	// Subflows are the subflows the server has seen, the initial first.
	Subflows []Subflow `json:"subflows"`
	// Join is true when a subflow joined (MP_JOIN arrived).
	Join bool `json:"join"`
	// Checksum is true when DSS checksums are in use.
	Checksum bool `json:"checksum"`
	// Fallback is true when the client asked for MPTCP but the
	// connection went on as TCP; FallbackReason says why when the stack
	// knows (ours: the MIB counter of the cause).
	Fallback       bool   `json:"fallback"`
	FallbackReason string `json:"fallback_reason,omitempty"`
}

// Subflow is one subflow of a visitor's connection.
type Subflow struct {
	Client string `json:"client"`
	Server string `json:"server"`
	Join   bool   `json:"join"`
}

// Inspector describes a connection accepted by the site's listeners.
// Kernel (Linux) and User (our stack) are the two.
type Inspector func(c net.Conn) Result

type connKey struct{}

// ConnContext stores the connection in the request context, for the
// handler to inspect; it is the http.Server's ConnContext. A TLS
// connection is stored as the connection under it, which the stack made.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	return context.WithValue(ctx, connKey{}, c)
}

func connFrom(ctx context.Context) net.Conn {
	c, _ := ctx.Value(connKey{}).(net.Conn)
	return c
}

func addrOf(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// base fills what every stack knows: the initial subflow's addresses.
func base(c net.Conn, stack string) Result {
	r := Result{Stack: stack}
	l, p := addrOf(c.LocalAddr()), addrOf(c.RemoteAddr())
	r.Client, r.Server, r.Port = unmap(p).String(), unmap(l).String(), int(l.Port())
	return r
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
