package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/mptcp-go/mptcp/internal/perf"
	"github.com/mptcp-go/mptcp/scan"
)

var cmdPerf = &Command{
	Name:  "perf",
	Short: "measure throughput like iperf3, over the user-space stack or the kernel's MPTCP",
	Long: `A test is a bulk transfer over one or more connections (-P), for a time (-t)
or a byte count (-n), from the client (default) or from the server (-R).
Each side prints one line per interval and per subflow, then a summary
with both sides' figures; --json prints one JSON object instead.

--stack user (default) runs the user-space MPTCP stack on TUN devices that
the command creates (root or CAP_NET_ADMIN): --tun names them, --addr gives
the stack its addresses, and a host route sends each address into its
device (see docs/tun.md and docs/perf.md for the routes and forwarding a
network needs). --stack kernel uses the kernel's MPTCP through Go's net
package, for comparison; --no-mptcp makes either stack speak plain TCP.
Servers of either stack accept MPTCP and plain TCP clients.`,
}

var cmdPerfServer = &Command{
	Name:  "server",
	Usage: "[flags]",
	Short: "answer tests",
	Long: `Answers mptcp perf clients, one test at a time, until interrupted (or after
one test with -1). The server accepts MPTCP and plain TCP clients.`,
	Run: perfServerFlags,
}

var cmdPerfClient = &Command{
	Name:  "client",
	Usage: "[flags] HOST:PORT",
	Short: "run a test against a server",
	Long: `Runs a test against an mptcp perf server: HOST is an IP address (IPv6 in
brackets); PORT defaults to 5201.`,
	Run: perfClientFlags,
}

var cmdPerfBench = &Command{
	Name:      "bench",
	Usage:     "[flags]",
	Short:     "compare our MPTCP with the kernel's (root)",
	LinuxOnly: true,
	Long: `Compares the user-space MPTCP stack with the kernel's: bulk transfers over
veth between network namespaces, kernel -> kernel, ours -> kernel,
kernel -> ours and ours -> ours, with one subflow (one path) and with two
(two paths), each against kernel -> kernel. Prints a table (or JSON), and
with --profile a CPU profile of our end per row and its top entries.
Needs root; builds and removes its own namespaces. Both ends run in this
process: the figures are those of this machine's CPUs, shared with
whatever else runs (the load average is printed before and after).`,
}

var cmdPerfWeb = &Command{
	Name:      "web",
	Usage:     "[flags]",
	Short:     "web-shaped requests: the kernel's MPTCP, ours and the simulator on emulated paths (root)",
	LinuxOnly: true,
	Long: `Measures web-shaped traffic on the aggregate scenario's emulated paths
(wifi 20 Mbit/s 10 ms and cellular 10 Mbit/s 50 ms one-way, "mptcp emu run"
as its own process): requests of each size at each concurrency, on new
connections (timed from the dial) and on reused ones (timed from the
request), with the kernel's MPTCP on both ends, our stack on both ends (on
TUN devices) and the simulator (the same requests in virtual time).
Prints completion p50/p99, time to first byte and requests per second (on
new connections: connections accepted and served per second) as a table,
or JSON. Every byte is checked. Bounded by --budget and --max-bytes. Needs
root, but for --impl simulator alone. See docs/perf.md.`,
}

func init() {
	root.Add(cmdPerf)
	cmdPerf.Add(cmdPerfServer, cmdPerfClient, cmdPerfBench, cmdPerfWeb)
}

// perfFlags are the flags of both server and client.
type perfFlags struct {
	stack     string
	tuns      listFlag
	addrs     listFlag
	mtu       int
	noRoute   bool
	split     bool
	pacing    bool
	loops     int
	pcapFile  string
	noMPTCP   bool
	scheduler string
	cc        string
	pm        string
	bind      string
	interval  secondsFlag
	json      bool
	timeout   secondsFlag
	debug     string
	traceDir  string

	fs *flag.FlagSet // for the flags given on the command line
}

// userOnly starts the help of every flag that only the user-space stack
// takes: openStack refuses those flags with --stack kernel, rather than
// ignore them.
const userOnly = "user stack: "

