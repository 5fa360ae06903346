package tun

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mptcp-go/mptcp/pcap"
	"github.com/mptcp-go/mptcp/wire"
)

// echoStack answers every packet with the same packet, addresses swapped,
// at the next poll; its own timer and wake-up behaviour is scripted.
type echoStack struct {
	queue    [][]byte // packets to echo, reusing their buffers
	spare    [][]byte
	delivers atomic.Int64
	polls    atomic.Int64
	pollc    chan time.Time // poll times, if set (non-blocking)
	next     time.Time      // what Poll returns
	onPoll   func(now time.Time, send func([]byte)) time.Time
	inCall   atomic.Bool // detects concurrent calls
	afterEnd atomic.Bool // set by the test after Close: no call may follow
	t        testing.TB
}

func (s *echoStack) enter() {
	if s.afterEnd.Load() {
		s.t.Error("stack called after Close returned")
	}
	if !s.inCall.CompareAndSwap(false, true) {
		s.t.Error("stack called concurrently")
	}
}

func (s *echoStack) Deliver(now time.Time, pkt []byte) {
	s.enter()
	defer s.inCall.Store(false)
	s.delivers.Add(1)
	var b []byte
	if n := len(s.spare); n > 0 {
		b, s.spare = s.spare[n-1][:0], s.spare[:n-1]
	}
	b = append(b, pkt...)
	swapAddrs(b)
	s.queue = append(s.queue, b)
}

func (s *echoStack) Poll(now time.Time, send func([]byte)) time.Time {
	s.enter()
	defer s.inCall.Store(false)
	s.polls.Add(1)
	for i, b := range s.queue {
		send(b)
		s.spare = append(s.spare, b)
		s.queue[i] = nil
	}
	s.queue = s.queue[:0]
	if s.pollc != nil {
		select {
		case s.pollc <- now:
		default:
		}
	}
	if s.onPoll != nil {
		return s.onPoll(now, send)
	}
	return s.next
}

func swapAddrs(p []byte) {
	switch {
	case len(p) >= 20 && p[0]>>4 == 4:
		var a [4]byte
		copy(a[:], p[12:16])
		copy(p[12:16], p[16:20])
		copy(p[16:20], a[:])
	case len(p) >= 40 && p[0]>>4 == 6:
		var a [16]byte
		copy(a[:], p[8:24])
		copy(p[8:24], p[24:40])
		copy(p[24:40], a[:])
	}
}

// tcpPacket builds a TCP segment from src to dst carrying payload.
func tcpPacket(src, dst string, payload []byte) []byte {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	f := wire.TCPFields{SrcPort: 1000, DstPort: 2000, Seq: 1, Ack: 1, Flags: wire.FlagACK, Window: 1000}
	return wire.AppendTCPPacket(nil, s, d, &f, nil, payload)
}

