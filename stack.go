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
	"github.com/mptcp-go/mptcp/link"
	"github.com/mptcp-go/mptcp/tcp"
)

// ErrNoDriver is returned by Dial and Listen on a Stack that no driver
// runs yet (see Stack.Link).
var ErrNoDriver = errors.New("mptcp: stack has no driver")

// Stack is one host's user-space MPTCP stack: its addresses, connections,
// listeners and counters. Its methods are safe for concurrent use: a mutex
// serialises the application's goroutines with the driver's, and the
// protocol core under it runs single-threaded.
//
// A Stack does no I/O of its own: a driver runs it through its Link.
type Stack struct {
	mu   sync.Mutex
	core *core.Stack
	drv  link.Driver
	last time.Time // latest time seen, so that time never runs backwards
	lk   Link
}

// NewStack returns a stack with no addresses and no driver.
func NewStack(cfg Config) (*Stack, error) {
	cs, err := core.NewStack(cfg.coreConfig())
	if err != nil {
		return nil, fmt.Errorf("mptcp: %w", err)
	}
	s := &Stack{core: cs}
	s.lk.s = s
	return s, nil
}

// Link returns the side of the stack that drivers use. Hand it to one:
// netsim.Host.SetStack(st.Link()) in the simulator, tun.New(st.Link(), cfg)
// on Linux TUN devices, or package host's Start, which does all of it.
func (s *Stack) Link() *Link { return &s.lk }

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

// SetAddressBackup marks the paths from local address a as backup paths,
// or regular ones again: subflows from it carry the backup flag (MP_JOIN's
// B bit, or MP_PRIO on those already open), as an `ip mptcp endpoint`
// with the backup flag. It reports whether a is one of the stack's
// addresses.
func (s *Stack) SetAddressBackup(a netip.Addr, backup bool) bool {
	s.mu.Lock()
	ok := s.core.SetAddressBackup(a, backup)
	s.mu.Unlock()
	s.wake()
	return ok
}

// Addresses returns the host's addresses.
func (s *Stack) Addresses() []netip.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []netip.Addr
	for _, l := range s.core.Addresses() {
		if l.Port == 0 {
			out = append(out, l.Addr)
		}
	}
	return out
}

// hasFamily reports whether the stack has an address of a's family;
// s.mu is held.
func (s *Stack) hasFamily(a netip.Addr) bool {
	for _, l := range s.core.Addresses() {
		if l.Addr.Is4() == a.Is4() {
			return true
		}
	}
	return false
}

// MIB returns a snapshot of the stack's counters, named as the Linux
// kernel's MPTcpExt counters.
func (s *Stack) MIB() core.MIBSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.core.MIB()
}

// TCPStats returns the counters of the stack's TCP engine, all subflows
// together, named as Linux's Tcp and TcpExt counters: SYN cookies,
// challenge ACKs, malformed and misrouted segments, PAWS, resets. Where
// MIB shows what the MPTCP layer made of the packets, TCPStats shows
// what TCP dropped or answered before them.
func (s *Stack) TCPStats() tcp.StackStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.core.TCP().Stats()
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

// Drain waits until the peer of every connection the application closed
// has acknowledged all that was written and the end of the stream (the
// DATA_FIN), or until ctx is done. The kernel goes on sending after a program closes
// a socket and even after it exits; a user-space stack sends only while
// its driver runs, so a program calls Drain before it stops the driver
// (Host.Shutdown does both) or the last bytes it wrote, a response or a
// result, never leave. Connections still open are not waited for.
func (s *Stack) Drain(ctx context.Context) error {
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for {
		s.mu.Lock()
		n := s.core.Closing()
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mptcp: drain: %d connections still closing: %w", n, ctx.Err())
		case <-tick.C:
		}
	}
}

// drainPoll is how often Drain looks at the closing connections: often
// enough not to delay a program's exit noticeably, rarely enough to cost
// nothing (net/http's Shutdown polls the same way).
const drainPoll = 5 * time.Millisecond

// Dial connects to address over network "tcp", "tcp4" or "tcp6", as
// net.Dial does; host names are resolved. The connection is MPTCP if the
// peer agrees and plain TCP otherwise. Dialer has the options.
func (s *Stack) Dial(network, address string) (net.Conn, error) {
	d := Dialer{Stack: s}
	return d.DialContext(context.Background(), network, address)
}

// DialContext is Dial with a context that bounds the connection attempt.
func (s *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := Dialer{Stack: s}
	return d.DialContext(ctx, network, address)
}

// Listen listens on address over network "tcp", "tcp4" or "tcp6", as
// net.Listen does: ":port" (or a wildcard address) with "tcp" accepts
// IPv4 and IPv6 connections. It accepts MPTCP and plain TCP clients
// alike. ListenConfig has the options.
func (s *Stack) Listen(network, address string) (net.Listener, error) {
	lc := ListenConfig{Stack: s}
	return lc.Listen(context.Background(), network, address)
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

// wake asks the driver to poll soon, after the application changed
// something; s.mu must not be held (a simulator's Wake may poll at once).
func (s *Stack) wake() {
	s.mu.Lock()
	d := s.drv
	s.mu.Unlock()
	switch d := d.(type) {
	case nil:
	case link.Kicker:
		d.Kick()
	default:
		d.Wake()
	}
}
