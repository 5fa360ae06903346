package core

import (
	"net/netip"
	"slices"
	"time"

	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/wire"
)

// Address signalling (RFC 8684 sections 3.4.1 to 3.4.3): ADD_ADDR with
// its HMAC, echo and retransmission, REMOVE_ADDR, and MP_PRIO. Signals go
// out on pure ACKs of the best subflow (an ACK is forced for them).

// announcement is one of our ADD_ADDRs.
type announcement struct {
	la      pm.LocalAddr
	echoed  bool
	sent    bool // went out at least once
	retrans int
	next    time.Time // retransmission time
	dropped bool      // given up unechoed
	rto     time.Duration
}

// echo is an ADD_ADDR echo to send.
type echo struct {
	id   uint8
	addr netip.Addr
	port uint16
}

// announceWake is when an unechoed ADD_ADDR is next due again, zero if
// none is or no subflow can carry it (a subflow becoming usable is an
// event that polls the connection).
func (c *Conn) announceWake() time.Time {
	var t time.Time
	for _, a := range c.announced {
		if a.sent && !a.echoed && a.retrans < addAddrMaxRetrans {
			t = Earliest(t, a.next)
		}
	}
	if !t.IsZero() && c.bestSubflow() == nil {
		return time.Time{}
	}
	return t
}

// signalTimers retransmits unechoed ADD_ADDRs and forces ACKs for
// pending signals.
func (c *Conn) signalTimers(now time.Time) {
	if c.fallen || !c.fully {
		return
	}
	pending := len(c.echoQ) > 0 || len(c.rmQ) > 0
	waiting := c.announceWaiting()
	for _, a := range c.announced {
		if a.echoed {
			continue
		}
		if (!a.sent && !waiting) || (a.sent && !now.Before(a.next) && a.retrans < addAddrMaxRetrans) {
			pending = true
		}
		if a.sent && a.retrans >= addAddrMaxRetrans && !now.Before(a.next) && !a.dropped {
			// Never echoed: the peer did not get it, or ignored it.
			a.dropped = true
			c.stack.mib.Inc(AddAddrTxDrop)
		}
	}
	for _, sf := range c.subflows {
		if sf.prioPending && sf.canSignal() {
			sf.sendACK()
		}
	}
	if pending {
		if sf := c.bestSubflow(); sf != nil {
			sf.sendACK()
		}
	}
}

// signals adds pending signals to a pure ACK, in the space left, and
// marks them sent. d is the DSS that will follow; an ADD_ADDR that would
// leave no room for it takes precedence (the DATA_ACK rides on the next
// ACK).
func (sf *subflow) signals(b *wire.OptionBuilder, d *wire.DSS) {
	c := sf.conn
	mib := &c.stack.mib
	now := c.stack.now
	if sf.prioPending && c.fully {
		if b.AddMPPrio(&wire.MPPrio{Backup: sf.backup}) == nil {
			sf.prioPending = false
			mib.Inc(MPPrioTx)
		}
	}
	if !c.fully || !c.remoteKnown || sf != c.bestSubflow() {
		return
	}
	for len(c.rmQ) > 0 {
		var r wire.RemoveAddr
		ids := c.rmQ[:min(len(c.rmQ), 8)]
		r.Count = uint8(len(ids))
		copy(r.IDs[:], ids)
		if b.AddRemoveAddr(&r) != nil {
			break
		}
		mib.Add(RmAddrTx, uint64(len(ids)))
		c.rmQ = c.rmQ[len(ids):]
	}
	for len(c.echoQ) > 0 {
		e := c.echoQ[0]
		a := wire.AddAddr{Echo: true, AddrID: e.id, Addr: e.addr, HasPort: e.port != 0, Port: e.port}
		if b.AddAddAddr(&a) != nil {
			break
		}
		mib.Inc(EchoAddTx)
		c.echoQ = c.echoQ[1:]
	}
	waiting := c.announceWaiting()
	for _, an := range c.announced {
		if an.echoed || (an.sent && (now.Before(an.next) || an.retrans >= addAddrMaxRetrans)) {
			continue
		}
		if !an.sent && waiting {
			// One announcement at a time, as Linux sends them: its path
			// manager handles one ADD_ADDR at a time and drops others
			// that arrive meanwhile (MPTcpExtAddAddrDrop).
			continue
		}
		a := wire.AddAddr{AddrID: an.la.ID, Addr: an.la.Addr, HasPort: an.la.Port != 0, Port: an.la.Port,
			HMAC: wire.AddAddrHMAC(c.local.key, c.remoteKey, an.la.ID, an.la.Addr, an.la.Port)}
		if b.AddAddAddr(&a) != nil {
			continue
		}
		if an.sent {
			an.retrans++
			an.rto *= 2
		} else {
			an.sent = true
			an.rto = c.stack.cfg.AddAddrTimeout
			waiting = true
		}
		an.next = now.Add(an.rto)
		mib.Inc(AddAddrTx)
	}
}