func newTestDriver(t *testing.T, st *echoStack, cfg Config) *Driver {
	t.Helper()
	st.t = t
	d, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		st.afterEnd.Store(true)
	})
	return d
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRouteBySource checks that each packet the stack sends leaves by the
// interface whose prefixes hold its source, over IPv4 and IPv6, that a
// prefix-less interface takes the rest, and that the counters add up.
func TestRouteBySource(t *testing.T) {
	dev0, dev1 := newFakeDev("t0", 8), newFakeDev("t1", 8)
	st := &echoStack{}
	d := newTestDriver(t, st, Config{Interfaces: []Interface{
		{Device: dev0, MTU: 1500, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("fd00:1::/64")}},
		{Device: dev1, MTU: 1500, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16"), netip.MustParsePrefix("10.1.9.0/24")}},
	}})
	// Packets arrive on dev0; the echo's source is the original
	// destination, which picks the interface.
	in := [][]byte{
		tcpPacket("192.0.2.1", "10.1.0.5", []byte("to path 1")),
		tcpPacket("192.0.2.1", "10.2.0.5", []byte("to path 2")),
		tcpPacket("192.0.2.1", "10.1.9.5", []byte("longest prefix wins")),
		tcpPacket("2001:db8::1", "fd00:1::5", []byte("v6 to path 1")),
		tcpPacket("192.0.2.1", "10.3.0.5", []byte("nobody's")),
	}
	dev0.rx <- in
	waitFor(t, "echoes", func() bool { return len(dev0.written())+len(dev1.written()) == 4 })
	waitFor(t, "the drop to be counted", func() bool { return d.Stats().NoRoute == 1 })

	echo := func(p []byte) []byte {
		p = bytes.Clone(p)
		swapAddrs(p)
		return p
	}
	if diff := cmp.Diff([][]byte{echo(in[0]), echo(in[3])}, dev0.written()); diff != "" {
		t.Errorf("dev0 wrote (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]byte{echo(in[1]), echo(in[2])}, dev1.written()); diff != "" {
		t.Errorf("dev1 wrote (-want +got):\n%s", diff)
	}
	var inBytes uint64
	for _, p := range in {
		inBytes += uint64(len(p))
	}
	s0, s1, s := d.InterfaceStats(0), d.InterfaceStats(1), d.Stats()
	if s0.PacketsIn != 5 || s0.BytesIn != inBytes || s0.ReadBatches != 1 {
		t.Errorf("dev0 in: %+v, want 5 packets, %d bytes, 1 batch", s0, inBytes)
	}
	if s0.PacketsOut != 2 || s1.PacketsOut != 2 || s.PacketsOut != 4 || s.Drops != 1 {
		t.Errorf("out: dev0 %d, dev1 %d, total %d, drops %d; want 2, 2, 4, 1", s0.PacketsOut, s1.PacketsOut, s.PacketsOut, s.Drops)
	}
	if s.BytesOut != inBytes-uint64(len(in[4])) {
		t.Errorf("bytes out %d, want %d", s.BytesOut, inBytes-uint64(len(in[4])))
	}
}

// TestDefaultInterface checks that an interface without prefixes carries
// every source.
func TestDefaultInterface(t *testing.T) {
	dev := newFakeDev("t0", 1)
	st := &echoStack{}
	d := newTestDriver(t, st, Config{Interfaces: []Interface{{Device: dev, MTU: 1500}}})
	dev.rx <- [][]byte{tcpPacket("192.0.2.1", "198.51.100.7", []byte("x"))}
	dev.rx <- [][]byte{tcpPacket("2001:db8::1", "2001:db8::2", []byte("y"))}
	waitFor(t, "two echoes", func() bool { return len(dev.written()) == 2 })
	if s := d.Stats(); s.Drops != 0 || s.PacketsOut != 2 {
		t.Errorf("stats %+v, want 2 out and no drop", s)
	}
}

// TestBatching checks that a full write batch is written at once and the
// rest after the poll: 10 packets through a batch size of 4 make 3 writes.
func TestBatching(t *testing.T) {
	dev := newFakeDev("t0", 4)
	st := &echoStack{}
	d := newTestDriver(t, st, Config{Interfaces: []Interface{{Device: dev, MTU: 1500}}})
	var pkts [][]byte
	for i := range 10 {
		pkts = append(pkts, tcpPacket("192.0.2.1", "198.51.100.7", []byte{byte(i)}))
	}
	// The reads arrive in batches of at most 4; a round may take all
	// three and echo the 10 packets in one write, after the poll.
	dev.rx <- pkts[0:4]
	dev.rx <- pkts[4:8]
	dev.rx <- pkts[8:10]
	waitFor(t, "ten echoes", func() bool { return len(dev.written()) == 10 })
	for i, p := range dev.written() {
		if p[len(p)-1] != byte(i) {
			t.Fatalf("echo %d carries %d: order not kept", i, p[len(p)-1])
		}
	}
	s := d.Stats()
	if s.WriteBatches < 1 || s.WriteBatches > 10 || s.ReadBatches != 3 {
		t.Errorf("%d write batches and %d read batches; want 1..10 and 3", s.WriteBatches, s.ReadBatches)
	}
}

// TestPollEvery checks that a large batch is answered by several polls,
// one per pollEvery bytes, so that ACKs keep flowing during a burst.
func TestPollEvery(t *testing.T) {
	dev := newFakeDev("t0", 128)
	st := &echoStack{}
	d := newTestDriver(t, st, Config{Interfaces: []Interface{{Device: dev, MTU: 1500}}})
	waitFor(t, "the first poll", func() bool { return st.polls.Load() == 1 })
	var pkts [][]byte
	for range 100 { // 100 x 1440 bytes: over two pollEvery
		pkts = append(pkts, tcpPacket("192.0.2.1", "198.51.100.7", make([]byte, 1400)))
	}
	dev.rx <- pkts
	waitFor(t, "100 echoes", func() bool { return len(dev.written()) == 100 })
	if got := d.Stats().Polls - 1; got != 3 {
		t.Errorf("%d polls for 144 kB in one batch, want 3 (two every %d bytes, one at the end)", got, pollEvery)
	}
}

// TestTimer checks that the driver polls the stack again at the time Poll
// asked for, and not before: a Go timer's deadline, and one closer than a
// Go timer's resolution (the fine timer's).
func TestTimer(t *testing.T) {
	for _, after := range []time.Duration{30 * time.Millisecond, 300 * time.Microsecond} {
		t.Run(after.String(), func(t *testing.T) { testTimer(t, after) })
	}
}

func testTimer(t *testing.T, after time.Duration) {
	dev := newFakeDev("t0", 1)
	var deadline atomic.Int64
	pollc := make(chan time.Time, 16)
	st := &echoStack{pollc: pollc}
	st.onPoll = func(now time.Time, _ func([]byte)) time.Time {
		if deadline.Load() == 0 {
			at := now.Add(after)
			deadline.Store(at.UnixNano())
			return at
		}
		return time.Time{}
	}
	newTestDriver(t, st, Config{Interfaces: []Interface{{Device: dev, MTU: 1500}}})
	<-pollc // the first poll, at New, asked for the timer
	select {
	case now := <-pollc:
		if now.UnixNano() < deadline.Load() {
			t.Errorf("polled at %v, before the deadline %v", now, time.Unix(0, deadline.Load()))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the timer never fired")
	}
	// Zero means no timer: no further poll comes by itself.
	select {
	case <-pollc:
		t.Error("polled without packet, wake or timer")
	case <-time.After(100 * time.Millisecond):
	}
}

// TestWake checks that Wake, from any goroutine, makes the driver poll,
// and that a stack may send from that poll.
func TestWake(t *testing.T) {
	d, dev, queue := newAppDriver(t)
	fromGoroutines(queue, d.Wake)
	waitFor(t, "100 packets sent after wake-ups", func() bool { return len(dev.written()) == 100 })
}

// newAppDriver returns a driver whose stack sends, when polled, the
// packets an application queued (queue(g, i) adds one), and its device.
func newAppDriver(t *testing.T) (*Driver, *fakeDev, func(g, i int)) {
	dev := newFakeDev("t0", 8)
	var mu sync.Mutex
	var toSend [][]byte // guarded by mu: the application side
	st := &echoStack{}
	st.onPoll = func(_ time.Time, send func([]byte)) time.Time {
		for _, p := range toSend {
			send(p)
		}
		toSend = nil
		return time.Time{}
	}
	d := newTestDriver(t, st, Config{Interfaces: []Interface{{Device: dev, MTU: 1500}}, Locker: &mu})
	waitFor(t, "the first poll", func() bool { return st.polls.Load() >= 1 })
	queue := func(g, i int) {
		mu.Lock()
		toSend = append(toSend, tcpPacket("192.0.2.1", "198.51.100.7", []byte{byte(g), byte(i)}))
		mu.Unlock()
	}
	return d, dev, queue
}

// fromGoroutines queues 100 packets from 4 goroutines, calling poke after
// each.
func fromGoroutines(queue func(g, i int), poke func()) {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				queue(g, i)
				poke()
			}
		}()
	}
	wg.Wait()
}

