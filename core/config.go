package core

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/cc"
	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/sched"
	"github.com/mptcp-go/mptcp/tcp"
)

// Config configures a Stack. Zero fields take the defaults documented on
// each; Rand is required.
type Config struct {
	// Rand supplies every random number: MPTCP keys, MP_JOIN nonces and,
	// unless TCP.Rand is set, the TCP engine's.
	Rand Rand

	// TCP configures the TCP engine that runs the subflows.
	TCP tcp.Config

	// Scheduler, PathManager and CongestionControl name the policies of
	// new connections, from the registries of packages sched, pm and cc.
	// Defaults: "default", "fullmesh", "cubic". Each connection may choose
	// its own (ConnOptions).
	Scheduler, PathManager, CongestionControl string
	// NewScheduler and NewPathManager, when set, make the policies of
	// new connections instead of Scheduler and PathManager: a policy
	// passed as a value (one not registered, or configured in code), its
	// factory closing over whatever state the stack's connections share.
	NewScheduler   sched.Factory
	NewPathManager pm.Factory

	// Limits bound the subflows and accepted addresses of each connection
	// (default pm.DefaultLimits).
	Limits pm.Limits

	// Checksum asks for DSS checksums (the kernel's
	// net.mptcp.checksum_enabled): they are used when either side asks.
	Checksum bool

	// DSN64 sends 8-octet data sequence numbers in every mapping, as
	// Linux does; by default they are 4 octets once the handshake is
	// complete (RFC 8684 section 3.3 allows either), which leaves 4 more
	// bytes of each segment for data. packetdrill scripts written
	// against Linux expect the 8-octet form.
	DSN64 bool

	// DenyJoinInitial sets the C flag in MP_CAPABLE: peers must not open
	// subflows to the address and port of the initial subflow, and such
	// joins are refused (the kernel's allow_join_initial_addr_port=0). A
	// server behind a load balancer uses it with Announce.
	DenyJoinInitial bool

	// Announce lists addresses, with optional ports, that servers announce
	// (ADD_ADDR) on every connection in addition to their other local
	// addresses: the server's own address behind a load balancer, or a
	// port reserved for joins. The stack accepts MP_JOIN on them.
	Announce []netip.AddrPort

	// DisableMPTCP makes the stack speak plain TCP: no MP_CAPABLE on its
	// SYNs, MP_CAPABLE SYNs answered as plain TCP.
	DisableMPTCP bool

	// SYNRetransBeforeFallback is how many times a SYN with MP_CAPABLE is
	// retransmitted before the next SYN goes without it (the kernel's
	// syn_retrans_before_tcp_fallback, default 2); negative never drops
	// MP_CAPABLE.
	SYNRetransBeforeFallback int

	// BlackholeTimeout is how long a path where MP_CAPABLE SYNs were
	// dropped is used without MPTCP (the kernel's blackhole_timeout,
	// default 1 h, doubling on repeat); negative disables the memory.
	BlackholeTimeout time.Duration

	// AddAddrTimeout is the retransmission timeout of ADD_ADDR until it is
	// echoed (default 2 s, doubling, 3 retransmissions; the kernel's
	// add_addr_timeout is 120 s).
	AddAddrTimeout time.Duration

	// SendBuffer bounds the bytes a connection holds for sending,
	// unacknowledged at data level included (default 4 MiB), at first;
	// auto-tuning grows it up to SendBufferMax (default 16 MiB) to twice
	// the subflows' congestion windows, or the peer's window if larger, so
	// that a long fat path is not limited by it (as Linux grows a socket's
	// buffer within tcp_wmem). SendBufferMax is the memory budget.
	SendBuffer, SendBufferMax int
	// ReceiveBuffer is a connection's initial receive buffer and window
	// (default 256 KiB); ReceiveBufferMax the most auto-tuning grows it to
	// (default 16 MiB). Auto-tuning sizes the buffer to twice the sum of
	// the subflows' delivery rates times the largest RTT, as "How Hard
	// Can It Be?" (NSDI 2012) prescribes against head-of-line blocking.
	ReceiveBuffer, ReceiveBufferMax int
	// DisableAutoTune keeps the receive buffer at ReceiveBuffer.
	DisableAutoTune bool

	// NoSubflowTimeout is how long a connection that lost every subflow
	// waits for one to come back before it fails (default 60 s). A
	// connection not yet fully established (the peer has not shown it
	// holds our key) fails at once instead: no join can follow.
	NoSubflowTimeout time.Duration

	// ListenerObservers are told when the stack starts and stops
	// listening (the kernel's LISTENER_CREATED and LISTENER_CLOSED), for
	// path managers driven from outside a connection (userspace).
	ListenerObservers []pm.ListenerObserver

	// Events, if set, receives the stack's events: the kernel's MPTCP
	// netlink events (CREATED, SF_ESTABLISHED, ...) raised at the same
	// points, and the scheduler's decisions. Nil costs nothing.
	Events EventSink

	// DisableOpportunistic turns off opportunistic retransmission and
	// penalisation (NSDI 2012), when the peer's window blocks new data and
	// at the tail of what the application wrote, for experiments.
	DisableOpportunistic bool

	// Shard and Shards make the stack one of Shards stacks that serve one
	// host side by side, each run by its own protocol loop: the stack
	// takes only local tokens with token % Shards == Shard (redrawing
	// keys until one fits) and, through the TCP engine (tcp.Config.Shard),
	// only ephemeral ports with port % Shards == Shard, so that an
	// MP_JOIN SYN's token and a packet's destination port name the stack
	// that owns it. Shards 0 or 1: the whole spaces.
	Shard, Shards int
}

