package tcp

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/link"
	"github.com/mptcp-go/mptcp/wire"
)

// testNet wires stacks back to back through a fake network with a fake
// clock: packets take a fixed one-way delay (plus what reorder adds), may
// be dropped by drop, and are delivered in time order.
type testNet struct {
	t      testing.TB
	now    time.Time
	stacks []*Stack
	next   []time.Time
	guards []link.PollGuard // one per stack: a stack stuck asking for now fails the test instead of spinning
	queue  []flight
	seq    uint64
	delay  time.Duration
	// rate, if set, serialises each direction at this many bytes per
	// second, with an unbounded queue.
	rate    float64
	busy    map[netip.Addr]time.Time
	drop    func(pkt []byte) bool
	extra   func(pkt []byte) time.Duration // added delay (reordering)
	tap     func(pkt []byte)               // sees every packet sent
	pumps   []func()
	sent    int
	dropped int
}

type flight struct {
	at  time.Time
	seq uint64
	pkt []byte
}

var (
	addrA  = netip.MustParseAddr("10.0.0.1")
	addrB  = netip.MustParseAddr("10.0.0.2")
	addr6A = netip.MustParseAddr("2001:db8::1")
	addr6B = netip.MustParseAddr("2001:db8::2")
)

func newTestNet(t testing.TB, delay time.Duration) *testNet {
	return &testNet{t: t, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), delay: delay, busy: map[netip.Addr]time.Time{}}
}

