package tcp

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// craft builds a TCP/IP packet from src to dst.
func craft(src, dst netip.AddrPort, seq, ack uint32, flags wire.TCPFlags, wnd uint16, opts func(*wire.OptionBuilder), payload []byte) []byte {
	var b wire.OptionBuilder
	if opts != nil {
		opts(&b)
	}
	f := wire.TCPFields{SrcPort: src.Port(), DstPort: dst.Port(), Seq: seq, Ack: ack, Flags: flags, Window: wnd}
	return wire.AppendTCPPacket(nil, src.Addr(), dst.Addr(), &f, b.Bytes(), payload)
}

// capture collects the packets a stack sends in one Poll.
func pollCapture(n *testNet, s *Stack) [][]byte {
	var out [][]byte
	s.Poll(n.now, func(p []byte) { out = append(out, append([]byte(nil), p...)) })
	return out
}

// established returns a connection pair with no traffic in flight, the
// network idle.
func established(t *testing.T, tweak func(*Config)) (*testNet, *Stack, *Stack, *Conn, *Conn) {
	n := newTestNet(t, time.Millisecond)
	a, b := n.pair(tweak, tweak)
	c, sc := n.connect(a, b, 80, nil)
	n.Advance(100 * time.Millisecond)
	return n, a, b, c, sc
}

// inject delivers a crafted segment from the client's side to the server
// stack b and returns what b sends in answer.
func inject(n *testNet, to *Stack, pkt []byte) [][]byte {
	to.Deliver(n.now, pkt)
	return pollCapture(n, to)
}

// tsOpt adds a timestamps option.
func tsOpt(val, ecr uint32) func(*wire.OptionBuilder) {
	return func(b *wire.OptionBuilder) { b.AddTimestamps(val, ecr) }
}

func TestRSTValidation(t *testing.T) {
	n, _, b, c, sc := established(t, nil)
	ts := tsOpt(c.tsvalAt(c.stack.now), sc.tsvalAt(b.now))
	nxt := sc.rcvWire(sc.rcvNxt())
	from, to := c.LocalAddr(), c.RemoteAddr()

	// Out of window: dropped without an answer.
	if out := inject(n, b, craft(from, to, nxt+1<<30, 0, wire.FlagRST, 0, ts, nil)); len(out) != 0 {
		t.Fatalf("out-of-window RST answered: %d packets", len(out))
	}
	// In window but not exact: a challenge ACK (RFC 5961 section 3.2).
	out := inject(n, b, craft(from, to, nxt+1000, 0, wire.FlagRST, 0, ts, nil))
	if len(out) != 1 {
		t.Fatalf("in-window RST: %d answers, want a challenge ACK", len(out))
	}
	if _, ack, f := hdr(out[0]); f != wire.FlagACK || ack != nxt {
		t.Fatalf("challenge ACK %v ack %d, want ack %d", f, ack, nxt)
	}
	if sc.State() != StateEstablished || b.Stats().ChallengeACKs != 1 {
		t.Fatalf("state %v, challenge ACKs %d", sc.State(), b.Stats().ChallengeACKs)
	}
	// Exact: the connection is reset.
	inject(n, b, craft(from, to, nxt, 0, wire.FlagRST, 0, nil, nil))
	if sc.State() != StateClosed || !errors.Is(sc.Err(), ErrConnectionReset) {
		t.Fatalf("state %v err %v", sc.State(), sc.Err())
	}
	if _, err := sc.Read(make([]byte, 10)); !errors.Is(err, ErrConnectionReset) {
		t.Fatalf("read: %v", err)
	}
}

func TestSYNInSynchronizedStateChallenged(t *testing.T) {
	n, _, b, c, sc := established(t, nil)
	from, to := c.LocalAddr(), c.RemoteAddr()
	out := inject(n, b, craft(from, to, 12345, 0, wire.FlagSYN, 65535, nil, nil))
	if len(out) != 1 {
		t.Fatalf("%d answers to SYN", len(out))
	}
	if _, _, f := hdr(out[0]); f != wire.FlagACK {
		t.Fatalf("answer %v", f)
	}
	if sc.State() != StateEstablished {
		t.Fatalf("state %v", sc.State())
	}
}