// announceWaiting reports whether an ADD_ADDR of ours awaits its echo
// (sent, not echoed, not given up): the next one waits for it.
func (c *Conn) announceWaiting() bool {
	for _, a := range c.announced {
		if a.sent && !a.echoed && !a.dropped {
			return true
		}
	}
	return false
}

// addAddrReceived handles an ADD_ADDR or its echo.
func (c *Conn) addAddrReceived(now time.Time, sf *subflow, a *wire.AddAddr) {
	mib := &c.stack.mib
	if a.Echo {
		mib.Inc(EchoAdd)
		for _, an := range c.announced {
			if an.la.ID == a.AddrID && an.la.Addr == a.Addr {
				an.echoed = true
			}
		}
		return
	}
	if !c.remoteKnown || a.HMAC != wire.AddAddrHMAC(c.remoteKey, c.local.key, a.AddrID, a.Addr, a.Port) {
		// RFC 8684 section 3.4.1: an ADD_ADDR whose HMAC does not match
		// is ignored. The kernel does not count it; we do.
		mib.Inc(AddAddrHMacFailure)
		return
	}
	mib.Inc(AddAddr)
	if a.HasPort {
		mib.Inc(PortAdd)
	}
	// Echo it, even when we do not use it, so the peer stops resending.
	if !slices.ContainsFunc(c.echoQ, func(e echo) bool { return e.id == a.AddrID && e.addr == a.Addr }) {
		c.echoQ = append(c.echoQ, echo{id: a.AddrID, addr: a.Addr, port: a.Port})
	}
	port := a.Port
	if !a.HasPort {
		// No port: the port of the subflow the option came on.
		port = sf.remote.Port()
	}
	ra := pm.RemoteAddr{ID: a.AddrID, AddrPort: netip.AddrPortFrom(a.Addr.Unmap(), port)}
	for i, r := range c.remotes {
		if r.ID == ra.ID {
			if r.AddrPort == ra.AddrPort {
				return // a retransmission
			}
			c.remotes[i] = ra // the peer reused the ID for another address
			c.pmEvent(pm.Event{Kind: pm.Announced, Remote: ra})
			return
		}
	}
	if c.accepted >= c.stack.cfg.Limits.AddAddrAccepted {
		mib.Inc(AddAddrDrop)
		c.pmEvent(pm.Event{Kind: pm.AnnounceDropped, Remote: ra, Err: pm.ErrLimit})
		return
	}
	c.accepted++
	c.remotes = append(c.remotes, ra)
	c.pmEvent(pm.Event{Kind: pm.Announced, Remote: ra})
	c.markDirty()
}

// removeAddrReceived handles REMOVE_ADDR: the peer's addresses are gone,
// and so are the subflows to them.
func (c *Conn) removeAddrReceived(now time.Time, ids []uint8) {
	mib := &c.stack.mib
	for _, id := range ids {
		i := slices.IndexFunc(c.remotes, func(r pm.RemoteAddr) bool { return r.ID == id })
		found := i >= 0
		closed := 0
		for _, sf := range slices.Clone(c.subflows) {
			if sf.remoteID == id && (sf.join || id == 0) && !sf.closing {
				closed++
				mib.Inc(RmSubflow)
				sf.removedByPeer = true
				// RFC 8684 section 3.4.2: close with a FIN as a courtesy
				// to middleboxes; the peer does the same.
				sf.closeGracefully(now)
			}
		}
		if !found && closed == 0 {
			mib.Inc(RmAddrDrop)
			continue
		}
		mib.Inc(RmAddr)
		if found {
			c.remotes = slices.Delete(c.remotes, i, i+1)
			if c.accepted > 0 && id != 0 {
				c.accepted--
			}
		}
		c.pmEvent(pm.Event{Kind: pm.Removed, RemoteID: id})
	}
}

// localRemoved handles a host address going away: the peer is told with
// REMOVE_ADDR if it knew the address's ID from a join (as the kernel does
// when an endpoint is deleted), then the subflows using it are reset.
func (c *Conn) localRemoved(la pm.LocalAddr) {
	for _, sf := range slices.Clone(c.subflows) {
		if sf.local.Addr() == la.Addr {
			sf.removedByUs = true
			if sf.join && !c.fallen && c.fully {
				// The REMOVE_ADDR leaves first, on another subflow; the
				// subflow, which can send nothing from a lost address,
				// is then reset (locally).
				if !slices.Contains(c.rmQ, sf.localID) {
					c.rmQ = append(c.rmQ, sf.localID)
				}
				sf.stopUsing(c.stack.now, true)
				continue
			}
			sf.abort()
		}
	}
	c.markDirty()
	c.pmEvent(pm.Event{Kind: pm.LocalRemoved, Local: la})
}

// announcedPort reports whether local is one of the announced addresses
// with a port of its own.
func (c *Conn) announcedPort(local netip.AddrPort) bool {
	for _, a := range c.stack.cfg.Announce {
		if a.Port() == local.Port() && (a.Addr() == local.Addr() || !a.Addr().IsValid()) {
			return true
		}
	}
	return false
}
