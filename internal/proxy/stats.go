package proxy

import (
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/mptcp-go/mptcp/observe"
)

// Stats counts what a proxy did. Every refusal is counted under its
// reason, so an operator can tell an attack or a misconfigured client
// from a broken destination; each client address has counts of its own.
type Stats struct {
	Accepted       atomic.Int64 // connections accepted from clients
	Active         atomic.Int64 // connections being relayed now
	Relayed        atomic.Int64 // connections relayed to the end
	BytesUp        atomic.Int64 // client to destination
	BytesDown      atomic.Int64 // destination to client
	Malformed      atomic.Int64 // bad Convert / SOCKS / HTTP requests
	NotAuthorized  atomic.Int64 // wrong or missing key, replayed proof
	Forbidden      atomic.Int64 // destination refused by policy
	OverLimit      atomic.Int64 // per-client connection limit reached
	DestFailed     atomic.Int64 // destination refused, unreachable or timed out
	UDPDatagrams   atomic.Int64 // datagrams relayed (both ways)
	ConverterError atomic.Int64 // client side: the converter answered with an Error TLV

	mu      sync.Mutex
	clients map[netip.Addr]*ClientStats
}

// ClientStats counts one client address's connections.
type ClientStats struct {
	Accepted  atomic.Int64
	Active    atomic.Int64
	BytesUp   atomic.Int64
	BytesDown atomic.Int64
	Refused   atomic.Int64 // answered with an Error TLV (server) or a refusal
}

// maxClients bounds the per-client table: beyond it, clients with no
// active connection are forgotten (the totals keep their counts).
const maxClients = 4096

// client returns the counts of client address a, creating them.
func (s *Stats) client(a net.Addr) *ClientStats {
	ip := addrOf(a).Addr().Unmap()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[ip]; ok {
		return c
	}
	if s.clients == nil {
		s.clients = map[netip.Addr]*ClientStats{}
	}
	if len(s.clients) >= maxClients {
		for k, c := range s.clients {
			if c.Active.Load() == 0 {
				delete(s.clients, k)
			}
		}
	}
	c := &ClientStats{}
	s.clients[ip] = c
	return c
}

// accept counts a new connection from a.
func (s *Stats) accept(a net.Addr) {
	s.Accepted.Add(1)
	s.client(a).Accepted.Add(1)
}

// relay relays a (the client's side) and b, counting the bytes in the
// totals and the client's own counts, and the relay as active meanwhile.
func (s *Stats) relay(a, b net.Conn) {
	c := s.client(a.RemoteAddr())
	s.Active.Add(1)
	c.Active.Add(1)
	Relay(a, b, both{&s.BytesUp, &c.BytesUp}, both{&s.BytesDown, &c.BytesDown})
	c.Active.Add(-1)
	s.Active.Add(-1)
	s.Relayed.Add(1)
}

// both adds to two counters.
type both [2]*atomic.Int64

func (b both) Add(n int64) int64 { b[0].Add(n); return b[1].Add(n) }

// Snapshot is a copy of Stats as plain numbers (for JSON and status),
// with what the status endpoint adds: the MPTCP leg's paths and what
// limits each of its connections.
type Snapshot struct {
	Accepted, Active, Relayed, BytesUp, BytesDown  int64
	Malformed, NotAuthorized, Forbidden, OverLimit int64
	DestFailed, UDPDatagrams, ConverterError       int64
	Clients                                        []ClientSnapshot    `json:",omitempty"`
	Paths                                          []observe.PathUse   `json:",omitempty"`
	Limits                                         []observe.ConnLimit `json:",omitempty"`
	// CPU is the CPU use since the status was last read (none the first
	// time); when it says the CPU limits, so do the connections that no
	// full receive buffer holds back.
	CPU *CPUUse `json:",omitempty"`
}

// ClientSnapshot is one client's counts.
type ClientSnapshot struct {
	Client                                        netip.Addr
	Accepted, Active, BytesUp, BytesDown, Refused int64
}

// Snapshot reads every counter.
func (s *Stats) Snapshot() Snapshot {
	snap := Snapshot{
		Accepted: s.Accepted.Load(), Active: s.Active.Load(), Relayed: s.Relayed.Load(),
		BytesUp: s.BytesUp.Load(), BytesDown: s.BytesDown.Load(),
		Malformed: s.Malformed.Load(), NotAuthorized: s.NotAuthorized.Load(),
		Forbidden: s.Forbidden.Load(), OverLimit: s.OverLimit.Load(),
		DestFailed: s.DestFailed.Load(), UDPDatagrams: s.UDPDatagrams.Load(),
		ConverterError: s.ConverterError.Load(),
	}
	s.mu.Lock()
	for a, c := range s.clients {
		snap.Clients = append(snap.Clients, ClientSnapshot{Client: a, Accepted: c.Accepted.Load(), Active: c.Active.Load(),
			BytesUp: c.BytesUp.Load(), BytesDown: c.BytesDown.Load(), Refused: c.Refused.Load()})
	}
	s.mu.Unlock()
	sort.Slice(snap.Clients, func(i, j int) bool { return snap.Clients[i].Client.Less(snap.Clients[j].Client) })
	return snap
}
