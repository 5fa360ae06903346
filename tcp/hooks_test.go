package tcp

import (
	"errors"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// recHooks records what the engine shows hooks, and adds an MP_PRIO
// option to every segment (an MP_TCPRST to RSTs) so the test can check
// that options reach the wire on every kind of segment.
type recHooks struct {
	NopHooks
	wrote   map[SegmentKind]int
	read    map[SegmentKind]int
	acked   int
	una     uint64
	events  Event
	verdict func(seg *Segment, o *wire.TCPOptions) Verdict
	window  int
}

func newRecHooks() *recHooks {
	return &recHooks{wrote: map[SegmentKind]int{}, read: map[SegmentKind]int{}}
}

func (h *recHooks) WriteOptions(c *Conn, seg *Segment, b *wire.OptionBuilder) {
	h.wrote[seg.Kind]++
	if seg.Kind == KindRST {
		b.AddMPTCPRst(&wire.MPTCPRst{Reason: wire.MPTCPRstReasonAdminProhibited})
		return
	}
	b.AddMPPrio(&wire.MPPrio{Backup: true})
}

func (h *recHooks) ReadOptions(c *Conn, now time.Time, seg *Segment, o *wire.TCPOptions) Verdict {
	h.read[seg.Kind]++
	if h.verdict != nil {
		return h.verdict(seg, o)
	}
	return Accept
}

func (h *recHooks) Acked(c *Conn, now time.Time, a *AckInfo) {
	h.acked += a.NewlyAcked
	h.una = a.Una
}

func (h *recHooks) ReceiveWindow(c *Conn, wnd int) int {
	if h.window > 0 {
		return h.window
	}
	return wnd
}

func (h *recHooks) Notify(c *Conn, now time.Time, ev Event) { h.events |= ev }

type listenHooks struct {
	hooks *recHooks
	err   error
	reqs  int
}

func (l *listenHooks) SYN(now time.Time, r *Request) (Hooks, error) {
	l.reqs++
	return l.hooks, l.err
}

// optionKinds collects, per segment kind, whether each packet carried our
// hook option.
func optionTap(t *testing.T, seen map[SegmentKind]int) func([]byte) {
	return func(p []byte) {
		_, _, _, pl, _ := wire.ParseIP(p)
		tc, _ := wire.ParseTCP(pl)
		var o wire.TCPOptions
		wire.ParseTCPOptions(tc.Options(), tc.Flags(), &o)
		k := segKind(tc.Flags(), len(tc.Payload()))
		want := wire.SubtypeMPPrio
		if k == KindRST {
			want = wire.SubtypeMPTCPRst
		}
		if !o.MPTCP.Present.Has(want) {
			t.Errorf("%v segment without the hook's option: %s", k, dumpPacket(p))
		}
		seen[k]++
	}
}

func TestHooksOnEverySegmentKind(t *testing.T) {
	n := newTestNet(t, 2*time.Millisecond)
	a, b := n.pair(nil, nil)
	ch, sh := newRecHooks(), newRecHooks()
	lh := &listenHooks{hooks: sh}
	if _, err := b.Listen(ap(addrB, 80), &ListenConfig{Hooks: lh}); err != nil {
		t.Fatal(err)
	}
	seen := map[SegmentKind]int{}
	n.tap = optionTap(t, seen)
	c, err := a.Dial(n.now, ap(addrB, 80), &DialConfig{Hooks: ch})
	if err != nil {
		t.Fatal(err)
	}
	n.Advance(20 * time.Millisecond)
	if c.State() != StateEstablished || sh.events&EventEstablished == 0 || ch.events&EventEstablished == 0 {
		t.Fatalf("not established: %v, events %b %b", c.State(), ch.events, sh.events)
	}
	var sc *Conn
	for _, x := range b.conns {
		sc = x
	}
	ca, sa := newApp(c, 2, 100000), newApp(sc, 2^0xff, 0)
	n.pumps = append(n.pumps, ca.pump, sa.pump)
	n.runUntil(5*time.Second, func() bool { return sa.got == 100000 })
	n.Advance(100 * time.Millisecond) // the last ACK may be delayed
	checkApps(t, ca, sa)
	if ch.acked != 100000 || ch.una != 100000 {
		t.Errorf("Acked reported %d bytes, una %d", ch.acked, ch.una)
	}
	sc.CloseWrite() // a bare FIN
	n.Advance(20 * time.Millisecond)
	if !ca.eof || ch.events&EventFIN == 0 {
		t.Fatalf("client saw no FIN")
	}
	c.Abort() // a RST
	n.Advance(20 * time.Millisecond)
	for _, k := range []SegmentKind{KindSYN, KindSYNACK, KindData, KindACK, KindFIN, KindRST} {
		if seen[k] == 0 {
			t.Errorf("no %v segment on the wire", k)
		}
		if ch.wrote[k]+sh.wrote[k] == 0 {
			t.Errorf("WriteOptions never saw %v", k)
		}
	}
	if sh.read[KindData] == 0 || ch.read[KindSYNACK] != 1 || ch.read[KindFIN] != 1 || sh.read[KindRST] != 1 {
		t.Errorf("ReadOptions saw client %v server %v", ch.read, sh.read)
	}
	if !errors.Is(sc.Err(), ErrConnectionReset) || sh.events&EventClosed == 0 {
		t.Errorf("server err %v events %b", sc.Err(), sh.events)
	}
	if !errors.Is(c.Err(), ErrConnectionAborted) {
		t.Errorf("client err %v", c.Err())
	}
	if lh.reqs != 1 {
		t.Errorf("ListenHooks.SYN called %d times", lh.reqs)
	}
}

func TestHookResetsOnSYNACK(t *testing.T) {
	// MP_JOIN: the client checks the server's HMAC on the SYN/ACK and, if
	// it fails, resets the subflow with MP_TCPRST.
	n := newTestNet(t, 2*time.Millisecond)
	a, b := n.pair(nil, nil)
	l, _ := b.Listen(ap(addrB, 80), nil)
	ch := newRecHooks()
	ch.verdict = func(seg *Segment, o *wire.TCPOptions) Verdict {
		if seg.Kind == KindSYNACK {
			return Reset
		}
		return Accept
	}
	var rst []byte
	n.tap = func(p []byte) {
		if _, _, f := hdr(p); f&wire.FlagRST != 0 {
			rst = p
		}
	}
	c, _ := a.Dial(n.now, ap(addrB, 80), &DialConfig{Hooks: ch})
	n.Advance(50 * time.Millisecond)
	if !errors.Is(c.Err(), ErrConnectionAborted) {
		t.Fatalf("client err %v", c.Err())
	}
	if rst == nil {
		t.Fatal("no RST sent")
	}
	var o wire.TCPOptions
	_, _, _, pl, _ := wire.ParseIP(rst)
	tc, _ := wire.ParseTCP(pl)
	wire.ParseTCPOptions(tc.Options(), tc.Flags(), &o)
	if !o.MPTCP.Present.Has(wire.SubtypeMPTCPRst) || o.MPTCP.Rst.Reason != wire.MPTCPRstReasonAdminProhibited {
		t.Fatalf("RST without MP_TCPRST: %s", dumpPacket(rst))
	}
	if len(b.conns) != 0 || l.Pending() != 0 {
		t.Fatalf("server kept %d connections", len(b.conns))
	}
}

func TestListenHooksRefuse(t *testing.T) {
	n := newTestNet(t, 2*time.Millisecond)
	a, b := n.pair(nil, nil)
	lh := &listenHooks{hooks: newRecHooks(), err: errors.New("unknown token")}
	b.Listen(ap(addrB, 80), &ListenConfig{Hooks: lh})
	var rsts int
	n.tap = func(p []byte) {
		if _, _, f := hdr(p); f&wire.FlagRST != 0 {
			rsts++
			var o wire.TCPOptions
			_, _, _, pl, _ := wire.ParseIP(p)
			tc, _ := wire.ParseTCP(pl)
			wire.ParseTCPOptions(tc.Options(), tc.Flags(), &o)
			if !o.MPTCP.Present.Has(wire.SubtypeMPTCPRst) {
				t.Errorf("refusal without MP_TCPRST")
			}
		}
	}
	c, _ := a.Dial(n.now, ap(addrB, 80), nil)
	n.Advance(50 * time.Millisecond)
	if rsts != 1 || !errors.Is(c.Err(), ErrConnectionRefused) {
		t.Fatalf("rsts %d err %v", rsts, c.Err())
	}
	// ErrDrop: no answer at all.
	lh.err = ErrDrop
	rsts = 0
	c, _ = a.Dial(n.now, ap(addrB, 80), nil)
	n.Advance(500 * time.Millisecond)
	if rsts != 0 || c.State() != StateSynSent {
		t.Fatalf("dropped SYN answered: rsts %d state %v", rsts, c.State())
	}
}

func TestReceiveWindowOverrideAndSendACK(t *testing.T) {
	n := newTestNet(t, 2*time.Millisecond)
	a, b := n.pair(nil, nil)
	sh := newRecHooks()
	sh.window = 1 << 20
	b.Listen(ap(addrB, 80), &ListenConfig{Hooks: &listenHooks{hooks: sh}})
	var wnds []uint16
	n.tap = func(p []byte) {
		_, _, _, pl, _ := wire.ParseIP(p)
		tc, _ := wire.ParseTCP(pl)
		if tc.SrcPort() == 80 && tc.Flags()&wire.FlagSYN == 0 {
			wnds = append(wnds, tc.Window())
		}
	}
	c, _ := a.Dial(n.now, ap(addrB, 80), nil)
	n.Advance(20 * time.Millisecond)
	var sc *Conn
	for _, x := range b.conns {
		sc = x
	}
	if c.State() != StateEstablished || sc == nil {
		t.Fatal("not established")
	}
	c.Write([]byte("x"))
	n.Advance(100 * time.Millisecond)
	before := len(wnds)
	sc.SendACK()
	n.Advance(time.Millisecond)
	if len(wnds) != before+1 {
		t.Fatalf("SendACK sent %d segments", len(wnds)-before)
	}
	for _, w := range wnds {
		if int(w)<<sc.rcvShift != 1<<20 {
			t.Fatalf("window %d<<%d, want 1 MiB", w, sc.rcvShift)
		}
	}
}

func TestRecordBoundaries(t *testing.T) {
	n := newTestNet(t, 5*time.Millisecond)
	n.rate = 5e6 / 8
	a, b := n.pair(nil, nil)
	c, sc := n.connect(a, b, 80, nil)
	c.SetOptionReserve(8)
	// Records of 3000 bytes: a full segment and a short one each, never
	// one segment across two records, retransmissions included.
	const rec = 3000
	sendRecords(t, n, c, sc, rec, func(off, l int) {
		if off/rec != (off+l-1)/rec {
			t.Errorf("segment [%d,%d) crosses a record boundary", off, off+l)
		}
		if l > c.MSS()-12-8 {
			t.Errorf("segment of %d bytes ignores the option reserve", l)
		}
	})
}

// drainHooks drains a connection from Notify with Peek/Discard, as the
// MPTCP layer does, and advertises a fixed connection-level window.
type drainHooks struct {
	NopHooks
	window int
	got    int
}

func (h *drainHooks) ReceiveWindow(c *Conn, wnd int) int { return h.window }

func (h *drainHooks) Notify(c *Conn, now time.Time, ev Event) {
	if ev&EventReadable != 0 {
		x, y := c.Peek()
		h.got += c.Discard(len(x) + len(y))
	}
}

func TestDrainFromNotifyAcksEveryOtherSegment(t *testing.T) {
	n := newTestNet(t, 5*time.Millisecond)
	n.rate = 50e6 / 8
	a, b := n.pair(nil, nil)
	dh := &drainHooks{window: 4 << 20}
	b.Listen(ap(addrB, 80), &ListenConfig{Hooks: &listenHooksFor{h: dh}})
	c, _ := a.Dial(n.now, ap(addrB, 80), nil)
	var data, acks int
	n.tap = func(p []byte) {
		l, _, _, fromA := dataSeg(p)
		switch {
		case fromA && l > 0:
			data++
		case !fromA && l == 0:
			acks++
		}
	}
	ca := newApp(c, 1, 8<<20)
	n.pumps = append(n.pumps, ca.pump)
	if !n.runUntil(30*time.Second, func() bool { return dh.got == 8<<20 }) {
		t.Fatalf("got %d", dh.got)
	}
	if ratio := float64(acks) / float64(data); ratio > 0.6 {
		t.Fatalf("%d ACKs for %d data segments", acks, data)
	}
	t.Logf("%d ACKs for %d data segments", acks, data)
}

type listenHooksFor struct{ h Hooks }

func (l *listenHooksFor) SYN(time.Time, *Request) (Hooks, error) { return l.h, nil }

func TestRecordOptionReserve(t *testing.T) {
	n := newTestNet(t, 5*time.Millisecond)
	n.rate = 5e6 / 8
	a, b := n.pair(nil, nil)
	c, sc := n.connect(a, b, 80, nil)
	c.SetRecordOptionReserve(20, 8)
	first, rest := c.MSS()-12-20, c.MSS()-12-8
	for _, tc := range []struct{ n, want int }{
		{first - 1, 0}, {first, first}, {first + rest - 1, first}, {first + 2*rest + 5, first + 2*rest},
	} {
		if got := c.RecordBytes(tc.n); got != tc.want {
			t.Errorf("RecordBytes(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
	// Records of whole segments: the first carries the larger reserve,
	// the others the smaller, in first transmissions and retransmissions.
	rec := c.RecordBytes(first + 2*rest)
	sendRecords(t, n, c, sc, rec, func(off, l int) {
		switch {
		case off%rec == 0 && l != min(first, 600000-off):
			t.Errorf("record's first segment [%d,%d): %d bytes, want %d", off, off+l, l, first)
		case off%rec != 0 && l != min(rest, 600000-off):
			t.Errorf("segment [%d,%d) inside a record: %d bytes, want %d", off, off+l, l, rest)
		}
	})
}

// sendRecords has c send 600,000 bytes to sc in records of rec bytes,
// showing check the stream offset and length of every data segment c
// sends (first transmissions and retransmissions: one in 23 is dropped),
// and checks what arrived and that some segments were sent again.
func sendRecords(t *testing.T, n *testNet, c, sc *Conn, rec int, check func(off, l int)) {
	t.Helper()
	count := 0
	n.drop = func(p []byte) bool {
		l, seq, _, fromA := dataSeg(p)
		if !fromA || l == 0 {
			return false
		}
		check(int(seq-c.iss-1), l)
		count++
		return count%23 == 0
	}
	ca, sa := newApp(c, 4, 600000), newApp(sc, 4^0xff, 0)
	ca.record = rec
	ca.closeOnDone = true
	n.pumps = append(n.pumps, ca.pump, sa.pump)
	if !n.runUntil(30*time.Second, func() bool { return sa.eof }) {
		t.Fatalf("got %d", sa.got)
	}
	checkApps(t, ca, sa)
	if c.Info().Retransmits == 0 {
		t.Fatal("no retransmissions tested")
	}
}
