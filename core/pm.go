package core

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/tcp"
)

// pmEvent hands an event to the connection's path manager.
func (c *Conn) pmEvent(ev pm.Event) {
	c.emitPM(&ev)
	if c.pm == nil {
		return
	}
	c.pm.Event(c.stack.now, pmView{c}, ev)
	c.pmNext = c.stack.now // let it act on its timers at the next poll
	c.stack.queue(c)
}

// pmView is the narrow view of a connection a path manager gets.
type pmView struct{ c *Conn }

// Server implements pm.Conn.
func (v pmView) Server() bool { return v.c.server }

// Limits implements pm.Conn.
func (v pmView) Limits() pm.Limits { return v.c.stack.cfg.Limits }

// LocalAddrs implements pm.Conn: the host's addresses, with the initial
// subflow's address as ID 0.
func (v pmView) LocalAddrs() []pm.LocalAddr {
	c := v.c
	out := make([]pm.LocalAddr, 0, len(c.stack.locals)+1)
	initial := false
	for _, l := range c.stack.locals {
		if l.Addr == c.initialLocal.Addr() && l.Port == 0 {
			l.ID = 0
			initial = true
		}
		out = append(out, l)
	}
	if !initial && c.initialLocal.IsValid() {
		// The initial subflow's address is the host's even when no
		// endpoint names it (the kernel's address ID 0): subflows to
		// addresses the peer announces may leave from it.
		out = append(out, pm.LocalAddr{ID: 0, Addr: c.initialLocal.Addr()})
	}
	return out
}

// RemoteAddrs implements pm.Conn. The peer's initial address is left out
// when it set the C flag (RFC 8684 section 3.1).
func (v pmView) RemoteAddrs() []pm.RemoteAddr {
	c := v.c
	out := make([]pm.RemoteAddr, 0, len(c.remotes))
	for _, r := range c.remotes {
		if r.ID == 0 && c.denyJoinID0 {
			continue
		}
		out = append(out, r)
	}
	return out
}

// Subflows implements pm.Conn.
func (v pmView) Subflows() []pm.SubflowInfo {
	out := make([]pm.SubflowInfo, 0, len(v.c.subflows))
	for _, sf := range v.c.subflows {
		out = append(out, sf.pmInfo())
	}
	return out
}

// joins counts the MP_JOIN subflows.
func (c *Conn) joins() int {
	n := 0
	for _, sf := range c.subflows {
		if sf.join {
			n++
		}
	}
	return n
}

// acceptingPaths reports whether the connection takes new subflows.
func (c *Conn) acceptingPaths() bool {
	return c.state == StateEstablished && c.fully && !c.fallen && c.remoteKnown && !c.writeClosedBoth()
}

// writeClosedBoth reports whether both directions have finished at data
// level: no point opening paths any more.
func (c *Conn) writeClosedBoth() bool { return c.snd.finAcked && c.rcv.finDone }

// Connect implements pm.Conn: open a subflow with MP_JOIN.
func (v pmView) Connect(local pm.LocalAddr, remote pm.RemoteAddr, backup bool) error {
	return v.connect(local, remote, backup, false)
}

// ConnectAnother implements pm.AnotherConnector: open a subflow between a
// pair of addresses that may already have one; it leaves from a fresh
// source port (ndiffports).
func (v pmView) ConnectAnother(local pm.LocalAddr, remote pm.RemoteAddr, backup bool) error {
	return v.connect(local, remote, backup, true)
}

// Token implements pm.Tokener: the connection's local token, its name in
// the kernel's netlink events.
func (v pmView) Token() uint32 { return v.c.local.token }

