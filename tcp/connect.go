package tcp

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/cc"
	"github.com/mptcp-go/mptcp/wire"
)

// DialConfig configures an active open.
type DialConfig struct {
	// Local is the local address and port. An invalid or unspecified
	// address takes the stack's first address of the remote's family; port
	// 0 takes an ephemeral port.
	Local netip.AddrPort
	// Hooks shape the connection's segments from the SYN on.
	Hooks Hooks
	// Options override the stack's defaults for this connection.
	Options Options
	// FastOpen uses TCP Fast Open (RFC 7413), as Linux's
	// TCP_FASTOPEN_CONNECT: with a cookie for the server from an earlier
	// connection, the SYN waits for the first Write (or Connect) and
	// carries its data; without one, the SYN asks for a cookie.
	FastOpen bool
}

// Dial starts an active open to remote: the SYN leaves at the next Poll.
// The connection reports EventEstablished, or EventClosed with
// ErrConnectionRefused or ErrTimeout.
func (s *Stack) Dial(now time.Time, remote netip.AddrPort, cfg *DialConfig) (*Conn, error) {
	s.advance(now)
	if cfg == nil {
		cfg = &DialConfig{}
	}
	raddr := remote.Addr().Unmap()
	if !raddr.IsValid() || raddr.IsUnspecified() || raddr.IsMulticast() || remote.Port() == 0 {
		return nil, fmt.Errorf("%w: dial %v", ErrInvalid, remote)
	}
	remote = netip.AddrPortFrom(raddr, remote.Port())
	laddr := cfg.Local.Addr().Unmap()
	if !laddr.IsValid() || laddr.IsUnspecified() {
		laddr = netip.Addr{}
		for _, a := range s.addrs {
			if a.Is4() == raddr.Is4() {
				laddr = a
				break
			}
		}
		if !laddr.IsValid() {
			return nil, fmt.Errorf("%w: no local address for %v", ErrAddrNotAvailable, remote)
		}
	} else if !s.owns(laddr) {
		return nil, fmt.Errorf("%w: %v is not a local address", ErrAddrNotAvailable, laddr)
	}
	if laddr.Is4() != raddr.Is4() {
		return nil, fmt.Errorf("%w: %v and %v are of different families", ErrInvalid, laddr, raddr)
	}
	opts, err := cfg.Options.merge(&s.cfg.Options, false)
	if err != nil {
		return nil, err
	}
	if err := checkCC(opts.CongestionControl); err != nil {
		return nil, err
	}
	port := cfg.Local.Port()
	if port == 0 {
		if port, err = s.pickPort(laddr, remote); err != nil {
			return nil, err
		}
	}
	local := netip.AddrPortFrom(laddr, port)
	key := tuple{local, remote}
	if _, busy := s.conns[key]; busy {
		return nil, fmt.Errorf("%w: %v -> %v", ErrAddrInUse, local, remote)
	}
	if s.tw.has(key) {
		// Reusing a TIME-WAIT tuple is safe when timestamps protect the
		// new incarnation (RFC 6191), as Linux's tcp_tw_reuse.
		if s.cfg.DisableTimestamps {
			return nil, fmt.Errorf("%w: %v -> %v in TIME-WAIT", ErrAddrInUse, local, remote)
		}
		s.tw.remove(key)
		s.stats.TimeWaitRecycled++
	}
	c := s.newConn(local, remote, opts, cfg.Hooks)
	c.active = true
	c.state = StateSynSent
	c.synPending = true
	if cfg.FastOpen {
		c.fastOpenDial()
	}
	s.conns[key] = c
	s.stats.ActiveOpens++
	s.markDirty(c)
	return c, nil
}