func TestChallengeACKRateLimit(t *testing.T) {
	n, _, b, c, sc := established(t, func(cfg *Config) { cfg.ChallengeACKLimit = 5 })
	nxt := sc.rcvWire(sc.rcvNxt())
	sent := 0
	for i := range 20 {
		sent += len(inject(n, b, craft(c.LocalAddr(), c.RemoteAddr(), nxt+uint32(100+i), 0, wire.FlagRST, 0, nil, nil)))
	}
	if sent != 5 || b.Stats().ChallengeLimited != 15 {
		t.Fatalf("sent %d challenge ACKs, limited %d", sent, b.Stats().ChallengeLimited)
	}
	n.Advance(1100 * time.Millisecond)
	if out := inject(n, b, craft(c.LocalAddr(), c.RemoteAddr(), nxt+500, 0, wire.FlagRST, 0, nil, nil)); len(out) != 1 {
		t.Fatal("limit not reset after a second")
	}
}

func TestACKOfUnsentDataDropped(t *testing.T) {
	n, _, b, c, sc := established(t, nil)
	nxt := sc.rcvWire(sc.rcvNxt())
	ts := tsOpt(c.tsvalAt(c.stack.now), 0)
	out := inject(n, b, craft(c.LocalAddr(), c.RemoteAddr(), nxt, sc.sndWire(sc.sndNxt)+5000, wire.FlagACK, 1000, ts, []byte("data")))
	if sc.Readable() != 0 {
		t.Fatal("data of a segment acknowledging unsent data was accepted")
	}
	if len(out) != 1 {
		t.Fatalf("%d answers", len(out))
	}
	// Too old an ACK (below SND.UNA - MAX.SND.WND) likewise.
	out = inject(n, b, craft(c.LocalAddr(), c.RemoteAddr(), nxt, sc.sndWire(sc.sndUna)-1<<30, wire.FlagACK, 1000, ts, []byte("data")))
	if sc.Readable() != 0 || len(out) != 1 {
		t.Fatalf("old ACK: readable %d, answers %d", sc.Readable(), len(out))
	}
}

func TestPAWS(t *testing.T) {
	n, _, b, c, sc := established(t, nil)
	nxt := sc.rcvWire(sc.rcvNxt())
	old := sc.tsRecent - 1000
	out := inject(n, b, craft(c.LocalAddr(), c.RemoteAddr(), nxt, sc.sndWire(sc.sndNxt), wire.FlagACK|wire.FlagPSH, 1000, tsOpt(old, 0), []byte("stale")))
	if sc.Readable() != 0 {
		t.Fatal("PAWS let an old segment in")
	}
	if len(out) != 1 || sc.Info().PAWSDrops != 1 {
		t.Fatalf("answers %d, PAWS drops %d", len(out), sc.Info().PAWSDrops)
	}
	// The same segment with a current timestamp is accepted.
	inject(n, b, craft(c.LocalAddr(), c.RemoteAddr(), nxt, sc.sndWire(sc.sndNxt), wire.FlagACK|wire.FlagPSH, 1000, tsOpt(sc.tsRecent+1, 0), []byte("fresh")))
	if sc.Readable() != 5 {
		t.Fatalf("readable %d", sc.Readable())
	}
}

func TestRSTForSegmentsToNowhere(t *testing.T) {
	n := newTestNet(t, time.Millisecond)
	_, b := n.pair(nil, nil)
	from, to := ap(addrA, 1234), ap(addrB, 9)
	// With ACK: <SEQ=SEG.ACK><CTL=RST>.
	out := inject(n, b, craft(from, to, 100, 5000, wire.FlagACK, 100, nil, []byte("abc")))
	if len(out) != 1 {
		t.Fatalf("%d answers", len(out))
	}
	seq, _, f := hdr(out[0])
	if f != wire.FlagRST || seq != 5000 {
		t.Fatalf("RST %v seq %d", f, seq)
	}
	// Without ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
	out = inject(n, b, craft(from, to, 100, 0, wire.FlagSYN|wire.FlagFIN, 100, nil, []byte("abc")))
	seq, ack, f := hdr(out[0])
	if f != wire.FlagRST|wire.FlagACK || seq != 0 || ack != 105 {
		t.Fatalf("RST %v seq %d ack %d", f, seq, ack)
	}
	// A RST is never answered.
	if out := inject(n, b, craft(from, to, 100, 0, wire.FlagRST, 0, nil, nil)); len(out) != 0 {
		t.Fatal("RST answered")
	}
	// Neither is a packet to an address the stack does not own.
	if out := inject(n, b, craft(from, ap(netip.MustParseAddr("10.9.9.9"), 9), 1, 1, wire.FlagACK, 1, nil, nil)); len(out) != 0 {
		t.Fatal("foreign packet answered")
	}
	// A bad checksum is dropped and counted.
	p := craft(from, to, 100, 5000, wire.FlagACK, 100, nil, nil)
	p[len(p)-1] ^= 0xff
	if out := inject(n, b, p); len(out) != 0 || b.Stats().InCsumErrors != 1 {
		t.Fatalf("bad checksum: %d answers, %d errors", len(out), b.Stats().InCsumErrors)
	}
}