func (v pmView) connect(local pm.LocalAddr, remote pm.RemoteAddr, backup, another bool) error {
	c := v.c
	s := c.stack
	if !c.acceptingPaths() {
		return pm.ErrClosed
	}
	if c.joins() >= s.cfg.Limits.Subflows {
		return pm.ErrLimit
	}
	for _, sf := range c.subflows {
		if !another && sf.local.Addr() == local.Addr && sf.remote == remote.AddrPort {
			return pm.ErrExists
		}
	}
	if remote.ID == 0 && c.denyJoinID0 {
		return fmt.Errorf("%w: the peer does not accept joins to its initial address", pm.ErrClosed)
	}
	key := [2]netip.AddrPort{netip.AddrPortFrom(local.Addr, 0), remote.AddrPort}
	if !another && (c.pairsSeen[key] || (local.Addr == c.initialLocal.Addr() && remote.AddrPort == c.initialRemote)) {
		s.mib.Inc(SubflowRecreate)
	}
	if c.pairsSeen == nil {
		c.pairsSeen = make(map[[2]netip.AddrPort]bool)
	}
	c.pairsSeen[key] = true
	sf := c.newSubflow(false, true)
	sf.localNonce = nonce32(s.rand)
	sf.localID = local.ID
	sf.remoteID = remote.ID
	sf.backup = backup || local.Backup
	tc, err := s.tcp.Dial(s.now, remote.AddrPort, &tcp.DialConfig{Local: netip.AddrPortFrom(local.Addr, 0), Hooks: sf, Options: c.subflowOptions()})
	if err != nil {
		c.subflows = slices.DeleteFunc(c.subflows, func(x *subflow) bool { return x == sf })
		if errors.Is(err, tcp.ErrAddrNotAvailable) || errors.Is(err, tcp.ErrAddrInUse) {
			s.mib.Inc(MPJoinSynTxBindErr)
		} else {
			s.mib.Inc(MPJoinSynTxConnectErr)
		}
		return fmt.Errorf("mptcp: join %v -> %v: %w", local.Addr, remote.AddrPort, err)
	}
	sf.attach(tc)
	return nil
}

// CloseSubflow implements pm.Conn.
func (v pmView) CloseSubflow(id int) error {
	for _, sf := range v.c.subflows {
		if sf.id == id {
			sf.removedByUs = true
			sf.closeGracefully(v.c.stack.now)
			return nil
		}
	}
	return pm.ErrNotFound
}

// Announce implements pm.Conn: send ADD_ADDR for a.
func (v pmView) Announce(a pm.LocalAddr) error {
	c := v.c
	if !c.fully || c.fallen {
		return pm.ErrClosed
	}
	for _, an := range c.announced {
		if an.la.ID == a.ID {
			return pm.ErrExists
		}
	}
	c.announced = append(c.announced, &announcement{la: a})
	c.markDirty()
	return nil
}

// Withdraw implements pm.Conn: send REMOVE_ADDR and close the subflows
// using the address.
func (v pmView) Withdraw(id uint8) error {
	c := v.c
	if c.fallen {
		return pm.ErrClosed
	}
	c.announced = slices.DeleteFunc(c.announced, func(a *announcement) bool { return a.la.ID == id })
	if !slices.Contains(c.rmQ, id) {
		c.rmQ = append(c.rmQ, id)
	}
	for _, sf := range c.subflows {
		if sf.localID == id && sf.join {
			// Closed with a FIN once the REMOVE_ADDR went out, so the
			// peer finds the subflow it removes.
			sf.removedByUs = true
			sf.stopUsing(c.stack.now, false)
		}
	}
	c.markDirty()
	return nil
}

// SetBackup implements pm.Conn: change a subflow's priority with MP_PRIO.
func (v pmView) SetBackup(id int, backup bool) error {
	for _, sf := range v.c.subflows {
		if sf.id == id {
			if sf.backup != backup {
				sf.backup = backup
				sf.prioPending = true
				v.c.markDirty()
			}
			return nil
		}
	}
	return pm.ErrNotFound
}

// canAcceptJoin decides whether a join to local may be accepted.
func (c *Conn) canAcceptJoin(local netip.AddrPort) error {
	if !c.acceptingPaths() {
		return pm.ErrClosed
	}
	if c.joins() >= c.stack.cfg.Limits.Subflows {
		return pm.ErrLimit
	}
	if c.stack.cfg.DenyJoinInitial && local == c.initialLocal {
		return fmt.Errorf("%w: joins to the initial address are refused", pm.ErrClosed)
	}
	return nil
}

// localIDFor returns the address ID of local address a for this
// connection (0 for the initial subflow's address).
func (c *Conn) localIDFor(a netip.Addr) uint8 {
	if a == c.initialLocal.Addr() {
		return 0
	}
	for _, l := range c.stack.locals {
		if l.Addr == a {
			return l.ID
		}
	}
	return 0
}

// localBackup reports whether subflows from a are backups by
// configuration.
func (c *Conn) localBackup(a netip.Addr) bool {
	for _, l := range c.stack.locals {
		if l.Addr == a {
			return l.Backup
		}
	}
	return false
}
