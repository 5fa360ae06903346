package simtest

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// pipe carries packets between two core stacks through preallocated
// buffers with no delay: the leanest driver, so that what allocates is
// the stacks.
type pipe struct {
	bufs [][]byte
	n    int
	send func([]byte)
}

func newPipe() *pipe {
	w := &pipe{bufs: make([][]byte, 4096)}
	for i := range w.bufs {
		w.bufs[i] = make([]byte, 0, 2048)
	}
	w.send = func(p []byte) {
		if w.n < len(w.bufs) {
			w.bufs[w.n] = append(w.bufs[w.n][:0], p...)
			w.n++
		}
	}
	return w
}

// deliver hands the packets carried to s and empties the wire.
func (w *pipe) deliver(now time.Time, s *core.Stack) {
	for _, p := range w.bufs[:w.n] {
		s.Deliver(now, p)
	}
	w.n = 0
}

// TestSteadyStateDoesNotAllocate drives a bulk MPTCP connection with two
// subflows between two stacks directly, once the simulator has set it up,
// and counts the allocations of each step of a round in steady state:
// the sender's poll (the scheduler's decisions, records and mappings
// queued, segments built), the data packets arriving at the receiver
// (mappings, reassembly, the application's read, the acknowledgments
// built) and the receiver's
// acknowledgments arriving at the sender (DATA_ACKs, the send buffer
// released). Each must be 0, with and without DSS checksums.
func TestSteadyStateDoesNotAllocate(t *testing.T) {
	for _, csum := range []bool{false, true} {
		paths := []Path{{Rate: 1e9, Delay: time.Millisecond}, {Rate: 1e9, Delay: 2 * time.Millisecond}}
		// Buffers of a fixed size, so that the warm-up is short.
		fixed := func(c *core.Config) {
			c.Checksum = csum
			// Both subflows carry data in every round: the default
			// scheduler would wait for the first, whose RTT the
			// instant pipe makes 1 µs (the schedulers' own allocations
			// are counted in package sched).
			c.Scheduler = "roundrobin"
			c.SendBuffer, c.SendBufferMax = 512<<10, 512<<10
			c.ReceiveBuffer, c.ReceiveBufferMax, c.DisableAutoTune = 512<<10, 512<<10, true
		}
		net, err := NewNet(11, paths, Options{Client: fixed, Server: fixed})
		if err != nil {
			t.Fatal(err)
		}
		src, dst := make([]byte, 64<<10), make([]byte, 64<<10)
		var got int
		var srv *core.Conn
		ln, err := net.SS.Listen(netip.AddrPortFrom(netip.IPv4Unspecified(), 80))
		if err != nil {
			t.Fatal(err)
		}
		ln.SetNotify(func() {
			if c, err := ln.Accept(); err == nil {
				srv = c
				srv.SetNotify(func() { // the application reads all
					for {
						n, _ := srv.Read(dst)
						if n == 0 {
							return
						}
						got += n
					}
				})
			}
		})
		c, err := net.CS.Dial(net.Sim.Now(), netip.Addr{}, netip.AddrPortFrom(net.ServerAddr, 80), core.ConnOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c.Write(src[:1000])
		net.Client.Wake()
		net.Sim.RunFor(time.Second) // handshake, data, join
		if srv == nil || len(c.Info().Subflows) < 2 {
			t.Fatalf("checksums %v: connection not set up with two subflows: %+v", csum, c.Info())
		}
		now := net.Sim.Now()
		toS, toC := newPipe(), newPipe()
		var allocs [3]uint64
		var m0, m1 runtime.MemStats
		count := func(i int, f func()) {
			runtime.ReadMemStats(&m0)
			f()
			runtime.ReadMemStats(&m1)
			allocs[i] += m1.Mallocs - m0.Mallocs
		}
		sendRound := func() { net.CS.Poll(now, toS.send) }
		dataIn := func() {
			toS.deliver(now, net.SS)
			net.SS.Poll(now, toC.send)
		}
		ackIn := func() { toC.deliver(now, net.CS) }
		round := func(measure bool) {
			now = now.Add(100 * time.Microsecond)
			for { // keep the send buffer full: both windows fill
				if n, _ := c.Write(src); n == 0 {
					break
				}
			}
			if !measure {
				sendRound()
				dataIn()
				ackIn()
				return
			}
			count(0, sendRound)
			count(1, dataIn)
			count(2, ackIn)
		}
		for range 500 { // warm up: windows, buffers and rings at size
			round(false)
		}
		got = 0
		before := c.Info().Subflows
		const rounds = 300
		// The counts are the process's, and the runtime allocates now and
		// then on its own: its scavenger's first run (runtime.bgscavenge),
		// a new OS thread when ReadMemStats restarts the world
		// (runtime.allocm), a handful of objects in whichever step they
		// fall. They happen once; an allocation of the stack's in steady
		// state happens in every measurement. So a measurement that
		// counted any is repeated, up to three in all.
		measured := 0
		for try := 0; try < 3; try++ {
			allocs = [3]uint64{}
			for range rounds {
				round(true)
			}
			measured += rounds
			if allocs == [3]uint64{} {
				break
			}
		}
		if got < 1<<20 {
			t.Fatalf("checksums %v: only %d bytes moved in %d rounds", csum, got, rounds)
		}
		for i, name := range []string{"send round", "data packets in", "ACKs in"} {
			if allocs[i] != 0 {
				t.Errorf("checksums %v: %s: %d allocations in %d rounds", csum, name, allocs[i], rounds)
			}
		}
		for i, sf := range c.Info().Subflows {
			if i >= len(before) || sf.BytesSent == before[i].BytesSent {
				t.Errorf("checksums %v: subflow %d carried nothing while measured", csum, sf.ID)
			}
		}
		t.Logf("checksums %v: %d bytes in %d rounds", csum, got, measured)
	}
}