// checkCC reports an unknown congestion control name early, at Dial or
// Listen, rather than when the handshake completes.
func checkCC(name string) error {
	if _, err := cc.New(name, cc.Params{MSS: 1460}); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// newConn returns a connection in CLOSED, with its sequence numbers and
// buffers set up.
func (s *Stack) newConn(local, remote netip.AddrPort, opts Options, hooks Hooks) *Conn {
	if hooks == nil {
		hooks = NopHooks{}
	}
	c := &Conn{
		stack:   s,
		local:   local,
		remote:  remote,
		opts:    opts,
		hooks:   hooks,
		heapIdx: -1,
	}
	c.txq.init()
	c.sb.limit = opts.SendBuffer
	c.sb.bufs, c.rb.bufs = s.bufs, s.bufs
	c.rcvBuf = opts.ReceiveBuffer
	hdr := wire.IPv4MinHeaderLen + wire.TCPMinHeaderLen
	if !local.Addr().Is4() {
		hdr = wire.IPv6HeaderLen + wire.TCPMinHeaderLen
	}
	c.advMSS = s.cfg.MTU - hdr
	if opts.MSS > 0 {
		c.advMSS = min(c.advMSS, opts.MSS)
	}
	c.sndMSS = min(c.advMSS, defaultMSS(local.Addr()))
	c.rcvMSS = min(c.advMSS, 536)
	if !s.cfg.DisableWindowScale {
		for c.rcvShift < wire.MaxWindowScale && opts.ReceiveBufferMax>>c.rcvShift > 65535 {
			c.rcvShift++
		}
	}
	c.rtt.init(s.cfg.InitialRTO, s.cfg.MinRTO, s.cfg.MaxRTO)
	c.iss = s.secret.isn(local, remote, s.now)
	c.tsOffset = s.secret.tsOffset(local, remote)
	c.sndNxt = 1 // the SYN
	c.rack.reoWndMult = 1
	return c
}

// defaultMSS is the MSS to assume when the peer sends none (RFC 9293
// section 3.7.1: 536 for IPv4, 1220 for IPv6).
func defaultMSS(a netip.Addr) int {
	if a.Is4() {
		return 536
	}
	return 1220
}

// applySYNOptions negotiates from the options of the peer's SYN or
// SYN/ACK. Window scaling, timestamps and SACK are used only when both
// sides offered them (RFC 7323, RFC 2018).
func (c *Conn) applySYNOptions(o *wire.TCPOptions) {
	s := c.stack
	peer := defaultMSS(c.local.Addr())
	if o.HasMSS && o.MSS > 0 {
		peer = int(o.MSS)
	}
	c.sndMSS = max(min(peer, c.advMSS), 64)
	if o.HasWindowScale && !s.cfg.DisableWindowScale {
		c.wsOK = true
		c.sndShift = o.WindowScale
	} else {
		c.wsOK = false
		c.sndShift, c.rcvShift = 0, 0
	}
	c.sackOK = o.SACKPermitted && !s.cfg.DisableSACK
	c.tsOK = o.HasTimestamps && !s.cfg.DisableTimestamps
	if c.tsOK {
		c.initTSRecent(o.TSVal, s.now)
	}
	if c.rcvAdvRight == 0 {
		// The window our SYN announced, unscaled.
		c.rcvAdvRight = 1 + uint64(min(c.rcvBuf, 65535))
	}
}

// payloadMSS is the payload a full segment carries: the MSS less the
// options every data segment has.
func (c *Conn) payloadMSS() int { return c.payloadAfter(c.optReserve) }

// payloadFirst is payloadMSS for the first segment of a record.
func (c *Conn) payloadFirst() int { return c.payloadAfter(c.optFirst) }

func (c *Conn) payloadAfter(reserve int) int {
	n := c.sndMSS - reserve
	if c.tsOK {
		n -= 12
	}
	return max(n, 16)
}

// ccGroup is the Group the connection's controller joins: the one its
// Options name, else the one its hooks give (CCGrouper).
func (c *Conn) ccGroup() *cc.Group {
	if c.opts.CCGroup != nil {
		return c.opts.CCGroup
	}
	if g, ok := c.hooks.(CCGrouper); ok {
		return g.CCGroup()
	}
	return nil
}

// establish enters ESTABLISHED.
func (c *Conn) establish() {
	s := c.stack
	c.fastOpenDone()
	c.state = StateEstablished
	c.synRetries = 0
	c.rtt.backoff = 0
	c.rtoAt = 0
	c.startCC()
	c.quickAcks = 16
	c.space = rcvSpace{space: min(c.rcvBuf, 10*c.advMSS), seq: c.rb.head, time: s.now}
	c.lastRecv = s.now
	if c.opts.KeepAlive.Idle > 0 {
		c.kaAt = s.now + c.opts.KeepAlive.Idle
	}
	if c.active {
		// ActiveOpens counted at Dial.
	} else {
		s.stats.PassiveOpens++
	}
	s.notify(c, EventEstablished|EventWritable)
	s.markDirty(c)
}

// startCC gives the connection its congestion control, once: at the
// handshake's end, or before it for a Fast Open server's answer
// (SendsEarly), whose window then goes on.
func (c *Conn) startCC() {
	if c.cc != nil {
		return
	}
	s := c.stack
	group := c.ccGroup()
	ctl, err := cc.New(c.opts.CongestionControl, cc.Params{
		MSS:    c.payloadMSS(),
		Pacing: !s.cfg.DisablePacing,
		Group:  group,
	})
	if err != nil {
		// Checked at Dial and Listen; fall back rather than fail.
		ctl, _ = cc.New(cc.Default, cc.Params{MSS: c.payloadMSS(), Pacing: !s.cfg.DisablePacing})
	}
	c.cc = ctl
	if err == nil {
		c.ccGroupOf = group
	}
}

// establishPassive completes a passive open on the handshake's ACK. It
// returns false, dropping the ACK as Linux does, when the listener's accept
// queue is full: the peer retransmits and we try again.
func (c *Conn) establishPassive(g *inSeg) bool {
	l := c.listener
	if l == nil || c.active || c.tfoQueued {
		c.establish()
		return true
	}
	if c.ownedByHooks() {
		l.removeHalfOpen(c)
		c.listener = nil
		c.establish()
		return true
	}
	if len(l.acceptQ) >= l.backlog {
		c.stack.stats.ListenOverflows++
		return false
	}
	l.removeHalfOpen(c)
	l.acceptQ = append(l.acceptQ, c)
	c.establish()
	l.notify()
	return true
}

// ownedByHooks reports whether the connection is handed to its hooks
// rather than queued for Accept.
func (c *Conn) ownedByHooks() bool { return c.viaHooks }

// tsval returns our timestamp clock for a time: milliseconds, offset per
// connection.
func (c *Conn) tsvalAt(t time.Duration) uint32 {
	return c.tsOffset + uint32(t/time.Millisecond)
}

// tsAge returns how long ago we sent the timestamp value v, or -1 if it
// cannot be ours.
func (c *Conn) tsAge(v uint32) time.Duration {
	d := int32(c.tsvalAt(c.stack.now) - v)
	if d < 0 {
		return -1
	}
	return time.Duration(d) * time.Millisecond
}
