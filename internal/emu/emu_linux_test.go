//go:build linux

package emu

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/scenario"
)

// requireEmu skips the test unless namespaces and ethtool are available.
func requireEmu(t testing.TB) {
	t.Helper()
	lab.Require(t)
	if _, err := exec.LookPath("ethtool"); err != nil {
		t.Skip("needs ethtool (apt-get install -y ethtool)")
	}
}

// ourNamespaces lists the namespaces this process has under /run/netns.
func ourNamespaces(t *testing.T) []string {
	t.Helper()
	ms, err := filepath.Glob("/run/netns/" + lab.Prefix + strconv.Itoa(os.Getpid()) + "-*")
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// buildNet builds a network for the scenario in src and removes it, and
// checks that its namespaces are gone, when the test ends.
func buildNet(t *testing.T, src string, o NetworkOptions) *Network {
	t.Helper()
	requireEmu(t)
	sc, err := scenario.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Build(sc, o)
	if err != nil {
		t.Fatal(err)
	}
	nss := n.Topology.Namespaces()
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
		for _, ns := range nss {
			if _, err := os.Stat("/run/netns/" + ns.Name()); err == nil {
				t.Errorf("namespace %s left after Close", ns)
			}
		}
	})
	return n
}

// transfer moves size pseudo-random bytes over a kernel TCP connection
// from the client's to the server's address of lab path lp (or back, if
// download) and checks they arrive intact. It returns the receiver's
// goodput in bit/s.
func transfer(t *testing.T, n *Network, lp lab.Path, size int, download bool) float64 {
	t.Helper()
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(uint64(size), 1))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	want := sha256.Sum256(data)
	var ln net.Listener
	if err := n.Topology.Server.Do(func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(lp.Server.V4, 0).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		sum     [32]byte
		n       int64
		elapsed time.Duration
		err     error
	}
	recv := func(c net.Conn) result {
		h := sha256.New()
		start := time.Now()
		k, err := io.Copy(h, c)
		var res result
		copy(res.sum[:], h.Sum(nil))
		res.n, res.elapsed, res.err = k, time.Since(start), err
		return res
	}
	send := func(c net.Conn) error {
		if _, err := c.Write(data); err != nil {
			return err
		}
		return c.(*net.TCPConn).CloseWrite()
	}
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(60 * time.Second))
		if download {
			done <- result{err: send(c)}
			io.Copy(io.Discard, c)
			return
		}
		done <- recv(c)
	}()
	var c net.Conn
	if err := n.Topology.Client.Do(func() (err error) {
		d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(lp.Client.V4, 0))}
		c, err = d.Dial("tcp", ln.Addr().String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	var res result
	if download {
		res = recv(c)
		if srv := <-done; srv.err != nil {
			t.Fatalf("server send: %v", srv.err)
		}
	} else {
		if err := send(c); err != nil {
			t.Fatalf("client send: %v", err)
		}
		res = <-done
	}
	if res.err != nil || res.n != int64(size) || !bytes.Equal(res.sum[:], want[:]) {
		t.Fatalf("transfer of %d bytes (download %v): got %d bytes, intact %v, err %v", size, download, res.n, res.sum == want, res.err)
	}
	return float64(size) * 8 / res.elapsed.Seconds()
}

