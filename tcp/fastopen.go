package tcp

import (
	"encoding/binary"
	"net/netip"

	"github.com/mptcp-go/mptcp/wire"
)

// TCP Fast Open (RFC 7413) lets a client that holds a cookie from an
// earlier connection to the same server carry data in its SYN, which the
// server delivers at once when the cookie proves the client owns its
// address: the request leaves a round trip earlier.
//
// Client (DialConfig.FastOpen, as Linux's TCP_FASTOPEN_CONNECT): without a
// cookie for the server the SYN carries an empty Fast Open option, a
// cookie request, and the SYN/ACK's cookie is cached by server address.
// With one, the SYN waits for the first Write (or Connect) and carries the
// cookie and as much of the written data as one segment holds. The
// SYN/ACK says how much of it the server took; the rest is sent again
// after the handshake, as are all of it when the SYN had to be
// retransmitted (a retransmitted SYN carries no data, as Linux's).
//
// Server (ListenConfig.FastOpenQueue, as Linux's TCP_FASTOPEN): a cookie is
// a keyed MAC (SipHash-2-4) of the client's and the server's addresses
// under the stack's Fast Open key, which SetFastOpenKey rotates (cookies
// made with the previous key still validate). A SYN with a valid cookie has
// its data acknowledged in the SYN/ACK, and the connection is queued for
// Accept at once, its data readable, while at most FastOpenQueue such
// connections wait for their handshake to complete. What the application
// writes meanwhile leaves right after the SYN/ACK (RFC 7413 section
// 4.2.2; SendsEarly), within the SYN's window and the initial congestion
// window, and the handshake's ACK may acknowledge part of it. A request,
// or a wrong cookie, gets a fresh cookie in the SYN/ACK and the data, if
// any, is left for the client to send again.

// FastOpenKey is the secret behind a server's Fast Open cookies, as
// Linux's net.ipv4.tcp_fastopen_key.
type FastOpenKey [16]byte

// fastOpenCookieLen is the length of the cookies this stack makes (Linux's
// TCP_FASTOPEN_COOKIE_SIZE).
const fastOpenCookieLen = 8

// Defaults for Fast Open.
const (
	defaultFastOpenCache = 1024 // cached cookies, as Linux's tcp_metrics is bounded
)

// fastOpenCookie is a cookie as kept by the client, with the MSS the
// server announced (to size the next SYN's data).
type fastOpenCookie struct {
	b   [wire.MaxFastOpenCookie]byte
	n   int
	mss int
}

// fastOpenCache is the client's cookie cache, keyed by server address and
// bounded: the oldest entry goes first (a FIFO, so that eviction is
// deterministic).
type fastOpenCache struct {
	m     map[netip.Addr]*fastOpenCookie
	order []netip.Addr
	max   int
}

func (fc *fastOpenCache) get(a netip.Addr) *fastOpenCookie { return fc.m[a] }

// put stores a cookie for server a.
func (fc *fastOpenCache) put(a netip.Addr, cookie []byte, mss int) {
	if fc.m == nil {
		fc.m = make(map[netip.Addr]*fastOpenCookie)
	}
	e := fc.m[a]
	if e == nil {
		if len(fc.order) >= fc.max {
			delete(fc.m, fc.order[0])
			fc.order = fc.order[1:]
		}
		e = &fastOpenCookie{}
		fc.m[a] = e
		fc.order = append(fc.order, a)
	}
	e.n = copy(e.b[:], cookie)
	if mss > 0 {
		e.mss = mss
	}
}

// fastOpenKeys are the server's current and previous cookie keys.
type fastOpenKeys struct {
	primary, backup secretKey
	hasBackup       bool
}

// cookie returns the cookie of a client address towards a server address
// under key k.
func (k secretKey) fastOpenCookie(client, server netip.Addr) [fastOpenCookieLen]byte {
	var b [32]byte
	c, s := client.As16(), server.As16()
	copy(b[:16], c[:])
	copy(b[16:], s[:])
	var out [fastOpenCookieLen]byte
	binary.BigEndian.PutUint64(out[:], sipHash24(k.k0, k.k1, b[:]))
	return out
}

