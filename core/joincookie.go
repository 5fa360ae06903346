package core

import (
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/tcp"
	"github.com/mptcp-go/mptcp/wire"
)

// Joins through SYN cookies. A SYN cookie holds a few bits of the SYN, not
// the join's nonces, so a join SYN answered with a cookie while the
// listener's half-open queue is full keeps its state here until the third
// ACK brings the cookie back, as Linux keeps it in its join_entries table
// (net/mptcp/syncookies.c). The table is bounded, and an entry lives no
// longer than a handshake may take: a flood of join SYNs fills it and then
// gets the answer joins got before, a dropped SYN its sender repeats.

// maxJoinCookies bounds the join-cookie table (Linux's holds 1024).
const maxJoinCookies = 1024

// joinCookieKey names a join by its four-tuple.
type joinCookieKey struct{ local, remote netip.AddrPort }

// joinCookie is a join answered with a cookie.
type joinCookie struct {
	token   uint32
	state   joinState
	expires time.Time
}

// joinCookieSYN answers a join SYN with a cookie SYN/ACK carrying
// MP_JOIN, keeping the join's state for its third ACK. A SYN naming no
// connection, or one the connection refuses, is refused with a RST as
// without cookies.
func (s *Stack) joinCookieSYN(now time.Time, req *tcp.Request, b *wire.OptionBuilder) (tcp.Hooks, error) {
	c, refusal, err := s.admitJoin(now, req)
	if c == nil {
		return refusal, err
	}
	key := joinCookieKey{req.Local, req.Remote}
	if _, ok := s.joinCookies[key]; !ok && !s.roomForJoinCookie(now) {
		s.mib.Inc(MPJoinCookieDrop)
		return nil, tcp.ErrDrop // repeated by its sender
	}
	j := &req.Options.MPTCP.Join
	js := s.newJoinState(j)
	if s.joinCookies == nil {
		s.joinCookies = make(map[joinCookieKey]joinCookie)
	}
	s.joinCookies[key] = joinCookie{token: j.Token, state: js, expires: now.Add(handshakeTimeout)}
	sa := c.joinSynAck(req.Local.Addr(), js)
	_ = b.AddMPJoin(&sa)
	return nil, nil
}

// roomForJoinCookie makes room in the table by forgetting expired
// entries, and reports whether there is room.
func (s *Stack) roomForJoinCookie(now time.Time) bool {
	if len(s.joinCookies) < maxJoinCookies {
		return true
	}
	for k, jc := range s.joinCookies {
		if !now.Before(jc.expires) {
			delete(s.joinCookies, k)
		}
	}
	return len(s.joinCookies) < maxJoinCookies
}

// joinCookieACK completes a join whose cookie came back: its state is
// taken from the table, and the third ACK's HMAC is then checked as for
// any join (joinAckReceived). A cookie ACK for a join the table does not
// hold (expired, or never answered by us), or whose connection closed
// meanwhile, is refused with a RST.
func (s *Stack) joinCookieACK(now time.Time, req *tcp.Request) (tcp.Hooks, error) {
	key := joinCookieKey{req.Local, req.Remote}
	jc, ok := s.joinCookies[key]
	delete(s.joinCookies, key)
	var c *Conn
	if ok && now.Before(jc.expires) {
		c = s.connByToken(jc.token)
	}
	refuse := func(r wire.MPTCPRstReason) (tcp.Hooks, error) {
		return &rstHooks{reason: r, mib: &s.mib}, joinRefused{r}
	}
	if c == nil || c.state == StateClosed {
		s.mib.Inc(MPJoinCookieInvalid)
		return refuse(wire.MPTCPRstReasonMPTCPError)
	}
	// The limits held at the SYN; other joins may have completed since.
	if !c.joinLimitsHold(now, req, jc.state.peerBackup) {
		s.mib.Inc(MPJoinRejected)
		return refuse(wire.MPTCPRstReasonAdminProhibited)
	}
	s.mib.Inc(MPJoinSYNCookie)
	return c.joinSubflow(req, jc.state), nil
}

// joinLimitsHold reports whether the connection's subflow limits and its
// path manager still admit a join on req's path.
func (c *Conn) joinLimitsHold(now time.Time, req *tcp.Request, backup bool) bool {
	if c.canAcceptJoin(req.Local) != nil {
		return false
	}
	a, ok := c.pm.(pm.JoinAdmitter)
	return !ok || a.AdmitJoin(now, pmView{c}, req.Local, req.Remote, backup) == nil
}