// hdr returns a packet's sequence, acknowledgment and flags.
func hdr(p []byte) (uint32, uint32, wire.TCPFlags) {
	_, _, _, pl, _ := wire.ParseIP(p)
	t, _ := wire.ParseTCP(pl)
	return t.Seq(), t.Ack(), t.Flags()
}

func TestTimeWait(t *testing.T) {
	n := newTestNet(t, time.Millisecond)
	a, b := n.pair(nil, nil)
	c, sc := n.connect(a, b, 80, &DialConfig{Local: ap(addrA, 4000)})
	c.Close()
	n.Advance(10 * time.Millisecond)
	sc.Close()
	n.Advance(10 * time.Millisecond)
	if c.State() != StateTimeWait || sc.State() != StateClosed || a.tw.len() != 1 {
		t.Fatalf("states %v %v, tw %d", c.State(), sc.State(), a.tw.len())
	}
	e := a.tw.m[tuple{c.LocalAddr(), c.RemoteAddr()}]
	from, to := sc.LocalAddr(), sc.RemoteAddr()
	// A retransmitted FIN is acknowledged again.
	out := inject(n, a, craft(from, to, e.rcvNxt-1, e.sndNxt, wire.FlagFIN|wire.FlagACK, 100, tsOpt(e.tsRecent, 0), nil))
	if len(out) != 1 {
		t.Fatalf("%d answers to a retransmitted FIN", len(out))
	}
	if _, ack, f := hdr(out[0]); f != wire.FlagACK || ack != e.rcvNxt {
		t.Fatalf("answer %v ack %d", f, ack)
	}
	// RFC 1337: a RST does not end TIME-WAIT.
	inject(n, a, craft(from, to, e.rcvNxt, 0, wire.FlagRST, 0, nil, nil))
	if a.tw.len() != 1 {
		t.Fatal("RST killed TIME-WAIT")
	}
	// A new SYN with a newer timestamp reuses the tuple (RFC 6191).
	l, _ := a.Listen(ap(addrA, 4000), nil)
	out = inject(n, a, craft(from, to, e.rcvNxt+100000, 0, wire.FlagSYN, 65535, tsOpt(e.tsRecent+5000, 0), nil))
	if len(out) != 1 {
		t.Fatalf("%d answers to a new SYN", len(out))
	}
	if _, _, f := hdr(out[0]); f != wire.FlagSYN|wire.FlagACK {
		t.Fatalf("answer %v, want SYN/ACK", f)
	}
	if a.tw.len() != 0 || l.HalfOpen() != 1 || a.Stats().TimeWaitRecycled != 1 {
		t.Fatalf("tw %d halfopen %d", a.tw.len(), l.HalfOpen())
	}
}

func TestTimeWaitTableBounded(t *testing.T) {
	n := newTestNet(t, time.Millisecond)
	a, b := n.pair(func(c *Config) { c.MaxTimeWait = 3 }, nil)
	for i := range 5 {
		c, sc := n.connect(a, b, 80, nil)
		c.Close()
		n.Advance(5 * time.Millisecond)
		sc.Close()
		n.Advance(5 * time.Millisecond)
		if c.State() != StateTimeWait {
			t.Fatalf("conn %d state %v", i, c.State())
		}
	}
	if a.tw.len() != 3 || a.Stats().TimeWaitOverflow != 2 {
		t.Fatalf("tw %d overflow %d", a.tw.len(), a.Stats().TimeWaitOverflow)
	}
}

