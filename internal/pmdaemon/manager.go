package pmdaemon

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/mptcp-go/mptcp/kpm"
)

// Timing of retries. A create that has not produced a subflow after
// pendingTimeout counts as failed (a join the peer never answered); failed
// paths are retried after backoffBase, doubling up to backoffMax, at most
// maxAttempts times before waiting for a change of interface or address.
const (
	pendingTimeout = 15 * time.Second
	backoffBase    = time.Second
	backoffMax     = time.Minute
	maxAttempts    = 8
	// stableAfter: a subflow that lived this long before closing was not a
	// failure of its path, so the count of failures starts again.
	stableAfter = time.Minute
)

// Manager decides, for every MPTCP connection of the host, which subflows
// to create and destroy and which addresses to announce. It is a state
// machine without I/O: feed it the kernel's events (Event), interface and
// address changes (SetNet, NetChange), refusals of its commands (Failed)
// and the passing of time (Tick); each call returns the commands to send
// and the notes to log. A Manager is not safe for concurrent use.
type Manager struct {
	cfg   Config
	links map[int]*kpm.Link
	addrs map[netip.Addr]kpm.Addr
	conns map[uint32]*connState

	addrNotes map[netip.Addr]string // last decline logged per local address
	out       Output
}

// NewManager returns a Manager with the given configuration.
func NewManager(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Manager{
		cfg:       cfg,
		links:     map[int]*kpm.Link{},
		addrs:     map[netip.Addr]kpm.Addr{},
		conns:     map[uint32]*connState{},
		addrNotes: map[netip.Addr]string{},
	}, nil
}

// flush returns and clears the accumulated output.
func (m *Manager) flush() Output {
	o := m.out
	m.out = Output{}
	return o
}

func (m *Manager) act(a Action) { m.out.Actions = append(m.out.Actions, a) }

func (m *Manager) note(kind NoteKind, token uint32, local netip.Addr, remote netip.AddrPort, format string, args ...any) {
	m.out.Notes = append(m.out.Notes, Note{Kind: kind, Token: token, Local: local, Remote: remote, Msg: fmt.Sprintf(format, args...)})
}

// declinePath logs why a path gets no subflow, once per reason.
func (m *Manager) declinePath(c *connState, p pathKey, reason string) {
	if c.notes[p] == reason {
		return
	}
	c.notes[p] = reason
	m.note(NoteDecline, c.token, p.local, p.remote, "no subflow: %s", reason)
}

// Connections reports how many connections the Manager tracks.
func (m *Manager) Connections() int { return len(m.conns) }

// SetNet replaces the Manager's view of interfaces and addresses, as after
// a fresh rtnetlink dump.
func (m *Manager) SetNet(now time.Time, links []kpm.Link, addrs []kpm.Addr) Output {
	m.links = map[int]*kpm.Link{}
	for _, l := range links {
		m.links[l.Index] = &l
	}
	m.addrs = map[netip.Addr]kpm.Addr{}
	for _, a := range addrs {
		a.Prefix = netip.PrefixFrom(a.Prefix.Addr().Unmap(), a.Prefix.Bits())
		m.addrs[a.Prefix.Addr()] = a
	}
	for _, c := range m.conns {
		clear(c.failures)
	}
	m.checkAddrs()
	m.reconcileAll(now)
	return m.flush()
}

// NetChange applies one interface or address change.
func (m *Manager) NetChange(now time.Time, ch kpm.NetChange) Output {
	switch {
	case ch.Link != nil:
		l := *ch.Link
		old := m.links[l.Index]
		if ch.Deleted {
			delete(m.links, l.Index)
		} else {
			m.links[l.Index] = &l
		}
		if old == nil || ch.Deleted || old.Up != l.Up || old.Name != l.Name {
			m.forgetFailures(func(a netip.Addr) bool { return m.addrs[a].Index == l.Index })
		}
	case ch.Addr != nil:
		a := *ch.Addr
		ip := a.Prefix.Addr().Unmap()
		a.Prefix = netip.PrefixFrom(ip, a.Prefix.Bits())
		if ch.Deleted {
			delete(m.addrs, ip)
			delete(m.addrNotes, ip)
			m.withdrawAnnouncements(ip)
		} else {
			m.addrs[ip] = a
		}
		m.forgetFailures(func(x netip.Addr) bool { return x == ip })
	}
	m.checkAddrs()
	m.reconcileAll(now)
	return m.flush()
}

