package proxy

import "sync/atomic"

// Stats counts what a proxy did. Every refusal is counted under its
// reason, so an operator can tell an attack or a misconfigured client
// from a broken destination.
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
}

// Snapshot is a copy of Stats as plain numbers (for JSON and status).
type Snapshot struct {
	Accepted, Active, Relayed, BytesUp, BytesDown  int64
	Malformed, NotAuthorized, Forbidden, OverLimit int64
	DestFailed, UDPDatagrams, ConverterError       int64
}

// Snapshot reads every counter.
func (s *Stats) Snapshot() Snapshot {
	return Snapshot{
		Accepted: s.Accepted.Load(), Active: s.Active.Load(), Relayed: s.Relayed.Load(),
		BytesUp: s.BytesUp.Load(), BytesDown: s.BytesDown.Load(),
		Malformed: s.Malformed.Load(), NotAuthorized: s.NotAuthorized.Load(),
		Forbidden: s.Forbidden.Load(), OverLimit: s.OverLimit.Load(),
		DestFailed: s.DestFailed.Load(), UDPDatagrams: s.UDPDatagrams.Load(),
		ConverterError: s.ConverterError.Load(),
	}
}
