package core

import (
	"github.com/mptcp-go/mptcp/pm"
)

// Fallback to TCP (RFC 8684 section 3.7). A connection falls back when
// MPTCP cannot work on its path: the SYN/ACK or the third ACK lacks
// MP_CAPABLE, MP_CAPABLE SYNs go unanswered, a middlebox strips the
// options or changes the payload. After it the connection is the TCP
// connection of its one subflow: bytes map one to one onto the data
// stream, no MPTCP option is sent, FIN stands for DATA_FIN. Each cause is
// counted under its kernel counter.
//
// A connection may fall back only while data-sequence state is implied by
// its single subflow's: no other subflow has existed, and no data was
// sent twice at data level (the kernel's allow_infinite_fallback).
// Otherwise the offending subflow is reset instead (FallbackFailed).

// fallbackAllowed reports whether the connection may still fall back.
func (c *Conn) fallbackAllowed() bool {
	if c.fallen {
		return true
	}
	return !c.joinedEver && !c.reinjected && len(c.subflows) <= 1
}

// earlyFallback makes a connection that has not started MPTCP plain TCP
// (MPTCP disabled, blackholed path, plain client, no token); nothing is
// counted beyond what the caller counted.
func (c *Conn) earlyFallback() {
	c.fallen = true
	c.fbTx = linearMap{off0: 0, dsn0: c.snd.una}
	c.fbTxSet = true
}

// fallback switches the connection to TCP because of cause, counted in
// the MIB. It reports false, counting FallbackFailed, if the connection
// may no longer fall back.
func (c *Conn) fallback(cause Counter, sf *subflow) bool {
	if c.fallen {
		return true
	}
	if !c.fallbackAllowed() || (sf != nil && !sf.initial) {
		c.stack.mib.Inc(FallbackFailed)
		return false
	}
	c.fallen = true
	c.fallbackCause = cause
	c.stack.mib.Inc(cause)
	if c.state == StateEstablished && c.fully {
		c.stack.mib.Dec(MPCurrEstab)
	}
	// Bytes sent on the subflow so far were mapped one after the other
	// (one subflow, nothing sent twice), so the first mapping gives the
	// linear relation for all of them.
	if sf != nil && len(sf.tx.m) > 0 {
		m := sf.tx.m[0]
		c.fbTx = linearMap{off0: m.off, dsn0: m.dsn}
	} else if sf != nil && sf.tc != nil {
		c.fbTx = linearMap{off0: sf.tc.SendOffset(), dsn0: c.snd.nxt}
	} else {
		c.fbTx = linearMap{off0: 0, dsn0: c.snd.una}
	}
	c.fbTxSet = true
	c.afterFallback(sf)
	return true
}

// fallbackInfinite completes the fallback that an infinite mapping from
// the peer announced.
func (c *Conn) fallbackInfinite(sf *subflow) {
	if c.fallen {
		return
	}
	c.fallen = true
	c.fallbackCause = InfiniteMapRx
	if c.state == StateEstablished && c.fully {
		c.stack.mib.Dec(MPCurrEstab)
	}
	if len(sf.tx.m) > 0 {
		m := sf.tx.m[0]
		c.fbTx = linearMap{off0: m.off, dsn0: m.dsn}
	} else {
		c.fbTx = linearMap{off0: sf.tc.SendOffset(), dsn0: c.snd.nxt}
	}
	c.fbTxSet = true
	c.afterFallback(sf)
}

// afterFallback drops every subflow but sf, withdraws pending signals and
// tells the path manager.
func (c *Conn) afterFallback(sf *subflow) {
	for _, o := range append([]*subflow(nil), c.subflows...) {
		if o != sf {
			o.abort()
		}
	}
	c.announced, c.echoQ, c.rmQ, c.reinjectQ = nil, nil, nil, nil
	c.pmEvent(pm.Event{Kind: pm.FellBack})
	c.markDirty()
}