func (f *perfFlags) register(fs *flag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.stack, "stack", "user", "`stack`: user (the user-space MPTCP stack on TUN devices) or kernel (Go's net, kernel MPTCP)")
	fs.Var(&f.tuns, "tun", "user stack: create TUN device `NAME[=ADDR,...]` (repeatable; the kernel numbers a name with %d; default mptcp%d)")
	fs.Var(&f.addrs, "addr", "user stack: the stack's `addresses`, comma-separated or repeated, on the one --tun device")
	fs.IntVar(&f.mtu, "mtu", 1500, "user stack: MTU of the TUN devices")
	fs.BoolVar(&f.noRoute, "no-route", false, "user stack: do not add host routes for the addresses into the devices")
	fs.BoolVar(&f.split, "split-packets", false, "user stack: the TUN device splits the kernel's super-packets into segments (default: the stack takes them whole)")
	fs.StringVar(&f.pcapFile, "pcap", "", "user stack: write every packet the stack receives and sends to this pcap `file`")
	fs.StringVar(&f.debug, "debug", "", "user stack: serve its debug endpoint (connections, MIB, events, Prometheus /metrics) on `ADDR`: unix:PATH or HOST:PORT")
	fs.StringVar(&f.traceDir, "trace", "", "user stack: write a JSON-lines trace of each connection into `DIR` (see mptcp trace plot)")
	fs.BoolVar(&f.noMPTCP, "no-mptcp", false, "speak plain TCP (either stack)")
	fs.BoolVar(&f.pacing, "pacing", false, "user stack: pace each subflow's segments (mptcp.Config.Pacing; default unpaced)")
	fs.IntVar(&f.loops, "loops", 1, "user stack: protocol loops, each on its own queue of the TUN devices (mptcp.Config.Loops)")
	fs.StringVar(&f.scheduler, "scheduler", "", "user stack: packet scheduler `name` (default \"default\")")
	fs.StringVar(&f.cc, "cc", "", "user stack: congestion control `name` (default \"cubic\")")
	fs.StringVar(&f.pm, "pm", "", "user stack: path manager `name` (default \"fullmesh\")")
	for _, n := range []string{"B", "bind"} {
		fs.StringVar(&f.bind, n, "", "server: listen on this `address` only; client: connect from it")
	}
	f.interval = secondsFlag(time.Second)
	for _, n := range []string{"i", "interval"} {
		fs.Var(&f.interval, n, "reporting interval (`seconds` or a duration; "+intervalZero+")")
	}
	for _, n := range []string{"J", "json"} {
		fs.BoolVar(&f.json, n, false, "print the report as JSON")
	}
	f.timeout = secondsFlag(perf.DefaultTimeout)
	fs.Var(&f.timeout, "timeout", "bound on connecting and on each setup step (`seconds` or a duration)")
}

// perfStack is a network stack the command runs tests over.
type perfStack interface {
	listen(addr string) (net.Listener, error)
	dial(ctx context.Context, addr string) (net.Conn, error)
	// describe says what it is, for the first line of output.
	describe() string
	close() error
}

// openStack makes the stack the flags ask for.
func (f *perfFlags) openStack(stderr io.Writer) (perfStack, error) {
	var local netip.Addr
	if f.bind != "" {
		a, err := netip.ParseAddr(strings.Trim(f.bind, "[]"))
		if err != nil {
			return nil, usagef("-B %q: want an IP address", f.bind)
		}
		local = a
	}
	switch f.stack {
	case "kernel":
		var given []string
		f.fs.Visit(func(fl *flag.Flag) {
			if strings.HasPrefix(fl.Usage, userOnly) {
				given = append(given, "--"+fl.Name)
			}
		})
		if len(given) > 0 {
			verb := "are"
			if len(given) == 1 {
				verb = "is"
			}
			return nil, usagef("%s %s for --stack user only: the kernel's MPTCP takes its scheduler, congestion control and path manager from sysctls and \"mptcp pm\" (\"mptcp stat\" and \"mptcp monitor\" show its state)",
				joinWords(given, "and"), verb)
		}
		return &kernelStack{mptcp: !f.noMPTCP, local: local}, nil
	case "user":
		return openUserStack(f, local, stderr)
	}
	return nil, usagef("--stack %q: want user or kernel", f.stack)
}

// kernelStack is the kernel's TCP/IP through Go's net package.
type kernelStack struct {
	mptcp bool
	local netip.Addr
}

func (k *kernelStack) listen(addr string) (net.Listener, error) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(k.mptcp)
	return lc.Listen(context.Background(), "tcp", addr)
}

func (k *kernelStack) dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	d.SetMultipathTCP(k.mptcp)
	if k.local.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(k.local, 0))
	}
	return d.DialContext(ctx, "tcp", addr)
}

