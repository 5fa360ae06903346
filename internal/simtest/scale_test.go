package simtest

import (
	"flag"
	"fmt"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

var scaleConns = flag.String("scale.conns", "1,100,1000,10000", "connection counts of the scale benchmarks (comma-separated)")

// scaleNet is a client and a server with many established MPTCP
// connections between them over one path, idle unless a test makes some
// of them busy.
type scaleNet struct {
	*Net
	clients, servers []*core.Conn
	heapPerConn      float64 // heap bytes after GC per connection (both ends)
}

// onePath is the scale benchmarks' network: one path.
var onePath = []Path{{Rate: 1e9, Delay: 2 * time.Millisecond, Queue: 4 << 20}}

// newScaleNet opens n connections over paths, in batches so the listener
// keeps up, and lets them settle.
func newScaleNet(tb testing.TB, n int, paths []Path) *scaleNet {
	tb.Helper()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	net, err := NewNet(7, paths, Options{NoTimerCheck: true})
	if err != nil {
		tb.Fatal(err)
	}
	s := &scaleNet{Net: net}
	ln, err := net.SS.Listen(netip.AddrPortFrom(netip.IPv4Unspecified(), 80))
	if err != nil {
		tb.Fatal(err)
	}
	ln.SetNotify(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.servers = append(s.servers, c)
		}
	})
	for len(s.clients) < n {
		for range min(256, n-len(s.clients)) {
			c, err := net.CS.Dial(net.Sim.Now(), netip.Addr{}, netip.AddrPortFrom(net.ServerAddr, 80), core.ConnOptions{})
			if err != nil {
				tb.Fatal(err)
			}
			s.clients = append(s.clients, c)
		}
		net.Client.Wake()
		net.Sim.RunFor(50 * time.Millisecond)
	}
	net.Sim.RunFor(2 * time.Second)
	for _, c := range s.clients {
		if c.State() != core.StateEstablished || c.FellBack() {
			tb.Fatalf("client connection %v: %v (fell back: %v)", c.LocalAddr(), c.State(), c.FellBack())
		}
	}
	if len(s.servers) != n {
		tb.Fatalf("%d connections accepted, want %d", len(s.servers), n)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	s.heapPerConn = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
	return s
}

// bulk keeps a connection's send buffer full and its peer's receive
// buffer empty.
func (s *scaleNet) bulk(i int) {
	c, srv := s.clients[i], s.servers[i]
	out := make([]byte, 64<<10)
	in := make([]byte, 64<<10)
	c.SetNotify(func() {
		for {
			if n, _ := c.Write(out); n == 0 {
				return
			}
		}
	})
	srv.SetNotify(func() {
		for {
			if n, _ := srv.Read(in); n == 0 {
				return
			}
		}
	})
	for {
		if n, _ := c.Write(out); n == 0 {
			break
		}
	}
	s.Client.Wake()
}

// packets returns the packets both hosts' stacks have been handed.
func (s *scaleNet) packets() uint64 {
	return s.Client.Stats().Delivered + s.Server.Stats().Delivered
}

func scaleSizes(tb testing.TB) []int {
	var ns []int
	for _, f := range strings.Split(*scaleConns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			tb.Fatalf("-scale.conns: bad count %q", f)
		}
		ns = append(ns, n)
	}
	return ns
}

var discard = func([]byte) {}

// BenchmarkScalePollIdle measures core.Stack.Poll on a stack with N idle
// established connections, nothing due: the cost of a poll that has no
// work, which should not grow with N. It also reports the heap each
// connection takes (both ends, after GC).
func BenchmarkScalePollIdle(b *testing.B) {
	for _, n := range scaleSizes(b) {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			s := newScaleNet(b, n, onePath)
			now := s.Sim.Now()
			s.CS.Poll(now, discard)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				s.CS.Poll(now, discard)
			}
			b.StopTimer()
			b.ReportMetric(s.heapPerConn, "heapB/conn")
		})
	}
}

// BenchmarkScalePacket measures the cost per packet handled (both hosts,
// simulator included) while 1% of N established connections (at least
// one) carry bulk data and the rest are idle.
func BenchmarkScalePacket(b *testing.B) {
	for _, n := range scaleSizes(b) {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			s := newScaleNet(b, n, onePath)
			for i := range max(1, n/100) {
				s.bulk(i)
			}
			s.Sim.RunFor(200 * time.Millisecond) // past slow start
			p0 := s.packets()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			b.ResetTimer()
			for range b.N {
				s.Sim.RunFor(time.Millisecond)
			}
			b.StopTimer()
			runtime.ReadMemStats(&m1)
			pk := float64(s.packets() - p0)
			if pk == 0 {
				b.Fatal("no packets")
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/pk, "ns/pkt")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/pk, "allocs/pkt")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// TestPollIdleDoesNotAllocate: a poll of a stack whose established
// connections have nothing to do allocates nothing, however many there
// are, and does not visit them (their deadlines wait in the heap).
func TestPollIdleDoesNotAllocate(t *testing.T) {
	s := newScaleNet(t, 20, onePath)
	now := s.Sim.Now()
	s.CS.Poll(now, discard)
	if n := testing.AllocsPerRun(100, func() { s.CS.Poll(now, discard) }); n != 0 {
		t.Fatalf("%v allocations per idle poll, want 0", n)
	}
	// Idle connections are not woken: an hour passes in few events.
	before := s.Client.Stats().Sent + s.Server.Stats().Sent
	s.Sim.RunFor(time.Hour)
	if sent := s.Client.Stats().Sent + s.Server.Stats().Sent - before; sent != 0 {
		t.Fatalf("idle connections sent %d packets in an hour", sent)
	}
}
