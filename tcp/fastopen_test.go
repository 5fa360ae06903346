package tcp

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// synInfo describes a SYN seen on the wire.
type synInfo struct {
	ack      bool
	payload  int
	fastOpen bool
	cookie   int
	ts       bool
}

// tapSYNs records the SYNs and SYN/ACKs a test network carries.
func tapSYNs(n *testNet) *[]synInfo {
	var seen []synInfo
	n.tap = func(p []byte) {
		_, _, _, payload, err := wire.ParseIP(p)
		if err != nil {
			return
		}
		t, err := wire.ParseTCP(payload)
		if err != nil || t.Flags()&wire.FlagSYN == 0 {
			return
		}
		var o wire.TCPOptions
		wire.ParseTCPOptions(t.Options(), t.Flags(), &o)
		seen = append(seen, synInfo{ack: t.Flags()&wire.FlagACK != 0, payload: len(t.Payload()),
			fastOpen: o.FastOpen, cookie: o.FastOpenCookieLen, ts: o.HasTimestamps})
	}
	return &seen
}

// tfoExchange dials b:port from a with Fast Open, writes req at once, and
// has the server answer resp after reading req; it returns the
// connections and what each side read.
func tfoExchange(t *testing.T, n *testNet, a *Stack, l *Listener, req, resp []byte) (cc, sc *Conn, gotReq, gotResp []byte) {
	t.Helper()
	c := tfoDial(t, n, a, l, req)
	buf := make([]byte, 64<<10)
	answered := false
	ok := n.runUntil(20*time.Second, func() bool {
		if c.State() == StateEstablished {
			c.CloseWrite() // not before: in SYN-SENT it ends the attempt, as Linux's shutdown
		}
		if sc == nil {
			sc, _ = l.Accept()
		}
		if sc != nil {
			k, _ := sc.Read(buf)
			gotReq = append(gotReq, buf[:k]...)
			if len(gotReq) == len(req) && !answered {
				answered = true
				sc.Write(resp)
				sc.CloseWrite()
			}
		}
		k, _ := c.Read(buf)
		gotResp = append(gotResp, buf[:k]...)
		return answered && len(gotResp) == len(resp) && c.EOF()
	})
	if !ok {
		t.Fatalf("exchange incomplete: client %v, server %v, request %d/%d, response %d/%d", c.State(), sc, len(gotReq), len(req), len(gotResp), len(resp))
	}
	if !bytes.Equal(gotReq, req) || !bytes.Equal(gotResp, resp) {
		t.Fatalf("bytes differ: request %d/%d, response %d/%d", len(gotReq), len(req), len(gotResp), len(resp))
	}
	return c, sc, gotReq, gotResp
}

