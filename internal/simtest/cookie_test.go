package simtest

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/wire"
)

// injectSYN injects a SYN to the server's port 80 from 10.8.0.77, an
// address nobody answers for (so its half-open entry stays), with the
// options opt adds after MSS.
func injectSYN(t *testing.T, n *Net, sport uint16, opt func(*wire.OptionBuilder)) {
	t.Helper()
	var b wire.OptionBuilder
	_ = b.AddMSS(1400)
	opt(&b)
	f := wire.TCPFields{SrcPort: sport, DstPort: 80, Seq: 1000, Flags: wire.FlagSYN, Window: 65535}
	if err := n.Inject(wire.AppendTCPPacket(nil, netip.MustParseAddr("10.8.0.77"), n.ServerAddr, &f, b.Bytes(), nil)); err != nil {
		t.Fatal(err)
	}
}

// cookieNet is a 20 Mbit/s, 10 ms path to a server whose half-open queue
// holds one connection: one forged SYN (injectSYN) has it answer the next
// with a SYN cookie.
func cookieNet(t *testing.T) *Net {
	t.Helper()
	n, err := NewNet(3, []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}}, Options{
		Server: func(c *core.Config) { c.TCP.Backlog = 1 },
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// noOptions adds nothing to a SYN.
func noOptions(*wire.OptionBuilder) {}

// With the listener's half-open queue full, an MP_CAPABLE SYN still gets
// MPTCP (issue 21, finding 3): the cookie SYN/ACK offers a key, the third
// ACK brings both keys back, and the transfer runs over MPTCP; a join SYN
// naming no connection is refused with a RST and counted, not answered
// with a cookie.
func TestMPTCPThroughSYNCookies(t *testing.T) {
	n := cookieNet(t)
	p, err := n.StartTransfer(64<<10, 64<<10, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The transfer's own SYN is on its way; the forged one overtakes it
	// (the injector is a millisecond from the router) and fills the queue.
	injectSYN(t, n, 4000, func(b *wire.OptionBuilder) {
		_ = b.AddMPCapable(&wire.MPCapable{Form: wire.MPCapableSYN, Version: wire.MPTCPVersion, Flags: wire.MPCapableHMACSHA256})
	})
	if !n.RunUntilDone(p, time.Minute) {
		t.Fatalf("transfer: %v", p.Check(64<<10, 64<<10))
	}
	if err := p.Check(64<<10, 64<<10); err != nil {
		t.Fatal(err)
	}
	sm, cm := n.SS.MIB(), n.CS.MIB()
	if n.SS.TCP().Stats().SyncookiesSent == 0 {
		t.Fatalf("no cookie sent: the test did not fill the queue (%+v)", n.SS.TCP().Stats())
	}
	if sm.Get(core.MPCapableSYNCookie) != 1 || cm.Get(core.MPCapableSYNACKRX) != 1 || cm.Get(core.MPCapableFallbackSYNACK) != 0 ||
		p.C.Conn.Info().FellBack {
		t.Fatalf("the cookie connection is not MPTCP: server %v client %v", sm.Map(false), cm.Map(false))
	}
	// A join with a made-up token while the queue is still full.
	injectSYN(t, n, 4001, func(b *wire.OptionBuilder) {
		_ = b.AddMPJoin(&wire.MPJoin{Form: wire.MPJoinSYN, AddrID: 3, Token: 0xdeadbeef, Nonce: 7})
	})
	n.Sim.RunFor(100 * time.Millisecond)
	sm = n.SS.MIB()
	if sm.Get(core.MPJoinNoTokenFound) != 1 || sm.Get(core.MPRstTx) == 0 {
		t.Fatalf("random-token join under cookies: %v", sm.Map(false))
	}
}

// A join SYN that meets a full half-open queue gets a cookie SYN/ACK
// with MP_JOIN, its nonces kept in the join-cookie table, and the third
// ACK completes the join (issue 21, finding 3: joins used to be dropped
// until the queue had room, ~60 s after a flood).
func TestJoinThroughSYNCookies(t *testing.T) {
	n, err := NewNet(5, []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}, {Rate: 20e6, Delay: 10 * time.Millisecond}}, Options{
		Server: func(c *core.Config) { c.TCP.Backlog = 1 },
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := n.StartTransfer(4<<20, 0, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A forged SYN fills the queue (for longer than the test) before the
	// client's SYNs arrive.
	injectSYN(t, n, 4000, noOptions)
	if !n.RunUntilDone(p, time.Minute) {
		t.Fatalf("transfer: %v", p.Check(4<<20, 0))
	}
	if err := p.Check(4<<20, 0); err != nil {
		t.Fatal(err)
	}
	sm := n.SS.MIB()
	if sm.Get(core.MPJoinSYNCookie) == 0 || sm.Get(core.MPJoinAckRx) == 0 || sm.Get(core.MPJoinCookieInvalid) != 0 ||
		len(p.C.Conn.Info().Subflows) < 2 {
		t.Fatalf("no join through a cookie: server %v, tcp %+v", sm.Map(false), n.SS.TCP().Stats())
	}
	for _, sf := range p.C.Conn.Info().Subflows {
		if sf.BytesSent == 0 {
			t.Errorf("subflow %v carried nothing", sf.Local)
		}
	}
}

// The join-cookie table is bounded: with the half-open queue full, a
// flood of join SYNs naming a live connection fills it (1,024 joins), the
// next is dropped and counted, and the connection's own transfer goes on.
func TestJoinCookieTableBounded(t *testing.T) {
	n, err := NewNet(7, []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}}, Options{
		Server: func(c *core.Config) { c.TCP.Backlog = 1 },
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := n.StartTransfer(1<<20, 0, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Sim.RunFor(100 * time.Millisecond)
	token := p.S.Conn.Info().LocalToken
	injectSYN(t, n, 4000, noOptions) // fills the queue
	const flood = 1100
	for i := range flood {
		injectSYN(t, n, uint16(5000+i), func(b *wire.OptionBuilder) {
			_ = b.AddMPJoin(&wire.MPJoin{Form: wire.MPJoinSYN, AddrID: 9, Token: token, Nonce: uint32(i)})
		})
	}
	if !n.RunUntilDone(p, time.Minute) {
		t.Fatalf("transfer: %v", p.Check(1<<20, 0))
	}
	if err := p.Check(1<<20, 0); err != nil {
		t.Fatal(err)
	}
	sm := n.SS.MIB()
	if got := sm.Get(core.MPJoinCookieDrop); got != flood-1024 {
		t.Errorf("MPJoinCookieDrop %d, want %d (table of 1,024): %v", got, flood-1024, sm.Map(false))
	}
}

// dropFirstSegments drops, on the client's uplink, every segment of its
// connections to port 80 that starts at the first sequence number after
// the SYN (the third ACK, the first data and their retransmissions) until
// until, and counts them: the handshake's last segments lost in a burst,
// as a thousand connections opening at once lose them on a 20 Mbit/s path.
func dropFirstSegments(n *Net, until time.Duration) *int {
	dropped := new(int)
	first := map[uint16]uint32{}
	n.PathLinks[0].From(n.ClientIfs[0]).AddProcessor(netsim.ProcessorFunc(func(now time.Time, pkt []byte, emit func([]byte)) {
		if _, _, proto, payload, err := wire.ParseIP(pkt); err == nil && proto == wire.ProtoTCP {
			if t, err := wire.ParseTCP(payload); err == nil && t.DstPort() == 80 {
				isn, ok := first[t.SrcPort()]
				switch {
				case t.Flags()&wire.FlagSYN != 0:
					first[t.SrcPort()] = t.Seq()
				case ok && t.Seq() == isn+1 && now.Sub(netsim.Epoch) < until:
					*dropped++
					return
				}
			}
		}
		emit(pkt)
	}))
	return dropped
}

// A connection whose SYN got a cookie and whose first segments after the
// handshake were all lost completes once they are retransmitted. The
// client used to send the request again, at the connection level, on the
// same subflow as new data after the lost segments: that copy reached the
// server first, failed the cookie check (only a segment at the first
// sequence number can carry a cookie) and was reset, and the client's
// connection, its only subflow gone, waited for NoSubflowTimeout. Seen as
// "connection timed out" in `mptcp perf web --impl ours --concurrency
// 1000`.
func TestCookieFirstSegmentsLost(t *testing.T) {
	n := cookieNet(t)
	n.ClientKeepsOpen = true // a web client: the request, then the answer
	dropped := dropFirstSegments(n, time.Second)
	p, err := n.StartTransfer(8, 1000, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	injectSYN(t, n, 4000, noOptions) // fills the half-open queue
	end := n.Sim.Now().Add(20 * time.Second)
	for n.Sim.Now().Before(end) && !(p.C.EOF && p.S != nil && p.S.Got == 8) {
		n.Sim.RunFor(50 * time.Millisecond)
	}
	st := n.SS.TCP().Stats()
	if st.SyncookiesSent == 0 || *dropped == 0 {
		t.Fatalf("no cookie, or nothing dropped (%d): the test did not set the scene (%+v)", *dropped, st)
	}
	if p.S == nil || p.S.Got != 8 || p.C.Got != 1000 || !p.C.EOF {
		t.Fatalf("request not answered: %v (client err %v; server tcp %+v)", p.Check(8, 1000), p.C.Conn.Err(), st)
	}
	if st.SyncookiesFailed != 0 {
		t.Errorf("%d ACKs failed the cookie check", st.SyncookiesFailed)
	}
}

// A connection whose only subflow is reset before the MPTCP handshake is
// confirmed (no DATA_ACK from the server yet) fails at once with
// ECONNRESET, as TCP would: no join can replace the subflow (RFC 8684
// section 3.2: joins wait for the connection to be fully established), so
// waiting NoSubflowTimeout for one only delayed the error by a minute.
// Here the server resets it because the client's DATA_FIN, on a pure ACK
// past its first sequence number, reaches a server that answered with a
// SYN cookie and never got the segments before it.
func TestResetBeforeFullyEstablishedFails(t *testing.T) {
	n := cookieNet(t)
	dropped := dropFirstSegments(n, time.Second)
	p, err := n.StartTransfer(8, 1000, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	injectSYN(t, n, 4000, noOptions) // fills the half-open queue
	start := n.Sim.Now()
	for n.Sim.Now().Sub(start) < 10*time.Second && p.C.Conn.State() != core.StateClosed {
		n.Sim.RunFor(50 * time.Millisecond)
	}
	if st := n.SS.TCP().Stats(); st.SyncookiesFailed == 0 || *dropped == 0 {
		t.Fatalf("the server did not reset the client (dropped %d; %+v)", *dropped, st)
	}
	c := p.C.Conn
	if c.State() != core.StateClosed || !errors.Is(c.Err(), core.ErrConnectionReset) {
		t.Fatalf("client after its only subflow was reset: state %v, err %v, want closed with a reset", c.State(), c.Err())
	}
	if g := n.CS.MIB().Get(core.MPCurrEstab); g != 0 {
		t.Errorf("client MPCurrEstab %d after the connection closed", g)
	}
}

// The client takes a cookie SYN/ACK that arrives late, after its SYN was
// retransmitted and, the half-open queue having room by then, got a
// half-open connection with another ISN on the server: its ACK of the
// cookie completes the connection, over MPTCP, instead of being reset
// by the half-open one.
func TestLateCookieSYNACKAfterRetransmittedSYN(t *testing.T) {
	n := cookieNet(t)
	// Towards the client: the first SYN/ACK (the cookie) is held for 1.2 s,
	// past the client's SYN retransmission; the second is lost.
	synacks := 0
	_, routerSide := n.PathLinks[0].Ends()
	n.PathLinks[0].From(routerSide).AddProcessor(netsim.ProcessorFunc(func(_ time.Time, pkt []byte, emit func([]byte)) {
		if _, _, proto, payload, err := wire.ParseIP(pkt); err == nil && proto == wire.ProtoTCP {
			if t, err := wire.ParseTCP(payload); err == nil && t.SrcPort() == 80 && t.Flags() == wire.FlagSYN|wire.FlagACK {
				synacks++
				if synacks == 1 {
					held := append([]byte(nil), pkt...)
					n.Sim.After(1200*time.Millisecond, func() { emit(held) })
				}
				return
			}
		}
		emit(pkt)
	}))
	p, err := n.StartTransfer(4000, 4000, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	injectSYN(t, n, 4000, noOptions) // fills the half-open queue
	n.Sim.RunFor(500 * time.Millisecond)
	// The forged half-open connection goes, making room for the
	// retransmitted SYN.
	f := wire.TCPFields{SrcPort: 4000, DstPort: 80, Seq: 1001, Flags: wire.FlagRST}
	if err := n.Inject(wire.AppendTCPPacket(nil, netip.MustParseAddr("10.8.0.77"), n.ServerAddr, &f, nil, nil)); err != nil {
		t.Fatal(err)
	}
	if !n.RunUntilDone(p, 10*time.Second) {
		t.Fatalf("transfer: %v (server tcp %+v)", p.Check(4000, 4000), n.SS.TCP().Stats())
	}
	if err := p.Check(4000, 4000); err != nil {
		t.Fatal(err)
	}
	st := n.SS.TCP().Stats()
	if synacks < 2 || st.SyncookiesRecv != 1 || p.C.Conn.Info().FellBack {
		t.Fatalf("not the scene: %d SYN/ACKs, %+v, fell back %v", synacks, st, p.C.Conn.Info().FellBack)
	}
}

// TestDownloadThroughSYNCookies: a server whose connection came through a
// SYN cookie learns the client's window scale from the cookie, not from
// the ACK that carried it (which has no window scale option), so its
// data-level window is the client's: 4 MB at 20 Mbit/s in about 2 s, not
// the 511 bytes a round trip of an unscaled window field.
func TestDownloadThroughSYNCookies(t *testing.T) {
	n, err := NewNet(6, []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}}, Options{
		Server: func(c *core.Config) { c.TCP.Backlog = 1 },
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := n.StartTransfer(0, 4<<20, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	injectSYN(t, n, 4000, noOptions)
	start := n.Sim.Now()
	if !n.RunUntilDone(p, time.Minute) {
		t.Fatalf("transfer: %v", p.Check(0, 4<<20))
	}
	if err := p.Check(0, 4<<20); err != nil {
		t.Fatal(err)
	}
	if n.SS.MIB().Get(core.MPCapableSYNCookie) == 0 {
		t.Fatal("the connection did not come through a cookie")
	}
	if took := n.Sim.Now().Sub(start); took > 4*time.Second {
		t.Errorf("4 MB took %v, want about 2 s", took)
	}
}
