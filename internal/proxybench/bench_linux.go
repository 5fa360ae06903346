//go:build linux

// Package proxybench measures `mptcp proxy` on an emulated hybrid-access
// network (`mptcp proxy bench`): two uplinks shaped by the user-space
// link emulator (internal/emu) between a client namespace, where the
// proxy's front end and the applications run, and a server namespace,
// where the converter and the origin run.
package proxybench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	xproxy "golang.org/x/net/proxy"

	"github.com/mptcp-go/mptcp/internal/emu"
	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/scenario"
)

// Config configures a run.
type Config struct {
	Uplinks    []Uplink      // default DSL 50 Mbit/s 10 ms, LTE 20 Mbit/s 30 ms one-way
	Duration   time.Duration // each bulk transfer (default 10 s)
	Requests   int           // sequential new connections for the set-up latency (default 20)
	Concurrent int           // concurrent proxied connections (default 1000; 0 skips with -1)
	Outage     time.Duration // the DSL outage during the interactive session (default 10 s)
	Exe        string        // the mptcp binary (default this executable)
	// Steps names the measurements to run, of bulk, latency, concurrent
	// and outage (default all).
	Steps []string
	Log   io.Writer
}

func (c *Config) defaults() {
	if len(c.Uplinks) == 0 {
		c.Uplinks = []Uplink{{"dsl", 50e6, 10 * time.Millisecond}, {"lte", 20e6, 30 * time.Millisecond}}
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Requests <= 0 {
		c.Requests = 20
	}
	if c.Concurrent == 0 {
		c.Concurrent = 1000
	}
	if c.Outage <= 0 {
		c.Outage = 10 * time.Second
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
}

// bench is one run's state.
type bench struct {
	cfg      Config
	net      *emu.Network
	dir      string
	srvAddr  netip.Addr // the converter's and origin's address (path 1)
	origin   *origin
	procs    map[string]*exec.Cmd
	socksTFO string // front end with TCP Fast Open
	socksNo  string // front end without
	socksStr string // front end in strict mode, without TFO
	socksST  string // front end in strict mode, with TFO
	conv     string // the converter's address
	key      string // the pre-shared key's file

	sshSkipped string // why OpenSSH is not measured, or ""
}

const (
	convPort   = 5124
	originPort = 8080
	echoPort   = 8081
)

// Run builds the network, runs every measurement and removes everything.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	cfg.defaults()
	if cfg.Exe == "" {
		if cfg.Exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	b := &bench{cfg: cfg, procs: map[string]*exec.Cmd{}}
	if b.dir, err = os.MkdirTemp("", "mptcp-proxybench-"); err != nil {
		return nil, err
	}
	defer os.RemoveAll(b.dir)
	if err := b.build(); err != nil {
		return nil, err
	}
	defer b.close()
	rep = &Report{Uplinks: cfg.Uplinks, DurationS: cfg.Duration.Seconds()}
	steps := []struct {
		name string
		fn   func(context.Context, *Report) error
	}{
		{"bulk", b.bulk}, {"latency", b.latency}, {"concurrent", b.concurrent}, {"outage", b.outage},
	}
	for _, s := range steps {
		if len(cfg.Steps) > 0 && !slices.Contains(cfg.Steps, s.name) {
			continue
		}
		fmt.Fprintf(cfg.Log, "proxybench: %s\n", s.name)
		if err := s.fn(ctx, rep); err != nil {
			return rep, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return rep, nil
}

// build makes the emulated network, the origin and the two proxies.
func (b *bench) build() error {
	sc := &scenario.Scenario{Name: "proxybench", Duration: time.Hour}
	for _, u := range b.cfg.Uplinks {
		pc := netsim.PipeConfig{Rate: u.Rate, Delay: u.Delay, QueueBytes: int(max(u.Rate/8*int64(u.Delay)*2/int64(time.Second), 64<<10))}
		sc.Paths = append(sc.Paths, scenario.Path{Name: u.Name, Link: scenario.Link{Down: pc, Up: pc}})
	}
	var err error
	if b.net, err = emu.Build(sc, emu.NetworkOptions{KernelEndpoints: true, Options: emu.Options{HoldSchedule: true}}); err != nil {
		return err
	}
	tp := b.net.Topology
	for _, ns := range []lab.Netns{tp.Client, tp.Server} {
		if err := ns.Sysctl("net.ipv4.tcp_fastopen=3"); err != nil {
			return err
		}
	}
	// The front end on this project's stack shares the uplinks' addresses
	// (NAT), which forwarding needs.
	if err := tp.Client.Sysctl("net.ipv4.ip_forward=1"); err != nil {
		return err
	}
	b.srvAddr = b.net.Paths[0].Server.V4
	if err := b.startOrigin(); err != nil {
		return err
	}
	key := filepath.Join(b.dir, "key")
	if err := os.WriteFile(key, []byte("proxybench-key\n"), 0o600); err != nil {
		return err
	}
	conv := netip.AddrPortFrom(b.srvAddr, convPort).String()
	b.conv, b.key = conv, key
	b.socksTFO, b.socksNo, b.socksStr, b.socksST = "127.0.0.1:1080", "127.0.0.1:1082", "127.0.0.1:1084", "127.0.0.1:1088"
	for _, p := range []struct {
		name string
		ns   lab.Netns
		args []string
	}{
		{"server", tp.Server, []string{"proxy", "server", "--listen", conv, "--key-file", key, "--max-per-client", "0"}},
		{"client", tp.Client, []string{"proxy", "client", "--server", conv, "--socks", b.socksTFO, "--key-file", key}},
		{"client-no-tfo", tp.Client, []string{"proxy", "client", "--server", conv, "--socks", b.socksNo, "--key-file", key, "--no-tfo"}},
		{"client-strict", tp.Client, []string{"proxy", "client", "--server", conv, "--socks", b.socksStr, "--key-file", key, "--no-tfo", "--strict"}},
		{"client-strict-tfo", tp.Client, []string{"proxy", "client", "--server", conv, "--socks", b.socksST, "--key-file", key, "--strict"}},
	} {
		if err := b.start(p.name, p.ns, append([]string{b.cfg.Exe}, p.args...)...); err != nil {
			return err
		}
	}
	if b.sshSkipped = sshTools(); b.sshSkipped == "" {
		if err := b.startSSH(conv, key); err != nil {
			return err
		}
	}
	return b.waitProxies()
}

// start runs argv in ns as one of the bench's processes, its output in
// the run's directory.
func (b *bench) start(name string, ns lab.Netns, argv ...string) error {
	cmd := ns.Command(argv...)
	log, err := os.Create(filepath.Join(b.dir, name+".log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	b.procs[name] = cmd
	return nil
}

func (b *bench) startOrigin() error {
	return b.net.Topology.Server.Do(func() error {
		hl, err := net.Listen("tcp", ":"+strconv.Itoa(originPort))
		if err != nil {
			return err
		}
		el, err := net.Listen("tcp", ":"+strconv.Itoa(echoPort))
		if err != nil {
			hl.Close()
			return err
		}
		b.origin = newOrigin(hl, el)
		return nil
	})
}

// waitProxies waits until a request passes through each front end.
func (b *bench) waitProxies() error {
	for _, s := range []string{b.socksTFO, b.socksNo, b.socksStr, b.socksST} {
		if err := b.waitRelay(s); err != nil {
			return err
		}
	}
	return nil
}

// waitRelay waits until a request passes through the front end at socks.
func (b *bench) waitRelay(socks string) error {
	var err error
	for try := 0; try < 100; try++ {
		var c net.Conn
		if c, err = b.socks(socks, originPort); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("proxy on %s never relayed: %w (logs in %s)", socks, err, b.dir)
}

// stop ends one of the bench's processes.
func (b *bench) stop(name string) {
	c := b.procs[name]
	if c == nil {
		return
	}
	delete(b.procs, name)
	_ = c.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.Process.Kill()
		<-done
	}
}

func (b *bench) close() {
	for name := range b.procs {
		b.stop(name)
	}
	if b.origin != nil {
		b.origin.close()
	}
	_ = b.net.Close()
}

// dialIn dials from the client namespace (the socket is made there).
func (b *bench) dialIn(laddr netip.Addr, raddr string) (net.Conn, error) {
	var c net.Conn
	err := b.net.Topology.Client.Do(func() error {
		d := net.Dialer{Timeout: 20 * time.Second}
		if laddr.IsValid() {
			d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(laddr, 0))
		}
		var err error
		c, err = d.Dial("tcp", raddr)
		return err
	})
	return c, err
}

type nsDialer struct{ b *bench }

func (d nsDialer) Dial(_, addr string) (net.Conn, error) { return d.b.dialIn(netip.Addr{}, addr) }

// socks connects through the front end at proxy to the origin's port.
func (b *bench) socks(proxy string, port int) (net.Conn, error) {
	d, err := xproxy.SOCKS5("tcp", proxy, nil, nsDialer{b})
	if err != nil {
		return nil, err
	}
	return d.Dial("tcp", netip.AddrPortFrom(b.srvAddr, uint16(port)).String())
}

// direct connects from uplink i's client address to the origin's address
// on that uplink, so the connection uses that uplink alone.
func (b *bench) direct(i, port int) (net.Conn, error) {
	p := b.net.Paths[i]
	return b.dialIn(p.Client.V4, netip.AddrPortFrom(p.Server.V4, uint16(port)).String())
}

// download fetches /stream for the configured duration over c and
// returns the goodput in bit/s, timed from the first body byte.
func (b *bench) download(c net.Conn) (float64, error) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(b.cfg.Duration + 30*time.Second))
	fmt.Fprintf(c, "GET /stream/%g HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n", b.cfg.Duration.Seconds())
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 64<<10), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	buf := make([]byte, 64<<10)
	if _, err := io.ReadFull(resp.Body, buf[:1]); err != nil {
		return 0, err
	}
	start := time.Now()
	n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
	if err != nil {
		return 0, err
	}
	return float64(n*8) / time.Since(start).Seconds(), nil
}

// upload posts to /sink for the configured duration over c and returns the
// goodput the origin measured.
func (b *bench) upload(c net.Conn) (float64, error) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(b.cfg.Duration + 30*time.Second))
	fmt.Fprintf(c, "POST /sink HTTP/1.1\r\nHost: origin\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
	w := bufio.NewWriterSize(c, 256<<10)
	chunk := make([]byte, 64<<10)
	for end := time.Now().Add(b.cfg.Duration); time.Now().Before(end); {
		fmt.Fprintf(w, "%x\r\n", len(chunk))
		w.Write(chunk)
		if _, err := w.WriteString("\r\n"); err != nil {
			return 0, err
		}
	}
	w.WriteString("0\r\n\r\n")
	if err := w.Flush(); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r sinkResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	return float64(r.Bytes*8) / r.Seconds, nil
}

// bulk measures each uplink alone and the proxy over both.
func (b *bench) bulk(_ context.Context, rep *Report) error {
	var sum float64
	for i, u := range b.cfg.Uplinks {
		c, err := b.direct(i, originPort)
		if err != nil {
			return err
		}
		g, err := b.download(c)
		if err != nil {
			return fmt.Errorf("%s alone: %w", u.Name, err)
		}
		sum += g
		rep.Bulk = append(rep.Bulk, BulkRow{Name: u.Name + " alone (plain TCP)", Direction: "download", Mbps: g / 1e6})
	}
	for _, dir := range []string{"download", "upload"} {
		c, err := b.socks(b.socksTFO, originPort)
		if err != nil {
			return err
		}
		measure := b.download
		if dir == "upload" {
			measure = b.upload
		}
		g, err := measure(c)
		if err != nil {
			return fmt.Errorf("proxy %s: %w", dir, err)
		}
		rep.Bulk = append(rep.Bulk, BulkRow{Name: "proxy, kernel MPTCP both ends", Direction: dir, Mbps: g / 1e6, OfSum: g / sum})
	}
	rep.SumOfLinksMbps = sum / 1e6
	return nil
}

// ttfb is the time from the start of dial to the first byte of a 1-byte
// response.
func ttfb(dial func() (net.Conn, error)) (time.Duration, error) {
	start := time.Now()
	c, err := dial()
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, "GET /bytes/1 HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n"); err != nil {
		return 0, err
	}
	var one [1]byte
	if _, err := c.Read(one[:]); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// latency measures how long a new connection takes to its first byte:
// direct over the DSL uplink, through the proxy with and without TFO, the
// front end's MPTCP leg on the kernel's stack and then on this project's
// (one front end at a time on the uplinks: each sets up TUN devices and
// NAT on them).
func (b *bench) latency(_ context.Context, rep *Report) error {
	for _, v := range []struct {
		name string
		dial func() (net.Conn, error)
	}{
		{"direct over " + b.cfg.Uplinks[0].Name, func() (net.Conn, error) { return b.direct(0, originPort) }},
		{"proxy, TFO", func() (net.Conn, error) { return b.socks(b.socksTFO, originPort) }},
		{"proxy, no TFO", func() (net.Conn, error) { return b.socks(b.socksNo, originPort) }},
		{"proxy, no TFO, --strict", func() (net.Conn, error) { return b.socks(b.socksStr, originPort) }},
		{"proxy, TFO, --strict", func() (net.Conn, error) { return b.socks(b.socksST, originPort) }},
	} {
		row, err := b.latencyRow(v.name, v.dial)
		if err != nil {
			return err
		}
		rep.Latency = append(rep.Latency, row)
	}
	const userSocks = "127.0.0.1:1086"
	for _, v := range []struct {
		row  string
		args []string
	}{
		{"proxy on our stack, TFO", nil},
		{"proxy on our stack, no TFO", []string{"--no-tfo"}},
		{"proxy on our stack, no TFO, --strict", []string{"--no-tfo", "--strict"}},
		{"proxy on our stack, TFO, --strict", []string{"--strict"}},
	} {
		name, row := "client-user", v.row
		args := []string{"proxy", "client", "--server", b.conv, "--socks", userSocks, "--key-file", b.key, "--stack", "user"}
		for _, p := range b.net.Topology.Paths {
			args = append(args, "--uplink", p.ClientIf)
		}
		args = append(args, v.args...)
		if err := b.start(name, b.net.Topology.Client, append([]string{b.cfg.Exe}, args...)...); err != nil {
			return err
		}
		err := b.waitRelay(userSocks) // also fetches the cookie
		var r LatencyRow
		if err == nil {
			r, err = b.latencyRow(row, func() (net.Conn, error) { return b.socks(userSocks, originPort) })
		}
		b.stop(name)
		if err != nil {
			return err
		}
		rep.Latency = append(rep.Latency, r)
	}
	return nil
}

// latencyRow times cfg.Requests new connections made by dial.
func (b *bench) latencyRow(name string, dial func() (net.Conn, error)) (LatencyRow, error) {
	var ds []time.Duration
	before, _ := b.net.Topology.Server.Nstat()
	for range b.cfg.Requests {
		d, err := ttfb(dial)
		if err != nil {
			return LatencyRow{}, fmt.Errorf("%s: %w", name, err)
		}
		ds = append(ds, d)
	}
	slices.Sort(ds)
	after, _ := b.net.Topology.Server.Nstat()
	return LatencyRow{Name: name, MedianMs: ms(ds[len(ds)/2]), P99Ms: ms(ds[len(ds)*99/100]),
		TFOAccepted: int(after["TcpExtTCPFastOpenPassive"] - before["TcpExtTCPFastOpenPassive"])}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// rssKB reads a process's resident set.
func rssKB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// concurrent opens N connections through the proxy (and N direct), holds
// them open to weigh the proxies, then sends every request at once: 1% of
// them 1 MB, the rest 10 KB.
func (b *bench) concurrent(_ context.Context, rep *Report) error {
	if b.cfg.Concurrent < 0 {
		return nil
	}
	idle := map[string]int64{"client": rssKB(b.procs["client"].Process.Pid), "server": rssKB(b.procs["server"].Process.Pid)}
	row := ConcurrentRow{N: b.cfg.Concurrent}
	var err error
	row.ProxyCompleted, row.ProxyP50Ms, row.ProxyP99Ms, err = b.burst(func() (net.Conn, error) { return b.socks(b.socksTFO, originPort) }, func() {
		row.ClientKBPerConn = float64(rssKB(b.procs["client"].Process.Pid)-idle["client"]) / float64(b.cfg.Concurrent)
		row.ServerKBPerConn = float64(rssKB(b.procs["server"].Process.Pid)-idle["server"]) / float64(b.cfg.Concurrent)
	})
	if err != nil {
		return err
	}
	row.DirectCompleted, row.DirectP50Ms, row.DirectP99Ms, err = b.burst(func() (net.Conn, error) { return b.direct(0, originPort) }, func() {})
	rep.Concurrent = &row
	return err
}

// burst runs the concurrent requests over connections from dial.
func (b *bench) burst(dial func() (net.Conn, error), atPeak func()) (int, float64, float64, error) {
	n := b.cfg.Concurrent
	conns := make([]net.Conn, n)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var dialErr error
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dial()
			mu.Lock()
			defer mu.Unlock()
			if err != nil && dialErr == nil {
				dialErr = err
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	if dialErr != nil {
		return 0, 0, 0, fmt.Errorf("opening %d connections: %w", n, dialErr)
	}
	atPeak()
	times := make([]time.Duration, n)
	done := make([]bool, n)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			size := 10_000
			if i%100 == 0 {
				size = 1_000_000
			}
			_ = c.SetDeadline(time.Now().Add(120 * time.Second))
			start := time.Now()
			fmt.Fprintf(c, "GET /bytes/%d HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n", size)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return
			}
			k, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && k == int64(size) {
				times[i], done[i] = time.Since(start), true
			}
		}()
	}
	wg.Wait()
	var ok []time.Duration
	for i, d := range done {
		if d {
			ok = append(ok, times[i])
		}
	}
	if len(ok) == 0 {
		return 0, 0, 0, errors.New("no request completed")
	}
	slices.Sort(ok)
	return len(ok), ms(ok[len(ok)/2]), ms(ok[len(ok)*99/100]), nil
}