func TestSYNFloodBacklog(t *testing.T) {
	for _, cookies := range []bool{false, true} {
		t.Run(fmt.Sprint("cookies=", cookies), func(t *testing.T) {
			n := newTestNet(t, time.Millisecond)
			a, b := n.pair(nil, func(c *Config) { c.Backlog = 16; c.DisableSYNCookies = !cookies })
			l, _ := b.Listen(ap(addrB, 80), nil)
			answers := 0
			for i := range 10000 {
				src := ap(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(1024+i%50000))
				answers += len(inject(n, b, craft(src, ap(addrB, 80), uint32(i*7919), 0, wire.FlagSYN, 65535,
					func(o *wire.OptionBuilder) {
						o.AddMSS(1460)
						o.AddTimestamps(1, 0)
						o.AddSACKPermitted()
						o.AddWindowScale(7)
					}, nil)))
			}
			if len(b.conns) > 16 || l.HalfOpen() != 16 {
				t.Fatalf("flood grew the stack to %d connections (half-open %d)", len(b.conns), l.HalfOpen())
			}
			st := b.Stats()
			if cookies {
				if st.SyncookiesSent != 10000-16 || answers != 10000 {
					t.Fatalf("cookies sent %d, answers %d", st.SyncookiesSent, answers)
				}
			} else if st.ListenDrops != 10000-16 || answers != 16 {
				t.Fatalf("drops %d answers %d", st.ListenDrops, answers)
			}
			// A real client still gets through while the queue is full:
			// with cookies at once, without after the half-open ones time
			// out (five SYN/ACK retransmissions, 63 s).
			if !cookies {
				n.Advance(64 * time.Second)
				if l.HalfOpen() != 0 || len(b.conns) != 0 {
					t.Fatalf("half-open connections did not expire: %d", l.HalfOpen())
				}
			}
			c, err := a.Dial(n.now, ap(addrB, 80), nil)
			if err != nil {
				t.Fatal(err)
			}
			var sc *Conn
			n.runUntil(2*time.Second, func() bool { sc, _ = l.Accept(); return sc != nil })
			if sc == nil || c.State() != StateEstablished {
				t.Fatalf("client %v, accepted %v", c.State(), sc)
			}
			if cookies {
				if b.Stats().SyncookiesRecv != 1 {
					t.Fatalf("cookie not used: %+v", b.Stats())
				}
				if !sc.wsOK || !sc.sackOK || !sc.tsOK || sc.sndShift != 7 {
					t.Fatalf("cookie lost options: ws %v sack %v ts %v shift %d", sc.wsOK, sc.sackOK, sc.tsOK, sc.sndShift)
				}
			}
			ca, sa := newApp(c, 11, 300000), newApp(sc, 11^0xff, 300000)
			ca.closeOnDone, sa.closeOnDone = true, true
			n.pumps = append(n.pumps, ca.pump, sa.pump)
			if !n.runUntil(10*time.Second, func() bool { return ca.eof && sa.eof }) {
				t.Fatalf("transfer over cookie connection: %d %d", ca.got, sa.got)
			}
			checkApps(t, ca, sa)
		})
	}
}

func TestForgedCookieRejected(t *testing.T) {
	n := newTestNet(t, time.Millisecond)
	_, b := n.pair(nil, func(c *Config) { c.Backlog = 1 })
	b.Listen(ap(addrB, 80), nil)
	inject(n, b, craft(ap(addrA, 1000), ap(addrB, 80), 1, 0, wire.FlagSYN, 65535, nil, nil))
	inject(n, b, craft(ap(addrA, 1001), ap(addrB, 80), 1, 0, wire.FlagSYN, 65535, nil, nil)) // a cookie
	out := inject(n, b, craft(ap(addrA, 1002), ap(addrB, 80), 2, 0xdeadbeef, wire.FlagACK, 100, nil, nil))
	if len(out) != 1 || len(b.conns) != 1 || b.Stats().SyncookiesFailed != 1 {
		t.Fatalf("forged cookie: %d answers, %d conns, %+v", len(out), len(b.conns), b.Stats())
	}
}