// SetFastOpenKey makes key the stack's Fast Open cookie key. The previous
// key stays valid for validation (not for new cookies) until the next
// call, so clients holding cookies made with it keep their 0-RTT while the
// key rotates.
func (s *Stack) SetFastOpenKey(key FastOpenKey) {
	s.tfoKeys.backup, s.tfoKeys.hasBackup = s.tfoKeys.primary, true
	s.tfoKeys.primary = secretKey{binary.LittleEndian.Uint64(key[:8]), binary.LittleEndian.Uint64(key[8:])}
}

// FastOpenCookie returns the cookie the stack holds for server address a,
// or nil.
func (s *Stack) FastOpenCookie(a netip.Addr) []byte {
	if e := s.tfoCache.get(a.Unmap()); e != nil {
		return append([]byte(nil), e.b[:e.n]...)
	}
	return nil
}

// checkCookie validates a client's cookie: 1 for the primary key, 2 for
// the previous one, 0 for neither.
func (ks *fastOpenKeys) check(client, server netip.Addr, cookie []byte) int {
	if len(cookie) != fastOpenCookieLen {
		return 0
	}
	if want := ks.primary.fastOpenCookie(client, server); string(want[:]) == string(cookie) {
		return 1
	}
	if ks.hasBackup {
		if want := ks.backup.fastOpenCookie(client, server); string(want[:]) == string(cookie) {
			return 2
		}
	}
	return 0
}

// fastOpenSYN decides a listener's answer to the Fast Open option of SYN g
// for the new connection c: whether the SYN's data is taken, and whether
// the SYN/ACK carries a cookie. It reports whether the data was taken.
func (l *Listener) fastOpenSYN(c *Conn, g *inSeg) bool {
	s := l.stack
	o := g.opts
	if l.cfg.FastOpenQueue <= 0 || !o.FastOpen {
		return false
	}
	client, server := g.remote.Addr(), g.local.Addr()
	if o.FastOpenCookieLen == 0 {
		s.stats.FastOpenCookieReqd++
		c.tfoCookie = true
		return false
	}
	which := s.tfoKeys.check(client, server, o.FastOpenCookie[:o.FastOpenCookieLen])
	switch {
	case which == 0:
		// A wrong cookie: a fresh one, and the data waits for the
		// handshake (RFC 7413 section 4.2.2).
		s.stats.FastOpenPassiveFail++
		c.tfoCookie = true
		return false
	case which == 2:
		// Made with the previous key: valid, and the client gets one
		// made with the current key.
		s.stats.FastOpenPassiveAltKey++
		c.tfoCookie = true
	}
	if len(g.payload) == 0 {
		return false
	}
	if l.tfoPending >= l.cfg.FastOpenQueue {
		// Linux's max_qlen: too many Fast Open connections wait for their
		// handshake. The SYN is answered as if it carried no data.
		s.stats.FastOpenListenOverflow++
		return false
	}
	c.rb.write(0, g.payload)
	c.stats.BytesReceived += uint64(len(g.payload))
	c.stats.DataSegsIn++
	c.tfoAcked = len(g.payload)
	// The answer may leave before the handshake completes (SendsEarly),
	// within the window the SYN offered (never scaled).
	c.sndWnd = uint64(g.wnd)
	c.maxSndWnd = c.sndWnd
	c.tfoListener = l
	l.tfoPending++
	s.stats.FastOpenPassive++
	return true
}

// fastOpenDone ends the count of a passive Fast Open connection in its
// listener's queue: its handshake completed or it closed.
func (c *Conn) fastOpenDone() {
	if c.tfoListener != nil {
		c.tfoListener.tfoPending--
		c.tfoListener = nil
	}
}