// TestReadErrors checks that a failed read is counted and reported and the
// device goes on, and that a device closed under the driver stops with
// ErrClosed while the driver keeps running.
func TestReadErrors(t *testing.T) {
	dev := newFakeDev("t0", 1)
	errc := make(chan error, 16)
	st := &echoStack{}
	d := newTestDriver(t, st, Config{
		Interfaces: []Interface{{Device: dev, MTU: 1500}},
		OnError:    func(err error) { errc <- err },
	})
	transient := errors.New("transient trouble")
	dev.rxErr <- transient
	if err := <-errc; !errors.Is(err, transient) {
		t.Errorf("reported %v, want the transient error", err)
	}
	dev.rx <- [][]byte{tcpPacket("192.0.2.1", "198.51.100.7", []byte("still alive"))}
	waitFor(t, "the echo after the error", func() bool { return len(dev.written()) == 1 })
	if d.Err() != nil {
		t.Errorf("Err() = %v after a transient error, want nil", d.Err())
	}
	dev.rxErr <- os.ErrClosed
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("reported %v, want ErrClosed", err)
	}
	if err := d.Err(); !errors.Is(err, ErrClosed) {
		t.Errorf("Err() = %v, want ErrClosed", err)
	}
	if s := d.Stats(); s.ReadErrors != 2 {
		t.Errorf("%d read errors, want 2", s.ReadErrors)
	}
	// Packets for the dead device are dropped, not written.
	d.Wake()
	waitFor(t, "a poll", func() bool { return st.polls.Load() >= 2 })
}

