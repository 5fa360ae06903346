package pm

import (
	"fmt"
	"net/netip"
	"sync"
	"time"
)

func init() { RegisterParams("kernel", kernelFactory) }

// KernelDefaultLimits are the Linux kernel's defaults, as `ip mptcp
// limits show` prints them in a fresh network namespace: no extra
// subflow beyond two, and no address the peer announces is used. They
// suit a server; a client meant to use several paths must raise them,
// which is the kernel's most common support question, hence Decline.
var KernelDefaultLimits = Limits{Subflows: 2, AddAddrAccepted: 0}

// KernelMaxLimit bounds each limit and the number of endpoints, as the
// kernel's MPTCP_PM_ADDR_MAX does.
const KernelMaxLimit = 8

// KernelConfig configures the kernel path manager: the endpoints and
// limits `ip mptcp endpoint` and `ip mptcp limits` set for the kernel's.
type KernelConfig struct {
	// Endpoints are the local addresses the path manager may use, with
	// the kernel's flags: Signal (announce with ADD_ADDR), Subflow (open
	// a subflow from it to the peer's initial address once the
	// connection is established), Backup (those subflows are backups),
	// Fullmesh (open subflows from it to every known peer address, and
	// use it for addresses the peer announces; not with Signal), Laminar
	// (use it, once, for an address the peer announces), and Port (a
	// Signal endpoint announced with a port: the MPTCP layer must listen
	// for joins there, core.Config.Announce). An endpoint must be an
	// address of the host; its address ID is the host's. The endpoint of
	// the initial subflow's address counts as used from the start.
	//
	// Nil takes the host's addresses as the MPTCP layer lists them
	// (Conn.LocalAddrs), with their flags.
	Endpoints []LocalAddr
	// Limits are the subflows and add_addr_accepted limits; nil means
	// KernelDefaultLimits. The MPTCP layer's own limits (core.Config)
	// apply as well.
	Limits *Limits
	// OnDecline, if set, is called, on the goroutine that drives the
	// stack, each time the path manager declines to create or accept a
	// subflow or an address.
	OnDecline func(Decline)
}

// Kernel is an endpoint-based path manager after the Linux in-kernel
// one (net/mptcp/pm_kernel.c): a configuration shared by the connections
// of a stack, and the counters of what it declined and why. Register
// Kernel.New under a name, or select "kernel" (default limits, the host's
// addresses as endpoints) or "kernel:subflows=4,add_addr_accepted=4".
type Kernel struct {
	cfg    KernelConfig
	limits Limits

	mu     sync.Mutex
	counts map[string]uint64
	recent []Decline // the last kernelRecent declines, oldest first
}

const kernelRecent = 64

// NewKernel checks cfg as the kernel checks `ip mptcp` commands and
// returns the path manager.
func NewKernel(cfg KernelConfig) (*Kernel, error) {
	k := &Kernel{cfg: cfg, limits: KernelDefaultLimits, counts: make(map[string]uint64)}
	if cfg.Limits != nil {
		k.limits = *cfg.Limits
	}
	if l := k.limits; l.Subflows < 0 || l.Subflows > KernelMaxLimit || l.AddAddrAccepted < 0 || l.AddAddrAccepted > KernelMaxLimit {
		return nil, fmt.Errorf("%w: limits subflows %d add_addr_accepted %d: each must be 0 to %d", ErrParam,
			l.Subflows, l.AddAddrAccepted, KernelMaxLimit)
	}
	if len(cfg.Endpoints) > KernelMaxLimit {
		return nil, fmt.Errorf("%w: %d endpoints, at most %d", ErrParam, len(cfg.Endpoints), KernelMaxLimit)
	}
	ids := map[uint8]bool{}
	addrs := map[netip.AddrPort]bool{}
	k.cfg.Endpoints = append([]LocalAddr(nil), cfg.Endpoints...)
	for i, e := range cfg.Endpoints {
		switch {
		case !e.Addr.IsValid():
			return nil, fmt.Errorf("%w: endpoint %d has no address", ErrParam, i)
		case e.Fullmesh && e.Signal:
			return nil, fmt.Errorf("%w: endpoint %v: flags fullmesh and signal cannot be combined", ErrParam, e.Addr)
		case e.Port != 0 && !e.Signal:
			return nil, fmt.Errorf("%w: endpoint %v: a port is for signal endpoints", ErrParam, e.Addr)
		case e.ID != 0 && ids[e.ID]:
			return nil, fmt.Errorf("%w: endpoint id %d used twice", ErrParam, e.ID)
		}
		ap := netip.AddrPortFrom(e.Addr.Unmap(), e.Port)
		if addrs[ap] {
			return nil, fmt.Errorf("%w: endpoint %v given twice", ErrParam, ap)
		}
		ids[e.ID], addrs[ap] = true, true
		k.cfg.Endpoints[i].Addr = e.Addr.Unmap()
	}
	return k, nil
}

