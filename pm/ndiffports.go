package pm

import (
	"errors"
	"fmt"
	"time"
)

func init() { RegisterParams("ndiffports", ndiffportsFactory) }

// DefaultNDiffPorts is the number of subflows, the initial one included,
// that "ndiffports" without a parameter keeps: the multipath-tcp.org
// kernel's num_subflows default.
const DefaultNDiffPorts = 2

// MaxNDiffPorts bounds the parameter; the connection's Limits still
// apply.
const MaxNDiffPorts = 32

func ndiffportsFactory(p Params) (Factory, error) {
	if err := p.Check("", "subflows"); err != nil {
		return nil, err
	}
	if _, bare := p[""]; bare {
		if _, named := p["subflows"]; named {
			return nil, fmt.Errorf("%w: give the number of subflows once", ErrParam)
		}
		p = Params{"subflows": p[""]}
	}
	n, err := p.Int("subflows", DefaultNDiffPorts, 1, MaxNDiffPorts)
	if err != nil {
		return nil, err
	}
	return NDiffPorts(n), nil
}

// NDiffPorts returns the factory of an ndiffports path manager keeping n
// subflows in all (n >= 1). Registered by name it is "ndiffports:n".
func NDiffPorts(n int) Factory {
	n = min(max(n, 1), MaxNDiffPorts)
	return func() PathManager { return &ndiffports{n: n} }
}

// ndiffports keeps n subflows, the initial one included, between the
// connection's initial pair of addresses, each from its own source port:
// the datacenter case of "Improving Datacenter Performance and Robustness
// with Multipath TCP" (Raiciu et al., SIGCOMM 2011), where ECMP hashing of
// the 5-tuple spreads the subflows over equal-cost paths. Only the side
// that connected opens subflows; it announces nothing. A subflow that
// fails is replaced with the backoff fullmesh uses.
//
// Opening a second subflow over one address pair needs the MPTCP layer's
// AnotherConnector; without it the layer refuses the pair (ErrExists) and
// Err says so.
type ndiffports struct {
	n        int
	up, dead bool
	retry    backoff
	err      error // why the last attempt to open a subflow failed
	// stuck: the last attempt failed; try again only after a subflow
	// event, not on every poll.
	stuck bool
}

// Name implements PathManager.
func (*ndiffports) Name() string { return "ndiffports" }

// Err reports why the path manager last failed to open a subflow, nil if
// it never did.
func (p *ndiffports) Err() error { return p.err }

// Event implements PathManager.
func (p *ndiffports) Event(now time.Time, c Conn, ev Event) {
	if p.dead {
		return
	}
	p.stuck = false
	switch ev.Kind {
	case Established:
		p.up = true
	case Closed, FellBack:
		p.up, p.dead = false, true
		return
	case SubEstablished:
		p.retry = backoff{}
	case SubClosed:
		if ev.Err != nil && !ev.Subflow.Initial {
			d := retryInitial << min(p.retry.failures, 16)
			p.retry.failures++
			p.retry.next = now.Add(min(d, retryMax))
		}
	}
	if p.up {
		p.sync(now, c)
	}
}

// Poll implements PathManager.
func (p *ndiffports) Poll(now time.Time, c Conn) time.Time {
	if !p.up || p.dead {
		return time.Time{}
	}
	p.sync(now, c)
	if p.retry.next.After(now) {
		return p.retry.next
	}
	return time.Time{}
}

// sync opens subflows until there are n.
func (p *ndiffports) sync(now time.Time, c Conn) {
	if c.Server() || p.stuck || now.Before(p.retry.next) {
		return
	}
	var local LocalAddr
	found := false
	for _, l := range c.LocalAddrs() {
		if l.ID == 0 {
			local, found = l, true
			break
		}
	}
	var remote RemoteAddr
	rfound := false
	for _, r := range c.RemoteAddrs() {
		if r.ID == 0 {
			remote, rfound = r, true
			break
		}
	}
	if !found || !rfound {
		// The initial address is gone, or the peer asked not to be
		// joined there (MP_CAPABLE C flag): nothing to do.
		return
	}
	connect := c.Connect
	if a, ok := c.(AnotherConnector); ok {
		connect = a.ConnectAnother
	}
	for have := len(c.Subflows()); have < p.n; have++ {
		if err := connect(local, remote, local.Backup); err != nil {
			if errors.Is(err, ErrExists) {
				err = fmt.Errorf("ndiffports: the MPTCP layer opens one subflow per address pair only: %w", err)
			}
			p.err, p.stuck = err, true
			return
		}
	}
}
