package core

import (
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/tcp"
	"github.com/mptcp-go/mptcp/wire"
)

// The MP_JOIN handshake (RFC 8684 section 3.2; the kernel's
// subflow_check_req, subflow_finish_connect and subflow_hmac_valid): a
// SYN naming the connection by token, a SYN/ACK and a third ACK each
// proving knowledge of both keys by an HMAC over both nonces, and a
// fourth ACK after which the initiator may send data. Every HMAC of the
// handshake is computed and checked here.

// joinRefused makes the TCP engine answer a join with a RST.
type joinRefused struct{ reason wire.MPTCPRstReason }

func (e joinRefused) Error() string { return "mptcp: join refused: " + e.reason.String() }

// joinRequest handles an MP_JOIN SYN (listener side): it finds the
// connection by token, admits the new path or refuses it, and prepares
// the SYN/ACK's truncated HMAC.
func (s *Stack) joinRequest(now time.Time, req *tcp.Request, l *Listener) (tcp.Hooks, error) {
	c, refusal, err := s.admitJoin(now, req)
	if c == nil {
		return refusal, err
	}
	return c.joinSubflow(req, s.newJoinState(&req.Options.MPTCP.Join)), nil
}

// admitJoin finds the connection an MP_JOIN SYN names and admits the new
// path, or returns the hooks and error that refuse it with a RST.
func (s *Stack) admitJoin(now time.Time, req *tcp.Request) (*Conn, tcp.Hooks, error) {
	j := &req.Options.MPTCP.Join
	s.mib.Inc(MPJoinSynRx)
	if j.Backup {
		s.mib.Inc(MPJoinSynBackupRx)
	}
	refuse := func(r wire.MPTCPRstReason) (*Conn, tcp.Hooks, error) {
		return nil, &rstHooks{reason: r, mib: &s.mib}, joinRefused{r}
	}
	c := s.connByToken(j.Token)
	if c == nil {
		s.mib.Inc(MPJoinNoTokenFound)
		return refuse(wire.MPTCPRstReasonMPTCPError)
	}
	refused := func(err error) {
		c.pmEvent(pm.Event{Kind: pm.JoinRefused, Subflow: pm.SubflowInfo{Local: req.Local, Remote: req.Remote,
			RemoteID: j.AddrID, Backup: j.Backup}, Err: err})
	}
	if err := c.canAcceptJoin(req.Local); err != nil {
		s.mib.Inc(MPJoinRejected)
		refused(err)
		return refuse(wire.MPTCPRstReasonAdminProhibited)
	}
	if req.Local.Port() != c.initialLocal.Port() {
		if !c.announcedPort(req.Local) {
			s.mib.Inc(MismatchPortSynRx)
			refused(pm.ErrClosed)
			return refuse(wire.MPTCPRstReasonAdminProhibited)
		}
		s.mib.Inc(MPJoinPortSynRx)
	}
	if a, ok := c.pm.(pm.JoinAdmitter); ok {
		if err := a.AdmitJoin(now, pmView{c}, req.Local, req.Remote, j.Backup); err != nil {
			s.mib.Inc(MPJoinRejected)
			return refuse(wire.MPTCPRstReasonAdminProhibited)
		}
	}
	return c, nil, nil
}

// joinState is what the listener side of a join learns from the SYN and
// chooses for the SYN/ACK: kept in the subflow, or, for a join answered
// with a SYN cookie, in the stack's join-cookie table until the third
// ACK returns.
type joinState struct {
	remoteID                uint8
	remoteNonce, localNonce uint32
	peerBackup              bool
}

// newJoinState takes what a join SYN says and draws the listener's nonce.
func (s *Stack) newJoinState(j *wire.MPJoin) joinState {
	return joinState{remoteID: j.AddrID, remoteNonce: j.Nonce, peerBackup: j.Backup, localNonce: nonce32(s.rand)}
}

// joinSynAck is the MP_JOIN of the SYN/ACK answering a join to local:
// our address ID and backup flag, our nonce and the truncated HMAC over
// both nonces.
func (c *Conn) joinSynAck(local netip.Addr, js joinState) wire.MPJoin {
	return wire.MPJoin{Form: wire.MPJoinSYNACK, Backup: c.localBackup(local), AddrID: c.localIDFor(local),
		Nonce: js.localNonce, TruncatedHMAC: wire.JoinSynAckHMAC(c.local.key, c.remoteKey, js.localNonce, js.remoteNonce)}
}

// joinSubflow makes the listener side of a join admitted on req.
func (c *Conn) joinSubflow(req *tcp.Request, js joinState) *subflow {
	sa := c.joinSynAck(req.Local.Addr(), js)
	sf := c.newSubflow(false, false)
	sf.remoteID = js.remoteID
	sf.remoteNonce = js.remoteNonce
	sf.peerBackup = js.peerBackup
	sf.localNonce = js.localNonce
	sf.localID, sf.backup, sf.joinTHMAC = sa.AddrID, sa.Backup, sa.TruncatedHMAC
	sf.local, sf.remote = req.Local, req.Remote
	return sf
}