// TestWriteErrors checks that a failed write is counted, its packets
// dropped, and reported.
func TestWriteErrors(t *testing.T) {
	dev := newFakeDev("t0", 4)
	bad := errors.New("no buffer space")
	dev.writeErr = bad
	errc := make(chan error, 16)
	st := &echoStack{}
	d := newTestDriver(t, st, Config{
		Interfaces: []Interface{{Device: dev, MTU: 1500}},
		OnError:    func(err error) { errc <- err },
	})
	dev.rx <- [][]byte{tcpPacket("192.0.2.1", "198.51.100.7", nil), tcpPacket("192.0.2.1", "198.51.100.7", nil)}
	if err := <-errc; !errors.Is(err, bad) {
		t.Errorf("reported %v, want the write error", err)
	}
	if s := d.Stats(); s.WriteErrors != 1 || s.Drops != 2 || s.PacketsOut != 0 {
		t.Errorf("stats %+v, want 1 write error, 2 drops, nothing out", s)
	}
	if d.Err() != nil {
		t.Errorf("Err() = %v, want nil: a failed write does not stop the device", d.Err())
	}
}

// TestCapture checks that every packet in and out is in the pcap, in
// order, stamped with the time the stack was given.
func TestCapture(t *testing.T) {
	dev := newFakeDev("t0", 4)
	var buf bytes.Buffer
	w, err := pcap.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	st := &echoStack{}
	d := newTestDriver(t, st, Config{Interfaces: []Interface{{Device: dev, MTU: 1500}}, Capture: w})
	in := [][]byte{tcpPacket("192.0.2.1", "198.51.100.7", []byte("a")), tcpPacket("2001:db8::1", "2001:db8::2", []byte("b"))}
	dev.rx <- in
	waitFor(t, "echoes", func() bool { return len(dev.written()) == 2 })
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	var last time.Time
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if ci.Timestamp.Before(last) {
			t.Errorf("timestamps go backwards: %v after %v", ci.Timestamp, last)
		}
		last = ci.Timestamp
		got = append(got, data)
	}
	want := append(append([][]byte(nil), in...), dev.written()...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("capture (-want +got):\n%s", diff)
	}
}

// TestClose checks that Close stops every goroutine, closes the devices,
// and that the stack is not called afterwards; a second Close is harmless.
func TestClose(t *testing.T) {
	before := runtime.NumGoroutine()
	dev0, dev1 := newFakeDev("t0", 2), newFakeDev("t1", 2)
	st := &echoStack{t: t}
	d, err := New(st, Config{Interfaces: []Interface{{Device: dev0, MTU: 1500}, {Device: dev1, MTU: 1500}}})
	if err != nil {
		t.Fatal(err)
	}
	dev0.rx <- [][]byte{tcpPacket("192.0.2.1", "198.51.100.7", nil)}
	waitFor(t, "an echo", func() bool { return len(dev0.written()) == 1 })
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	st.afterEnd.Store(true)
	for _, dev := range []*fakeDev{dev0, dev1} {
		select {
		case <-dev.closed:
		default:
			t.Errorf("%s not closed", dev.name)
		}
	}
	d.Wake() // after Close: nothing happens, nothing blocks
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	waitFor(t, "the driver's goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

// TestConfigErrors checks New's refusals.
func TestConfigErrors(t *testing.T) {
	st := &echoStack{t: t}
	if _, err := New(st, Config{}); err == nil {
		t.Error("New without interfaces succeeded")
	}
	if _, err := New(nil, Config{Interfaces: []Interface{{Device: newFakeDev("t0", 1)}}}); err == nil {
		t.Error("New without a stack succeeded")
	}
	if _, err := New(st, Config{Interfaces: []Interface{{Device: newFakeDev("t0", 1), MTU: 100}}}); err == nil {
		t.Error("New with MTU 100 succeeded")
	}
}

// TestNoAllocations runs many batches through the driver and checks that
// the steady state allocates nothing per packet, with a stack that locks
// itself (a link.Locker, locked once per round) and one that does not.
func TestNoAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, locking := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "locker"}[locking], func(t *testing.T) {
			testNoAllocations(t, locking)
		})
	}
}