func kernelFactory(p Params) (Factory, error) {
	if err := p.Check("subflows", "add_addr_accepted"); err != nil {
		return nil, err
	}
	l := KernelDefaultLimits
	var err error
	if l.Subflows, err = p.Int("subflows", l.Subflows, 0, KernelMaxLimit); err != nil {
		return nil, err
	}
	if l.AddAddrAccepted, err = p.Int("add_addr_accepted", l.AddAddrAccepted, 0, KernelMaxLimit); err != nil {
		return nil, err
	}
	k, err := NewKernel(KernelConfig{Limits: &l})
	if err != nil {
		return nil, err
	}
	return k.New, nil
}

// New returns the path manager of one connection: a Factory.
func (k *Kernel) New() PathManager {
	return &kernelPM{k: k, used: map[netip.AddrPort]bool{}, accepted: map[uint8]bool{},
		announced: map[netip.AddrPort]uint8{}, declined: map[string]bool{}}
}

// Limits returns the limits in force.
func (k *Kernel) Limits() Limits { return k.limits }

// Counters returns how many times each kind of thing was declined for
// each reason, keyed "kind/reason" as in "add_addr/add_addr_accepted_limit".
func (k *Kernel) Counters() map[string]uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make(map[string]uint64, len(k.counts))
	for n, v := range k.counts {
		out[n] = v
	}
	return out
}

// Declines returns the most recent declines, oldest first.
func (k *Kernel) Declines() []Decline {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]Decline(nil), k.recent...)
}

func (k *Kernel) decline(d Decline) {
	k.mu.Lock()
	k.counts[d.Kind.String()+"/"+d.Reason.String()]++
	if len(k.recent) == kernelRecent {
		k.recent = append(k.recent[:0], k.recent[1:]...)
	}
	k.recent = append(k.recent, d)
	k.mu.Unlock()
	if k.cfg.OnDecline != nil {
		k.cfg.OnDecline(d)
	}
}

// DeclineKind says what the kernel path manager declined.
type DeclineKind uint8

// What may be declined.
const (
	// DeclineSubflow: a subflow this side would open from an endpoint.
	DeclineSubflow DeclineKind = iota + 1
	// DeclineAddAddr: an address the peer announced, not used.
	DeclineAddAddr
	// DeclineJoin: a subflow the peer opened (MP_JOIN), refused.
	DeclineJoin
	// DeclineAnnounce: an endpoint this side would announce.
	DeclineAnnounce
)

var declineKinds = [...]string{"", "subflow", "add_addr", "join", "announce"}

// String returns the kind's name.
func (k DeclineKind) String() string {
	if int(k) < len(declineKinds) && k != 0 {
		return declineKinds[k]
	}
	return fmt.Sprintf("DeclineKind(%d)", uint8(k))
}

// DeclineReason says why.
type DeclineReason uint8