// fastOpenDial prepares an active open with Fast Open: with a cookie for
// the server, the SYN waits for data; without, it asks for one.
func (c *Conn) fastOpenDial() {
	c.tfoActive = true
	e := c.stack.tfoCache.get(c.remote.Addr())
	if e == nil {
		return
	}
	c.tfoHaveCookie = true
	if e.mss > 0 {
		c.sndMSS = min(c.advMSS, e.mss)
	}
	c.synPending = false // the first Write, or Connect, sends it
}

// Connect sends the SYN of a connection dialled with Fast Open that waits
// for its first Write, without data. It does nothing otherwise.
func (c *Conn) Connect() {
	if c.state == StateSynSent && !c.synPending && c.synAt == 0 {
		c.synPending = true
		c.stack.markDirty(c)
	}
}

// fastOpenSYNData returns how many written bytes the first SYN carries.
func (c *Conn) fastOpenSYNData() int {
	if !c.tfoHaveCookie || c.synRetries > 0 || c.state != StateSynSent {
		return 0
	}
	// Room for the data beside the largest SYN options, so that the
	// segment fits the path whatever the layer above adds.
	return max(0, min(int(c.sb.tail), c.sndMSS-wire.MaxOptionLen))
}

// fastOpenOption adds the SYN's or SYN/ACK's Fast Open option, if any.
func (c *Conn) fastOpenOption(seg *Segment, b *wire.OptionBuilder) {
	s := c.stack
	switch {
	case seg.Kind == KindSYN && c.tfoActive:
		if e := s.tfoCache.get(c.remote.Addr()); e != nil && c.synRetries == 0 {
			b.AddFastOpen(e.b[:e.n])
		} else if e == nil {
			b.AddFastOpen(nil)
		}
	case seg.Kind == KindSYNACK && c.tfoCookie:
		ck := s.tfoKeys.primary.fastOpenCookie(c.remote.Addr(), c.local.Addr())
		b.AddFastOpen(ck[:])
	}
}

// fastOpenSynAck handles the SYN/ACK answering a Fast Open SYN, which
// acknowledged acked bytes of its data: the cookie it carries is kept,
// and the data it did not take is sent again after the handshake.
func (c *Conn) fastOpenSynAck(g *inSeg, acked uint64) {
	s := c.stack
	o := g.opts
	if !c.tfoActive {
		return
	}
	if o.FastOpen && o.FastOpenCookieLen > 0 {
		mss := 0
		if o.HasMSS {
			mss = int(o.MSS)
		}
		s.tfoCache.put(c.remote.Addr(), o.FastOpenCookie[:o.FastOpenCookieLen], mss)
	}
	sent := uint64(c.tfoSYNData)
	if sent == 0 {
		return
	}
	acked = min(acked, sent)
	if acked == sent {
		s.stats.FastOpenActive++
	} else {
		s.stats.FastOpenActiveFail++
	}
	c.tfoAcked = int(acked)
	c.sb.ack(acked)
	// What the server did not take is sent again after the handshake.
	c.sndUna, c.sndNxt = 1+acked, 1+acked
}

// FastOpenSYNData returns how many bytes of the SYN's data the peer
// acknowledged in its SYN/ACK (client), or took from the SYN (server): the
// bytes that precede the stream after the handshake. An MPTCP subflow
// counts its relative sequence numbers from the byte after them (RFC 8684
// appendix B).
func (c *Conn) FastOpenSYNData() int { return c.tfoAcked }

// FastOpenRoom returns how many bytes written now would ride the SYN: the
// connection was dialled with Fast Open, holds a cookie, and its SYN waits
// for data. 0 otherwise. A layer that keeps its own stream (MPTCP) writes
// at most this much before the SYN, to know what the SYN carried.
func (c *Conn) FastOpenRoom() int {
	if !c.tfoHaveCookie || c.state != StateSynSent || c.synAt != 0 || c.synPending {
		return 0
	}
	return max(0, c.sndMSS-wire.MaxOptionLen-int(c.sb.tail))
}

// SetFastOpenQueue changes the listener's ListenConfig.FastOpenQueue.
func (l *Listener) SetFastOpenQueue(n int) { l.cfg.FastOpenQueue = max(n, 0) }
