package tcp

import (
	"fmt"
	"time"

	"github.com/mptcp-go/mptcp/cc"
)

// RandSource is the randomness a Stack draws from: ISN and cookie secrets,
// timestamp offsets, ephemeral ports. *math/rand/v2.Rand satisfies it; a
// driver seeds it from crypto/rand, the simulator from its seed.
type RandSource interface {
	Uint64() uint64
}

// KeepAlive configures TCP keepalive (RFC 9293 section 3.8.4). Zero Idle
// disables it, as sockets do by default.
type KeepAlive struct {
	Idle     time.Duration // idle time before the first probe
	Interval time.Duration // between unanswered probes (default 75 s)
	Count    int           // unanswered probes before giving up (default 9)
}

// Options are the per-connection settings. Zero fields take the Stack's
// defaults (for a Stack's Config, the built-in defaults below).
type Options struct {
	// CongestionControl names the controller in package cc's registry.
	// Default "cubic".
	CongestionControl string
	// CCGroup couples the congestion control of the subflows of one MPTCP
	// connection (cc.Params.Group). When nil, the hooks' Group if they
	// implement CCGrouper, else none: the connection is uncoupled.
	CCGroup *cc.Group
	// SendBuffer bounds the bytes queued and unacknowledged. Default 4 MiB.
	SendBuffer int
	// ReceiveBuffer is the initial receive buffer (default 128 KiB) and
	// ReceiveBufferMax the most auto-tuning grows it to (default 6 MiB, as
	// Linux's tcp_rmem). With DisableAutoTune the buffer stays at
	// ReceiveBuffer.
	ReceiveBuffer    int
	ReceiveBufferMax int
	DisableAutoTune  bool
	// MSS clamps the maximum segment size we announce and use (0: from
	// the MTU).
	MSS int
	// Nagle enables the Nagle algorithm (RFC 9293 section 3.7.4). Off by
	// default, as Go's net package sets TCP_NODELAY.
	Nagle bool
	// KeepAlive enables keepalive probes.
	KeepAlive KeepAlive
}

// Config configures a Stack. The zero value is usable apart from Rand.
type Config struct {
	// Rand supplies every random number the stack uses. Required.
	Rand RandSource

	// Options are the defaults for every connection.
	Options

	// MTU of the paths, from which the MSS is derived. Default 1500.
	MTU int

	// Retransmission timer (RFC 6298). The RTO is SRTT + max(4*RTTVAR,
	// MinRTO) clamped to [MinRTO, MaxRTO]: Linux's form, in which MinRTO
	// plays the part of the clock granularity G. Defaults 1 s, 200 ms, 120 s.
	InitialRTO, MinRTO, MaxRTO time.Duration
	// SYNRetries is how many times a SYN or SYN/ACK is retransmitted before
	// the attempt fails (Linux tcp_syn_retries, default 6). Retries is how
	// many RTOs in a row a synchronized connection survives (Linux
	// tcp_retries2, default 15).
	SYNRetries, Retries int
	// SYNACKRetries is how many times a SYN/ACK is retransmitted before a
	// half-open connection is dropped (Linux tcp_synack_retries, default 5).
	SYNACKRetries int

	// DelayedACK is the delayed-ACK timeout (default 40 ms, Linux's
	// minimum). A second full-sized segment is acknowledged at once.
	DelayedACK time.Duration

	// TimeWait is how long a connection stays in TIME-WAIT (2*MSL,
	// default 60 s as Linux) and MaxTimeWait bounds the TIME-WAIT table
	// (default 65536 entries); past it, connections close without
	// TIME-WAIT, as Linux does on tw_bucket overflow.
	TimeWait    time.Duration
	MaxTimeWait int
	// FinTimeout bounds FIN-WAIT-2 for a connection the application has
	// fully closed (default 60 s, Linux tcp_fin_timeout).
	FinTimeout time.Duration

	// Backlog bounds each listener's half-open connections and, separately,
	// its queue of connections awaiting Accept (default 256 each).
	Backlog int
	// DisableSYNCookies drops SYNs when a listener's half-open queue is
	// full, instead of answering them with SYN cookies.
	DisableSYNCookies bool

	// ChallengeACKLimit bounds the challenge ACKs (RFC 5961 section 7)
	// the stack sends per second, over all connections (default 1000,
	// Linux tcp_challenge_ack_limit).
	ChallengeACKLimit int

	// Protocol features, all on by default.
	DisableTimestamps  bool
	DisableSACK        bool
	DisableWindowScale bool
	DisableTLP         bool // tail loss probes (RFC 8985 section 7)
	DisablePacing      bool
	// DisableSlowStartAfterIdle keeps the congestion window through idle
	// periods. By default a connection that sent nothing for longer than
	// its RTO restarts from at most the initial window (RFC 5681 section
	// 4.1; Linux tcp_slow_start_after_idle=1).
	DisableSlowStartAfterIdle bool

	// SkipChecksumVerify trusts incoming checksums: for drivers whose
	// packets were verified already (the simulator, an offloading NIC).
	SkipChecksumVerify bool

	// FastOpenKey is the key of the Fast Open cookies the stack's
	// listeners give (Linux's net.ipv4.tcp_fastopen_key); zero derives one
	// from Rand. Stack.SetFastOpenKey rotates it.
	FastOpenKey FastOpenKey
	// FastOpenCache bounds the Fast Open cookies a client keeps, one per
	// server address (default 1024).
	FastOpenCache int

	// EphemeralPorts is the range for dials without a local port
	// (default 32768-60999, Linux ip_local_port_range).
	EphemeralPortMin, EphemeralPortMax uint16
	// Shard and Shards make the stack one of Shards serving one host side
	// by side: it takes only ephemeral ports with port % Shards == Shard,
	// so that the destination port of an arriving segment names the stack
	// that dialled. Shards 0 or 1: the whole range.
	Shard, Shards int
}

