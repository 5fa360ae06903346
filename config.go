package mptcp

import (
	"crypto/rand"
	mrand "math/rand/v2"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/pm"
)

// Config configures a Stack. The zero value is a sensible default: the
// kernel's default policies and limits, DSS checksums off, randomness
// from crypto/rand.
type Config struct {
	// Scheduler, CongestionControl and PathManager name the policies of
	// new connections (packages sched, cc and pm list the names). Empty
	// means "default", "cubic" and "fullmesh".
	Scheduler, CongestionControl, PathManager string

	// Limits bound each connection's additional subflows and the
	// addresses it accepts from ADD_ADDR, as the kernel's `ip mptcp limits
	// subflows N add_addr_accepted M`. Nil takes the defaults
	// (pm.DefaultLimits).
	Limits *Limits

	// Checksum asks for DSS checksums (net.mptcp.checksum_enabled).
	Checksum bool
	// DenyJoinInitial asks peers not to join the initial address and port
	// (the kernel's allow_join_initial_addr_port=0); with Announce, what
	// a server behind a load balancer needs.
	DenyJoinInitial bool
	// Announce lists extra addresses, with optional ports, that a server
	// announces on every connection.
	Announce []netip.AddrPort
	// DisableMPTCP makes the stack speak plain TCP only.
	DisableMPTCP bool
	// FastOpenKey is the key of the TCP Fast Open cookies the stack's
	// FastOpen listeners give (Linux's net.ipv4.tcp_fastopen_key): servers
	// that share an address (each holding it, behind a balancer that does
	// not translate it) share the key, so that a cookie from one is good
	// at the others. Zero derives a key of the stack's own from Rand.
	FastOpenKey [16]byte

	// SendBuffer and ReceiveBuffer size a connection's buffers in bytes;
	// SendBufferMax and ReceiveBufferMax cap their auto-tuning (the memory
	// budget of one connection). Zero: defaults.
	SendBuffer, SendBufferMax, ReceiveBuffer, ReceiveBufferMax int
	// KeepAlive enables TCP keepalive on subflows after this much idle
	// time; zero disables it. Connections made by a Dialer or accepted
	// from a ListenConfig's listener take theirs instead (15 s unless
	// set, as with the net package).
	KeepAlive time.Duration
	// NoSubflowTimeout is how long a connection that lost every subflow
	// (its paths failed, or the peer reset them all) waits for one to
	// come back, as RFC 8684 lets a connection outlive its subflows
	// ("break before make"), before it fails. Zero: 60 s. A connection
	// not yet fully established (no DATA_ACK from the peer yet) fails at
	// once with its subflow's error instead, as on Linux: no join can
	// follow.
	NoSubflowTimeout time.Duration

	// Pacing spaces each subflow's segments at its congestion
	// controller's pacing rate, in bursts of about a millisecond's worth,
	// instead of sending what the window allows at once. Off by default:
	// Linux paces CUBIC and Reno only under the fq qdisc, and on a TUN
	// device pacing costs more than it gives (docs/perf.md: with it on,
	// our sender moved 4.4 Gbit/s per CPU second to the kernel, without
	// it 8.1, the CPU going to the extra polls and timers). A Stack in
	// the simulator follows this field too; the simulator's own runs
	// (mptcp sim, package internal/simtest) configure their stacks
	// without it and pace, as they always have.
	Pacing bool

	// Events, if set, receives the stack's events (the kernel's MPTCP
	// netlink events and scheduling decisions) on the goroutine driving
	// the stack, with the stack locked: it must return quickly and must
	// not call the stack. observe.Recorder.Sink is one.
	Events core.EventSink

	// Loops is the number of protocol loops (default 1). With more, the
	// stack is that many protocol cores side by side, each with its own
	// lock, each owning a share of the connections (dials take turns;
	// accepted connections go to the loop holding the fewest; a subflow
	// joins the loop of its connection, which its MPTCP token names), so
	// that a server with many connections uses as many CPUs. Each loop
	// needs a driver of its own (Stack.Loop; package host and tun's
	// multi-queue devices do it), or one driver runs them all in turn
	// (Stack.Link, as the simulator does, deterministically). Events is
	// then called from every loop's goroutine, one call at a time.
	Loops int

	// Rand, if set, supplies all randomness (keys, nonces, ISNs, ports),
	// which makes a simulated run reproducible. Nil seeds a generator
	// from crypto/rand.
	Rand interface{ Uint64() uint64 }
}

// coreConfig translates the public configuration.
func (c *Config) coreConfig() core.Config {
	r := c.Rand
	if r == nil {
		var seed [32]byte
		_, _ = rand.Read(seed[:]) // never fails on Linux (crypto/rand documents it)
		r = mrand.NewChaCha8(seed)
	}
	cc := core.Config{
		Rand:              r,
		Scheduler:         c.Scheduler,
		PathManager:       c.PathManager,
		CongestionControl: c.CongestionControl,
		Checksum:          c.Checksum,
		DenyJoinInitial:   c.DenyJoinInitial,
		Announce:          c.Announce,
		DisableMPTCP:      c.DisableMPTCP,
		SendBuffer:        c.SendBuffer,
		SendBufferMax:     c.SendBufferMax,
		ReceiveBuffer:     c.ReceiveBuffer,
		ReceiveBufferMax:  c.ReceiveBufferMax,
		NoSubflowTimeout:  c.NoSubflowTimeout,
		Events:            c.Events,
	}
	if c.Limits != nil {
		cc.Limits = *c.Limits
	}
	cc.TCP.KeepAlive.Idle = c.KeepAlive
	cc.TCP.FastOpenKey = c.FastOpenKey
	cc.TCP.DisablePacing = !c.Pacing
	return cc
}

// Limits bound a connection's subflows and accepted addresses.
type Limits = pm.Limits
