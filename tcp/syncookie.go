package tcp

import (
	"errors"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// SYN cookies (RFC 4987 section 3.6) let a listener whose half-open queue
// is full answer SYNs without keeping state: the SYN/ACK's ISN encodes a
// keyed hash of the 4-tuple, a coarse clock and an index into an MSS table,
// and the ACK completing the handshake proves the round trip. As Linux
// does, window scale and SACK-permitted ride in the low bits of our
// timestamp when the SYN offered timestamps; without them the connection
// does without.

// cookieMSS are the MSS values a cookie can encode (Linux's msstab).
var cookieMSS = [...]uint16{536, 1300, 1440, 1460}

const (
	cookiePeriod   = 64 * time.Second // the clock's tick
	cookieMaxAge   = 2                // ticks a cookie stays valid
	cookieTSBits   = 6
	cookieTSMask   = 1<<cookieTSBits - 1
	cookieNoWScale = 0xf
	cookieSACKBit  = 0x10
	cookieRecent   = 2 * time.Minute // accept cookie ACKs this long after sending one
)

func (s *Stack) cookiesActive() bool {
	return !s.cfg.DisableSYNCookies && s.cookieRecent != 0 && s.now-s.cookieRecent < cookieRecent
}

// cookieHash returns the keyed hash of the 4-tuple for tick count (or
// without the count when count is ^0).
func (s *Stack) cookieHash(local, remote netip.AddrPort, salt uint32) uint32 {
	return uint32(s.secret.hashTuple(local, remote, salt))
}

// makeCookie returns the ISN for a cookie SYN/ACK.
func (s *Stack) makeCookie(local, remote netip.AddrPort, clientISN uint32, mssIdx int) uint32 {
	count := uint32(s.now / cookiePeriod)
	h1 := s.cookieHash(local, remote, saltCookie1)
	h2 := s.cookieHash(local, remote, saltCookie2^count<<8)
	return h1 + clientISN + count<<24 + (h2+uint32(mssIdx))&0xffffff
}

// checkCookie validates the cookie an ACK returns and gives back its MSS
// index, or -1.
func (s *Stack) checkCookie(local, remote netip.AddrPort, seq, ack uint32) int {
	cookie, clientISN := ack-1, seq-1
	count := uint32(s.now / cookiePeriod)
	diff := cookie - s.cookieHash(local, remote, saltCookie1) - clientISN
	c := diff >> 24
	if (count-c)&0xff > cookieMaxAge {
		return -1
	}
	// Recover the full tick count from its low 8 bits.
	full := count - (count-c)&0xff
	idx := (diff - s.cookieHash(local, remote, saltCookie2^full<<8)) & 0xffffff
	if idx >= uint32(len(cookieMSS)) {
		return -1
	}
	return int(idx)
}

// sendCookie answers a SYN with a cookie SYN/ACK and keeps nothing.
func (l *Listener) sendCookie(g *inSeg) {
	s := l.stack
	o := g.opts
	peerMSS := defaultMSS(g.local.Addr())
	if o.HasMSS && o.MSS > 0 {
		peerMSS = int(o.MSS)
	}
	idx := 0
	for i, m := range cookieMSS {
		if int(m) <= peerMSS {
			idx = i
		}
	}
	iss := s.makeCookie(g.local, g.remote, g.seq, idx)

	// Our side of the options, as a connection would offer them.
	hdr := wire.IPv4MinHeaderLen + wire.TCPMinHeaderLen
	if !g.local.Addr().Is4() {
		hdr = wire.IPv6HeaderLen + wire.TCPMinHeaderLen
	}
	advMSS := s.cfg.MTU - hdr
	if l.opts.MSS > 0 {
		advMSS = min(advMSS, l.opts.MSS)
	}
	b := &s.optb
	b.Reset()
	b.AddMSS(uint16(advMSS))
	ts := o.HasTimestamps && !s.cfg.DisableTimestamps
	if ts {
		enc := uint32(cookieNoWScale)
		if o.HasWindowScale && !s.cfg.DisableWindowScale {
			b.AddWindowScale(rcvShiftFor(l.opts.ReceiveBufferMax))
			enc = uint32(o.WindowScale)
		}
		if o.SACKPermitted && !s.cfg.DisableSACK {
			b.AddSACKPermitted()
			enc |= cookieSACKBit
		}
		clock := s.secret.tsOffset(g.local, g.remote) + uint32(s.now/time.Millisecond)
		v := clock&^cookieTSMask | enc
		if seqGT(v, clock) {
			v -= cookieTSMask + 1
		}
		b.AddTimestamps(v, o.TSVal)
	}
	if ch, ok := l.cfg.Hooks.(CookieHooks); ok {
		req := Request{Local: g.local, Remote: g.remote, Options: o}
		if h, err := ch.CookieSYN(s.nowWall, &req, b); err != nil {
			if !errors.Is(err, ErrDrop) {
				s.replyRST(g, h)
			}
			s.stats.ListenDrops++
			return
		}
	}
	f := wire.TCPFields{
		SrcPort: g.local.Port(),
		DstPort: g.remote.Port(),
		Seq:     iss,
		Ack:     g.seq + 1,
		Flags:   wire.FlagSYN | wire.FlagACK,
		Window:  uint16(min(l.opts.ReceiveBuffer, 65535)),
	}
	s.cookieRecent = s.now
	s.stats.SyncookiesSent++
	s.emit(s.buildPacket(g.local.Addr(), g.remote.Addr(), &f, b.Bytes(), nil, nil))
}

// rcvShiftFor returns the window scale announced for a buffer maximum.
func rcvShiftFor(maxBuf int) uint8 {
	var sh uint8
	for sh < wire.MaxWindowScale && maxBuf>>sh > 65535 {
		sh++
	}
	return sh
}

// cookieACK completes a handshake from a returned cookie. It reports
// false when the ACK carries no valid cookie.
func (l *Listener) cookieACK(g *inSeg) bool {
	s := l.stack
	idx := s.checkCookie(g.local, g.remote, g.seq, g.ack)
	if idx < 0 {
		s.stats.SyncookiesFailed++
		return false
	}
	if l.usesAcceptQueue() && len(l.acceptQ) >= l.backlog {
		s.stats.ListenOverflows++
		return true // dropped; the peer will retransmit
	}
	o := g.opts
	var hooks Hooks
	if l.cfg.Hooks != nil {
		req := Request{Local: g.local, Remote: g.remote, Options: o, Cookie: true}
		h, err := l.cfg.Hooks.SYN(s.nowWall, &req)
		if err != nil {
			s.replyRST(g, h)
			return true
		}
		hooks = h
	}
	s.stats.SyncookiesRecv++
	c := s.newConn(g.local, g.remote, l.opts, hooks)
	c.viaHooks = hooks != nil
	c.iss = g.ack - 1
	c.irs = g.seq - 1
	c.sndUna, c.sndNxt = 1, 1
	c.sndMSS = max(min(int(cookieMSS[idx]), c.advMSS), 64)
	c.tsOK = o.HasTimestamps && !s.cfg.DisableTimestamps
	c.wsOK, c.sackOK = false, false
	c.sndShift, c.rcvShift = 0, 0
	if c.tsOK {
		enc := o.TSEcr & cookieTSMask
		if ws := enc & 0xf; ws != cookieNoWScale {
			c.wsOK = true
			c.sndShift = uint8(min(ws, wire.MaxWindowScale))
			c.rcvShift = rcvShiftFor(l.opts.ReceiveBufferMax)
		}
		c.sackOK = enc&cookieSACKBit != 0
		c.initTSRecent(o.TSVal, s.now)
	}
	c.rcvAdvRight = 1 + uint64(min(l.opts.ReceiveBuffer, 65535))
	c.state = StateSynReceived
	c.synRetries = 1 // no RTT sample from a SYN/ACK we did not time
	c.listener = l
	l.halfOpen = append(l.halfOpen, c)
	s.conns[tuple{g.local, g.remote}] = c
	c.input(g)
	s.reschedule(c)
	return true
}

// cookieSupersedes completes the handshake from a SYN cookie when an ACK
// reaching a half-open connection acknowledges, instead of its SYN/ACK, a
// cookie SYN/ACK sent for an earlier copy of the same SYN: the half-open
// queue was full when the SYN first came and had room when it was
// retransmitted, and the peer took the cookie's SYN/ACK, which arrived
// first. The half-open connection gives way, as Linux's listener checks
// the cookie of an ACK that does not match its request socket
// (tcp_check_req hands the segment back to it). It reports false, the
// half-open connection left as it was, when the ACK carries no valid
// cookie, or when the half-open connection took Fast Open data, which
// must not be dropped.
func (c *Conn) cookieSupersedes(g *inSeg) bool {
	s := c.stack
	l := c.listener
	if c.active || l == nil || l.closed || c.tfoQueued || c.rb.nxt > 0 || g.has(wire.FlagSYN) ||
		!s.cookiesActive() || s.checkCookie(g.local, g.remote, g.seq, g.ack) < 0 {
		return false
	}
	c.close(ErrConnectionAborted)
	return l.cookieACK(g)
}
