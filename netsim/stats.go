package netsim

// PipeStats counts what happened to packets on one direction of a link.
// At any moment
//
//	Sent + Duplicated = Delivered + QueueDrops + LossDrops + DownDrops + TooBig + Queued + InFlight
//
// where Queued and InFlight are the pipe's current occupancy.
type PipeStats struct {
	Sent, SentBytes           uint64 // offered to the pipe, after its middleboxes
	Delivered, DeliveredBytes uint64 // handed to the far interface
	QueueDrops                uint64 // refused by the full drop-tail queue
	LossDrops                 uint64 // lost on the wire (random or burst loss)
	DownDrops                 uint64 // offered while down, or queued or in flight when it went down
	TooBig                    uint64 // longer than the pipe's MTU
	Duplicated                uint64 // extra copies the pipe made
	Reordered                 uint64 // packets held back to arrive out of order
	Corrupted                 uint64 // packets with a bit flipped (delivered, not dropped)
	Queued, InFlight          int    // packets waiting to be sent, and sent but not yet delivered
	QueuedBytes               int    // bytes waiting to be sent
}

// HostStats counts a host's packets.
type HostStats struct {
	Sent, SentBytes           uint64 // handed by the stack to an interface
	Delivered, DeliveredBytes uint64 // handed to the stack
	Undeliverable             uint64 // arrived for an address the host does not own
	NoSource                  uint64 // sent from an address the host does not own
	NoLink                    uint64 // sent through an interface with no link
	NoStack                   uint64 // arrived before a stack was installed
	Malformed                 uint64 // not a parseable IPv4 or IPv6 packet, either way
	// PollBackoffs counts the polls deferred by link.EagerBackoff
	// because the stack kept asking to be polled at the current
	// instant: nonzero only for a stack with a bug.
	PollBackoffs uint64
}

// RouterStats counts a router's packets.
type RouterStats struct {
	Received   uint64 // arrived on any interface
	Forwarded  uint64 // handed to an output interface
	NoRoute    uint64 // no route matched the destination
	NoLink     uint64 // the route's interface has no link
	TTLExpired uint64 // TTL or hop limit would have reached zero
	Local      uint64 // addressed to the router itself, which runs no stack
	Malformed  uint64 // not a parseable IPv4 or IPv6 packet
	ICMPSent   uint64 // time-exceeded messages sent back
}
