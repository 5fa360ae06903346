package core

import (
	"time"

	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/tcp"
	"github.com/mptcp-go/mptcp/wire"
)

// The MP_CAPABLE handshake's completion (RFC 8684 section 3.1; the
// kernel's subflow_finish_connect on the client and
// subflow_syn_recv_sock / check_fully_established on the server): the
// keys exchanged on the SYN/ACK and the third ACK (or the first data),
// and the moment the connection is fully established.

// capableSynAckReceived handles the SYN/ACK answering our MP_CAPABLE SYN
// (client side): it carries the server's key, or the connection falls
// back to TCP.
func (sf *subflow) capableSynAckReceived(now time.Time, mp *wire.MPTCPOptions) tcp.Verdict {
	c := sf.conn
	s := c.stack
	if !sf.requestMPC {
		if sf.mpcDropped && !mp.Has(wire.SubtypeMPCapable) {
			// Plain SYNs got through where MP_CAPABLE ones did not.
			s.mib.Inc(Blackhole)
			s.bh.detected(now, sf.local.Addr(), sf.remote.Addr())
		}
		return tcp.Accept
	}
	cap := &mp.Capable
	if !mp.Has(wire.SubtypeMPCapable) || cap.Form != wire.MPCapableSYNACK || !capableUnderstood(cap) || cap.SenderKey == 0 {
		sf.requestMPC = false
		c.fallback(MPCapableFallbackSYNACK, sf)
		return tcp.Accept
	}
	s.mib.Inc(MPCapableSYNACKRX)
	s.bh.works(sf.local.Addr(), sf.remote.Addr())
	if cap.Flags&wire.MPCapableChecksum != 0 {
		c.csum = true
	}
	if cap.Flags&wire.MPCapableDenyJoinID0 != 0 {
		c.denyJoinID0 = true
	}
	c.setRemoteKey(cap.SenderKey)
	c.pmEvent(pm.Event{Kind: pm.Created})
	return tcp.Accept
}

// capableAckOption puts the MP_CAPABLE third ACK on a segment of the
// client's initial subflow while it is needed (RFC 8684 section 3.1: the
// third ACK carries both keys, and so does the first data until the peer
// shows it has them). It reports whether the option went on.
//
// Once the third ACK went out twice (once more in case it was lost) and
// the application closed with everything sent, a pure ACK carries the DSS
// with the DATA_FIN instead (the kernel stops the MP_CAPABLE ACK once its
// DATA_FIN is enabled): a peer that never sends would otherwise never
// learn of the close, and the ACK would be repeated forever.
func (sf *subflow) capableAckOption(seg *tcp.Segment, b *wire.OptionBuilder) bool {
	c := sf.conn
	if !sf.initial || !sf.active || !sf.requestMPC || c.fully || !c.remoteKnown {
		return false
	}
	want := uint64(0) // pure ACKs carry offset 0
	if seg.Kind == tcp.KindData {
		want = sf.sndSSNBase() // the first data, after what a Fast Open SYN delivered
	}
	if seg.Offset != want {
		return false
	}
	if sf.mpcAcks >= 2 && seg.Kind == tcp.KindACK && c.snd.finQueued && c.snd.unsent() == 0 {
		return false
	}
	mc := wire.MPCapable{Form: wire.MPCapableACK, Version: wire.MPTCPVersion, Flags: c.capableFlags(),
		SenderKey: c.local.key, ReceiverKey: c.remoteKey}
	if seg.Kind == tcp.KindData {
		if m, ok := sf.tx.lookup(seg.Offset); ok {
			mc.Form = wire.MPCapableData
			mc.DataLen = uint16(m.n)
			if c.csum {
				mc.HasChecksum, mc.Checksum = true, m.csum
			}
		}
	}
	if b.AddMPCapable(&mc) != nil {
		return false
	}
	if seg.Kind == tcp.KindACK {
		sf.mpcAcks++
	}
	return true
}