// addStack adds a stack with the given addresses and config tweaks.
func (n *testNet) addStack(seed uint64, tweak func(*Config), addrs ...netip.Addr) *Stack {
	cfg := Config{Rand: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := NewStack(cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	for _, a := range addrs {
		s.AddAddress(a)
	}
	n.stacks = append(n.stacks, s)
	n.next = append(n.next, time.Time{})
	n.guards = append(n.guards, link.PollGuard{})
	return s
}

// pair returns two stacks at addrA and addrB (and their IPv6 addresses).
func (n *testNet) pair(tweakA, tweakB func(*Config)) (*Stack, *Stack) {
	a := n.addStack(1, tweakA, addrA, addr6A)
	b := n.addStack(2, tweakB, addrB, addr6B)
	return a, b
}

func (n *testNet) sendFrom(p []byte) {
	n.sent++
	if n.tap != nil {
		n.tap(p)
	}
	if n.drop != nil && n.drop(p) {
		n.dropped++
		return
	}
	at := n.now.Add(n.delay)
	if n.rate > 0 {
		src, _, _, _, _ := wire.ParseIP(p)
		start := n.now
		if b := n.busy[src]; b.After(start) {
			start = b
		}
		done := start.Add(time.Duration(float64(len(p)) / n.rate * 1e9))
		n.busy[src] = done
		at = done.Add(n.delay)
	}
	if n.extra != nil {
		at = at.Add(n.extra(p))
	}
	n.seq++
	n.queue = append(n.queue, flight{at, n.seq, slices.Clone(p)})
}

func (n *testNet) stackFor(dst netip.Addr) int {
	for i, s := range n.stacks {
		if s.owns(dst) {
			return i
		}
	}
	return -1
}

// pollAll polls every stack now.
func (n *testNet) pollAll() {
	for i, s := range n.stacks {
		n.next[i] = n.guards[i].Next(n.now, s.Poll(n.now, n.sendFrom))
		if err := s.CheckTimers(); err != nil {
			n.t.Fatalf("harness: stack %d at %v: %v", i, n.now, err)
		}
		if n.guards[i].Backoffs() > 0 {
			n.t.Fatalf("harness: stack %d asked to be polled at once more than %d times in a row at %v", i, link.MaxEagerPolls, n.now)
		}
	}
}

// step runs the pumps and polls: application work, then the stacks.
func (n *testNet) settle() {
	for range 4 {
		for _, p := range n.pumps {
			p()
		}
		n.pollAll()
	}
}

// Advance runs the network for d of fake time.
func (n *testNet) Advance(d time.Duration) {
	end := n.now.Add(d)
	n.settle()
	for iter := 0; ; iter++ {
		if iter > 50_000_000 {
			n.t.Fatal("harness: too many events")
		}
		// Earliest event.
		t := end
		for _, f := range n.queue {
			if f.at.Before(t) {
				t = f.at
			}
		}
		for _, x := range n.next {
			if !x.IsZero() && x.Before(t) {
				t = x
			}
		}
		if t.After(end) || (t.Equal(end) && !n.pktDue(end) && !n.timerDue(end)) {
			n.now = end
			n.settle()
			return
		}
		if t.After(n.now) {
			n.now = t
		}
		for _, f := range n.due(n.now) {
			_, dst, _, _, err := wire.ParseIP(f.pkt)
			if err != nil {
				n.t.Fatalf("harness: bad packet: %v", err)
			}
			if i := n.stackFor(dst); i >= 0 {
				n.stacks[i].Deliver(n.now, f.pkt)
			}
		}
		n.settle()
	}
}

func (n *testNet) pktDue(t time.Time) bool {
	for _, f := range n.queue {
		if !f.at.After(t) {
			return true
		}
	}
	return false
}

func (n *testNet) timerDue(t time.Time) bool {
	for _, x := range n.next {
		if !x.IsZero() && !x.After(t) {
			return true
		}
	}
	return false
}

// due removes and returns the packets due by t, in arrival order.
func (n *testNet) due(t time.Time) []flight {
	var out []flight
	keep := n.queue[:0]
	for _, f := range n.queue {
		if !f.at.After(t) {
			out = append(out, f)
		} else {
			keep = append(keep, f)
		}
	}
	n.queue = keep
	slices.SortFunc(out, func(a, b flight) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return int(int64(a.seq - b.seq))
	})
	return out
}

// runUntil advances in small steps until cond holds or limit passes.
func (n *testNet) runUntil(limit time.Duration, cond func() bool) bool {
	end := n.now.Add(limit)
	for n.now.Before(end) {
		if cond() {
			return true
		}
		n.Advance(10 * time.Millisecond)
	}
	return cond()
}

// pattern returns the byte at stream offset i of a test stream.
func pattern(seed, i uint64) byte {
	x := (i + seed*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
	return byte(x>>56) ^ byte(i)
}

// app is a test application on one connection: it writes total bytes of a
// pattern stream, reads and checks what arrives, and closes when told.
type app struct {
	c           *Conn
	seed        uint64
	total       int
	written     int
	got         int
	bad         int
	eof         bool
	closeOnDone bool
	closed      bool
	buf         []byte
	record      int // if > 0, write records of this size
	readErr     error
}

func newApp(c *Conn, seed uint64, total int) *app {
	return &app{c: c, seed: seed, total: total, buf: make([]byte, 64<<10)}
}

func (a *app) pump() {
	if a.c == nil {
		return
	}
	c := a.c
	for a.written < a.total && c.Writable() > 0 {
		n := min(a.total-a.written, len(a.buf), c.Writable())
		if a.record > 0 {
			n = min(n, a.record)
		}
		for i := range n {
			a.buf[i] = pattern(a.seed, uint64(a.written+i))
		}
		var w int
		var err error
		if a.record > 0 {
			w, err = c.WriteRecord(a.buf[:n])
		} else {
			w, err = c.Write(a.buf[:n])
		}
		if err != nil || w == 0 {
			break
		}
		a.written += w
	}
	if a.written == a.total && a.closeOnDone && !a.closed && c.state.sendOpen() {
		a.closed = true
		c.CloseWrite()
	}
	for {
		n, err := c.Read(a.buf)
		for i := range n {
			if a.buf[i] != pattern(a.seed^0xff, uint64(a.got+i)) {
				a.bad++
			}
		}
		a.got += n
		if err != nil {
			if err.Error() == "EOF" {
				a.eof = true
			} else {
				a.readErr = err
			}
			break
		}
		if n == 0 {
			break
		}
	}
}

// connect dials from a to b:port and returns both ends once established.
func (n *testNet) connect(a, b *Stack, port uint16, dc *DialConfig) (*Conn, *Conn) {
	n.t.Helper()
	l := b.listeners[netip.AddrPortFrom(addrB, port)]
	if l == nil {
		var err error
		l, err = b.Listen(netip.AddrPortFrom(addrB, port), nil)
		if err != nil {
			n.t.Fatal(err)
		}
	}
	c, err := a.Dial(n.now, netip.AddrPortFrom(addrB, port), dc)
	if err != nil {
		n.t.Fatal(err)
	}
	var sc *Conn
	ok := n.runUntil(10*time.Second, func() bool {
		if sc == nil {
			sc, _ = l.Accept()
		}
		return sc != nil && c.State() == StateEstablished
	})
	if !ok {
		n.t.Fatalf("connect: client %v, server %v", c.State(), sc)
	}
	return c, sc
}

// transfer runs apps on both ends: client sends up bytes, server down
// bytes (server's stream uses seed^0xff so each side checks the other).
func checkApps(t testing.TB, ca, sa *app) {
	t.Helper()
	if ca.bad != 0 || sa.bad != 0 {
		t.Fatalf("corrupt bytes: client read %d bad, server read %d bad", ca.bad, sa.bad)
	}
}
