//go:build linux

// Package perfbench compares the throughput of the user-space MPTCP stack with
// the Linux kernel's MPTCP: bulk transfers over veth between network
// namespaces (package lab), with the kernel or our stack (on a TUN device,
// package perf/tunhost) at either end, over one path and over two. Each
// row's rate is set against kernel to kernel with the same number of
// subflows. mptcp perf bench runs it; it needs root.
//
// Both ends run in this process, on the machine's CPUs, so a row measures
// what the machine does with both ends of the transfer: for the kernel
// end, Go code reading or writing a kernel socket; for ours, the whole
// stack. A CPU profile of our end can be taken per row.
package perfbench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/internal/perf"
	"github.com/mptcp-go/mptcp/internal/tunhost"
	"github.com/mptcp-go/mptcp/link/tun"
)

// Stack names an end of a transfer.
type Stack string

// The two stacks.
const (
	Kernel Stack = "kernel"
	User   Stack = "user"
)

// Case is one row: who sends (the client), who receives (the server),
// over how many subflows (one path each).
type Case struct {
	Sender, Receiver Stack
	Subflows         int
	// TCP runs plain TCP instead of MPTCP (one subflow): the machine's
	// TCP over the same veth, for reference.
	TCP bool
	// Loops is the number of protocol loops of our stack's ends
	// (mptcp.Config.Loops, on multi-queue TUN devices); 0 is 1.
	Loops int
}

// label is how rows name a stack: "ours" or "kernel".
func (s Stack) label() string {
	if s == User {
		return "ours"
	}
	return "kernel"
}

// Name is the row's label.
func (c Case) Name() string {
	n := fmt.Sprintf("%s -> %s", c.Sender.label(), c.Receiver.label())
	if c.TCP {
		n += " (TCP)"
	}
	return n
}

// Pair names the case's sender and receiver as mptcp perf bench --pairs
// does: "ours-kernel", say.
func (c Case) Pair() string { return c.Sender.label() + "-" + c.Receiver.label() }

func (c Case) slug() string {
	s := fmt.Sprintf("%s-to-%s-%dsf", c.Sender, c.Receiver, c.Subflows)
	if c.TCP {
		s += "-tcp"
	}
	if c.Loops > 1 {
		s += fmt.Sprintf("-%dloops", c.Loops)
	}
	return s
}

// DefaultCases are the benchmark's rows: kernel to kernel over plain TCP
// for reference, then every pairing over MPTCP, with one and two
// subflows.
func DefaultCases() []Case {
	cs := []Case{{Sender: Kernel, Receiver: Kernel, Subflows: 1, TCP: true}}
	for _, n := range []int{1, 2} {
		for _, p := range [][2]Stack{{Kernel, Kernel}, {User, Kernel}, {Kernel, User}, {User, User}} {
			cs = append(cs, Case{Sender: p[0], Receiver: p[1], Subflows: n})
		}
	}
	return cs
}

// Config configures a run of the benchmark.
type Config struct {
	Cases    []Case
	Duration time.Duration // per transfer (default 10 s)
	Repeat   int           // transfers per row; the median is reported (default 1)
	// ProfileDir, if set, receives a CPU profile of each row that has our
	// stack at an end, named after the row (ours-... .pprof); samples of
	// our end carry the label side=user.
	ProfileDir string
	// Iperf3 adds a reference row before each kernel to kernel MPTCP
	// row: iperf3 under mptcpize at both ends, if both programs are
	// installed.
	Iperf3 bool
	// Streams is the number of connections each transfer runs at once
	// (default 1), so that a stack of several loops has connections to
	// spread.
	Streams int
	// SplitPackets runs our stack's TUN driver with the device splitting
	// the kernel's super-packets into segments (and coalescing ours),
	// instead of the stack taking them whole (link/tun.Config.SuperPackets).
	SplitPackets bool
	// Pacing runs our stack paced (mptcp.Config.Pacing).
	Pacing bool
	// Log, if set, receives progress lines.
	Log io.Writer
}

// Result is the benchmark's outcome.
type Result struct {
	Start      time.Time     `json:"start"`
	Kernel     string        `json:"kernel"`
	CPUs       int           `json:"cpus"`
	LoadBefore string        `json:"load_before"` // /proc/loadavg
	LoadAfter  string        `json:"load_after"`
	Duration   time.Duration `json:"duration_ns"`
	Repeat     int           `json:"repeat"`
	Streams    int           `json:"streams"`
	// Driver is the TUN driver's mode for our stack: "super" or "split".
	Driver string `json:"driver"`
	// Pacing says whether our stack paced (mptcp.Config.Pacing).
	Pacing bool  `json:"pacing"`
	Rows   []Row `json:"rows"`
}