// forgetFailures clears the back-off of paths from the matching local
// addresses: a change of their interface or address is a new chance.
func (m *Manager) forgetFailures(match func(netip.Addr) bool) {
	for _, c := range m.conns {
		for p := range c.failures {
			if match(p.local) {
				delete(c.failures, p)
				delete(c.notes, p)
			}
		}
	}
}

// checkAddrs logs, once per reason, each local address that may not be used.
func (m *Manager) checkAddrs() {
	for _, ip := range m.sortedAddrs() {
		a := m.addrs[ip]
		reason := m.cfg.addrDecline(a, m.links[a.Index])
		if reason == m.addrNotes[ip] {
			continue
		}
		m.addrNotes[ip] = reason
		if reason == "" {
			m.note(NoteInfo, 0, ip, netip.AddrPort{}, "address usable")
		} else {
			m.note(NoteDecline, 0, ip, netip.AddrPort{}, "address not used: %s", reason)
		}
	}
}

func (m *Manager) sortedAddrs() []netip.Addr {
	ips := make([]netip.Addr, 0, len(m.addrs))
	for ip := range m.addrs {
		ips = append(ips, ip)
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	return ips
}

// usable says why a local address may not carry a new subflow, or "".
func (m *Manager) usable(ip netip.Addr) string {
	a, ok := m.addrs[ip]
	if !ok {
		return "address not assigned to any interface"
	}
	return m.cfg.addrDecline(a, m.links[a.Index])
}

// linkOf returns the interface holding a local address, or nil.
func (m *Manager) linkOf(ip netip.Addr) *kpm.Link {
	if a, ok := m.addrs[ip.Unmap()]; ok {
		return m.links[a.Index]
	}
	return nil
}

// Event applies one kernel MPTCP event.
func (m *Manager) Event(now time.Time, e kpm.Event) Output {
	c := m.conns[e.Token]
	switch e.Type {
	case kpm.EventCreated:
		m.track(e)
	case kpm.EventEstablished:
		if c == nil { // started after the connection was created
			c = m.track(e)
		}
		m.established(now, c)
	case kpm.EventClosed:
		delete(m.conns, e.Token)
	case kpm.EventAnnounced:
		if c == nil {
			break
		}
		port := e.Dport
		if port == 0 {
			// RFC 8684, 3.4.1: without a port, the port of the
			// connection's initial subflow applies.
			port = c.remote.Port()
		}
		ap := netip.AddrPortFrom(e.Daddr.Unmap(), port)
		c.remotes[e.RemoteID] = ap
		for p := range c.failures {
			if p.remote == ap {
				delete(c.failures, p)
			}
		}
		m.reconcile(now, c)
	case kpm.EventRemoved:
		if c == nil {
			break
		}
		delete(c.remotes, e.RemoteID)
		m.reconcile(now, c)
	case kpm.EventSubEstablished:
		if c == nil {
			break
		}
		m.subEstablished(now, c, e)
	case kpm.EventSubClosed:
		if c == nil {
			break
		}
		m.subClosed(now, c, e)
	case kpm.EventSubPriority:
		if c == nil {
			break
		}
		if sf := c.subflows[sfKey{norm(e.Local()), norm(e.Remote())}]; sf != nil {
			sf.backup = e.Backup
		}
	}
	return m.flush()
}

// track starts tracking the connection of a CREATED or ESTABLISHED event.
func (m *Manager) track(e kpm.Event) *connState {
	local, remote := norm(e.Local()), norm(e.Remote())
	c := newConnState(e.Token, e.ServerSide, local, remote)
	sf := &subflow{local: e.Local(), remote: e.Remote(), ifindex: int(e.IfIndex)}
	if a, ok := m.addrs[local.Addr()]; ok && sf.ifindex == 0 {
		sf.ifindex = a.Index
	}
	c.subflows[sfKey{local, remote}] = sf
	m.conns[e.Token] = c
	return c
}

func (m *Manager) established(now time.Time, c *connState) {
	if c.established {
		return
	}
	c.established = true
	for _, sf := range c.subflows {
		m.applyBackupRule(c, sf, false)
	}
	m.reconcile(now, c)
}

// applyBackupRule asks for the backup flag on a subflow whose interface
// matches a backup pattern and that does not have it yet.
func (m *Manager) applyBackupRule(c *connState, sf *subflow, reported bool) {
	link := m.links[sf.ifindex]
	if link == nil {
		link = m.linkOf(sf.local.Addr())
	}
	if !m.cfg.isBackup(link) || (reported && sf.backup) {
		return
	}
	sf.backup = true
	m.act(Action{Kind: ActSetBackup, Token: c.token, LocalAddr: sf.local, Remote: sf.remote, Backup: true,
		Why: fmt.Sprintf("interface %s matches a backup pattern", link.Name)})
}

func (m *Manager) subEstablished(now time.Time, c *connState, e kpm.Event) {
	local, remote := norm(e.Local()), norm(e.Remote())
	sf := &subflow{local: e.Local(), remote: e.Remote(), localID: e.LocalID, remoteID: e.RemoteID,
		ifindex: int(e.IfIndex), backup: e.Backup, since: now}
	if sf.ifindex == 0 {
		if a, ok := m.addrs[local.Addr()]; ok {
			sf.ifindex = a.Index
		}
	}
	c.subflows[sfKey{local, remote}] = sf
	c.learnID(netip.AddrPortFrom(local.Addr(), 0), e.LocalID)
	p := pathKey{local.Addr(), remote}
	c.popPending(p)
	delete(c.notes, p)
	m.applyBackupRule(c, sf, true)
	m.reconcile(now, c)
}

func (m *Manager) subClosed(now time.Time, c *connState, e kpm.Event) {
	local, remote := norm(e.Local()), norm(e.Remote())
	k := sfKey{local, remote}
	p := pathKey{local.Addr(), remote}
	sf := c.subflows[k]
	switch {
	case sf != nil:
		// Closed by the peer or the network, not by us (what we destroy
		// is forgotten at once). Do not hammer the path if it keeps dying.
		delete(c.subflows, k)
		if now.Sub(sf.since) >= stableAfter {
			delete(c.failures, p)
		}
		if _, wanted := m.wanted(c)[p]; wanted {
			m.fail(now, c, p, fmt.Sprintf("subflow %s closed (error %d)", e.Local(), e.Error))
		}
	case c.popPending(p):
		m.fail(now, c, p, fmt.Sprintf("join from %s failed (error %d)", e.Local(), e.Error))
	default:
		return
	}
	m.reconcile(now, c)
}

// fail records a failed attempt on p and schedules the next one.
func (m *Manager) fail(now time.Time, c *connState, p pathKey, what string) {
	f := c.failures[p]
	if f == nil {
		f = &failure{}
		c.failures[p] = f
	}
	f.count++
	if f.count >= maxAttempts {
		f.next = time.Time{}
		m.declinePath(c, p, fmt.Sprintf("%s; %d failures, waiting for a change of interface or address", what, f.count))
		return
	}
	d := backoffBase << (f.count - 1)
	if d > backoffMax {
		d = backoffMax
	}
	f.next = now.Add(d)
	m.declinePath(c, p, fmt.Sprintf("%s; retrying in %v", what, d))
}

// Failed tells the Manager that the kernel refused one of its commands.
func (m *Manager) Failed(now time.Time, a Action, err error) Output {
	c := m.conns[a.Token]
	switch {
	case c == nil:
		// The connection closed meanwhile: nothing to say.
	case a.Kind == ActCreate:
		p := pathKey{a.Local.Addr.Unmap(), norm(a.Remote)}
		c.popPending(p)
		m.fail(now, c, p, fmt.Sprintf("kernel refused the subflow: %v", err))
	default:
		m.note(NoteWarn, a.Token, a.Local.Addr, a.Remote, "%v failed: %v", a.Kind, err)
	}
	return m.flush()
}

// Tick lets time pass: creates that never completed count as failures and
// paths whose back-off ended are tried again. Call it about every second.
func (m *Manager) Tick(now time.Time) Output {
	for _, c := range m.sortedConns() {
		for _, p := range sortedPaths(c.pending) {
			for len(c.pending[p]) > 0 && !now.Before(c.pending[p][0]) {
				c.popPending(p)
				m.fail(now, c, p, "join not completed in time")
			}
		}
		due := false
		for _, f := range c.failures {
			if !f.next.IsZero() && !now.Before(f.next) {
				due = true
			}
		}
		if due {
			m.reconcile(now, c)
		}
	}
	return m.flush()
}

func (m *Manager) sortedConns() []*connState {
	cs := make([]*connState, 0, len(m.conns))
	for _, c := range m.conns {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *connState) int { return cmp.Compare(a.token, b.token) })
	return cs
}

