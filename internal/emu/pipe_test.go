package emu

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/scenario"
)

// sending is one packet of a test trace: sent at t, n bytes of IP packet.
type sending struct {
	t  time.Duration
	n  int
	id uint32
}

type delivery struct {
	T  time.Duration
	ID uint32
}

// ipPacket builds an IPv4 packet of n bytes from 10.0.0.1 to 10.0.0.2
// carrying id.
func ipPacket(n int, id uint32) []byte {
	b := make([]byte, n)
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	b[8] = 64
	b[9] = 17
	copy(b[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint32(b[20:], id)
	return b
}

// trace returns count packets of random sizes in bursts, offered faster
// than rate on average so that a queue builds and drains.
func trace(seed uint64, count int, rate int64) []sending {
	r := rand.New(rand.NewPCG(seed, 1))
	var out []sending
	t := time.Duration(0)
	for i := range count {
		n := 40 + r.IntN(1461)
		if r.IntN(4) == 0 {
			n = 52 // ACK-sized
		}
		out = append(out, sending{t: t, n: n, id: uint32(i)})
		// Mean gap 0.7 of a 800-byte packet's serialisation, with idle
		// periods now and then.
		gap := time.Duration(r.ExpFloat64() * 0.7 * 800 * 8 * 1e9 / float64(rate))
		if r.IntN(200) == 0 {
			gap += 30 * time.Millisecond
		}
		t += gap
	}
	return out
}

// traceStack is a netsim stack that sends a trace, or records deliveries.
type traceStack struct {
	start time.Time
	todo  []sending
	got   []delivery
}

func (s *traceStack) Deliver(now time.Time, pkt []byte) {
	s.got = append(s.got, delivery{now.Sub(s.start), binary.BigEndian.Uint32(pkt[20:])})
}

func (s *traceStack) Poll(now time.Time, send func([]byte)) time.Time {
	for len(s.todo) > 0 && s.start.Add(s.todo[0].t).Compare(now) <= 0 {
		send(ipPacket(s.todo[0].n, s.todo[0].id))
		s.todo = s.todo[1:]
	}
	if len(s.todo) == 0 {
		return time.Time{}
	}
	return s.start.Add(s.todo[0].t)
}

// runNetsim sends tr over a netsim pipe configured as cfg with the given
// schedule and returns the deliveries and the pipe's counters.
func runNetsim(t *testing.T, cfg netsim.PipeConfig, events []scenario.Event, tr []sending) ([]delivery, netsim.PipeStats) {
	t.Helper()
	sim := netsim.New(1)
	a, _ := sim.NewHost("a")
	b, _ := sim.NewHost("b")
	ia, err := a.AddInterface("eth0", netip.MustParsePrefix("10.0.0.1/24"))
	if err != nil {
		t.Fatal(err)
	}
	ib, _ := b.AddInterface("eth0", netip.MustParsePrefix("10.0.0.2/24"))
	link, err := sim.ConnectAsym(ia, ib, cfg, netsim.PipeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		var chs []netsim.Change
		switch {
		case e.Down:
			chs = append(chs, netsim.Down())
		case e.Up:
			chs = append(chs, netsim.Up())
		}
		if e.Rate != nil {
			chs = append(chs, netsim.Rate(*e.Rate))
		}
		if e.Delay != nil {
			chs = append(chs, netsim.Delay(*e.Delay))
		}
		if e.Loss != nil {
			chs = append(chs, netsim.Loss(*e.Loss))
		}
		if err := link.AB().Schedule(netsim.Epoch.Add(e.At), chs...); err != nil {
			t.Fatal(err)
		}
	}
	recv := &traceStack{start: netsim.Epoch}
	b.SetStack(recv)
	a.SetStack(&traceStack{start: netsim.Epoch, todo: tr})
	sim.RunFor(time.Minute)
	return recv.got, link.AB().Stats()
}

// runCore sends tr through one emu pipe, in virtual time.
func runCore(cfg netsim.PipeConfig, events []scenario.Event, tr []sending) ([]delivery, *flow, *core) {
	var got []delivery
	c := &core{}
	f := &flow{name: "test/up"}
	c.init(2048, 1<<30, 0, func(pk *packet) {
		got = append(got, delivery{time.Duration(pk.arrival), binary.BigEndian.Uint32(pk.b[ethHeaderLen+20:])})
		c.pool.put(pk)
	})
	p := newPipe(c, "test/up", cfg, 1)
	c.pipes = []*pipe{p}
	f.pipes = []*pipe{p}
	for _, e := range events {
		c.addChanges(change{at: int64(e.At), pipes: []*pipe{p}, ev: e})
	}
	c.startSchedule(0)
	for _, s := range tr {
		pk := c.pool.get(ethHeaderLen + s.n)
		copy(pk.b[ethHeaderLen:], ipPacket(s.n, s.id))
		c.admit(f, int64(s.t), pk)
	}
	c.advance(int64(time.Minute))
	return got, f, c
}

func ptr[T any](v T) *T { return &v }

// TestPipeMatchesNetsim checks that the emulator's link model delivers
// the same packets at the same nanoseconds as netsim's pipe, for the
// deterministic parts of the model: rate, delay, queue limits, MTU, and
// scheduled outages and changes.
func TestPipeMatchesNetsim(t *testing.T) {
	const rate = 10_000_000
	cases := []struct {
		name   string
		cfg    netsim.PipeConfig
		events []scenario.Event
	}{
		{"ideal", netsim.PipeConfig{}, nil},
		{"delay", netsim.PipeConfig{Delay: 7 * time.Millisecond}, nil},
		{"rate", netsim.PipeConfig{Rate: rate, Delay: 10 * time.Millisecond}, nil},
		{"queue packets", netsim.PipeConfig{Rate: rate, Delay: 5 * time.Millisecond, QueuePackets: 20}, nil},
		{"queue bytes", netsim.PipeConfig{Rate: rate / 3, Delay: 1 * time.Millisecond, QueueBytes: 15000}, nil},
		{"odd rate", netsim.PipeConfig{Rate: 7_777_777, QueuePackets: 50}, nil},
		{"mtu", netsim.PipeConfig{Rate: rate, MTU: 1000}, nil},
		{"outage", netsim.PipeConfig{Rate: rate, Delay: 20 * time.Millisecond, QueuePackets: 100}, []scenario.Event{
			{At: 300 * time.Millisecond, Down: true}, {At: 700 * time.Millisecond, Up: true}}},
		{"changes", netsim.PipeConfig{Rate: rate, Delay: 20 * time.Millisecond, QueuePackets: 100}, []scenario.Event{
			{At: 200 * time.Millisecond, Rate: ptr[int64](rate / 4)},
			{At: 400 * time.Millisecond, Delay: ptr(2 * time.Millisecond)},
			{At: 600 * time.Millisecond, Rate: ptr[int64](rate * 3), Delay: ptr(30 * time.Millisecond)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := trace(7, 3000, rate)
			want, ws := runNetsim(t, tc.cfg, tc.events, tr)
			got, f, c := runCore(tc.cfg, tc.events, tr)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("deliveries differ from netsim (-netsim +emu):\n%s", diff)
			}
			gs := f.ctr.snapshot()
			t.Logf("%d delivered, queue drops %d, down drops %d, too big %d", len(got), gs.QueueDrops, gs.DownDrops, gs.TooBig)
			if gs.QueueDrops != ws.QueueDrops || gs.DownDrops != ws.DownDrops || gs.TooBig != ws.TooBig {
				t.Errorf("drops: emu queue %d down %d too big %d, netsim %d %d %d",
					gs.QueueDrops, gs.DownDrops, gs.TooBig, ws.QueueDrops, ws.DownDrops, ws.TooBig)
			}
			if c.pool.used != 0 {
				t.Errorf("%d bytes of buffers not returned", c.pool.used)
			}
		})
	}
}

// TestPipeImpairments checks the random impairments' properties, which
// cannot match netsim draw for draw (the streams differ).
func TestPipeImpairments(t *testing.T) {
	const rate = 10_000_000
	tr := trace(3, 20000, rate)
	t.Run("loss", func(t *testing.T) {
		got, f, _ := runCore(netsim.PipeConfig{Loss: 0.1}, nil, tr)
		lost := f.ctr.lossDrops.Load()
		if int(lost)+len(got) != len(tr) {
			t.Fatalf("lost %d + delivered %d != sent %d", lost, len(got), len(tr))
		}
		// Binomial(20000, 0.1): sd 42; 6 sd either side.
		if lost < 2000-250 || lost > 2000+250 {
			t.Errorf("lost %d of %d with loss 0.1", lost, len(tr))
		}
	})
	t.Run("jitter keeps order", func(t *testing.T) {
		got, _, _ := runCore(netsim.PipeConfig{Delay: 5 * time.Millisecond, Jitter: 4 * time.Millisecond}, nil, tr)
		spread := false
		for i := 1; i < len(got); i++ {
			if got[i].ID < got[i-1].ID || got[i].T < got[i-1].T {
				t.Fatalf("packet %d delivered after %d", got[i-1].ID, got[i].ID)
			}
			if d := got[i].T - tr[got[i].ID].t; d > 7*time.Millisecond {
				spread = true
			}
		}
		if !spread {
			t.Error("jitter never added more than 2 ms")
		}
	})
	t.Run("reorder and duplicate", func(t *testing.T) {
		got, f, c := runCore(netsim.PipeConfig{Delay: 2 * time.Millisecond, Reorder: 0.05, Duplicate: 0.02}, nil, tr)
		s := f.ctr.snapshot()
		if len(got) != len(tr)+int(s.Duplicated) {
			t.Fatalf("delivered %d, want %d sent + %d duplicates", len(got), len(tr), s.Duplicated)
		}
		inversions := 0
		for i := 1; i < len(got); i++ {
			if got[i].ID < got[i-1].ID {
				inversions++
			}
		}
		if s.Reordered < 700 || s.Reordered > 1300 || s.Duplicated < 250 || s.Duplicated > 550 || inversions == 0 {
			t.Errorf("reordered %d, duplicated %d, inversions %d", s.Reordered, s.Duplicated, inversions)
		}
		if c.pool.used != 0 {
			t.Errorf("%d bytes of buffers not returned", c.pool.used)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		c := &core{}
		f := &flow{name: "c"}
		flipped := 0
		c.init(2048, 1<<30, 0, func(pk *packet) {
			want := ipPacket(pk.l3(), binary.BigEndian.Uint32(pk.b[ethHeaderLen+20:]))
			if string(want) != string(pk.b[ethHeaderLen:]) {
				flipped++
			}
			c.pool.put(pk)
		})
		p := newPipe(c, "c", netsim.PipeConfig{Corrupt: 0.5}, 1)
		c.pipes, f.pipes = []*pipe{p}, []*pipe{p}
		for i := range 1000 {
			pk := c.pool.get(ethHeaderLen + 100)
			copy(pk.b[ethHeaderLen:], ipPacket(100, 1000000)) // an id whose bytes a flip changes visibly
			c.admit(f, int64(i), pk)
		}
		c.advance(noEvent - 1)
		if n := f.ctr.corrupted.Load(); n < 400 || n > 600 || uint64(flipped) > n {
			t.Errorf("corrupted %d, of which %d seen changed, of 1000 at 0.5", n, flipped)
		}
	})
}

// TestMemoryBound checks that an unlimited queue behind a slow link stops
// growing at the memory bound, and that the overflow is counted.
func TestMemoryBound(t *testing.T) {
	c := &core{}
	f := &flow{name: "m"}
	c.init(2048, 1<<20, 0, func(pk *packet) { c.pool.put(pk) })
	p := newPipe(c, "m", netsim.PipeConfig{Rate: 1000}, 1)
	c.pipes, f.pipes = []*pipe{p}, []*pipe{p}
	frame := make([]byte, 1514)
	for i := range 10000 {
		c.receive(f, int64(i), frame)
		if c.pool.used > c.pool.limit {
			t.Fatalf("%d bytes of buffers held, bound %d", c.pool.used, c.pool.limit)
		}
	}
	s := f.ctr.snapshot()
	if s.Overflow == 0 || s.Queued == 0 || s.Overflow+uint64(s.Queued)+uint64(s.InFlight) != 10000 {
		t.Errorf("overflow %d, queued %d, in flight %d of 10000", s.Overflow, s.Queued, s.InFlight)
	}
}

// TestBadFrames feeds frames of every length from 0 to beyond the
// buffers: none may panic, runts and giants are counted as invalid.
func TestBadFrames(t *testing.T) {
	c := &core{}
	f := &flow{name: "b"}
	out := 0
	c.init(1518, 1<<30, 0, func(pk *packet) { out++; c.pool.put(pk) })
	p := newPipe(c, "b", netsim.PipeConfig{Rate: 1e9, Delay: time.Millisecond, Corrupt: 1, Duplicate: 0.5, Reorder: 0.5}, 1)
	c.pipes, f.pipes = []*pipe{p}, []*pipe{p}
	for n := 0; n <= 1600; n++ {
		c.receive(f, int64(n)*1000, make([]byte, n))
	}
	c.advance(noEvent - 1)
	s := f.ctr.snapshot()
	if s.Invalid != ethHeaderLen+(1600-1518) {
		t.Errorf("invalid %d, want %d", s.Invalid, ethHeaderLen+(1600-1518))
	}
	if out != 1601-int(s.Invalid)+int(s.Duplicated) {
		t.Errorf("forwarded %d", out)
	}
}

// BenchmarkCore measures the link model's cost per packet (admission,
// serialisation, wire, delivery), without I/O: a saturated 1 Gbit/s pipe
// with a delay and a queue.
func BenchmarkCore(b *testing.B) {
	c := &core{}
	f := &flow{name: "bench"}
	c.init(2048, 1<<30, 0, func(pk *packet) { c.pool.put(pk) })
	p := newPipe(c, "bench", netsim.PipeConfig{Rate: 1e9, Delay: 10 * time.Millisecond, QueuePackets: 1000, Loss: 0.001}, 1)
	c.pipes, f.pipes = []*pipe{p}, []*pipe{p}
	frame := make([]byte, 1514)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// 1514-byte frames every 11 µs: a little above 1 Gbit/s.
		c.receive(f, int64(i)*11000, frame)
	}
	c.advance(noEvent - 1)
}