// session is an interactive session: echo sends a line and waits for it
// to come back.
type session interface {
	echo(line string) error
	close()
}

// socksEcho is a session with the origin's echo service through SOCKS5.
type socksEcho struct {
	c net.Conn
	r *bufio.Reader
}

func (e *socksEcho) echo(line string) error {
	_ = e.c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := fmt.Fprintln(e.c, line); err != nil {
		return err
	}
	got, err := e.r.ReadString('\n')
	if want := strings.ToUpper(line) + "\n"; err == nil && got != want {
		err = fmt.Errorf("sent %q, got %q back", line, got)
	}
	return err
}

func (e *socksEcho) close() { e.c.Close() }

// outage runs interactive sessions through the proxy, an echo through
// SOCKS5 and OpenSSH through the transparent front end, each while the
// first uplink goes down for the configured outage.
func (b *bench) outage(_ context.Context, rep *Report) error {
	c, err := b.socks(b.socksTFO, echoPort)
	if err != nil {
		return err
	}
	row, err := b.across(&socksEcho{c, bufio.NewReader(c)}, "echo through SOCKS5")
	if err != nil {
		return err
	}
	rep.Outages = append(rep.Outages, row)
	if b.sshSkipped != "" {
		rep.SSHSkipped = b.sshSkipped
		return nil
	}
	s, err := b.dialSSH()
	if err != nil {
		return err
	}
	if row, err = b.across(s, "OpenSSH through the transparent proxy"); err != nil {
		return err
	}
	rep.Outages = append(rep.Outages, row)
	return nil
}