// Built-in defaults.
const (
	defaultMTU           = 1500
	defaultSendBuffer    = 4 << 20
	defaultRecvBuffer    = 128 << 10
	defaultRecvBufMax    = 6 << 20
	defaultInitialRTO    = time.Second
	defaultMinRTO        = 200 * time.Millisecond
	defaultMaxRTO        = 120 * time.Second
	defaultSYNRetries    = 6
	defaultRetries       = 15
	defaultSYNACKRetries = 5
	defaultDelayedACK    = 40 * time.Millisecond
	defaultTimeWait      = 60 * time.Second
	defaultMaxTimeWait   = 1 << 16
	defaultFinTimeout    = 60 * time.Second
	defaultBacklog       = 256
	defaultChallengeACK  = 1000
	defaultKAInterval    = 75 * time.Second
	defaultKACount       = 9
	defaultCC            = "cubic"
	minBuffer            = 4 << 10
)

// withDefaults returns c with zero fields filled in, or an error for an
// impossible setting.
func (c Config) withDefaults() (Config, error) {
	if c.Rand == nil {
		return c, fmt.Errorf("%w: Config.Rand is required (the engine draws no global randomness)", ErrInvalid)
	}
	setDur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	setInt := func(i *int, v int) {
		if *i == 0 {
			*i = v
		}
	}
	setInt(&c.MTU, defaultMTU)
	if c.MTU < 576 || c.MTU > 65535 {
		return c, fmt.Errorf("%w: MTU %d outside 576..65535", ErrInvalid, c.MTU)
	}
	setDur(&c.InitialRTO, defaultInitialRTO)
	setDur(&c.MinRTO, defaultMinRTO)
	setDur(&c.MaxRTO, defaultMaxRTO)
	if c.MinRTO > c.MaxRTO || c.MinRTO < 0 {
		return c, fmt.Errorf("%w: MinRTO %v above MaxRTO %v", ErrInvalid, c.MinRTO, c.MaxRTO)
	}
	setInt(&c.SYNRetries, defaultSYNRetries)
	setInt(&c.Retries, defaultRetries)
	setInt(&c.SYNACKRetries, defaultSYNACKRetries)
	setDur(&c.DelayedACK, defaultDelayedACK)
	setDur(&c.TimeWait, defaultTimeWait)
	setInt(&c.MaxTimeWait, defaultMaxTimeWait)
	setDur(&c.FinTimeout, defaultFinTimeout)
	setInt(&c.Backlog, defaultBacklog)
	setInt(&c.ChallengeACKLimit, defaultChallengeACK)
	setInt(&c.FastOpenCache, defaultFastOpenCache)
	if c.FastOpenCache < 0 {
		return c, fmt.Errorf("%w: FastOpenCache %d", ErrInvalid, c.FastOpenCache)
	}
	if c.EphemeralPortMin == 0 && c.EphemeralPortMax == 0 {
		c.EphemeralPortMin, c.EphemeralPortMax = 32768, 60999
	}
	if c.EphemeralPortMin == 0 || c.EphemeralPortMin > c.EphemeralPortMax {
		return c, fmt.Errorf("%w: ephemeral port range %d-%d", ErrInvalid, c.EphemeralPortMin, c.EphemeralPortMax)
	}
	if c.Shards == 0 {
		c.Shards = 1
	}
	if c.Shard < 0 || c.Shard >= c.Shards || int(c.EphemeralPortMax-c.EphemeralPortMin) < c.Shards {
		return c, fmt.Errorf("%w: shard %d of %d (ephemeral ports %d-%d)", ErrInvalid, c.Shard, c.Shards, c.EphemeralPortMin, c.EphemeralPortMax)
	}
	var zero Options
	o, err := c.Options.merge(&zero, true)
	if err != nil {
		return c, err
	}
	c.Options = o
	return c, nil
}

