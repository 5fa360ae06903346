package tcp

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

func TestConfigValidation(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no rand":     {},
		"tiny mtu":    {Rand: rand.New(rand.NewPCG(1, 1)), MTU: 100},
		"rto order":   {Rand: rand.New(rand.NewPCG(1, 1)), MinRTO: time.Minute, MaxRTO: time.Second},
		"small buf":   {Rand: rand.New(rand.NewPCG(1, 1)), Options: Options{SendBuffer: 10}},
		"port range":  {Rand: rand.New(rand.NewPCG(1, 1)), EphemeralPortMin: 5000, EphemeralPortMax: 4000},
		"unknown cc?": {Rand: rand.New(rand.NewPCG(1, 1)), Options: Options{MSS: 10}},
	} {
		if _, err := NewStack(cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

func TestDialErrors(t *testing.T) {
	n := newTestNet(t, time.Millisecond)
	a, _ := n.pair(nil, nil)
	cases := []struct {
		remote netip.AddrPort
		cfg    *DialConfig
		want   error
	}{
		{ap(addrB, 0), nil, ErrInvalid},
		{netip.AddrPort{}, nil, ErrInvalid},
		{ap(netip.MustParseAddr("224.0.0.1"), 80), nil, ErrInvalid},
		{ap(addrB, 80), &DialConfig{Local: ap(netip.MustParseAddr("10.9.9.9"), 0)}, ErrAddrNotAvailable},
		{ap(addrB, 80), &DialConfig{Local: ap(addr6A, 0)}, ErrInvalid},
		{ap(addrB, 80), &DialConfig{Options: Options{CongestionControl: "nope"}}, ErrInvalid},
	}
	for _, tc := range cases {
		if _, err := a.Dial(n.now, tc.remote, tc.cfg); !errors.Is(err, tc.want) {
			t.Errorf("Dial(%v, %+v): %v, want %v", tc.remote, tc.cfg, err, tc.want)
		}
	}
	if _, err := a.Dial(n.now, ap(addrB, 80), &DialConfig{Local: ap(addrA, 5000)}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Dial(n.now, ap(addrB, 80), &DialConfig{Local: ap(addrA, 5000)}); !errors.Is(err, ErrAddrInUse) {
		t.Errorf("second dial on the same tuple: %v", err)
	}
	if _, err := a.Listen(ap(addrA, 80), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Listen(ap(addrA, 80), nil); !errors.Is(err, ErrAddrInUse) {
		t.Errorf("second listen: %v", err)
	}
	if _, err := a.Listen(ap(addrB, 80), nil); !errors.Is(err, ErrAddrNotAvailable) {
		t.Errorf("listen on foreign address: %v", err)
	}
}

func TestEphemeralPortsDeterministic(t *testing.T) {
	ports := func() []uint16 {
		n := newTestNet(t, time.Millisecond)
		a, _ := n.pair(func(c *Config) { c.EphemeralPortMin, c.EphemeralPortMax = 40000, 40009 }, nil)
		var ps []uint16
		for range 10 {
			c, err := a.Dial(n.now, ap(addrB, 80), nil)
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, c.LocalAddr().Port())
		}
		if _, err := a.Dial(n.now, ap(addrB, 80), nil); !errors.Is(err, ErrAddrNotAvailable) {
			t.Fatalf("11th dial in a 10-port range: %v", err)
		}
		return ps
	}
	p1, p2 := ports(), ports()
	seen := map[uint16]bool{}
	for i := range p1 {
		if p1[i] != p2[i] {
			t.Fatalf("port choice not reproducible: %v vs %v", p1, p2)
		}
		if seen[p1[i]] || p1[i] < 40000 || p1[i] > 40009 {
			t.Fatalf("bad port sequence %v", p1)
		}
		seen[p1[i]] = true
	}
}

func TestAcceptQueueOverflowAndListenerClose(t *testing.T) {
	n := newTestNet(t, time.Millisecond)
	a, b := n.pair(nil, nil)
	l, _ := b.Listen(ap(addrB, 80), &ListenConfig{Backlog: 2})
	var cs []*Conn
	for range 3 {
		c, _ := a.Dial(n.now, ap(addrB, 80), nil)
		cs = append(cs, c)
	}
	n.Advance(50 * time.Millisecond)
	if l.Pending() != 2 || l.HalfOpen() != 1 || b.Stats().ListenOverflows == 0 {
		t.Fatalf("pending %d half-open %d overflows %d", l.Pending(), l.HalfOpen(), b.Stats().ListenOverflows)
	}
	// Accepting one makes room: the third completes on a retransmission.
	if c, err := l.Accept(); err != nil || c == nil {
		t.Fatal(err)
	}
	n.Advance(3 * time.Second)
	if l.Pending() != 2 {
		t.Fatalf("pending %d", l.Pending())
	}
	// Closing the listener resets what was not accepted.
	l.Close()
	n.Advance(50 * time.Millisecond)
	resets := 0
	for _, c := range cs {
		if errors.Is(c.Err(), ErrConnectionReset) {
			resets++
		}
	}
	if resets != 2 {
		t.Fatalf("%d clients reset, want 2", resets)
	}
	if _, err := l.Accept(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
}

func TestNagle(t *testing.T) {
	n, _, _, c, _ := established(t, func(c *Config) { c.Nagle = true })
	var segs []int
	n.tap = func(p []byte) {
		if l, _, _, fromA := dataSeg(p); fromA && l > 0 {
			segs = append(segs, l)
		}
	}
	for range 10 {
		c.Write([]byte("0123456789"))
		n.Advance(100 * time.Microsecond)
	}
	n.Advance(100 * time.Millisecond)
	// The first small write goes at once; the others wait for its ACK and
	// go together.
	if len(segs) != 2 || segs[0] != 10 || segs[1] != 90 {
		t.Fatalf("segments %v, want [10 90]", segs)
	}
}

func TestSpuriousRTOUndone(t *testing.T) {
	n, _, _, c, sc := established(t, nil)
	n.rate = 10e6 / 8
	ca, sa := newApp(c, 3, 1<<20), newApp(sc, 3^0xff, 0)
	n.pumps = append(n.pumps, ca.pump, sa.pump)
	n.Advance(200 * time.Millisecond)
	// Hold every ACK for twice the RTO, then release them together: the
	// RTO fires, yet nothing was lost. Timestamps show it (Eifel) and the
	// congestion window is restored.
	from := n.now
	release := from.Add(2 * c.Info().RTO)
	n.extra = func(p []byte) time.Duration {
		if l, _, _, fromA := dataSeg(p); !fromA && l == 0 && n.now.Before(release) {
			return release.Sub(n.now)
		}
		return 0
	}
	if !n.runUntil(10*time.Second, func() bool { return sa.got == 1<<20 }) {
		t.Fatalf("got %d", sa.got)
	}
	st := c.Info()
	if st.RTOs == 0 || st.SpuriousRTOs == 0 || st.Undos == 0 {
		t.Fatalf("RTOs %d, spurious %d, undos %d", st.RTOs, st.SpuriousRTOs, st.Undos)
	}
	checkApps(t, ca, sa)
}

func TestPenalizeAndRTOEvent(t *testing.T) {
	n, _, _, c, sc := established(t, nil)
	n.rate = 20e6 / 8
	h := newRecHooks()
	c.SetHooks(h)
	ca, sa := newApp(c, 3, 1<<20), newApp(sc, 3^0xff, 0)
	n.pumps = append(n.pumps, ca.pump, sa.pump)
	n.Advance(300 * time.Millisecond)
	before := c.Cwnd()
	if !c.Penalize(n.now) {
		t.Fatal("Penalize refused")
	}
	if after := c.Cwnd(); after >= before || after < before/2-1448 {
		t.Fatalf("cwnd %d -> %d", before, after)
	}
	if c.Penalize(n.now) {
		t.Fatal("second Penalize within an RTT acted")
	}
	// A black hole: the RTO fires and Notify reports it.
	n.drop = func([]byte) bool { return true }
	n.Advance(2 * time.Second)
	if h.events&EventRTO == 0 || c.Info().RTOsInRow == 0 {
		t.Fatalf("events %b, RTOs in a row %d", h.events, c.Info().RTOsInRow)
	}
}

func TestSYNRetransmitsCountedForHooks(t *testing.T) {
	n := newTestNet(t, time.Millisecond)
	a, _ := n.pair(nil, nil)
	var counts []int
	h := &countHooks{f: func(seg *Segment) {
		if seg.Kind == KindSYN {
			counts = append(counts, seg.Retransmits)
		}
	}}
	n.drop = func([]byte) bool { return true }
	a.Dial(n.now, ap(addrB, 80), &DialConfig{Hooks: h})
	n.Advance(8 * time.Second)
	if len(counts) != 4 || counts[0] != 0 || counts[3] != 3 {
		t.Fatalf("SYN retransmit counts %v", counts)
	}
}

type countHooks struct {
	NopHooks
	f func(*Segment)
}

func (h *countHooks) WriteOptions(c *Conn, seg *Segment, b *wire.OptionBuilder) { h.f(seg) }

func TestPeekAfterAbort(t *testing.T) {
	n, _, _, c, sc := established(t, nil)
	c.Write([]byte("data"))
	n.Advance(10 * time.Millisecond)
	sc.Abort()
	if x, y := sc.Peek(); len(x)+len(y) != 0 || sc.Readable() != 0 {
		t.Fatalf("Peek after Abort: %d bytes", len(x)+len(y))
	}
}

// TestDropUnsent: what was never sent is discarded, what was sent stays
// and is delivered, and the FIN follows the last byte sent.
func TestDropUnsent(t *testing.T) {
	n, _, _, c, sc := established(t, nil)
	held := true
	var queued [][]byte
	n.drop = func(p []byte) bool {
		if held {
			queued = append(queued, append([]byte(nil), p...))
		}
		return held
	}
	data := make([]byte, 200<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	w, _ := c.Write(data)
	n.Advance(time.Millisecond)
	sent := c.Unacked() - c.Unsent()
	if sent == 0 || c.Unsent() == 0 {
		t.Fatalf("sent %d, unsent %d: want some of each", sent, c.Unsent())
	}
	// Keep 1000 unsent bytes, then drop the rest.
	if got, want := c.DropUnsent(uint64(sent+1000)), w-sent-1000; got != want {
		t.Fatalf("DropUnsent(sent+1000) = %d, want %d", got, want)
	}
	if c.Unsent() != 1000 {
		t.Fatalf("unsent %d, want 1000", c.Unsent())
	}
	if got := c.DropUnsent(0); got != 1000 {
		t.Fatalf("DropUnsent(0) = %d, want 1000", got)
	}
	if c.Unsent() != 0 || c.Unacked() != sent || c.DropUnsent(0) != 0 {
		t.Fatalf("after DropUnsent: unsent %d, unacked %d (want 0, %d)", c.Unsent(), c.Unacked(), sent)
	}
	c.CloseWrite()
	held = false
	// The held segments arrive late; retransmission fills any gap.
	for _, p := range queued {
		n.sendFrom(p)
	}
	var got []byte
	buf := make([]byte, 64<<10)
	if !n.runUntil(10*time.Second, func() bool {
		for {
			k, err := sc.Read(buf)
			got = append(got, buf[:k]...)
			if err != nil || k == 0 {
				return err != nil
			}
		}
	}) {
		t.Fatalf("no EOF; got %d bytes", len(got))
	}
	if len(got) != sent || !bytes.Equal(got, data[:sent]) {
		t.Fatalf("peer read %d bytes, want the %d sent, byte for byte", len(got), sent)
	}
}
