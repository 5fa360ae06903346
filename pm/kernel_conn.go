package pm

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// kernelPM is the kernel path manager of one connection. It follows
// pm_kernel.c: when the connection is fully established, and again
// whenever a subflow is established or closed, it announces the signal
// endpoints not yet announced and opens subflows from the subflow
// endpoints not yet used, within the subflows limit; when the peer
// announces an address it connects to it from the fullmesh endpoints, a
// free laminar endpoint, or the initial subflow's address, within the
// add_addr_accepted limit. Each endpoint is used once per connection.
// It never retries a failed subflow, as the kernel does not.
type kernelPM struct {
	k         *Kernel
	up, dead  bool
	mpcDone   bool
	used      map[netip.AddrPort]bool  // endpoints consumed (address, port)
	accepted  map[uint8]bool           // remote address IDs accepted
	announced map[netip.AddrPort]uint8 // endpoints announced, with their IDs
	// localUsed counts the subflow endpoints consumed, the initial
	// subflow's excepted (the kernel's local_addr_used).
	localUsed int
	declined  map[string]bool // declines reported on this connection
	now       time.Time
}

// Name implements PathManager.
func (*kernelPM) Name() string { return "kernel" }

// Poll implements PathManager: the kernel path manager has no timers.
func (*kernelPM) Poll(time.Time, Conn) time.Time { return time.Time{} }

// Event implements PathManager.
func (p *kernelPM) Event(now time.Time, c Conn, ev Event) {
	if p.dead {
		return
	}
	p.now = now
	switch ev.Kind {
	case Established:
		p.up = true
		p.createOrSignal(c)
	case Closed, FellBack:
		p.up, p.dead = false, true
	case SubEstablished, SubClosed, LocalAdded:
		if p.up {
			p.createOrSignal(c)
		}
	case Announced:
		if p.up {
			p.addAddrReceived(c, ev.Remote)
		}
	case Removed:
		delete(p.accepted, ev.RemoteID)
		if p.up {
			p.createOrSignal(c)
		}
	case LocalRemoved:
		// The address is gone (the kernel's endpoint delete): withdraw
		// its announcement; its subflows are closed already.
		key := endpointKey(ev.Local)
		if id, ok := p.announced[key]; ok {
			_ = c.Withdraw(id)
			delete(p.announced, key)
		}
		delete(p.used, key)
	case JoinRefused:
		p.decline(Decline{Kind: DeclineJoin, Reason: ReasonRefused, Local: ev.Subflow.Local, Remote: ev.Subflow.Remote, Err: ev.Err})
	case AnnounceDropped:
		d := Decline{Kind: DeclineAddAddr, Reason: ReasonRefused, Remote: ev.Remote.AddrPort, Err: ev.Err}
		p.decline(d)
	}
}

// AdmitJoin implements JoinAdmitter: a join counts against the subflows
// limit like a subflow this side opens (the kernel's
// mptcp_pm_allow_new_subflow).
func (p *kernelPM) AdmitJoin(now time.Time, c Conn, local, remote netip.AddrPort, _ bool) error {
	p.now = now
	if lim := p.k.limits.Subflows; extraSubflows(c) >= lim {
		d := Decline{Time: now, Kind: DeclineJoin, Reason: ReasonSubflowsLimit, Local: local, Remote: remote, Limit: lim}
		p.decline(d)
		return d
	}
	return nil
}

// endpoints returns the endpoints with the host's address IDs (0 for the
// initial subflow's address).
func (p *kernelPM) endpoints(c Conn) []LocalAddr {
	locals := c.LocalAddrs()
	if p.k.cfg.Endpoints == nil {
		return locals
	}
	out := make([]LocalAddr, 0, len(p.k.cfg.Endpoints))
	for _, e := range p.k.cfg.Endpoints {
		found := false
		for _, l := range locals {
			if l.Addr == e.Addr && (l.Port == e.Port || l.Port == 0) {
				e.ID, found = l.ID, true
				if l.Port == e.Port {
					break
				}
			}
		}
		if !found {
			p.decline(Decline{Kind: DeclineSubflow, Reason: ReasonNotLocal, Local: netip.AddrPortFrom(e.Addr, e.Port)})
			continue
		}
		out = append(out, e)
	}
	return out
}

func endpointKey(e LocalAddr) netip.AddrPort { return netip.AddrPortFrom(e.Addr, e.Port) }

// extraSubflows counts the subflows beyond the initial one.
func extraSubflows(c Conn) int {
	n := 0
	for _, s := range c.Subflows() {
		if !s.Initial {
			n++
		}
	}
	return n
}