func sortedPaths[V any](mp map[pathKey]V) []pathKey {
	ps := make([]pathKey, 0, len(mp))
	for p := range mp {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, comparePaths)
	return ps
}

func comparePaths(a, b pathKey) int {
	if c := a.local.Compare(b.local); c != 0 {
		return c
	}
	return a.remote.Compare(b.remote)
}

func (m *Manager) reconcileAll(now time.Time) {
	for _, c := range m.sortedConns() {
		m.reconcile(now, c)
	}
}

// wanted returns how many subflows the policy wants on each path of the
// connection, counting the initial subflow. Fullmesh draws on the usable
// local addresses only: checkAddrs has already said, once for all
// connections, why the others are not used. The initial path is always
// listed, so that its loss is reported for the connection.
func (m *Manager) wanted(c *connState) map[pathKey]int {
	w := map[pathKey]int{}
	switch m.cfg.Policy {
	case PolicyNdiffports:
		w[pathKey{c.local.Addr(), c.remote}] = m.cfg.Ndiffports
	case PolicyFullmesh:
		for _, r := range c.remotes {
			for ip := range m.addrs {
				if m.usable(ip) == "" {
					w[pathKey{ip, r}] = 1
				}
			}
		}
		w[pathKey{c.local.Addr(), c.remote}] = 1
	}
	return w
}