func testNoAllocations(t *testing.T, locking bool) {
	const batches, perBatch = 4000, 32
	dev := newFakeDev("t0", perBatch)
	for range perBatch {
		dev.repeat = append(dev.repeat, tcpPacket("192.0.2.1", "198.51.100.7", make([]byte, 1400)))
	}
	dev.credits = make(chan struct{}, batches+200)
	for range 200 { // warm-up
		dev.credits <- struct{}{}
	}
	st := &echoStack{t: t}
	var d *Driver
	if locking {
		var err error
		d, err = New(&lockingStack{echo: st, t: t}, Config{Interfaces: []Interface{{Device: dev, MTU: 1500}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
	} else {
		d = newTestDriver(t, st, Config{Interfaces: []Interface{{Device: dev, MTU: 1500}}})
	}
	waitFor(t, "the warm-up", func() bool { return d.Stats().PacketsOut >= 200*perBatch })
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := d.Stats().PacketsOut
	for range batches {
		dev.credits <- struct{}{}
	}
	waitFor(t, "the measured batches", func() bool { return d.Stats().PacketsOut >= start+batches*perBatch })
	runtime.ReadMemStats(&m1)
	perPacket := float64(m1.Mallocs-m0.Mallocs) / float64(batches*perBatch)
	t.Logf("%d allocations over %d packets", m1.Mallocs-m0.Mallocs, batches*perBatch)
	if perPacket > 0.01 {
		t.Errorf("%.3f allocations per packet, want none in steady state", perPacket)
	}
}

// TestKick checks that Kick, from any goroutine, makes the driver poll
// the stack and send what it sends, with no kick lost to a round that was
// running (its runner runs another), and that an idle driver polls in the
// caller's goroutine: the packet is written before Kick returns.
func TestKick(t *testing.T) {
	d, dev, queue := newAppDriver(t)
	fromGoroutines(queue, d.Kick)
	waitFor(t, "100 packets sent after kicks", func() bool { return len(dev.written()) == 100 })
	// Once the last round has ended, a kick runs in this goroutine.
	for i := range 1000 {
		queue(4, i)
		before := len(dev.written())
		d.Kick()
		if len(dev.written()) == before+1 {
			return
		}
		waitFor(t, "the kicked packet", func() bool { return len(dev.written()) == before+1 })
	}
	t.Error("no kick of an idle driver polled in the caller's goroutine")
}

// TestKickDuringRound checks that a kick arriving while a round runs (in
// another goroutine, here held inside the stack's Poll) is not lost: the
// goroutine running that round runs another after it, which sends what
// the kick was for. Nothing else would poll again: no timer, no packet.
func TestKickDuringRound(t *testing.T) {
	dev := newFakeDev("t0", 8)
	var mu sync.Mutex
	var toSend [][]byte // guarded by mu
	inPoll, release := make(chan struct{}), make(chan struct{})
	var hold atomic.Bool
	st := &echoStack{}
	st.onPoll = func(_ time.Time, send func([]byte)) time.Time {
		batch := toSend
		toSend = nil
		if hold.CompareAndSwap(true, false) {
			mu.Unlock() // let the application queue while the round runs
			inPoll <- struct{}{}
			<-release
			mu.Lock()
		}
		for _, p := range batch {
			send(p)
		}
		return time.Time{}
	}
	d := newTestDriver(t, st, Config{Interfaces: []Interface{{Device: dev, MTU: 1500}}, Locker: &mu})
	waitFor(t, "the first poll", func() bool { return st.polls.Load() >= 1 })
	hold.Store(true)
	go d.Kick() // runs a round that stops in Poll
	<-inPoll
	mu.Lock()
	toSend = append(toSend, tcpPacket("192.0.2.1", "198.51.100.7", []byte{1}))
	mu.Unlock()
	d.Kick() // a round is running: this one only asks for another
	if n := len(dev.written()); n != 0 {
		t.Fatalf("%d packets written while the round was held", n)
	}
	close(release)
	waitFor(t, "the packet of the kick made during a round", func() bool { return len(dev.written()) == 1 })
}

// TestLonePacketInReader checks that a lone packet reaching an idle
// driver is delivered and answered by a round its reader runs itself,
// and that a batch of several goes to the loop as before.
func TestLonePacketInReader(t *testing.T) {
	dev := newFakeDev("t0", 8)
	st := &echoStack{}
	d := newTestDriver(t, st, Config{Interfaces: []Interface{{Device: dev, MTU: 1500}}})
	waitFor(t, "the first poll", func() bool { return st.polls.Load() >= 1 })
	for i := range 20 {
		dev.rx <- [][]byte{tcpPacket("192.0.2.1", "198.51.100.7", []byte{byte(i)})}
		waitFor(t, "the echo", func() bool { return len(dev.written()) == i+1 })
	}
	// Nothing else runs rounds here (no timer, no kick): the loop could
	// only have taken a packet its reader found a round running for.
	lone := d.Stats().ReaderRounds
	if lone == 0 {
		t.Fatal("no lone packet was answered by its reader's round")
	}
	var batch [][]byte
	for i := range 4 {
		batch = append(batch, tcpPacket("192.0.2.1", "198.51.100.7", []byte{byte(20 + i)}))
	}
	dev.rx <- batch
	waitFor(t, "the batch's echoes", func() bool { return len(dev.written()) == 24 })
	for i, p := range dev.written() {
		if p[len(p)-1] != byte(i) {
			t.Fatalf("echo %d carries %d", i, p[len(p)-1])
		}
	}
	if got := d.Stats().ReaderRounds; got != lone {
		t.Errorf("a batch of 4 ran in its reader (%d reader rounds, %d before it)", got, lone)
	}
}

// TestLonePacketKeepsOrder checks that a lone packet does not overtake a
// batch its reader handed to the loop before it: here the loop has taken
// the batch and waits for the round lock (held by the test) when the lone
// packet's round is tried, as the lock is released. Delivered out of
// order, a reset could overtake the data before it (interop's TestMPFail
// saw that).
func TestLonePacketKeepsOrder(t *testing.T) {
	dev := newFakeDev("t0", 8)
	st := &echoStack{}
	d := newTestDriver(t, st, Config{Interfaces: []Interface{{Device: dev, MTU: 1500}}})
	waitFor(t, "the first poll", func() bool { return st.polls.Load() >= 1 })
	pkt := func(i byte) []byte { return tcpPacket("192.0.2.1", "198.51.100.7", []byte{i}) }
	for round := range 20 {
		base := byte(3 * round)
		d.roundMu.Lock()
		dev.rx <- [][]byte{pkt(base), pkt(base + 1)}
		waitFor(t, "the loop to take the batch", func() bool { return d.handed.Load() == 1 && len(d.in) == 0 })
		// The lone packet, as its reader would have read it.
		b := <-d.ifs[0].free
		n := copy(b.bufs[0][Headroom:], pkt(base+2))
		b.sizes[0], b.n = n, 1
		d.roundMu.Unlock()
		if !d.roundHere(b) {
			d.handed.Add(1)
			d.in <- b
		}
		waitFor(t, "three echoes", func() bool { return len(dev.written()) == int(base)+3 })
		for i, p := range dev.written() {
			if p[len(p)-1] != byte(i) {
				t.Fatalf("round %d: echo %d carries %d: a lone packet overtook the batch before it", round, i, p[len(p)-1])
			}
		}
	}
}