func initialRemote(c Conn) (RemoteAddr, bool) {
	for _, r := range c.RemoteAddrs() {
		if r.ID == 0 {
			return r, true
		}
	}
	return RemoteAddr{}, false
}

// createOrSignal is the kernel's mptcp_pm_create_subflow_or_signal_addr.
func (p *kernelPM) createOrSignal(c Conn) {
	eps := p.endpoints(c)
	if !p.mpcDone {
		// The endpoint of the initial subflow's address is used from the
		// start; if it is a backup endpoint, the initial subflow becomes
		// a backup (MP_PRIO), as the kernel's lazy MPC accounting does.
		for _, e := range eps {
			if e.ID != 0 {
				continue
			}
			p.used[endpointKey(e)] = true
			if e.Backup {
				for _, s := range c.Subflows() {
					if s.Initial && !s.Backup {
						_ = c.SetBackup(s.ID, true)
					}
				}
			}
		}
		p.mpcDone = true
	}
	var fresh []LocalAddr // signal endpoints that also open a subflow
	for _, e := range eps {
		if !e.Signal || p.used[endpointKey(e)] {
			continue
		}
		p.used[endpointKey(e)] = true
		if err := c.Announce(e); err != nil && !errors.Is(err, ErrExists) {
			p.decline(Decline{Kind: DeclineAnnounce, Reason: ReasonRefused, Local: endpointKey(e), Err: err})
			continue
		}
		p.announced[endpointKey(e)] = e.ID
		if e.Subflow {
			fresh = append(fresh, e)
		}
	}
	for _, e := range eps {
		if e.Subflow && !e.Signal && !p.used[endpointKey(e)] {
			fresh = append(fresh, e)
		}
	}
	if p.cflagCase(c) {
		// The peer refuses joins to its initial address and no announced
		// address is accepted by the limits: keep the subflow endpoints
		// for the address it will announce (the kernel's C-flag case).
		return
	}
	lim := p.k.limits.Subflows
	for _, e := range fresh {
		local := netip.AddrPortFrom(e.Addr, 0)
		if extraSubflows(c) >= lim {
			p.decline(Decline{Kind: DeclineSubflow, Reason: ReasonSubflowsLimit, Local: local, Limit: lim})
			continue
		}
		p.used[endpointKey(e)] = true
		if e.ID != 0 {
			p.localUsed++
		}
		e.Port = 0 // a subflow leaves from an ephemeral port
		if e.Fullmesh {
			p.fullmeshFrom(c, e)
			continue
		}
		r, ok := initialRemote(c)
		switch {
		case !ok:
			p.decline(Decline{Kind: DeclineSubflow, Reason: ReasonDenyJoinID0, Local: local})
		case r.AddrPort.Addr().Is4() != e.Addr.Is4():
			p.decline(Decline{Kind: DeclineSubflow, Reason: ReasonFamily, Local: local, Remote: r.AddrPort})
		default:
			p.connect(c, DeclineSubflow, e, r)
		}
	}
}

// fullmeshFrom opens subflows from endpoint e to every known peer
// address of its family that e has no subflow to yet.
func (p *kernelPM) fullmeshFrom(c Conn, e LocalAddr) {
	lim := p.k.limits.Subflows
	for _, r := range c.RemoteAddrs() {
		if r.AddrPort.Addr().Is4() != e.Addr.Is4() || hasSubflow(c, e.Addr, r.AddrPort) {
			continue
		}
		if extraSubflows(c) >= lim {
			p.decline(Decline{Kind: DeclineSubflow, Reason: ReasonSubflowsLimit,
				Local: netip.AddrPortFrom(e.Addr, 0), Remote: r.AddrPort, Limit: lim})
			return
		}
		p.connect(c, DeclineSubflow, e, r)
	}
}

func hasSubflow(c Conn, local netip.Addr, remote netip.AddrPort) bool {
	for _, s := range c.Subflows() {
		if s.Local.Addr() == local && s.Remote == remote {
			return true
		}
	}
	return false
}

// connect opens a subflow and reports the MPTCP layer's refusal.
func (p *kernelPM) connect(c Conn, kind DeclineKind, e LocalAddr, r RemoteAddr) bool {
	err := c.Connect(e, r, e.Backup)
	if err == nil {
		return true
	}
	if !errors.Is(err, ErrExists) {
		p.decline(Decline{Kind: kind, Reason: ReasonRefused, Local: netip.AddrPortFrom(e.Addr, 0), Remote: r.AddrPort, Err: err})
	}
	return false
}