// reconcile compares what the policy wants for c with what exists, and
// asks for the difference: subflows to create on usable paths, subflows
// to destroy where their interface or address went away.
func (m *Manager) reconcile(now time.Time, c *connState) {
	if !c.established {
		return
	}
	if c.server {
		// Announce again on every change: an address that was not
		// usable when the connection came up may be now.
		m.announce(c)
		if m.cfg.Policy != PolicyNone {
			m.declinePath(c, pathKey{}, "this host accepted the connection; the client opens subflows")
		}
	} else {
		m.createWanted(now, c)
	}
	m.destroyDead(c)
}

func (m *Manager) createWanted(now time.Time, c *connState) {
	want := m.wanted(c)
	full := false
	for _, p := range sortedPaths(want) {
		have := c.onPath(p)
		if have >= want[p] {
			delete(c.notes, p)
			continue
		}
		if p.local.Is4() != p.remote.Addr().Is4() {
			m.declinePath(c, p, "address family differs from the peer address")
			continue
		}
		if reason := m.usable(p.local); reason != "" {
			m.declinePath(c, p, reason)
			continue
		}
		if f := c.failures[p]; f != nil {
			if f.next.IsZero() || now.Before(f.next) {
				continue // fail already said why and when
			}
		}
		for ; have < want[p]; have++ {
			if full || c.extra() >= m.cfg.MaxSubflows {
				full = true
				m.declinePath(c, p, fmt.Sprintf("the connection has %d extra subflows, the most max_subflows allows", m.cfg.MaxSubflows))
				break
			}
			id, ok := c.localID(netip.AddrPortFrom(p.local, 0))
			if !ok {
				m.declinePath(c, p, "all 255 local address ids of the connection are in use")
				break
			}
			a := m.addrs[p.local]
			local := kpm.Endpoint{ID: id, Addr: p.local, IfIndex: int32(a.Index)}
			why := fmt.Sprintf("%s policy", m.cfg.Policy)
			if link := m.links[a.Index]; m.cfg.isBackup(link) {
				local.Flags |= kpm.FlagBackup
				why += fmt.Sprintf(", backup: interface %s matches a backup pattern", link.Name)
			}
			c.pending[p] = append(c.pending[p], now.Add(pendingTimeout))
			delete(c.notes, p)
			m.act(Action{Kind: ActCreate, Token: c.token, Local: local, Remote: p.remote, Why: why})
		}
	}
}

// deadReason says why an established subflow should go, or "".
func (m *Manager) deadReason(sf *subflow) string {
	ip := sf.local.Addr().Unmap()
	a, ok := m.addrs[ip]
	idx := sf.ifindex
	if ok {
		idx = a.Index
	}
	link := m.links[idx]
	switch {
	case link == nil && idx != 0:
		return "its interface is gone"
	case link != nil && !link.Up:
		return fmt.Sprintf("interface %s is down", link.Name)
	case !ok:
		return fmt.Sprintf("address %s was removed", ip)
	}
	return ""
}