// capableAckReceived completes the server side of MP_CAPABLE: the first
// segment in sequence after the SYN/ACK carries the client's key (third
// ACK or first data); without it the connection falls back.
func (sf *subflow) capableAckReceived(now time.Time, seg *tcp.Segment, mp *wire.MPTCPOptions) tcp.Verdict {
	c := sf.conn
	if seg.Offset != sf.rcvSSNBase() && seg.Len > 0 {
		// Out of order before the keys: keep any 64-bit mapping, the
		// data waits in the TCP receive buffer.
		if mp.Has(wire.SubtypeDSS) && mp.DSS.HasMap && mp.DSS.DSN64 && mp.DSS.DataLen > 0 {
			sf.addMapping(now, seg, &mp.DSS)
		}
		return tcp.Accept
	}
	if !mp.Has(wire.SubtypeMPCapable) || (mp.Capable.Form != wire.MPCapableACK && mp.Capable.Form != wire.MPCapableData) ||
		!capableUnderstood(&mp.Capable) {
		// Missing, or one we do not understand, which counts as missing
		// (as on Linux, which ignores such an option).
		cause := MPCapableFallbackACK
		if seg.Len > 0 {
			// The first data after the handshake, without the keys.
			cause = MPCapableDataFallback
		}
		if !c.fallback(cause, sf) {
			sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
			return tcp.Reset
		}
		return tcp.Accept
	}
	mc := &mp.Capable
	if mc.ReceiverKey != c.local.key || mc.SenderKey == 0 {
		sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
		return tcp.Reset
	}
	c.stack.mib.Inc(MPCapableACKRX)
	if mc.Flags&wire.MPCapableChecksum != 0 {
		c.csum = true
	}
	c.setRemoteKey(mc.SenderKey)
	c.pmEvent(pm.Event{Kind: pm.Created})
	c.setFully()
	if mc.Form == wire.MPCapableData && seg.Len > 0 {
		return sf.capableData(now, seg, mc)
	}
	return tcp.Accept
}

// capableDataRepeated handles the MP_CAPABLE data form repeated by the
// client (its first data retransmitted) once the keys are known.
func (sf *subflow) capableDataRepeated(now time.Time, seg *tcp.Segment, mp *wire.MPTCPOptions) tcp.Verdict {
	if mp.Has(wire.SubtypeMPCapable) && mp.Capable.Form == wire.MPCapableData && sf.initial && !sf.active &&
		seg.Offset == sf.rcvSSNBase() && seg.Len > 0 {
		return sf.capableData(now, seg, &mp.Capable)
	}
	return tcp.Accept
}

// capableData records the implicit mapping of the client's first data,
// carried with MP_CAPABLE: it starts right after the client's IDSN.
func (sf *subflow) capableData(now time.Time, seg *tcp.Segment, mc *wire.MPCapable) tcp.Verdict {
	c := sf.conn
	m := mapping{dsn: c.remote.idsn + 1, off: sf.rcvSSNBase(), n: uint64(mc.DataLen), hasCsum: mc.HasChecksum, csum: mc.Checksum}
	c.setPeerDSN64(true) // the implicit mapping is a full one
	if err := sf.rx.add(m, seg.Offset, seg.Len); err != nil {
		return sf.badMapping(now, err)
	}
	return tcp.Accept
}

// setFully marks the MP_CAPABLE handshake complete on both sides.
func (c *Conn) setFully() {
	if c.fully {
		return
	}
	c.fully = true
	c.refreshReserve()
	if c.initialSub != nil {
		c.initialSub.fullyEstablished = true
	}
	c.pmEvent(pm.Event{Kind: pm.Established})
	if c.state == StateConnecting && c.initialSub != nil && c.initialSub.tcpEstablished {
		// The server's TCP handshake completed on a segment that did not
		// carry the keys (the first data was lost): now they are here.
		c.established()
	}
	c.markDirty()
}

// capableFlags are the flags of our MP_CAPABLE options.
func (c *Conn) capableFlags() wire.MPCapableFlags {
	f := wire.MPCapableHMACSHA256
	if c.csum {
		f |= wire.MPCapableChecksum
	}
	if c.server && c.stack.cfg.DenyJoinInitial {
		f |= wire.MPCapableDenyJoinID0
	}
	return f
}

// capableUnderstood reports whether an MP_CAPABLE is one this stack
// implements: version 1, HMAC-SHA256 (H), and not the extensibility flag
// (B): "If receiving a message with the 'B' flag set to 1 and this is not
// understood, then the MP_CAPABLE in this SYN MUST be silently ignored,
// which triggers a fallback to regular TCP" (RFC 8684 section 3.1). The
// same holds for the SYN/ACK and the third ACK, as on Linux.
func capableUnderstood(mc *wire.MPCapable) bool {
	return mc.Version == wire.MPTCPVersion && mc.Flags&wire.MPCapableHMACSHA256 != 0 &&
		mc.Flags&wire.MPCapableExtensibility == 0
}