// addAddrReceived is the kernel's mptcp_pm_nl_add_addr_received.
func (p *kernelPM) addAddrReceived(c Conn, r RemoteAddr) {
	for _, s := range c.Subflows() {
		if s.Remote == r.AddrPort {
			return // already connected there
		}
	}
	lim := p.k.limits
	// The peer that refuses joins to its initial address (C flag) wants
	// its announced address used: with the default limit of 0 the kernel
	// accepts one, from the subflow endpoints.
	cflag := r.ID != 0 && p.cflagCase(c)
	switch {
	case !cflag && len(p.accepted) >= lim.AddAddrAccepted:
		p.decline(Decline{Kind: DeclineAddAddr, Reason: ReasonAddAddrAcceptedLimit, Remote: r.AddrPort, Limit: lim.AddAddrAccepted})
		return
	case extraSubflows(c) >= lim.Subflows:
		p.decline(Decline{Kind: DeclineAddAddr, Reason: ReasonSubflowsLimit, Remote: r.AddrPort, Limit: lim.Subflows})
		return
	}
	eps := p.endpoints(c)
	var from []LocalAddr
	for _, e := range eps {
		if e.Fullmesh && e.Addr.Is4() == r.AddrPort.Addr().Is4() {
			from = append(from, e)
		}
	}
	if len(from) == 0 {
		from = p.laminarOrDefault(c, eps, r, cflag)
	}
	if len(from) == 0 {
		return // declined with its reason already
	}
	created := false
	for _, e := range from {
		if extraSubflows(c) >= lim.Subflows {
			p.decline(Decline{Kind: DeclineAddAddr, Reason: ReasonSubflowsLimit,
				Local: netip.AddrPortFrom(e.Addr, 0), Remote: r.AddrPort, Limit: lim.Subflows})
			break
		}
		e.Port = 0
		if p.connect(c, DeclineAddAddr, e, r) {
			created = true
		}
	}
	if created && r.ID != 0 {
		p.accepted[r.ID] = true
	}
}

// laminarOrDefault chooses the local address for a subflow to an
// announced address when no fullmesh endpoint applies: a free laminar
// endpoint if any is configured; in the C-flag case the unused subflow
// endpoints; otherwise the initial subflow's address, where the kernel
// lets routing choose.
func (p *kernelPM) laminarOrDefault(c Conn, eps []LocalAddr, r RemoteAddr, cflag bool) []LocalAddr {
	v4 := r.AddrPort.Addr().Is4()
	laminar := false
	for _, e := range eps {
		if !e.Laminar {
			continue
		}
		laminar = true
		if e.Addr.Is4() != v4 || localInUse(c, e.Addr) {
			continue
		}
		if e.Subflow && !p.used[endpointKey(e)] {
			p.used[endpointKey(e)] = true
			if e.ID != 0 {
				p.localUsed++
			}
		}
		return []LocalAddr{e}
	}
	if laminar {
		p.decline(Decline{Kind: DeclineAddAddr, Reason: ReasonNoLaminar, Remote: r.AddrPort})
		return nil
	}
	if cflag {
		var out []LocalAddr
		for _, e := range eps {
			if e.Subflow && e.ID != 0 && !p.used[endpointKey(e)] && e.Addr.Is4() == v4 {
				p.used[endpointKey(e)] = true
				p.localUsed++
				out = append(out, e)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	for _, l := range c.LocalAddrs() {
		if l.ID == 0 && l.Addr.Is4() == v4 {
			return []LocalAddr{{ID: 0, Addr: l.Addr}}
		}
	}
	p.decline(Decline{Kind: DeclineAddAddr, Reason: ReasonFamily, Remote: r.AddrPort})
	return nil
}

// cflagCase is the kernel's mptcp_pm_add_addr_c_flag_case: the peer
// set the C flag, no subflow endpoint is used yet, the limits accept no
// announced address, and a subflow may still be added.
func (p *kernelPM) cflagCase(c Conn) bool {
	_, hasID0 := initialRemote(c)
	return !hasID0 && p.localUsed == 0 && p.k.limits.AddAddrAccepted == 0 && extraSubflows(c) < p.k.limits.Subflows
}

func localInUse(c Conn, a netip.Addr) bool {
	for _, s := range c.Subflows() {
		if s.Local.Addr() == a {
			return true
		}
	}
	return false
}

// decline records d once per connection (the same endpoint is declined
// for the same reason at every event otherwise) in the Kernel's counters
// and its OnDecline callback.
func (p *kernelPM) decline(d Decline) {
	key := fmt.Sprintf("%d/%d/%v/%v", d.Kind, d.Reason, d.Local, d.Remote)
	if p.declined[key] {
		return
	}
	p.declined[key] = true
	if d.Time.IsZero() {
		d.Time = p.now
	}
	p.k.decline(d)
}
