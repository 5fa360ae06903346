//go:build linux

package emu

import (
	"bytes"
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
	"strconv"
	"strings"
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
				busy = busy || c.Queued != 0 || c.InFlight != 0
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

// TestRateAndDelay checks, with generous bounds (real time on a shared
// machine; the precise figures come from MeasureAccuracy), that a path
// delays probes by its one-way delay and carries its rate, no more.
func TestRateAndDelay(t *testing.T) {
	const rate, delay = 20e6, 20 * time.Millisecond
	n := buildNet(t, `
paths:
  - name: a
    rate: 20Mbit
    delay: 20ms
    queue: 200p
`, NetworkOptions{})
	ctx := context.Background()
	res, err := runProbes(ctx, n.Topology, 200, 5*time.Millisecond, time.Millisecond, 64, delay+300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var ds []time.Duration
	for _, r := range res {
		if r.Received() {
			ds = append(ds, r.OneWay())
		}
	}
	d := distribution(ds)
	want := delay + time.Duration((64+ipUDPHdr)*8*1e9/rate)
	if d.Count < 190 || d.P50 < want || d.P50 > want+want/5+2*time.Millisecond {
		t.Errorf("one-way delay: %d probes, median %v, want %v (+20%% +2ms)", d.Count, d.P50, want)
	}
	cfg := AccuracyConfig{Load: 2 * time.Second, Overload: 1.3, LoadWarmup: 500 * time.Millisecond}
	load, err := saturate(ctx, n.Topology, &cfg, rate, nil)
	if err != nil {
		t.Fatal(err)
	}
	if load.Achieved < rate*0.85 || load.Achieved > rate*1.15 {
		t.Errorf("UDP offered %.1f Mbit/s: achieved %.2f Mbit/s, want %v ±15%%", load.Offered/1e6, load.Achieved/1e6, rate/1e6)
	}
	// A TCP download cannot beat the link.
	if g := transfer(t, n, n.Paths[0], 4<<20, true); g > rate*1.05 {
		t.Errorf("TCP goodput %.2f Mbit/s over a %v Mbit/s link", g/1e6, rate/1e6)
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
	res, err := runProbes(context.Background(), n.Topology, 2000, 500*time.Microsecond, 0, 64, 100*time.Millisecond)
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

// TestOutage checks that an outage drops everything, queued, in flight and
// offered, and that traffic resumes after it.
func TestOutage(t *testing.T) {
	n := buildNet(t, `
paths:
  - name: a
    rate: 10Mbit
    delay: 5ms
    outages:
      - at: 1s
        for: 1s
`, NetworkOptions{Options: Options{HoldSchedule: true}})
	t0 := time.Now()
	if err := n.Emulator.StartSchedule(); err != nil {
		t.Fatal(err)
	}
	res, err := runProbes(context.Background(), n.Topology, 1500, 2*time.Millisecond, time.Millisecond, 64, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	const guard = 20 * time.Millisecond
	var during, duringLost, outside, outsideGot int
	for _, r := range res {
		at := time.Duration(r.Sent - t0.UnixNano())
		switch {
		case at > time.Second+guard && at < 2*time.Second-guard:
			during++
			if !r.Received() {
				duringLost++
			}
		case at < time.Second-guard || at > 2*time.Second+guard:
			outside++
			if r.Received() {
				outsideGot++
			}
		}
	}
	if during < 300 || duringLost != during {
		t.Errorf("during the outage %d of %d probes lost, want all", duringLost, during)
	}
	if outside < 600 || outsideGot < outside*99/100 {
		t.Errorf("outside the outage %d of %d probes arrived", outsideGot, outside)
	}
	if s := n.Emulator.Stats().Paths[0].Up; s.DownDrops < uint64(duringLost) {
		t.Errorf("%d down drops for %d probes lost in the outage", s.DownDrops, duringLost)
	}
}

// TestSharedLink checks that the scenario's server link is a bottleneck
// the paths share.
func TestSharedLink(t *testing.T) {
	const rate = 20e6
	n := buildNet(t, `
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
`, NetworkOptions{})
	cfg := AccuracyConfig{Load: 2 * time.Second, Overload: 1.3, LoadWarmup: 500 * time.Millisecond}
	load, err := saturate(context.Background(), n.Topology, &cfg, rate, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := n.Emulator.Stats()
	if load.Achieved < rate*0.85 || load.Achieved > rate*1.15 || s.SharedUp == nil || s.SharedUp.QueueDrops == 0 {
		t.Errorf("through a 20 Mbit/s server link: %.2f Mbit/s, shared up %+v", load.Achieved/1e6, s.SharedUp)
	}
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
// applies to what follows.
func TestApply(t *testing.T) {
	n := buildNet(t, `
paths:
  - name: a
    delay: 1ms
`, NetworkOptions{})
	e := n.Emulator
	probes := func() (got int, median time.Duration) {
		t.Helper()
		res, err := runProbes(context.Background(), n.Topology, 100, time.Millisecond, 0, 64, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		var ds []time.Duration
		for _, r := range res {
			if r.Received() {
				ds = append(ds, r.OneWay())
			}
		}
		return len(ds), distribution(ds).P50
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
	if got, _ := probes(); got != 0 {
		t.Errorf("%d of 100 probes crossed a path that is down", got)
	}
	d := 30 * time.Millisecond
	if err := e.Apply("a", scenario.Event{Up: true, Delay: &d}); err != nil {
		t.Fatal(err)
	}
	got, median := probes()
	if got < 99 || median < d || median > d+d/5+2*time.Millisecond {
		t.Errorf("after up with delay %v: %d probes, median one-way %v", d, got, median)
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
	var err error
	for range 100 {
		if err = n.Emulator.Err(); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err == nil || !strings.Contains(err.Error(), "a/up") || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("Err after a panic in a/up: %v", err)
	}
	// The stopped loop runs no more commands; Apply must say so, not hang.
	if err := n.Emulator.Apply("a", scenario.Event{Down: true}); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("Apply after the panic: %v", err)
	}
}