// across echoes a line every 50 ms in s while the first uplink goes down
// 3 s in and comes back after the outage, and reports the longest wait
// for an echo. The session must survive: any error ends the measurement.
func (b *bench) across(s session, name string) (OutageRow, error) {
	defer s.close()
	var longest time.Duration
	last := time.Now()
	start := last
	down, up := false, false
	total := 3*time.Second + b.cfg.Outage + 5*time.Second
	link := b.cfg.Uplinks[0].Name
	for i := 0; time.Since(start) < total; i++ {
		if el := time.Since(start); !down && el > 3*time.Second {
			if err := b.net.Emulator.Apply(link, scenario.Event{Down: true}); err != nil {
				return OutageRow{}, err
			}
			down = true
		} else if down && !up && el > 3*time.Second+b.cfg.Outage {
			if err := b.net.Emulator.Apply(link, scenario.Event{Up: true}); err != nil {
				return OutageRow{}, err
			}
			up = true
		}
		if err := s.echo(fmt.Sprintf("ping %d", i)); err != nil {
			return OutageRow{}, fmt.Errorf("%s broke: %w", name, err)
		}
		now := time.Now()
		longest = max(longest, now.Sub(last))
		last = now
		time.Sleep(50 * time.Millisecond)
	}
	return OutageRow{Session: name, Uplink: link, OutageS: b.cfg.Outage.Seconds(), Survived: true, LongestStallMs: ms(longest - 50*time.Millisecond)}, nil
}