// merge returns o with zero fields taken from def (or, when builtin, from
// the built-in defaults), validated.
func (o Options) merge(def *Options, builtin bool) (Options, error) {
	if o.CongestionControl == "" {
		o.CongestionControl = def.CongestionControl
	}
	if o.CCGroup == nil {
		o.CCGroup = def.CCGroup
	}
	if o.SendBuffer == 0 {
		o.SendBuffer = def.SendBuffer
	}
	if o.ReceiveBuffer == 0 {
		o.ReceiveBuffer = def.ReceiveBuffer
	}
	if o.ReceiveBufferMax == 0 {
		o.ReceiveBufferMax = def.ReceiveBufferMax
	}
	if o.MSS == 0 {
		o.MSS = def.MSS
	}
	if !o.DisableAutoTune {
		o.DisableAutoTune = def.DisableAutoTune
	}
	if !o.Nagle {
		o.Nagle = def.Nagle
	}
	if o.KeepAlive == (KeepAlive{}) {
		o.KeepAlive = def.KeepAlive
	}
	if builtin {
		if o.CongestionControl == "" {
			o.CongestionControl = defaultCC
		}
		if o.SendBuffer == 0 {
			o.SendBuffer = defaultSendBuffer
		}
		if o.ReceiveBuffer == 0 {
			o.ReceiveBuffer = defaultRecvBuffer
		}
		if o.ReceiveBufferMax == 0 {
			o.ReceiveBufferMax = max(defaultRecvBufMax, o.ReceiveBuffer)
		}
	}
	if o.KeepAlive.Idle > 0 {
		if o.KeepAlive.Interval == 0 {
			o.KeepAlive.Interval = defaultKAInterval
		}
		if o.KeepAlive.Count == 0 {
			o.KeepAlive.Count = defaultKACount
		}
	}
	if o.SendBuffer < minBuffer || o.ReceiveBuffer < minBuffer {
		return o, fmt.Errorf("%w: buffers below %d bytes (send %d, receive %d)", ErrInvalid, minBuffer, o.SendBuffer, o.ReceiveBuffer)
	}
	if o.ReceiveBufferMax < o.ReceiveBuffer {
		o.ReceiveBufferMax = o.ReceiveBuffer
	}
	const maxBuf = 1 << 30 // window scale 14 covers 2^30
	if o.SendBuffer > maxBuf || o.ReceiveBufferMax > maxBuf {
		return o, fmt.Errorf("%w: buffers above %d bytes", ErrInvalid, maxBuf)
	}
	if o.MSS < 0 || (o.MSS > 0 && o.MSS < 64) {
		return o, fmt.Errorf("%w: MSS %d", ErrInvalid, o.MSS)
	}
	return o, nil
}
