package mptcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// A Driver runs a Stack: it calls Deliver and Poll from one goroutine
// with its clock's time and carries the packets. Wake and Now may be
// called from any goroutine.
type Driver interface {
	// Wake asks the driver to poll the stack soon: an application wrote
	// data, read some (opening the window), or dialled.
	Wake()
	// Now returns the driver's current time (virtual time for a
	// simulator).
	Now() time.Time
}

// ErrNoDriver is returned by Dial and Listen on a Stack that no driver runs.
var ErrNoDriver = errors.New("mptcp: stack has no driver")

// Stack is one host's user-space MPTCP stack. Its methods are safe for
// concurrent use: a mutex serialises the application's goroutines with the
// driver's, and the protocol core under it runs single-threaded.
type Stack struct {
	mu   sync.Mutex
	core *core.Stack
	drv  Driver
	last time.Time // latest time seen, so that time never runs backwards
}

// NewStack returns a stack with no addresses and no driver.
func NewStack(cfg Config) (*Stack, error) {
	cs, err := core.NewStack(cfg.coreConfig())
	if err != nil {
		return nil, fmt.Errorf("mptcp: %w", err)
	}
	return &Stack{core: cs}, nil
}

// SetDriver attaches the driver that runs the stack. It is called once,
// before the stack is used.
func (s *Stack) SetDriver(d Driver) {
	s.mu.Lock()
	s.drv = d
	s.mu.Unlock()
}

// AddAddress gives the host a local address. The path manager uses new
// addresses on existing connections too (a subflow from it, or an
// announcement).
func (s *Stack) AddAddress(a netip.Addr) {
	s.mu.Lock()
	s.core.AddAddress(a)
	s.mu.Unlock()
	s.wake()
}

// RemoveAddress takes an address away; subflows using it are closed and
// the peer is told (REMOVE_ADDR).
func (s *Stack) RemoveAddress(a netip.Addr) {
	s.mu.Lock()
	s.core.RemoveAddress(a)
	s.mu.Unlock()
	s.wake()
}

// Addresses returns the host's addresses.
func (s *Stack) Addresses() []netip.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []netip.Addr
	for _, l := range s.core.Addresses() {
		out = append(out, l.Addr)
	}
	return out
}

// MIB returns a snapshot of the stack's counters, named as the Linux
// kernel's MPTcpExt counters.
func (s *Stack) MIB() core.MIBSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.core.MIB()
}

// Conns returns a snapshot of every connection the stack holds (accepted
// or not), for monitoring: package observe serves it.
func (s *Stack) Conns() []ConnInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.core.Conns()
	out := make([]ConnInfo, len(cs))
	for i, c := range cs {
		out[i] = c.Info()
	}
	return out
}

// Deliver hands the stack one IP packet; drivers call it.
func (s *Stack) Deliver(now time.Time, pkt []byte) {
	s.mu.Lock()
	s.core.Deliver(s.advance(now), pkt)
	s.mu.Unlock()
}

// Poll lets the stack send and run its timers; drivers call it. It
// returns when the stack next wants to be polled (zero: not until a
// packet arrives or Wake is called).
func (s *Stack) Poll(now time.Time, send func(pkt []byte)) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.core.Poll(s.advance(now), send)
}

// advance returns now, or the latest time already seen if now is
// earlier: the driver's clock and the one applications calls read may
// differ slightly (a simulator's virtual time lags its clock between
// events), and the core must never see time go backwards.
func (s *Stack) advance(now time.Time) time.Time {
	if now.Before(s.last) {
		return s.last
	}
	s.last = now
	return now
}

// now is the time for a call made by the application; s.mu is held.
func (s *Stack) now() time.Time {
	if s.drv == nil {
		return s.last
	}
	return s.advance(s.drv.Now())
}

func (s *Stack) wake() {
	s.mu.Lock()
	d := s.drv
	s.mu.Unlock()
	if d != nil {
		d.Wake()
	}
}

// parseAddr parses a dial or listen address: an IP literal and a port, as
// net.ParseAddrPort reads them (host names are not resolved).
func parseAddr(network, address string, listen bool) (netip.AddrPort, error) {
	switch network {
	case "tcp", "tcp4", "tcp6", "mptcp":
	default:
		return netip.AddrPort{}, net.UnknownNetworkError(network)
	}
	if listen && len(address) > 0 && address[0] == ':' {
		// ":80" listens on every address, as with net.Listen.
		ap, err := netip.ParseAddrPort("0.0.0.0" + address)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("address %q: %w", address, err)
		}
		if network == "tcp6" {
			ap = netip.AddrPortFrom(netip.IPv6Unspecified(), ap.Port())
		}
		return ap, nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: want IP:port (host names are not resolved): %w", address, err)
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if (network == "tcp4" && !ap.Addr().Is4()) || (network == "tcp6" && ap.Addr().Is4()) {
		return netip.AddrPort{}, fmt.Errorf("address %q is not of network %s", address, network)
	}
	return ap, nil
}

// Dial connects to address ("IP:port") over network "tcp", "tcp4",
// "tcp6" or "mptcp". The connection is MPTCP if the peer agrees and plain
// TCP otherwise.
func (s *Stack) Dial(network, address string) (*Conn, error) {
	return s.DialContext(context.Background(), network, address)
}

// DialOptions choose per-connection settings for DialWith.
type DialOptions struct {
	// Local is the address of the initial subflow; the zero value picks
	// one of the stack's addresses of the remote's family.
	Local netip.Addr
	// Scheduler, CongestionControl and PathManager override the stack's.
	Scheduler, CongestionControl, PathManager string
	// Backup makes the initial subflow a backup path.
	Backup bool
	// Checksum asks for DSS checksums on this connection.
	Checksum bool
	// DisableMPTCP dials plain TCP.
	DisableMPTCP bool
}

// DialContext is Dial with a context that bounds the connection attempt.
func (s *Stack) DialContext(ctx context.Context, network, address string) (*Conn, error) {
	return s.DialWith(ctx, network, address, DialOptions{})
}

// DialWith is DialContext with per-connection options.
func (s *Stack) DialWith(ctx context.Context, network, address string, o DialOptions) (*Conn, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: network, Addr: tcpAddrString(address), Err: err}
	}
	remote, err := parseAddr(network, address, false)
	if err != nil {
		return nil, opErr(err)
	}
	s.mu.Lock()
	if s.drv == nil {
		s.mu.Unlock()
		return nil, opErr(ErrNoDriver)
	}
	cc, err := s.core.Dial(s.now(), o.Local, remote, core.ConnOptions{
		Scheduler: o.Scheduler, CongestionControl: o.CongestionControl, PathManager: o.PathManager,
		Backup: o.Backup, Checksum: o.Checksum, DisableMPTCP: o.DisableMPTCP,
	})
	if err != nil {
		s.mu.Unlock()
		return nil, opErr(err)
	}
	c := newConn(s, cc)
	s.mu.Unlock()
	s.wake()
	if err := c.waitEstablished(ctx); err != nil {
		return nil, opErr(err)
	}
	return c, nil
}

// Listen listens on address ("IP:port", or ":port" for every address)
// over network "tcp", "tcp4", "tcp6" or "mptcp". It accepts MPTCP and
// plain TCP clients alike.
func (s *Stack) Listen(network, address string) (*Listener, error) {
	ap, err := parseAddr(network, address, true)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drv == nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: ErrNoDriver}
	}
	cl, err := s.core.Listen(ap)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	return newListener(s, cl), nil
}

type tcpAddrString string

func (a tcpAddrString) Network() string { return "tcp" }
func (a tcpAddrString) String() string  { return string(a) }
