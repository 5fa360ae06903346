package host

import (
	"net/netip"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/pcap"
)

// Path is one way out of the host.
type Path struct {
	// Uplink is the interface the path leaves by ("eth0", "wwan0").
	// Empty: the interface on whose subnet Gateway is.
	Uplink string
	// Gateway is the next hop on the uplink. Zero: the gateway of the
	// uplink's default route, or none (the uplink's peers are on-link).
	Gateway netip.Addr
	// Backup makes the path a backup path: subflows over it carry the
	// backup flag, and the peer sends over it only when no other path
	// works.
	Backup bool
	// Addrs are the stack's addresses on the path; empty takes one from
	// Config.Prefix4 (and Prefix6). A path with Addrs and neither Uplink
	// nor Gateway is one the network routes by itself (a test
	// namespace, a router that routes the addresses to this host): Start
	// only creates its device and routes the addresses into it.
	Addrs []netip.Addr
	// Device names the path's TUN device; empty: Config.Name and the
	// path's number. A name with %d lets the kernel choose the number
	// (such devices are not swept after a crash).
	Device string
}

// Config configures Start.
type Config struct {
	// Paths are the host's uplinks, at least one.
	Paths []Path
	// Stack configures the user-space stack.
	Stack mptcp.Config
	// NAT hides the stack behind the uplinks' own addresses: its
	// outgoing connections are masqueraded, and the ports Host.Listen
	// listens on are forwarded from each uplink to that path's stack
	// address. Without it, the network must route the stack's
	// addresses (Prefix4, Prefix6) to this host.
	NAT bool
	// Name names the TUN devices (Name1, Name2, ... one per path) and
	// marks everything Start adds, so that a later Start sweeps it away
	// after a crash. Default "mptcp-h"; at most 12 characters.
	Name string
	// Prefix4 and Prefix6 hold the stack's addresses: path i gets the
	// address i*256+2 of Prefix4 (10.77.1.2, 10.77.2.2, ...) and i*65536+2
	// of Prefix6 (fd77::1:2, ...). None of them may be an address of the
	// kernel's. Defaults 10.77.0.0/16 and fd77::/64. IPv6 is used on
	// paths whose uplink has a global IPv6 address.
	Prefix4, Prefix6 netip.Prefix
	// Table is the first policy routing table: path i uses Table+i, with
	// a rule of that priority. Default 7700.
	Table int
	// MTU of the TUN devices; default 1500.
	MTU int
	// OnError, if set, is told of device errors and uplink changes it
	// could not follow; it must not block.
	OnError func(error)
	// NoRoute leaves the routes of the stack's addresses into the
	// devices to the caller.
	NoRoute bool
	// Capture, if set, records every packet the stack receives and
	// sends.
	Capture *pcap.Writer
	// SplitOffloads has the TUN devices split the kernel's TSO
	// super-packets into MTU-sized segments before the stack sees them,
	// instead of the stack taking them whole (link/tun's SuperPackets),
	// and the stack compute and verify every TCP checksum. By default the
	// driver completes the checksums the stack sends (the kernel is told
	// they are partial) and trusts the checksums the kernel vouches for,
	// verifying the others itself (link/tun's TrustKernelChecksums).
	SplitOffloads bool
}