// destroyDead removes subflows whose interface went down or whose address
// went away, keeping the connection's last live subflow: without it the
// connection could not even learn of a new path.
func (m *Manager) destroyDead(c *connState) {
	keys := make([]sfKey, 0, len(c.subflows))
	for k := range c.subflows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b sfKey) int {
		if x := a.local.Compare(b.local); x != 0 {
			return x
		}
		return a.remote.Compare(b.remote)
	})
	live := 0
	dead := map[sfKey]string{} // subflow -> why it should go
	for _, k := range keys {
		if r := m.deadReason(c.subflows[k]); r != "" {
			dead[k] = r
		} else {
			live++
		}
	}
	if len(dead) == 0 {
		return
	}
	if live == 0 {
		for _, k := range keys {
			if reason, ok := dead[k]; ok {
				m.declinePath(c, pathKey{k.local.Addr(), k.remote},
					fmt.Sprintf("keeping subflow %s although %s: it is the connection's only subflow", c.subflows[k].local, reason))
			}
		}
		return
	}
	var destroy []Action
	gone := map[uint8]string{} // local ids losing their last subflow
	for _, k := range keys {
		reason, ok := dead[k]
		if !ok {
			continue
		}
		sf := c.subflows[k]
		delete(c.subflows, k)
		gone[sf.localID] = reason
		destroy = append(destroy, Action{Kind: ActDestroy, Token: c.token, LocalAddr: sf.local, Remote: sf.remote, Why: reason})
	}
	// Tell the peer an address is gone (RM_ADDR) when no subflow uses it
	// any more, so that it closes its ends too. This must come before the
	// destroys, which make the kernel forget the address. The id 0 of the
	// initial address is left alone: the peer ties the connection to it.
	ids := make([]int, 0, len(gone))
	for id := range gone {
		ids = append(ids, int(id))
	}
	slices.Sort(ids)
	for _, id := range ids {
		if id != 0 && !m.idInUse(c, uint8(id)) {
			m.act(Action{Kind: ActRemove, Token: c.token, ID: uint8(id), Why: gone[uint8(id)]})
		}
	}
	for _, a := range destroy {
		m.act(a)
	}
}

func (m *Manager) idInUse(c *connState, id uint8) bool {
	for _, sf := range c.subflows {
		if sf.localID == id {
			return true
		}
	}
	return false
}

// announce advertises the configured addresses on a connection this host
// accepted.
func (m *Manager) announce(c *connState) {
	for _, an := range m.cfg.Announce {
		var cands []netip.AddrPort
		switch {
		case an.addr.IsValid():
			cands = append(cands, netip.AddrPortFrom(an.addr, an.Port))
		case an.Interface != "":
			for _, ip := range m.sortedAddrs() {
				if l := m.links[m.addrs[ip].Index]; l != nil && l.Name == an.Interface && ip.Is4() == c.local.Addr().Is4() {
					cands = append(cands, netip.AddrPortFrom(ip, an.Port))
				}
			}
			if len(cands) == 0 {
				key := netip.AddrPortFrom(netip.Addr{}, an.Port)
				reason := fmt.Sprintf("not announcing interface %s: it has no address of the connection's family", an.Interface)
				if c.annNotes[key] != reason {
					c.annNotes[key] = reason
					m.note(NoteDecline, c.token, netip.Addr{}, netip.AddrPort{}, "%s", reason)
				}
			}
		default:
			cands = append(cands, netip.AddrPortFrom(c.local.Addr(), an.Port))
		}
		for _, ap := range cands {
			m.announceOne(c, ap)
		}
	}
}

func (m *Manager) announceOne(c *connState, ap netip.AddrPort) {
	ip := ap.Addr()
	// Declines are said once per address and reason: announce runs on
	// every change of the connection or the network.
	decline := func(format string, args ...any) {
		reason := "not announced: " + fmt.Sprintf(format, args...)
		if c.annNotes[ap] != reason {
			c.annNotes[ap] = reason
			m.note(NoteDecline, c.token, ip, netip.AddrPort{}, "%s", reason)
		}
	}
	if _, done := c.announce[ap]; done {
		return
	}
	if ip.Is4() != c.local.Addr().Is4() {
		decline("address family differs from the connection's")
		return
	}
	if ip == c.local.Addr() && (ap.Port() == 0 || ap.Port() == c.local.Port()) {
		decline("it is the connection's own address")
		return
	}
	if reason := m.usable(ip); reason != "" {
		decline("%s", reason)
		return
	}
	id, ok := c.localID(ap)
	if !ok {
		decline("all 255 local address ids of the connection are in use")
		return
	}
	c.announce[ap] = id
	delete(c.annNotes, ap)
	m.act(Action{Kind: ActAnnounce, Token: c.token, Local: kpm.Endpoint{ID: id, Addr: ip, Port: ap.Port()}, Why: "configured announcement"})
}

// withdrawAnnouncements removes announcements of an address that went away.
func (m *Manager) withdrawAnnouncements(ip netip.Addr) {
	for _, c := range m.sortedConns() {
		for ap, id := range c.announce {
			if ap.Addr() == ip {
				delete(c.announce, ap)
				m.act(Action{Kind: ActRemove, Token: c.token, ID: id, Why: fmt.Sprintf("announced address %s was removed", ip)})
			}
		}
	}
}