// MaxShards bounds Config.Shards: each key drawn fits one shard in
// Shards, so a key costs Shards draws on average.
const MaxShards = 64

// Defaults not shared with the kernel.
const (
	DefaultAddAddrTimeout   = 2 * time.Second
	DefaultSendBuffer       = 4 << 20
	DefaultSendBufferMax    = 16 << 20
	DefaultReceiveBuffer    = 256 << 10
	DefaultReceiveBufferMax = 16 << 20
	DefaultNoSubflowTimeout = 60 * time.Second
	addAddrMaxRetrans       = 3
	minBuffer               = 4 << 10
	maxConnBuffer           = 1 << 30
)

func (c Config) withDefaults() (Config, error) {
	if c.Rand == nil {
		return c, fmt.Errorf("%w: Config.Rand is required", ErrInvalid)
	}
	if c.TCP.Rand == nil {
		c.TCP.Rand = c.Rand
	}
	if c.Scheduler == "" {
		c.Scheduler = sched.Default
	}
	if c.PathManager == "" {
		c.PathManager = pm.Default
	}
	if c.CongestionControl == "" {
		c.CongestionControl = cc.Default
	}
	if err := checkPolicies(c.Scheduler, c.PathManager, c.CongestionControl); err != nil {
		return c, err
	}
	if c.Shards == 0 {
		c.Shards = 1
	}
	if c.Shards < 1 || c.Shards > MaxShards || c.Shard < 0 || c.Shard >= c.Shards {
		return c, fmt.Errorf("%w: shard %d of %d (at most %d shards)", ErrInvalid, c.Shard, c.Shards, MaxShards)
	}
	c.TCP.Shard, c.TCP.Shards = c.Shard, c.Shards
	if c.Limits == (pm.Limits{}) {
		c.Limits = pm.DefaultLimits
	}
	if c.Limits.Subflows < 0 || c.Limits.AddAddrAccepted < 0 {
		return c, fmt.Errorf("%w: negative limits %+v", ErrInvalid, c.Limits)
	}
	if c.SYNRetransBeforeFallback == 0 {
		c.SYNRetransBeforeFallback = DefaultSYNRetransBeforeFallback
	}
	if c.BlackholeTimeout == 0 {
		c.BlackholeTimeout = DefaultBlackholeTimeout
	}
	if c.AddAddrTimeout <= 0 {
		c.AddAddrTimeout = DefaultAddAddrTimeout
	}
	if c.SendBuffer == 0 {
		c.SendBuffer = DefaultSendBuffer
	}
	if c.SendBufferMax == 0 {
		c.SendBufferMax = max(DefaultSendBufferMax, c.SendBuffer)
	}
	if c.ReceiveBuffer == 0 {
		c.ReceiveBuffer = DefaultReceiveBuffer
	}
	if c.ReceiveBufferMax == 0 {
		c.ReceiveBufferMax = max(DefaultReceiveBufferMax, c.ReceiveBuffer)
	}
	if c.NoSubflowTimeout <= 0 {
		c.NoSubflowTimeout = DefaultNoSubflowTimeout
	}
	for _, n := range []int{c.SendBuffer, c.SendBufferMax, c.ReceiveBuffer, c.ReceiveBufferMax} {
		if n < minBuffer || n > maxConnBuffer {
			return c, fmt.Errorf("%w: buffer size %d outside %d..%d", ErrInvalid, n, minBuffer, maxConnBuffer)
		}
	}
	if c.ReceiveBufferMax < c.ReceiveBuffer {
		c.ReceiveBufferMax = c.ReceiveBuffer
	}
	c.SendBufferMax = max(c.SendBufferMax, c.SendBuffer)
	for _, a := range c.Announce {
		if !a.Addr().IsValid() {
			return c, fmt.Errorf("%w: announced address %v", ErrInvalid, a)
		}
	}
	return c, nil
}

// checkPolicies reports an unknown policy name with the valid ones.
func checkPolicies(s, p, ccName string) error {
	if _, err := sched.New(s); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if _, err := pm.New(p); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := cc.Check(ccName); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// ConnOptions choose a connection's policies; empty fields take the
// stack's.
type ConnOptions struct {
	Scheduler, PathManager, CongestionControl string
	// NewScheduler and NewPathManager, when set, make this connection's
	// policies, taking precedence over every name.
	NewScheduler   sched.Factory
	NewPathManager pm.Factory
	// Checksum asks for DSS checksums on this connection even if the
	// stack does not.
	Checksum bool
	// Backup makes the initial subflow a backup path.
	Backup bool
	// DisableMPTCP dials plain TCP.
	DisableMPTCP bool
	// KeepAlive, if set, replaces the stack's keepalive on every subflow
	// (zero Idle: none).
	KeepAlive *tcp.KeepAlive
	// FastOpen dials with TCP Fast Open (tcp.DialConfig.FastOpen; RFC
	// 8684 appendix B): once the stack holds a cookie for the server, the
	// SYN waits for the first Write (FastOpenPending) and carries it.
	FastOpen bool
}