func (k *kernelStack) describe() string {
	if k.mptcp {
		return "kernel MPTCP (Go net, SetMultipathTCP)"
	}
	return "kernel TCP (Go net)"
}

func (k *kernelStack) close() error { return nil }

func perfServerFlags(fs *flag.FlagSet) Action {
	var f perfFlags
	f.register(fs)
	var port int
	var oneOff bool
	for _, n := range []string{"p", "port"} {
		fs.IntVar(&port, n, 5201, "listen on this `port`")
	}
	for _, n := range []string{"1", "one-off"} {
		fs.BoolVar(&oneOff, n, false, "exit after one test")
	}
	return func(inv *Invocation) error {
		stdout, stderr := inv.Stdout, inv.Stderr
		pos := inv.Args
		if len(pos) > 0 {
			return usagef("the server takes no arguments, got %q", pos)
		}
		if port < 1 || port > 65535 {
			return usagef("-p %d: want a port 1..65535", port)
		}
		st, err := f.openStack(stderr)
		if err != nil {
			return err
		}
		defer st.close()
		addr := ":" + strconv.Itoa(port)
		if f.bind != "" {
			a, _ := netip.ParseAddr(strings.Trim(f.bind, "[]"))
			addr = netip.AddrPortFrom(a, uint16(port)).String()
		}
		ln, err := st.listen(addr)
		if err != nil {
			return fmt.Errorf("listening on %s: %w", addr, err)
		}
		ctx := inv.Context()
		var out io.Writer = stdout
		if f.json {
			out = nil
		}
		var failed error
		srv := &perf.Server{Interval: time.Duration(f.interval), Timeout: time.Duration(f.timeout), Out: out,
			OnReport: func(rep *perf.Report, err error) {
				if f.json {
					_ = writeIndentedJSON(stdout, rep)
				}
				if err != nil {
					fmt.Fprintf(stderr, "mptcp perf server: test failed: %v\n", trimPerfErr(err))
					failed = err
				}
			}}
		if out != nil {
			fmt.Fprintf(out, "-----------------------------------------------------------\n")
			fmt.Fprintf(out, "Server listening on %s, %s\n", ln.Addr(), st.describe())
			fmt.Fprintf(out, "-----------------------------------------------------------\n")
		}
		if oneOff {
			_, err := srv.ServeOne(ctx, ln)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil && failed == nil {
				return trimPerfErr(err)
			}
			if failed != nil {
				return errors.New("the test failed")
			}
			return nil
		}
		return trimPerfErr(srv.Serve(ctx, ln))

	}
}

func perfClientFlags(fs *flag.FlagSet) Action {
	var f perfFlags
	f.register(fs)
	var (
		dur     = secondsFlag(perf.DefaultDuration)
		bytes   byteFlag
		streams int
		reverse bool
		verify  bool
		length  byteFlag
	)
	for _, n := range []string{"t", "time"} {
		fs.Var(&dur, n, "send for this long (`seconds` or a duration)")
	}
	for _, n := range []string{"n", "bytes"} {
		fs.Var(&bytes, n, "send this many `bytes` instead (K, M, G suffixes: KiB, MiB, GiB)")
	}
	for _, n := range []string{"P", "parallel"} {
		fs.IntVar(&streams, n, 1, "number of parallel `streams` (connections)")
	}
	for _, n := range []string{"R", "reverse"} {
		fs.BoolVar(&reverse, n, false, "the server sends, the client receives")
	}
	fs.BoolVar(&verify, "verify", false, "the receiver checks every byte against the sender's pattern")
	for _, n := range []string{"l", "length"} {
		fs.Var(&length, n, "size of each write and read (`bytes`; default 128K)")
	}
	return func(inv *Invocation) error {
		stdout, stderr := inv.Stdout, inv.Stderr
		pos := inv.Args
		if len(pos) != 1 {
			return usagef("want one server address HOST:PORT, got %d arguments", len(pos))
		}
		p := perf.Params{Reverse: reverse, Duration: time.Duration(dur), Bytes: int64(bytes), Streams: streams,
			Verify: verify, BlockSize: int(length)}
		if bytes > 0 {
			p.Duration = 0
		}
		if p.Duration <= 0 && p.Bytes <= 0 {
			return usagef("-t must be positive (or give -n)")
		}
		// Validate before creating devices.
		if err := validParams(p); err != nil {
			return usagef("%v", err)
		}
		ctx := inv.Context()
		var local netip.Addr
		if f.bind != "" {
			local, _ = netip.ParseAddr(strings.Trim(f.bind, "[]")) // openStack reports a bad one
		}
		rctx, cancel := context.WithTimeout(ctx, time.Duration(f.timeout))
		server, err := resolveServer(rctx, pos[0], local)
		cancel()
		if err != nil {
			return err
		}
		st, err := f.openStack(stderr)
		if err != nil {
			return err
		}
		defer st.close()
		var out io.Writer = stdout
		if f.json {
			out = nil
		}
		if out != nil {
			fmt.Fprintf(out, "Client over %s\n", st.describe())
		}
		cl := &perf.Client{
			Dial:     func(ctx context.Context) (net.Conn, error) { return st.dial(ctx, server.String()) },
			Params:   p,
			Interval: time.Duration(f.interval),
			Timeout:  time.Duration(f.timeout),
			Out:      out,
		}
		rep, err := cl.Run(ctx)
		if f.json && rep != nil {
			_ = writeIndentedJSON(stdout, rep)
		}
		if ctx.Err() != nil {
			return errors.New("interrupted")
		}
		return trimPerfErr(err)

	}
}