// settle waits, boundedly, until nothing is queued or on the emulated
// wires, and returns the counters.
func settle(t *testing.T, e *Emulator) Stats {
	t.Helper()
	var s Stats
	for range 100 {
		s = e.Stats()
		busy := false
		for _, p := range s.Paths {
			for _, c := range []Counters{p.Up, p.Down} {
				// A frame being taken in is counted received a moment
				// before it is queued: wait for the counters to agree.
				busy = busy || c.Queued != 0 || c.InFlight != 0 || !balanced(c)
			}
		}
		if !busy {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// balanced checks the conservation law documented on Counters.
func balanced(c Counters) bool {
	out := c.Forwarded + c.QueueDrops + c.LossDrops + c.DownDrops + c.TooBig + c.Overflow + c.Invalid + c.TxErrors + uint64(c.Queued+c.InFlight)
	return c.Received+c.Duplicated == out
}

// TestForward checks that the emulator carries ping (IPv4 and IPv6) and
// kernel TCP transfers both ways on every path, intact, and that its
// counters add up.
func TestForward(t *testing.T) {
	n := buildNet(t, `
paths:
  - name: a
    rate: 50Mbit
    delay: 2ms
    queue: 100p
  - name: b
    rate: 20Mbit
    delay: 5ms
`, NetworkOptions{})
	for _, lp := range n.Paths {
		for _, v6 := range []bool{false, true} {
			args := []string{"ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", lp.Client.Get(v6).String(), lp.Server.Get(v6).String()}
			if _, err := exec.LookPath("ping"); err != nil {
				t.Skip("needs ping (apt-get install -y iputils-ping)")
			}
			if out, err := n.Topology.Client.Exec(args...); err != nil {
				t.Errorf("%v: %s", err, out)
			}
		}
		up := transfer(t, n, lp, 2<<20, false)
		down := transfer(t, n, lp, 2<<20, true)
		t.Logf("path %d: TCP upload %.1f Mbit/s, download %.1f Mbit/s", lp.N, up/1e6, down/1e6)
	}
	s := settle(t, n.Emulator)
	for _, p := range s.Paths {
		for dir, c := range map[string]Counters{"up": p.Up, "down": p.Down} {
			if c.Forwarded < 1000 || !balanced(c) {
				t.Errorf("path %s %s: counters do not add up or too few frames: %+v", p.Name, dir, c)
			}
		}
	}
}

// recorder keeps what observeHook sees while a test runs.
type recorder struct {
	mu  sync.Mutex
	obs []observation
}

// observe records every frame the emulator forwards or drops until the
// test ends.
func observe(t *testing.T) *recorder {
	r := &recorder{}
	h := func(o observation) {
		r.mu.Lock()
		r.obs = append(r.obs, o)
		r.mu.Unlock()
	}
	observeHook.Store(&h)
	t.Cleanup(func() { observeHook.Store(nil) })
	return r
}

// of returns the frames of the given flows forwarded and dropped so far,
// each in the order the emulator wrote or dropped them.
func (r *recorder) of(flows ...string) (fwd, dropped []observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.obs {
		if !slices.Contains(flows, o.flow) {
			continue
		}
		if o.dropped {
			dropped = append(dropped, o)
		} else {
			fwd = append(fwd, o)
		}
	}
	return fwd, dropped
}

// hop is one pipe a flow crosses: its rate (0: unlimited) and delay.
type hop struct {
	rate  int64
	delay time.Duration
}

// serialisation returns how long the transmitter of rate holds size
// bytes, rounded down, as the model computes it.
func serialisation(size int, rate int64) int64 {
	if rate == 0 {
		return 0
	}
	return int64(size) * 8 * 1e9 / rate
}

// checkLink checks, on the emulator's own clock stamps, what a link of
// the given hops promises of every frame it forwarded, however late the
// machine let the emulator run: no frame was released before it had
// crossed every hop (its delays and serialisations), none was written
// before its release, and, in the order of release, two frames are never
// closer than the last hop's serialisation of the second, so the bytes
// released in any window never exceed the rate times the window plus one
// frame. It returns how many frames left back to back (the link was busy:
// its queue held them).
func checkLink(t *testing.T, what string, fwd []observation, hops ...hop) (backToBack int) {
	t.Helper()
	fwd = slices.Clone(fwd)
	slices.SortStableFunc(fwd, func(a, b observation) int { return cmp.Compare(a.due, b.due) })
	last := hops[len(hops)-1]
	errs := 0
	fail := func(format string, args ...any) {
		if errs++; errs <= 5 {
			t.Errorf(what+": "+format, args...)
		}
	}
	for i, o := range fwd {
		least := int64(0)
		for _, h := range hops {
			least += int64(h.delay) + serialisation(o.size, h.rate)
		}
		if o.due-o.admitted < least {
			fail("a %d-byte frame released %v after it was admitted, before its %v", o.size, time.Duration(o.due-o.admitted), time.Duration(least))
		}
		if o.written < o.due {
			fail("a frame written %v before its release", time.Duration(o.due-o.written))
		}
		if i == 0 || last.rate == 0 {
			continue
		}
		gap, ser := o.due-fwd[i-1].due, serialisation(o.size, last.rate)
		switch {
		case gap < ser:
			fail("a %d-byte frame released %v after the one before it, faster than %d bit/s allows (%v)", o.size, time.Duration(gap), last.rate, time.Duration(ser))
		case gap <= ser+1: // the remainder carried between frames adds at most 1 ns
			backToBack++
		}
	}
	return backToBack
}

// burst sends count UDP datagrams of size bytes of payload from the
// client to the server's address on each of the given paths in turn, as
// fast as the client's socket takes them, so that a slower link queues.
func burst(t *testing.T, n *Network, paths []lab.Path, count, size int) {
	t.Helper()
	var conns []*net.UDPConn
	for _, lp := range paths {
		var rc, sc *net.UDPConn
		if err := n.Topology.Server.Do(func() (err error) {
			rc, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lp.Server.V4, 0)))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if err := n.Topology.Client.Do(func() (err error) {
			sc, err = net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lp.Client.V4, 0)), rc.LocalAddr().(*net.UDPAddr))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		conns = append(conns, sc)
	}
	msg := make([]byte, size)
	for range count {
		for _, c := range conns {
			if _, err := c.Write(msg); err != nil {
				t.Fatalf("burst: %v", err)
			}
		}
	}
}

// TestRateAndDelay checks, on a 20 Mbit/s path with a 20 ms one-way delay,
// that probes are never delivered before the delay and their
// serialisation have passed, and, from the emulator's own stamps, that a
// UDP burst and a TCP download cross it no faster than its rate. These
// are lower bounds and the model's own accounting, which hold however
// loaded the machine is; the achieved rate and the delay's error on the
// wall clock are measured by BenchmarkAccuracy and "mptcp emu accuracy".
func TestRateAndDelay(t *testing.T) {
	const rate, delay = 20e6, 20 * time.Millisecond
	n := buildNet(t, `
paths:
  - name: a
    rate: 20Mbit
    delay: 20ms
    queue: 200p
`, NetworkOptions{})
	rec := observe(t)
	res, err := runProbes(context.Background(), n.Topology, 50, 5*time.Millisecond, time.Millisecond, 64, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := delay + time.Duration(serialisation(64+ipUDPHdr, rate))
	for i, r := range res {
		switch {
		case r.Sent != 0 && !r.Received():
			t.Errorf("probe %d was lost on a path without loss", i)
		case r.Received() && r.OneWay() < want:
			t.Errorf("probe %d arrived %v after it was sent, before the %v of delay and serialisation", i, r.OneWay(), want)
		}
	}
	burst(t, n, n.Paths, 150, 1500-ipUDPHdr)
	transfer(t, n, n.Paths[0], 1<<20, true)
	s := settle(t, n.Emulator)
	up, _ := rec.of("a/up")
	down, _ := rec.of("a/down")
	if b := checkLink(t, "up", up, hop{rate, delay}); b == 0 {
		t.Errorf("no two of %d frames up left back to back: the burst never queued", len(up))
	}
	if b := checkLink(t, "down", down, hop{rate, delay}); b == 0 {
		t.Errorf("no two of %d frames down left back to back: the download never queued", len(down))
	}
	for dir, c := range map[string]Counters{"up": s.Paths[0].Up, "down": s.Paths[0].Down} {
		if !balanced(c) || c.LossDrops+c.DownDrops != 0 {
			t.Errorf("%s: counters do not add up, or frames were lost on a path without loss or outage: %+v", dir, c)
		}
	}
}

// TestLoss checks that a lossy path drops about the configured share of a
// fixed number of probes, and counts them.
func TestLoss(t *testing.T) {
	n := buildNet(t, `
paths:
  - name: a
    delay: 1ms
    loss: 10%
`, NetworkOptions{})
	before := n.Emulator.Stats().Paths[0].Up
	res, err := runProbes(context.Background(), n.Topology, 2000, 500*time.Microsecond, 0, 64, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, r := range res {
		if !r.Received() {
			lost++
		}
	}
	after := settle(t, n.Emulator).Paths[0].Up
	drops := after.LossDrops - before.LossDrops
	// Binomial(2000, 0.1): sd 13.4; the bounds are 7 sd.
	if len(res) != 2000 || lost < 100 || lost > 300 {
		t.Errorf("lost %d of %d probes at 10%% loss", lost, len(res))
	}
	// Other frames (ARP, neighbour discovery) may be lost too.
	if drops < uint64(lost) || drops > uint64(lost)+20 || after.Drops() != after.LossDrops {
		t.Errorf("emulator counted %d loss drops (%+v) for %d lost probes", drops, after, lost)
	}
}

// TestOutage checks, on the emulator's own clock, that a scheduled outage
// drops every frame that arrives during it and nothing outside it, and
// that traffic resumes after it.
func TestOutage(t *testing.T) {
	const at, length = 500 * time.Millisecond, 500 * time.Millisecond
	n := buildNet(t, `
paths:
  - name: a
    rate: 10Mbit
    delay: 5ms
    outages:
      - at: 500ms
        for: 500ms
`, NetworkOptions{Options: Options{HoldSchedule: true}})
	e := n.Emulator
	rec := observe(t)
	before := e.Now()
	if err := e.StartSchedule(); err != nil {
		t.Fatal(err)
	}
	after := e.Now()
	// The schedule started at a time in [before, after] on the
	// emulator's clock: the outage surely covers [after+at,
	// before+at+length) and nothing outside [before+at, after+at+length].
	surelyFrom, surelyTo := int64(after+at), int64(before+at+length)
	mayFrom, mayTo := int64(before+at), int64(after+at+length)
	if _, err := runProbes(context.Background(), n.Topology, 750, 2*time.Millisecond, time.Millisecond, 64, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for e.Now() < after+at+length {
		// The sender was starved past the outage's end: wait for it on
		// the emulator's clock, then probe again.
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := runProbes(context.Background(), n.Topology, 20, 2*time.Millisecond, time.Millisecond, 64, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	s := settle(t, e).Paths[0].Up
	fwd, dropped := rec.of("a/up")
	during, resumed := 0, 0
	for _, o := range fwd {
		switch {
		case o.admitted >= surelyFrom && o.admitted < surelyTo:
			t.Errorf("a frame that arrived %v into the schedule, during the outage, was forwarded", time.Duration(o.admitted)-before)
		case o.admitted >= mayTo:
			resumed++
		}
	}
	for _, o := range dropped {
		if o.why != dropDown {
			t.Errorf("a frame was dropped (kind %d) on a path with neither loss nor queue limit", o.why)
			continue
		}
		if o.at < mayFrom || o.at > mayTo {
			t.Errorf("a frame was dropped as down %v into the schedule, outside the outage", time.Duration(o.at)-before)
		}
		if o.admitted >= surelyFrom && o.admitted < surelyTo {
			during++
		}
	}
	if during == 0 || resumed == 0 {
		t.Errorf("%d frames arrived during the outage (all dropped) and %d forwarded after it; want some of each", during, resumed)
	}
	if s.DownDrops != uint64(len(dropped)) || !balanced(s) {
		t.Errorf("counters %+v, %d frames seen dropped", s, len(dropped))
	}
}

// sharedLinkScenario has two fast paths behind one 20 Mbit/s server link.
const sharedLinkScenario = `
server_link:
  rate: 20Mbit
  delay: 2ms
  queue: 100p
paths:
  - name: a
    rate: 1Gbit
    delay: 1ms
  - name: b
    rate: 1Gbit
    delay: 1ms
`

// TestSharedLink checks that the scenario's server link is one bottleneck
// the paths share: on the emulator's own stamps, frames of both paths
// leave it back to back, and together never faster than its rate.
func TestSharedLink(t *testing.T) {
	n := buildNet(t, sharedLinkScenario, NetworkOptions{})
	rec := observe(t)
	burst(t, n, n.Paths, 150, 1500-ipUDPHdr)
	s := settle(t, n.Emulator)
	fwd, _ := rec.of("a/up", "b/up")
	checkLink(t, "a and b up", fwd, hop{1e9, time.Millisecond}, hop{20e6, 2 * time.Millisecond})
	// Frames of different paths back to back: one transmitter serves
	// both.
	slices.SortStableFunc(fwd, func(a, b observation) int { return cmp.Compare(a.due, b.due) })
	mixed := 0
	for i := 1; i < len(fwd); i++ {
		if fwd[i].flow != fwd[i-1].flow && fwd[i].due-fwd[i-1].due <= serialisation(fwd[i].size, 20e6)+1 {
			mixed++
		}
	}
	if mixed == 0 {
		t.Errorf("no frames of the two paths left the server link back to back (%d frames)", len(fwd))
	}
	if s.SharedUp == nil || !balanced(*s.SharedUp) || s.SharedUp.Forwarded != s.Paths[0].Up.Forwarded+s.Paths[0].Up.TxErrors+s.Paths[1].Up.Forwarded+s.Paths[1].Up.TxErrors {
		t.Errorf("shared up %+v, paths %+v %+v", s.SharedUp, s.Paths[0].Up, s.Paths[1].Up)
	}
}

// BenchmarkSharedLink measures the rate a UDP flow achieves through the
// 20 Mbit/s server link of sharedLinkScenario, on the wall clock (the
// figure TestSharedLink cannot assert on a busy machine). Run with
// -benchtime=1x.
func BenchmarkSharedLink(b *testing.B) {
	requireEmu(b)
	sc, err := scenario.Parse([]byte(sharedLinkScenario))
	if err != nil {
		b.Fatal(err)
	}
	n, err := Build(sc, NetworkOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	var load loadResult
	for range b.N {
		cfg := AccuracyConfig{Load: 2 * time.Second, Overload: 1.3, LoadWarmup: 500 * time.Millisecond}
		if load, err = saturate(context.Background(), n.Topology, &cfg, 20e6, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(load.Achieved/1e6, "Mbit/s")
	b.ReportMetric(100*(load.Achieved/20e6-1), "%-rate-err")
}

// TestBuildFailureRemovesEverything checks that a Build failing after the
// namespaces exist removes them, and that Close is idempotent.
func TestBuildFailureRemovesEverything(t *testing.T) {
	requireEmu(t)
	sc, err := scenario.Builtin("aggregate")
	if err != nil {
		t.Fatal(err)
	}
	before := len(ourNamespaces(t))
	for _, stage := range []string{"topology", "emulator"} {
		injected := errors.New("injected failure at " + stage)
		buildHook = func(s string) error {
			if s == stage {
				return injected
			}
			return nil
		}
		n, err := Build(sc, NetworkOptions{})
		buildHook = nil
		if !errors.Is(err, injected) || n != nil {
			t.Fatalf("Build with a failure at %s: %v", stage, err)
		}
		if after := len(ourNamespaces(t)); after != before {
			t.Errorf("failure at %s left %d namespaces", stage, after-before)
		}
	}
	n, err := Build(sc, NetworkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if after := len(ourNamespaces(t)); after != before {
		t.Errorf("Close left %d namespaces", after-before)
	}
	if err := n.Emulator.StartSchedule(); !errors.Is(err, ErrStopped) {
		t.Errorf("StartSchedule after Stop: %v", err)
	}
}

// TestKernelMPTCP checks that the kernel's MPTCP, configured by Build,
// spreads a download over both emulated paths, each subflow on its own
// path both ways.
func TestKernelMPTCP(t *testing.T) {
	n := buildNet(t, `
paths:
  - name: a
    rate: 20Mbit
    delay: 10ms
    queue: 2bdp
  - name: b
    rate: 10Mbit
    delay: 20ms
    queue: 2bdp
`, NetworkOptions{KernelEndpoints: true})
	var ln net.Listener
	if err := n.Topology.Server.Do(func() (err error) {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		ln, err = lc.Listen(context.Background(), "tcp", netip.AddrPortFrom(n.Paths[0].Server.V4, 0).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64<<10)
		for end := time.Now().Add(4 * time.Second); time.Now().Before(end); {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	var c net.Conn
	if err := n.Topology.Client.Do(func() (err error) {
		d := net.Dialer{Timeout: 5 * time.Second}
		d.SetMultipathTCP(true)
		c, err = d.Dial("tcp", ln.Addr().String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	got, err := io.Copy(io.Discard, c)
	if err != nil {
		t.Fatal(err)
	}
	s := n.Emulator.Stats()
	t.Logf("%.1f Mbit/s over 4 s; path a %.1f MB down, path b %.1f MB down", float64(got)*8/4e6,
		float64(s.Paths[0].Down.ForwardedBytes)/1e6, float64(s.Paths[1].Down.ForwardedBytes)/1e6)
	for _, p := range s.Paths {
		if p.Down.ForwardedBytes < 1e6 || p.Up.Forwarded < 200 {
			t.Errorf("path %s carried %d bytes down and %d frames up: its subflow is not on it", p.Name, p.Down.ForwardedBytes, p.Up.Forwarded)
		}
	}
}

// BenchmarkAccuracy runs MeasureAccuracy (shortened) and reports the
// delay and rate errors at each rate as metrics; "mptcp emu accuracy"
// prints the full table. Run with -benchtime=1x.
func BenchmarkAccuracy(b *testing.B) {
	requireEmu(b)
	defer RealtimeProcess(1)()
	var rep *AccuracyReport
	for range b.N {
		var err error
		rep, err = MeasureAccuracy(context.Background(), AccuracyConfig{Probes: 500, Load: 1500 * time.Millisecond, LoadWarmup: 300 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, r := range rep.Rows {
		name := strings.ReplaceAll(r.Name, " ", "")
		b.ReportMetric(float64(r.Error.P50)/1e3, "µs-delay-err-p50@"+name)
		b.ReportMetric(float64(r.Error.P99)/1e3, "µs-delay-err-p99@"+name)
		if r.Rate > 0 {
			b.ReportMetric(100*r.RateError, "%-rate-err@"+name)
		}
	}
}

// TestApply checks changes made while the emulator runs: a path taken
// down drops everything, brought up carries again, and a new delay
// applies, exactly, to what follows (on the emulator's own stamps; on the
// wall clock only its lower bound holds on a busy machine).
func TestApply(t *testing.T) {
	n := buildNet(t, `
paths:
  - name: a
    delay: 1ms
`, NetworkOptions{})
	e := n.Emulator
	rec := observe(t)
	probes := func(linger time.Duration) []probeResult {
		t.Helper()
		res, err := runProbes(context.Background(), n.Topology, 100, time.Millisecond, 0, 64, linger)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if err := e.Apply("nosuch", scenario.Event{Down: true}); !errors.Is(err, ErrUnknownPath) {
		t.Errorf("Apply to an unknown path: %v", err)
	}
	if err := e.Apply("a", scenario.Event{Loss: ptr(2.0)}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Apply of loss 2: %v", err)
	}
	if err := e.Apply("a", scenario.Event{Down: true}); err != nil {
		t.Fatal(err)
	}
	down := int64(e.Now())
	for i, r := range probes(100 * time.Millisecond) {
		if r.Received() {
			t.Errorf("probe %d crossed a path that is down", i)
		}
	}
	d := 30 * time.Millisecond
	up := int64(e.Now())
	if err := e.Apply("a", scenario.Event{Up: true, Delay: &d}); err != nil {
		t.Fatal(err)
	}
	applied := int64(e.Now())
	for i, r := range probes(2 * time.Second) {
		switch {
		case r.Sent != 0 && !r.Received():
			t.Errorf("probe %d was lost after the path came up", i)
		case r.Received() && r.OneWay() < d:
			t.Errorf("probe %d arrived %v after it was sent, before the new delay %v", i, r.OneWay(), d)
		}
	}
	settle(t, e)
	fwd, _ := rec.of("a/up")
	after := 0
	for _, o := range fwd {
		if o.admitted >= down && o.admitted < up {
			t.Errorf("a frame that arrived while the path was down was forwarded")
		}
		if o.admitted < applied {
			continue
		}
		after++
		if o.due-o.admitted != int64(d) {
			t.Errorf("a frame admitted after the change was released %v after it arrived, want %v", time.Duration(o.due-o.admitted), d)
			break
		}
	}
	if after < 100 {
		t.Errorf("%d frames forwarded after the change, want the 100 probes at least", after)
	}
}

// TestLoopPanic checks that a loop that panics stops and says so, without
// taking the process or the other loops down.
func TestLoopPanic(t *testing.T) {
	n := buildNet(t, `
paths:
  - name: a
    delay: 1ms
`, NetworkOptions{})
	hook := func(l *loop) {
		if l.name == "a/up" {
			panic("injected")
		}
	}
	loopHook.Store(&hook)
	defer loopHook.Store(nil)
	// An idle loop sleeps until a frame or a command comes: wake it.
	n.Emulator.upLoop[0].kick()
	var err error
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if err = n.Emulator.Err(); err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "a/up") || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("Err after a panic in a/up: %v", err)
	}
	// The stopped loop runs no more commands; Apply must say so, not hang.
	if err := n.Emulator.Apply("a", scenario.Event{Down: true}); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("Apply after the panic: %v", err)
	}
}

// TestCloseEndsProcesses checks that closing a network ends the processes
// still running in its namespaces, daemonized ones and ones that ignore
// SIGTERM alike, and no other.
func TestCloseEndsProcesses(t *testing.T) {
	n := buildNet(t, `
paths:
  - name: a
`, NetworkOptions{})
	// Each is ready once its name is as given and the script has created
	// the file named by its $1.
	dir := t.TempDir()
	ready := func(comm, file string) func(int) bool {
		return func(pid int) bool {
			_, err := os.Stat(file)
			return err == nil && lab.ProcessName(pid) == comm
		}
	}
	daemonFile, stubbornFile := filepath.Join(dir, "daemon"), filepath.Join(dir, "stubborn")
	daemon, daemonFD := n.Topology.Server.StartDetached(t, ready("sleep", daemonFile), `touch "$1"; exec sleep 60`, daemonFile)
	stubborn, stubbornFD := n.Topology.Client.StartDetached(t, ready("sh", stubbornFile), `trap "" TERM; touch "$1"; while :; do sleep 0.05; done`, stubbornFile)
	// Outside the namespaces: not the network's to end.
	outsider := exec.Command("sleep", "60")
	if err := outsider.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { outsider.Process.Kill(); outsider.Wait() }()

	ended, err := n.EndProcesses(300 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]Process{}
	for _, p := range ended {
		got[p.PID] = p
	}
	if p := got[daemon]; p.Command != "sleep" || p.Netns != n.Topology.Server.Name() || p.Killed {
		t.Errorf("daemonized sleep %d: ended as %+v; ended %v", daemon, p, ended)
	}
	if p := got[stubborn]; p.Netns != n.Topology.Client.Name() || !p.Killed {
		t.Errorf("shell %d that ignores SIGTERM: ended as %+v; ended %v", stubborn, p, ended)
	}
	if _, ok := got[outsider.Process.Pid]; ok {
		t.Errorf("ended %d, a process outside the network's namespaces", outsider.Process.Pid)
	}
	for _, fd := range []int{daemonFD, stubbornFD} {
		if left := waitExit([]int{fd}, 0); left[0] {
			t.Errorf("a process of the namespaces still runs after EndProcesses")
		}
	}
	if err := outsider.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the process outside the namespaces was ended: %v", err)
	}
}