// The reasons.
const (
	// ReasonSubflowsLimit: the subflows limit is reached.
	ReasonSubflowsLimit DeclineReason = iota + 1
	// ReasonAddAddrAcceptedLimit: the add_addr_accepted limit is
	// reached (it is 0 by default: no announced address is used).
	ReasonAddAddrAcceptedLimit
	// ReasonFamily: no address of the same family on the other side.
	ReasonFamily
	// ReasonDenyJoinID0: the peer asked not to be joined at its initial
	// address (MP_CAPABLE C flag), the only one a plain subflow endpoint
	// connects to.
	ReasonDenyJoinID0
	// ReasonNotLocal: the endpoint is not an address of this host.
	ReasonNotLocal
	// ReasonNoLaminar: every laminar endpoint is in use.
	ReasonNoLaminar
	// ReasonRefused: the MPTCP layer refused (its own limits, the
	// connection closing); Err has its error.
	ReasonRefused
)

var declineReasons = [...]string{"", "subflows_limit", "add_addr_accepted_limit", "address_family",
	"peer_denies_join_id0", "not_a_local_address", "no_free_laminar_endpoint", "refused_by_mptcp_layer"}

// String returns the reason's name.
func (r DeclineReason) String() string {
	if int(r) < len(declineReasons) && r != 0 {
		return declineReasons[r]
	}
	return fmt.Sprintf("DeclineReason(%d)", uint8(r))
}

// Decline records one thing the kernel path manager declined and why.
type Decline struct {
	Time   time.Time
	Kind   DeclineKind
	Reason DeclineReason
	// Local and Remote are the addresses involved, where known (a port
	// of 0 is any).
	Local, Remote netip.AddrPort
	// Limit is the value of the limit, for the limit reasons.
	Limit int
	// Err is the MPTCP layer's error, for ReasonRefused.
	Err error
}

// String explains the decline in one line, with the setting that would
// change it.
func (d Decline) String() string {
	var what string
	switch d.Kind {
	case DeclineSubflow:
		what = "subflow from " + addrString(d.Local)
		if d.Remote.IsValid() {
			what += " to " + addrString(d.Remote)
		}
	case DeclineAddAddr:
		what = fmt.Sprintf("address %s announced by the peer", addrString(d.Remote))
	case DeclineJoin:
		what = fmt.Sprintf("join from %s to %s", addrString(d.Remote), addrString(d.Local))
	case DeclineAnnounce:
		what = "announcement of " + addrString(d.Local)
	default:
		what = d.Kind.String()
	}
	why := d.Reason.String()
	switch d.Reason {
	case ReasonSubflowsLimit:
		why = fmt.Sprintf("subflows limit %d reached (ip mptcp limits set subflows N)", d.Limit)
	case ReasonAddAddrAcceptedLimit:
		why = fmt.Sprintf("add_addr_accepted limit %d reached (ip mptcp limits set add_addr_accepted N)", d.Limit)
	case ReasonFamily:
		why = "no address of the same family to pair it with"
	case ReasonDenyJoinID0:
		why = "the peer does not accept subflows to its initial address (C flag); it must announce another"
	case ReasonNotLocal:
		why = "the endpoint is not an address of this host"
	case ReasonNoLaminar:
		why = "every laminar endpoint is already in use"
	case ReasonRefused:
		why = fmt.Sprintf("refused by the MPTCP layer: %v", d.Err)
	}
	return fmt.Sprintf("declined %s: %s", what, why)
}

// addrString prints an address with its port, or without it when the
// port is 0 (any).
func addrString(a netip.AddrPort) string {
	switch {
	case !a.IsValid():
		return "?"
	case a.Port() == 0:
		return a.Addr().String()
	}
	return a.String()
}

// Unwrap returns Err, or ErrLimit for the limit reasons, so that
// errors.Is(decline, ErrLimit) holds whichever limit was hit.
func (d Decline) Unwrap() error {
	if d.Err == nil && (d.Reason == ReasonSubflowsLimit || d.Reason == ReasonAddAddrAcceptedLimit) {
		return ErrLimit
	}
	return d.Err
}

// Error makes a Decline an error (AdmitJoin returns one).
func (d Decline) Error() string { return d.String() }