// An ACK that acknowledges a cookie SYN/ACK completes the handshake even
// when a half-open connection for the same SYN, retransmitted once the
// queue had room, answered with another ISN: the client took the cookie's
// SYN/ACK, and resetting it would kill a connection the server can
// complete (Linux's listener checks the cookie when the request socket
// does not match).
func TestCookieACKSupersedesHalfOpen(t *testing.T) {
	n := newTestNet(t, time.Millisecond)
	_, b := n.pair(nil, func(c *Config) { c.Backlog = 1 })
	l, _ := b.Listen(ap(addrB, 80), nil)
	filler, client := ap(addrA, 1000), ap(addrA, 2000)
	inject(n, b, craft(filler, ap(addrB, 80), 1, 0, wire.FlagSYN, 65535, nil, nil)) // fills the queue
	isnOf := func(out [][]byte) uint32 {
		t.Helper()
		if len(out) != 1 {
			t.Fatalf("%d answers to a SYN", len(out))
		}
		_, _, _, p, _ := wire.ParseIP(out[0])
		seg, _ := wire.ParseTCP(p)
		if seg.Flags() != wire.FlagSYN|wire.FlagACK {
			t.Fatalf("answer to a SYN: %v", seg.Flags())
		}
		return seg.Seq()
	}
	cookie := isnOf(inject(n, b, craft(client, ap(addrB, 80), 500, 0, wire.FlagSYN, 65535, nil, nil)))
	inject(n, b, craft(filler, ap(addrB, 80), 2, 0, wire.FlagRST, 0, nil, nil)) // the queue has room again
	half := isnOf(inject(n, b, craft(client, ap(addrB, 80), 500, 0, wire.FlagSYN, 65535, nil, nil)))
	if half == cookie || l.HalfOpen() != 1 || b.Stats().SyncookiesSent != 1 {
		t.Fatalf("no half-open connection beside the cookie: isn %d and %d, half-open %d, %+v", cookie, half, l.HalfOpen(), b.Stats())
	}
	out := inject(n, b, craft(client, ap(addrB, 80), 501, cookie+1, wire.FlagACK, 65535, nil, nil))
	for _, p := range out {
		_, _, _, pl, _ := wire.ParseIP(p)
		if seg, _ := wire.ParseTCP(pl); seg.Flags()&wire.FlagRST != 0 {
			t.Fatal("the ACK of the cookie SYN/ACK was reset")
		}
	}
	sc, err := l.Accept()
	if err != nil || sc.State() != StateEstablished || sc.iss != cookie || l.HalfOpen() != 0 || b.Stats().SyncookiesRecv != 1 {
		t.Fatalf("accept %v (%v), half-open %d, %+v", sc, err, l.HalfOpen(), b.Stats())
	}
}

// TestOldACKShownForSignals: a pure ACK from before RCV.NXT (a peer that
// pulled SND.NXT back in loss recovery) is dropped and answered as
// unacceptable, but its options reach the hooks as KindOldACK when it is
// less than a window old and its ACK is acceptable; a data segment, one
// older than the receive buffer, or one acknowledging unsent data does not.
func TestOldACKShownForSignals(t *testing.T) {
	n, _, b, c, sc := established(t, nil)
	h := newRecHooks()
	sc.SetHooks(h)
	c.Write(make([]byte, 3000))
	n.Advance(100 * time.Millisecond)
	nxt := sc.rcvWire(sc.rcvNxt())
	una := sc.sndWire(sc.sndUna)
	from, to := c.LocalAddr(), c.RemoteAddr()
	ts := func() func(*wire.OptionBuilder) { return tsOpt(c.tsvalAt(c.stack.now), sc.tsvalAt(b.now)) }
	before := sc.Info()

	out := inject(n, b, craft(from, to, nxt-2000, una, wire.FlagACK, 1000, ts(), nil))
	if h.read[KindOldACK] != 1 || len(out) != 1 {
		t.Fatalf("old pure ACK: shown %d times, %d answers; want 1, a duplicate ACK", h.read[KindOldACK], len(out))
	}
	if _, ack, f := hdr(out[0]); f != wire.FlagACK || ack != nxt {
		t.Fatalf("answer %v ack %d, want ack %d", f, ack, nxt)
	}
	for name, pkt := range map[string][]byte{
		"old data":              craft(from, to, nxt-2000, una, wire.FlagACK, 1000, ts(), []byte("old")),
		"older than the buffer": craft(from, to, nxt-uint32(sc.rcvBuf)-1, una, wire.FlagACK, 1000, ts(), nil),
		"ACK of unsent data":    craft(from, to, nxt-2000, sc.sndWire(sc.sndNxt)+5000, wire.FlagACK, 1000, ts(), nil),
		"old FIN":               craft(from, to, nxt-2000, una, wire.FlagACK|wire.FlagFIN, 1000, ts(), nil),
	} {
		inject(n, b, pkt)
		if h.read[KindOldACK] != 1 {
			t.Fatalf("%s shown to the hooks as an old ACK", name)
		}
	}
	after := sc.Info()
	if after.OldACKSignals != before.OldACKSignals+1 || after.BadSegments < before.BadSegments+5 {
		t.Fatalf("OldACKSignals %d -> %d, BadSegments %d -> %d", before.OldACKSignals, after.OldACKSignals, before.BadSegments, after.BadSegments)
	}
	if sc.State() != StateEstablished || sc.Readable() != 3000 {
		t.Fatalf("state %v, readable %d, want the 3000 bytes sent before", sc.State(), sc.Readable())
	}
}