// joinSynAckReceived handles the SYN/ACK answering our MP_JOIN SYN
// (initiator side): its truncated HMAC must prove the peer knows both
// keys; then the full HMAC of our third ACK is computed.
func (sf *subflow) joinSynAckReceived(mp *wire.MPTCPOptions) tcp.Verdict {
	c := sf.conn
	s := c.stack
	if !mp.Has(wire.SubtypeMPJoin) || mp.Join.Form != wire.MPJoinSYNACK {
		sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
		return tcp.Reset
	}
	j := &mp.Join
	if wire.JoinSynAckHMAC(c.remoteKey, c.local.key, j.Nonce, sf.localNonce) != j.TruncatedHMAC {
		s.mib.Inc(MPJoinSynAckHMacFailure)
		sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
		return tcp.Reset
	}
	s.mib.Inc(MPJoinSynAckRx)
	if j.Backup {
		s.mib.Inc(MPJoinSynAckBackupRx)
	}
	if sf.remote.Port() != c.initialRemote.Port() {
		s.mib.Inc(MPJoinPortSynAckRx)
	}
	sf.remoteNonce = j.Nonce
	sf.remoteID = j.AddrID
	sf.peerBackup = j.Backup
	sf.joinHMAC = wire.JoinAckHMAC(c.local.key, c.remoteKey, sf.localNonce, sf.remoteNonce)
	return tcp.Accept
}

// joinSynAckOption puts MP_JOIN on the SYN/ACK answering a join.
func (sf *subflow) joinSynAckOption(b *wire.OptionBuilder) {
	_ = b.AddMPJoin(&wire.MPJoin{Form: wire.MPJoinSYNACK, Backup: sf.backup, AddrID: sf.localID,
		TruncatedHMAC: sf.joinTHMAC, Nonce: sf.localNonce})
}

// joinAckOption puts the MP_JOIN third ACK, with the initiator's HMAC, on
// a pure ACK until the fourth ACK arrives. It reports whether it did.
func (sf *subflow) joinAckOption(seg *tcp.Segment, b *wire.OptionBuilder) bool {
	if !sf.join || !sf.active || sf.fullyEstablished || seg.Offset != 0 || seg.Kind != tcp.KindACK {
		return false
	}
	_ = b.AddMPJoin(&wire.MPJoin{Form: wire.MPJoinACK, HMAC: sf.joinHMAC})
	return true
}

// joinAckReceived completes the listener side of a join: the third ACK
// must carry the initiator's HMAC (RFC 8684 section 3.2); then the
// fourth ACK tells the initiator it may send.
func (sf *subflow) joinAckReceived(seg *tcp.Segment, mp *wire.MPTCPOptions) tcp.Verdict {
	c := sf.conn
	s := c.stack
	if !mp.Has(wire.SubtypeMPJoin) || mp.Join.Form != wire.MPJoinACK {
		// No third ACK, or a data segment before the fourth ACK: a
		// protocol violation (the kernel resets too).
		sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonMPTCPError
		return tcp.Reset
	}
	want := wire.JoinAckHMAC(c.remoteKey, c.local.key, sf.remoteNonce, sf.localNonce)
	if want != mp.Join.HMAC {
		s.mib.Inc(MPJoinAckHMacFailure)
		sf.rstSet, sf.rstReason = true, wire.MPTCPRstReasonAdminProhibited
		return tcp.Reset
	}
	s.mib.Inc(MPJoinAckRx)
	if sf.local.Port() != c.initialLocal.Port() {
		s.mib.Inc(MPJoinPortAckRx)
	}
	sf.fullyEstablished = true
	if sf.tcpEstablished {
		sf.sendACK()
		sf.subEstablished()
	}
	return tcp.Accept
}

// fourthAckReceived completes the initiator side of a join: the first
// DATA_ACK after the third ACK is the fourth ACK.
func (sf *subflow) fourthAckReceived() {
	if sf.join && sf.active && !sf.fullyEstablished && sf.tcpEstablished {
		sf.fullyEstablished = true
		sf.subEstablished()
		sf.conn.markDirty()
	}
}

// joinAckPending reports whether the initiator still waits for the
// fourth ACK, repeating its third ACK meanwhile.
func (sf *subflow) joinAckPending() bool {
	return sf.join && sf.active && sf.tcpEstablished && !sf.fullyEstablished && !sf.closed
}

// joinAckTimer repeats the third ACK, with backoff, until the fourth ACK
// arrives (the kernel's mptcp_reset_tout_timer for MPTCP_ACK_TIMEOUT).
func (sf *subflow) joinAckTimer(now time.Time) {
	if sf.joinAckPending() && !sf.thirdAckAt.IsZero() && !now.Before(sf.thirdAckAt) {
		sf.sendACK()
		sf.thirdAckRTO = min(2*sf.thirdAckRTO, 30*time.Second)
		sf.thirdAckAt = now.Add(sf.thirdAckRTO)
		sf.conn.markDirty()
	}
}