// tfoDial dials l from a with Fast Open and writes req, which the SYN
// carries (the head of it) when a holds a cookie.
func tfoDial(t *testing.T, n *testNet, a *Stack, l *Listener, req []byte) *Conn {
	t.Helper()
	c, err := a.Dial(n.now, l.Addr(), &DialConfig{FastOpen: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	return c
}

func tfoListen(t *testing.T, s *Stack, port uint16, qlen int) *Listener {
	t.Helper()
	l, err := s.Listen(netip.AddrPortFrom(addrB, port), &ListenConfig{FastOpenQueue: qlen})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func testBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

func TestFastOpen(t *testing.T) {
	n := newTestNet(t, 10*time.Millisecond)
	a, b := n.pair(nil, nil)
	seen := tapSYNs(n)
	l := tfoListen(t, b, 80, 16)
	req, resp := testBytes(700, 1), testBytes(5000, 2)

	// First connection: a cookie request, and the data after the handshake.
	tfoExchange(t, n, a, l, req, resp)
	if (*seen)[0].payload != 0 || !(*seen)[0].fastOpen || (*seen)[0].cookie != 0 {
		t.Fatalf("first SYN: %+v, want a cookie request without data", (*seen)[0])
	}
	if (*seen)[1].cookie != fastOpenCookieLen {
		t.Fatalf("first SYN/ACK: %+v, want a cookie", (*seen)[1])
	}
	if a.FastOpenCookie(addrB) == nil || b.Stats().FastOpenCookieReqd != 1 {
		t.Fatalf("no cookie cached (%x), requests %d", a.FastOpenCookie(addrB), b.Stats().FastOpenCookieReqd)
	}

	// Second: the request rides the SYN, and the server has it half a
	// round trip after the SYN left, before the handshake completes.
	*seen = nil
	start := n.now
	c := tfoDial(t, n, a, l, req)
	var sc *Conn
	if !n.runUntil(time.Second, func() bool { sc, _ = l.Accept(); return sc != nil }) {
		t.Fatal("no connection accepted")
	}
	if sc.State() != StateSynReceived || sc.Readable() != len(req) {
		t.Fatalf("accepted in %v with %d bytes readable, want SYN-RECEIVED with %d", sc.State(), sc.Readable(), len(req))
	}
	if d := n.now.Sub(start); d > 30*time.Millisecond {
		t.Fatalf("accepted %v after the dial, want within the one-way delay", d)
	}
	if s := (*seen)[0]; s.payload != len(req) || s.cookie != fastOpenCookieLen {
		t.Fatalf("SYN: %+v, want the cookie and %d bytes", s, len(req))
	}
	if (*seen)[1].fastOpen {
		t.Fatalf("SYN/ACK answering a valid cookie carries a cookie again: %+v", (*seen)[1])
	}
	buf := make([]byte, 1000)
	k, _ := sc.Read(buf)
	if !bytes.Equal(buf[:k], req) {
		t.Fatal("SYN data differs")
	}
	sc.Write(resp)
	if !n.runUntil(time.Second, func() bool { return c.Readable() == len(resp) }) {
		t.Fatalf("response: %d of %d bytes", c.Readable(), len(resp))
	}
	if c.FastOpenSYNData() != len(req) || sc.FastOpenSYNData() != len(req) {
		t.Fatalf("FastOpenSYNData: client %d, server %d", c.FastOpenSYNData(), sc.FastOpenSYNData())
	}
	if sa, sb := a.Stats(), b.Stats(); sa.FastOpenActive != 1 || sa.FastOpenActiveFail != 0 || sb.FastOpenPassive != 1 {
		t.Fatalf("counters: active %d fail %d passive %d", sa.FastOpenActive, sa.FastOpenActiveFail, sb.FastOpenPassive)
	}
	if sc.Info().BytesReceived != uint64(len(req)) || c.Info().BytesSent != uint64(len(req)) {
		t.Fatalf("bytes counted: server received %d, client sent %d", sc.Info().BytesReceived, c.Info().BytesSent)
	}

	// A third with more data than a segment: the SYN carries the first
	// part, the rest follows; byte-exact both ways.
	*seen = nil
	big := testBytes(20000, 3)
	tfoExchange(t, n, a, l, big, resp)
	if s := (*seen)[0]; s.payload == 0 || s.payload > 1460-wire.MaxOptionLen {
		t.Fatalf("SYN with a large write carries %d bytes", s.payload)
	}
}

// TestFastOpenLostSYN: the SYN with data is lost; the retransmitted SYN
// carries none and the data follows the handshake.
func TestFastOpenLostSYN(t *testing.T) {
	n := newTestNet(t, 10*time.Millisecond)
	a, b := n.pair(nil, nil)
	l := tfoListen(t, b, 80, 16)
	req, resp := testBytes(300, 4), testBytes(3000, 5)
	tfoExchange(t, n, a, l, req, resp)
	seen := tapSYNs(n)
	dropped := 0
	n.drop = func(p []byte) bool {
		_, _, _, payload, _ := wire.ParseIP(p)
		t, _ := wire.ParseTCP(payload)
		if t.Flags() == wire.FlagSYN && len(t.Payload()) > 0 && dropped == 0 {
			dropped++
			return true
		}
		return false
	}
	tfoExchange(t, n, a, l, req, resp)
	if dropped != 1 || len(*seen) < 3 || (*seen)[1].payload != 0 {
		t.Fatalf("dropped %d; SYNs %+v, want the retransmitted SYN without data", dropped, *seen)
	}
	if st := a.Stats(); st.FastOpenActiveFail != 1 || st.FastOpenActive != 0 {
		t.Fatalf("client counters: active %d, fail %d", st.FastOpenActive, st.FastOpenActiveFail)
	}
}

// TestFastOpenServerWithout: a server that does not take SYN data (no
// Fast Open on that listener) acknowledges only the SYN; the client sends
// the data again after the handshake.
func TestFastOpenServerWithout(t *testing.T) {
	n := newTestNet(t, 10*time.Millisecond)
	a, b := n.pair(nil, nil)
	req, resp := testBytes(400, 6), testBytes(2000, 7)
	tfoExchange(t, n, a, tfoListen(t, b, 80, 16), req, resp) // a cookie for addrB
	plain := tfoListen(t, b, 81, 0)
	seen := tapSYNs(n)
	tfoExchange(t, n, a, plain, req, resp)
	if (*seen)[0].payload != len(req) || (*seen)[1].fastOpen {
		t.Fatalf("SYNs %+v: want data in the SYN and no cookie in the SYN/ACK", *seen)
	}
	if st := a.Stats(); st.FastOpenActiveFail != 1 {
		t.Fatalf("FastOpenActiveFail %d, want 1", st.FastOpenActiveFail)
	}
	if st := b.Stats(); st.FastOpenPassive != 0 {
		t.Fatalf("FastOpenPassive %d, want 0", st.FastOpenPassive)
	}
}

// TestFastOpenKeys: after one key rotation a cookie made with the old key
// is still taken (and replaced); after two it is wrong: the data waits for
// the handshake and the client gets a fresh cookie, with which the next
// connection is 0-RTT again.
func TestFastOpenKeys(t *testing.T) {
	n := newTestNet(t, 10*time.Millisecond)
	a, b := n.pair(nil, nil)
	l := tfoListen(t, b, 80, 16)
	req, resp := testBytes(200, 8), testBytes(200, 9)
	tfoExchange(t, n, a, l, req, resp)
	old := a.FastOpenCookie(addrB)

	b.SetFastOpenKey(FastOpenKey{1})
	tfoExchange(t, n, a, l, req, resp)
	if st := b.Stats(); st.FastOpenPassive != 1 || st.FastOpenPassiveAltKey != 1 {
		t.Fatalf("after one rotation: passive %d, alt key %d", st.FastOpenPassive, st.FastOpenPassiveAltKey)
	}
	if bytes.Equal(a.FastOpenCookie(addrB), old) {
		t.Fatal("cookie made with the old key not replaced")
	}

	b.SetFastOpenKey(FastOpenKey{2})
	b.SetFastOpenKey(FastOpenKey{3})
	tfoExchange(t, n, a, l, req, resp)
	if st := b.Stats(); st.FastOpenPassiveFail != 1 || st.FastOpenPassive != 1 {
		t.Fatalf("wrong cookie: passive fail %d, passive %d", st.FastOpenPassiveFail, st.FastOpenPassive)
	}
	tfoExchange(t, n, a, l, req, resp)
	if st := b.Stats(); st.FastOpenPassive != 2 {
		t.Fatalf("fresh cookie not taken: passive %d", st.FastOpenPassive)
	}
	if st := a.Stats(); st.FastOpenActive != 2 || st.FastOpenActiveFail != 1 {
		t.Fatalf("client: active %d, fail %d", st.FastOpenActive, st.FastOpenActiveFail)
	}
}

// TestFastOpenQueue: with FastOpenQueue 1 and the first connection's
// handshake held back, a second SYN's data is refused (Linux's max_qlen)
// and sent again after its handshake.
func TestFastOpenQueue(t *testing.T) {
	n := newTestNet(t, 10*time.Millisecond)
	a, b := n.pair(nil, nil)
	l := tfoListen(t, b, 80, 1)
	req, resp := testBytes(100, 10), testBytes(100, 11)
	tfoExchange(t, n, a, l, req, resp)
	// Hold the client's pure ACKs: the first connection stays half open.
	n.drop = func(p []byte) bool {
		src, _, _, payload, _ := wire.ParseIP(p)
		t, _ := wire.ParseTCP(payload)
		return src == addrA && t.Flags() == wire.FlagACK && len(t.Payload()) == 0
	}
	c1, _ := a.Dial(n.now, l.Addr(), &DialConfig{FastOpen: true})
	c1.Write(req)
	n.Advance(50 * time.Millisecond)
	if l.tfoPending != 1 {
		t.Fatalf("tfoPending %d, want 1", l.tfoPending)
	}
	n.drop = nil
	c2, _ := a.Dial(n.now, l.Addr(), &DialConfig{FastOpen: true})
	c2.Write(req)
	n.Advance(100 * time.Millisecond)
	if st := b.Stats(); st.FastOpenListenOverflow != 1 || st.FastOpenPassive != 1 {
		t.Fatalf("overflow %d, passive %d", st.FastOpenListenOverflow, st.FastOpenPassive)
	}
	got := 0
	n.runUntil(5*time.Second, func() bool {
		for {
			sc, err := l.Accept()
			if err != nil {
				break
			}
			got += sc.Readable()
		}
		return got == 2*len(req) && l.tfoPending == 0 // the first completes when its SYN/ACK is sent again
	})
	if got != 2*len(req) {
		t.Fatalf("server read %d bytes, want %d", got, 2*len(req))
	}
	if l.tfoPending != 0 {
		t.Fatalf("tfoPending %d after the handshakes", l.tfoPending)
	}
}

// TestFastOpenSharedKey: stacks given the same Config.FastOpenKey make the
// same cookie for a client (servers sharing an address take each other's
// cookies); another key makes another, and the derived keys differ.
func TestFastOpenSharedKey(t *testing.T) {
	n := newTestNet(t, time.Millisecond)
	key := FastOpenKey{7, 7, 7}
	s1 := n.addStack(11, func(c *Config) { c.FastOpenKey = key }, addrB)
	s2 := n.addStack(12, func(c *Config) { c.FastOpenKey = key })
	s3 := n.addStack(13, nil)
	s4 := n.addStack(14, nil)
	ck := func(s *Stack) [fastOpenCookieLen]byte { return s.tfoKeys.primary.fastOpenCookie(addrA, addrB) }
	if ck(s1) != ck(s2) {
		t.Error("the same key made different cookies")
	}
	if ck(s1) == ck(s3) || ck(s3) == ck(s4) {
		t.Error("different keys made the same cookie")
	}
	if s1.tfoKeys.hasBackup {
		t.Error("a configured key left a previous key valid")
	}
}

// TestFastOpenAnswerBeforeHandshake: a server that took the SYN's data
// sends its answer right after its SYN/ACK (RFC 7413 section 4.2.2), so
// the client has the first byte one round trip after the dial instead of
// two; the handshake's ACK, acknowledging part of it, completes the
// handshake, and the rest arrives byte-exact.
func TestFastOpenAnswerBeforeHandshake(t *testing.T) {
	n := newTestNet(t, 10*time.Millisecond) // 20 ms round trip
	a, b := n.pair(nil, nil)
	l := tfoListen(t, b, 80, 16)
	req, resp := testBytes(300, 1), testBytes(40000, 2)
	tfoExchange(t, n, a, l, req, resp) // the cookie
	start := n.now
	c := tfoDial(t, n, a, l, req)
	var sc *Conn
	var first time.Duration
	ok := n.runUntil(time.Second, func() bool {
		if sc == nil {
			if sc, _ = l.Accept(); sc != nil {
				if sc.State() != StateSynReceived {
					t.Fatalf("accepted in %v, want SYN-RECEIVED", sc.State())
				}
				sc.Write(resp)
			}
		}
		if first == 0 && c.Readable() > 0 {
			first = n.now.Sub(start)
		}
		return c.Readable() == len(resp)
	})
	if !ok {
		t.Fatalf("answer: %d of %d bytes", c.Readable(), len(resp))
	}
	if first > 25*time.Millisecond {
		t.Fatalf("first byte %v after the dial, want one round trip (20 ms)", first)
	}
	buf := make([]byte, len(resp))
	k, _ := c.Read(buf)
	if !bytes.Equal(buf[:k], resp) {
		t.Fatal("answer differs")
	}
	if sc.State() != StateEstablished || c.State() != StateEstablished {
		t.Fatalf("states: server %v, client %v", sc.State(), c.State())
	}
	if sa, sb := a.Stats(), b.Stats(); sa.FastOpenActive != 1 || sb.FastOpenPassive != 1 {
		t.Fatalf("counters: active %d passive %d", sa.FastOpenActive, sb.FastOpenPassive)
	}
}

// TestFastOpenEarlyAnswerLost: the SYN/ACK of a server answering early is
// lost, then the handshake's ACK. The client drops the answer that came
// before the SYN/ACK, the server sends its SYN/ACK again and then, once an
// ACK acknowledges only the SYN/ACK, the answer again; every byte
// arrives, once.
func TestFastOpenEarlyAnswerLost(t *testing.T) {
	for _, lose := range []string{"SYN/ACK", "ACK"} {
		t.Run(lose, func(t *testing.T) {
			n := newTestNet(t, 10*time.Millisecond)
			a, b := n.pair(nil, nil)
			l := tfoListen(t, b, 80, 16)
			req, resp := testBytes(300, 6), testBytes(20000, 7)
			tfoExchange(t, n, a, l, req, resp) // the cookie
			dropped := 0
			n.drop = func(p []byte) bool {
				_, _, _, payload, _ := wire.ParseIP(p)
				tc, _ := wire.ParseTCP(payload)
				want := wire.FlagSYN | wire.FlagACK
				if lose == "ACK" {
					want = wire.FlagACK
				}
				if dropped == 0 && tc.Flags() == want && len(tc.Payload()) == 0 {
					dropped++
					return true
				}
				return false
			}
			_, sc, _, _ := tfoExchange(t, n, a, l, req, resp)
			if dropped != 1 {
				t.Fatalf("dropped %d", dropped)
			}
			// Sent once, but for what the lost SYN/ACK took down with it.
			if st := sc.Info(); st.BytesSent-st.BytesRetrans != uint64(len(resp)) {
				t.Fatalf("server: %d bytes sent and %d of them again, for %d", st.BytesSent, st.BytesRetrans, len(resp))
			}
		})
	}
}