// Row is one case's figures.
type Row struct {
	Name     string `json:"name"`
	Sender   Stack  `json:"sender"`
	Receiver Stack  `json:"receiver"`
	Subflows int    `json:"subflows"`
	TCP      bool   `json:"tcp,omitempty"`
	// Loops is the number of protocol loops of our stack's ends (rows
	// with our stack at an end).
	Loops int `json:"loops,omitempty"`
	// Iperf3 marks the reference row measured with iperf3.
	Iperf3 bool `json:"iperf3,omitempty"`
	// Gbps is the median receiver goodput, in Gbit/s, of the runs.
	Gbps float64   `json:"gbps"`
	Runs []float64 `json:"runs_gbps"`
	// Ratio is Gbps over the faster kernel to kernel MPTCP row (Go perf
	// or iperf3) with as many subflows (0 if none); TCPRatio is Gbps over
	// kernel to kernel over plain TCP, what the machine gave a single TCP
	// flow.
	Ratio    float64 `json:"ratio"`
	TCPRatio float64 `json:"tcp_ratio,omitempty"`
	// Carrying counts the subflows that carried at least 5% of the bytes,
	// on the receiver (median run).
	Carrying int `json:"subflows_carrying"`
	// CPU is this process's CPU time per second of transfer (both ends,
	// user and system), median run; GbpsPerCPU is Gbps over it, the
	// figure least disturbed by other load on the machine.
	CPU        float64 `json:"cpu_cores"`
	GbpsPerCPU float64 `json:"gbps_per_cpu_second"`
	Profile    string  `json:"profile,omitempty"`
	// Failures counts the runs that failed; Error is set, to the last
	// failure, only when every run failed.
	Failures int    `json:"failures,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Run runs the benchmark.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := lab.Available(); err != nil {
		return nil, err
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Repeat <= 0 {
		cfg.Repeat = 1
	}
	if cfg.Streams <= 0 {
		cfg.Streams = 1
	}
	if cfg.Cases == nil {
		cfg.Cases = DefaultCases()
	}
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	res := &Result{Start: time.Now(), Kernel: kernelRelease(), CPUs: runtime.NumCPU(), LoadBefore: loadavg(),
		Duration: cfg.Duration, Repeat: cfg.Repeat, Streams: cfg.Streams, Driver: "super", Pacing: cfg.Pacing}
	if cfg.SplitPackets {
		res.Driver = "split"
	}
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	logf("load before: %s", res.LoadBefore)
	for _, c := range cfg.Cases {
		if cfg.Iperf3 && c.Sender == Kernel && c.Receiver == Kernel && !c.TCP {
			if row, ok := iperf3Row(ctx, cfg, c.Subflows, logf); ok {
				res.Rows = append(res.Rows, row)
			}
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		row := Row{Name: c.Name(), Sender: c.Sender, Receiver: c.Receiver, Subflows: c.Subflows, TCP: c.TCP}
		if c.Sender == User || c.Receiver == User {
			row.Loops = max(c.Loops, 1)
		}
		var runs []run
		for i := range cfg.Repeat {
			prof := ""
			if cfg.ProfileDir != "" && (c.Sender == User || c.Receiver == User) && i == 0 {
				prof = filepath.Join(cfg.ProfileDir, c.slug()+".pprof")
			}
			r, err := runCase(ctx, c, cfg, prof)
			if err != nil {
				row.Failures++
				row.Error = err.Error()
				logf("%-18s %d subflow(s)%s: run %d: %v", row.Name, c.Subflows, loopNote(row.Loops), i+1, err)
				continue
			}
			if prof != "" {
				row.Profile = prof
			}
			logf("%-18s %d subflow(s)%s: run %d: %.2f Gbit/s, %d subflow(s) carrying, %.2f CPU%s", row.Name, c.Subflows, loopNote(row.Loops), i+1, r.gbps, r.carrying, r.cpu, handoffNote(row.Loops, r.handoffs))
			runs = append(runs, r)
		}
		if len(runs) > 0 {
			row.Error = "" // the failures are counted; the row has figures
			slices.SortFunc(runs, func(a, b run) int { return cmpFloat(a.gbps, b.gbps) })
			m := runs[len(runs)/2]
			row.Gbps, row.Carrying, row.CPU = m.gbps, m.carrying, m.cpu
			if m.cpu > 0 {
				row.GbpsPerCPU = m.gbps / m.cpu
			}
			for _, r := range runs {
				row.Runs = append(row.Runs, r.gbps)
			}
		}
		res.Rows = append(res.Rows, row)
	}
	setRatios(res.Rows)
	res.LoadAfter = loadavg()
	logf("load after: %s", res.LoadAfter)
	return res, nil
}

// loopNote labels a progress line with our stack's loops, when several.
func loopNote(loops int) string {
	if loops > 1 {
		return fmt.Sprintf(", %d loops", loops)
	}
	return ""
}

// handoffNote tells how many packets one loop read for another.
func handoffNote(loops int, n uint64) string {
	if loops > 1 {
		return fmt.Sprintf(", %d packets handed between loops", n)
	}
	return ""
}

// setRatios sets each row's ratios to the reference rows: the faster of
// the kernel to kernel MPTCP rows (Go perf or iperf3) with as many
// subflows, and kernel to kernel over plain TCP.
func setRatios(rows []Row) {
	best := map[int]float64{}
	tcp := 0.0
	for _, k := range rows {
		if k.Error != "" || k.Gbps <= 0 || k.Sender != Kernel || k.Receiver != Kernel {
			continue
		}
		if k.TCP {
			tcp = k.Gbps
		} else {
			best[k.Subflows] = max(best[k.Subflows], k.Gbps)
		}
	}
	for i := range rows {
		r := &rows[i]
		r.Ratio, r.TCPRatio = 0, 0
		if r.TCP || r.Gbps <= 0 {
			continue
		}
		if b := best[r.Subflows]; b > 0 {
			r.Ratio = r.Gbps / b
		}
		if tcp > 0 {
			r.TCPRatio = r.Gbps / tcp
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type run struct {
	gbps     float64
	carrying int
	cpu      float64
	// handoffs counts the packets a loop of our stack read for another
	// (with several loops).
	handoffs uint64
}

const port = 5201

// runCase builds a topology, runs one transfer and removes it.
func runCase(ctx context.Context, c Case, cfg Config, profile string) (r run, err error) {
	if c.Subflows < 1 || c.Subflows > 8 {
		return r, fmt.Errorf("%d subflows, want 1..8", c.Subflows)
	}
	if c.TCP && (c.Sender != Kernel || c.Receiver != Kernel || c.Subflows != 1) {
		return r, fmt.Errorf("plain TCP is measured kernel to kernel over one path only")
	}
	tp, err := lab.Build(lab.Config{Paths: c.Subflows})
	if err != nil {
		return r, err
	}
	defer func() {
		if cerr := tp.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	g := &rig{tp: tp, c: c, cfg: cfg, userCtx: pprof.WithLabels(ctx, pprof.Labels("side", "user"))}
	defer g.close()
	ln, srvAddr, err := g.server(ctx)
	if err != nil {
		return r, fmt.Errorf("server: %w", err)
	}
	dial, err := g.client(srvAddr)
	if err != nil {
		return r, err
	}

	srvCtx, cli := ctx, ctx
	if c.Receiver == User {
		srvCtx = g.userCtx
	}
	if c.Sender == User {
		cli = g.userCtx
	}
	srvDone := make(chan error, 1)
	go pprof.Do(srvCtx, pprof.Labels(), func(ctx context.Context) {
		_, err := (&perf.Server{}).ServeOne(ctx, ln)
		srvDone <- err
	})
	if profile != "" {
		stop, err := startProfile(profile)
		if err != nil {
			return r, err
		}
		defer stop()
	}
	var ru0, ru1 unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru0)
	var rep *perf.Report
	var cerr error
	// The client dials from the Do thread of the kernel's namespace or
	// through our stack; either way Run stays on this goroutine.
	pprof.Do(cli, pprof.Labels(), func(ctx context.Context) {
		rep, cerr = (&perf.Client{Dial: dial, Params: perf.Params{Duration: cfg.Duration, Streams: cfg.Streams}}).Run(ctx)
	})
	unix.Getrusage(unix.RUSAGE_SELF, &ru1)
	serr := <-srvDone
	if cerr != nil {
		return r, fmt.Errorf("client: %w", cerr)
	}
	if serr != nil {
		return r, fmt.Errorf("server: %w", serr)
	}
	r.measured(rep, c.Subflows, g.users)
	cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())
	if rep.Remote != nil && rep.Remote.Seconds > 0 {
		r.cpu = cpu.Seconds() / rep.Remote.Seconds
	}
	return r, nil
}

// rig holds what one case set up on its topology: our stacks' hosts (to
// close, last first) and the listener.
type rig struct {
	tp      *lab.Topology
	c       Case
	cfg     Config
	userCtx context.Context // profiler labels of our stack's work
	users   []*mptcp.Stack  // our stack's ends
	closers []func()
}

func (g *rig) close() {
	for i := len(g.closers) - 1; i >= 0; i-- {
		g.closers[i]()
	}
}

// server listens on the server's address of path 1; joins come to the
// same address over the other paths (nobody announces).
func (g *rig) server(ctx context.Context) (ln net.Listener, addr netip.AddrPort, err error) {
	tp := g.tp
	switch g.c.Receiver {
	case Kernel:
		if err := tp.Server.MPTCPLimits(8, 8); err != nil {
			return nil, addr, err
		}
		addr = netip.AddrPortFrom(tp.Paths[0].Server.V4, port)
		err = tp.Server.Do(func() (err error) {
			var lc net.ListenConfig
			lc.SetMultipathTCP(!g.c.TCP)
			ln, err = lc.Listen(ctx, "tcp", addr.String())
			return err
		})
	case User:
		addr = netip.AddrPortFrom(tp.Paths[0].ServerStack.V4, port)
		var h *tunhost.Host
		if h, err = g.userHost(tp.Server, []int{1}); err != nil {
			return nil, addr, err
		}
		ln, err = h.Stack.Listen("tcp", addr.String())
	}
	if err != nil {
		return nil, addr, err
	}
	g.closers = append(g.closers, func() { ln.Close() })
	return ln, addr, nil
}

// client returns how the client dials srv: a subflow from its address
// on each path.
func (g *rig) client(srv netip.AddrPort) (func(context.Context) (net.Conn, error), error) {
	tp := g.tp
	if g.c.Sender == Kernel {
		if err := tp.Client.MPTCPLimits(8, 8); err != nil {
			return nil, err
		}
		for _, p := range tp.Paths[1:] {
			if err := tp.Client.AddMPTCPEndpoint(lab.Endpoint{Addr: p.Client.V4, Flags: []string{"subflow"}}); err != nil {
				return nil, err
			}
		}
		return func(ctx context.Context) (cn net.Conn, err error) {
			err = tp.Client.Do(func() (err error) {
				var d net.Dialer
				d.SetMultipathTCP(!g.c.TCP)
				cn, err = d.DialContext(ctx, "tcp", srv.String())
				return err
			})
			return cn, err
		}, nil
	}
	paths := make([]int, g.c.Subflows)
	for i := range paths {
		paths[i] = i + 1
	}
	h, err := g.userHost(tp.Client, paths)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (net.Conn, error) {
		return h.Stack.DialContext(ctx, "tcp", srv.String())
	}, nil
}

// userHost starts our stack on side for the given paths, its work
// labelled for the profiler, and keeps it to close.
func (g *rig) userHost(side lab.Netns, paths []int) (h *tunhost.Host, err error) {
	pprof.Do(g.userCtx, pprof.Labels(), func(context.Context) {
		h, err = userHost(g.tp, side, paths, g.cfg, g.c.Loops)
	})
	if err != nil {
		return nil, err
	}
	g.closers = append(g.closers, func() { h.Close() })
	g.users = append(g.users, h.Stack)
	return h, nil
}

// startProfile writes a CPU profile to path until stop.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// measured fills the run's throughput, the subflows that carried it
// (with several streams, the stream carrying on the fewest), and our
// stacks' hand-offs between loops.
func (r *run) measured(rep *perf.Report, subflows int, users []*mptcp.Stack) {
	rcv := rep.Remote
	r.gbps = rep.Summary.Received.BitsPerSecond / 1e9
	if rcv != nil && len(rcv.Streams) > 0 {
		r.carrying = subflows
		for _, st := range rcv.Streams {
			n := 0
			for _, sf := range st.Final.Subflows {
				if sf.BytesReceived*20 >= uint64(st.Bytes) {
					n++
				}
			}
			r.carrying = min(r.carrying, n)
		}
	}
	for _, st := range users {
		for _, ls := range st.LoopStats() {
			r.handoffs += ls.Handoffs
		}
	}
}

// userHost runs our stack in side's namespace on one TUN device with its
// IPv4 stack addresses of the given paths, its driver mode and pacing as
// cfg says; with several loops, the device has a queue per loop, each run
// by a driver of its own.
func userHost(tp *lab.Topology, side lab.Netns, paths []int, cfg Config, loops int) (*tunhost.Host, error) {
	loops = max(loops, 1)
	ifs, err := tp.StackInterfaces(side, "tun0", loops, paths...)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	for _, n := range paths {
		p := tp.Paths[n-1]
		if side == tp.Client {
			addrs = append(addrs, p.ClientStack.V4)
		} else {
			addrs = append(addrs, p.ServerStack.V4)
		}
	}
	hc := tunhost.Config{Stack: mptcp.Config{Loops: loops, Pacing: cfg.Pacing}, Addrs: addrs, SuperPackets: !cfg.SplitPackets}
	for _, ifc := range ifs {
		hc.Loops = append(hc.Loops, []tun.Interface{ifc}) // queue j for loop j
	}
	return tunhost.New(hc)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "?"
	}
	return unix.ByteSliceToString(u.Release[:])
}