// trimPerfErr drops package perf's prefix from an error: run prefixes
// "mptcp perf" already.
func trimPerfErr(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(strings.TrimPrefix(err.Error(), "perf: "))
}

// validParams checks the test parameters as the server will.
func validParams(p perf.Params) error {
	switch {
	case p.Streams < 1 || p.Streams > perf.MaxStreams:
		return fmt.Errorf("-P %d: want 1..%d streams", p.Streams, perf.MaxStreams)
	case p.BlockSize < 0 || p.BlockSize > perf.MaxBlockSize:
		return fmt.Errorf("-l %d: want at most %d bytes", p.BlockSize, perf.MaxBlockSize)
	case p.Duration > perf.MaxDuration:
		return fmt.Errorf("-t %v: want at most %v", p.Duration, perf.MaxDuration)
	}
	return nil
}

// resolveServer reads HOST:PORT, or HOST alone for port 5201. HOST is an
// address or a name, looked up as "mptcp scan" looks up its targets;
// with a local address (-B) the server's address is of its family.
func resolveServer(ctx context.Context, s string, local netip.Addr) (netip.AddrPort, error) {
	if strings.Contains(s, "/") {
		return netip.AddrPort{}, usagef("server %q: want HOST:PORT or HOST, not a range", s)
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1] // "[::1]": an IPv6 address without a port
	}
	cfg := scan.ExpandConfig{Ports: []uint16{perfPort}}
	switch {
	case local.Is4():
		cfg.Family = scan.IPv4Only
	case local.Is6():
		cfg.Family = scan.IPv6Only
	}
	ts, err := scan.Expand(ctx, []string{s}, cfg)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("server %s", strings.TrimPrefix(err.Error(), scan.ErrBadTarget.Error()+" "))
	}
	return netip.AddrPortFrom(ts[0].Addr, ts[0].Port), nil
}

// perfPort is the port of a server address that names none (iperf3's).
const perfPort = 5201

// listFlag collects a repeatable flag; commas separate values too.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	if s == "" {
		return errors.New("empty value")
	}
	*l = append(*l, s)
	return nil
}

// secondsFlag is a duration given as seconds ("10", "0.5", as iperf3
// takes them) or as a Go duration ("500ms").
type secondsFlag time.Duration

func (d *secondsFlag) String() string { return time.Duration(*d).String() }

func (d *secondsFlag) Set(s string) error {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || f > 1e6 {
			return fmt.Errorf("%v seconds out of range", f)
		}
		*d = secondsFlag(f * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want seconds or a duration like 500ms")
	}
	if v < 0 {
		return fmt.Errorf("negative duration")
	}
	*d = secondsFlag(v)
	return nil
}

// byteFlag is a byte count with an optional binary suffix, as iperf3
// takes them: 100K, 10M, 1G, 1T.
type byteFlag int64

func (b *byteFlag) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteFlag) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	*b = byteFlag(n)
	return nil
}

func parseBytes(s string) (int64, error) {
	mult := int64(1)
	t := strings.TrimSpace(s)
	if t != "" {
		switch t[len(t)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		case 't', 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:len(t)-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || f*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("want a byte count like 1048576, 512K, 100M or 2G")
	}
	return int64(f * float64(mult)), nil
}
