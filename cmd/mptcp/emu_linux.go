//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mptcp-go/mptcp/internal/emu"
	"github.com/mptcp-go/mptcp/scenario"
)

func init() {
	cmdEmuRun.Run = emuRunFlags
	cmdEmuAccuracy.Run = emuAccuracyFlags
	cmdEmuCompare.Run = emuCompareFlags
}

// geteuid is os.Geteuid, replaced by tests.
var geteuid = os.Geteuid

// emuFlags are the engine flags both subcommands take.
type emuFlags struct {
	io       *string
	spin     *time.Duration
	overhead *int
	userTS   *bool
	sched    *string
	rtProc   *bool
}

func addEmuFlags(fsAdd interface {
	String(string, string, string) *string
	Duration(string, time.Duration, string) *time.Duration
	Int(string, int, string) *int
	Bool(string, bool, string) *bool
}) emuFlags {
	return emuFlags{
		io:       fsAdd.String("io", "ring", "how frames are read: ring (TPACKET_V2 ring) or mmsg (recvmmsg)"),
		spin:     fsAdd.Duration("spin", emu.DefaultSpin, "spin instead of sleeping when the next deadline is this close (0 or negative: never)"),
		overhead: fsAdd.Int("overhead", 0, "bytes added to each packet's IP length for rate and queue limits (38: Ethernet framing)"),
		userTS:   fsAdd.Bool("user-timestamps", false, "stamp arrivals when read rather than with the kernel's receive time"),
		sched:    fsAdd.String("sched", "fifo", "scheduling class of the loop threads: normal, nice (-20, short slice) or fifo (real-time)"),
		rtProc:   fsAdd.Bool("rt-process", true, "with --sched fifo, put the process's other threads in the real-time class too (priority 1), so the Go scheduler never keeps a loop waiting"),
	}
}

func (f emuFlags) options() (emu.Options, error) {
	mode, err := emu.ParseIO(*f.io)
	if err != nil {
		return emu.Options{}, usagef("--io: %q is not ring or mmsg", *f.io)
	}
	if *f.overhead < 0 || *f.overhead > 1000 {
		return emu.Options{}, usagef("--overhead %d: want 0..1000", *f.overhead)
	}
	sched, err := emu.ParseSched(*f.sched)
	if err != nil {
		return emu.Options{}, usagef("--sched: %q is not normal, nice or fifo", *f.sched)
	}
	spin := *f.spin
	if spin == 0 {
		spin = -1 // the flag's 0 means never; the option's 0 means default
	}
	return emu.Options{IO: mode, Sched: sched, Spin: spin, Overhead: *f.overhead, UserTimestamps: *f.userTS}, nil
}

// realtime applies --rt-process and returns the function that undoes it.
func (f emuFlags) realtime(o emu.Options) func() {
	if !*f.rtProc || o.Sched != emu.SchedFIFO {
		return func() {}
	}
	return emu.RealtimeProcess(1)
}

// needRoot returns the one-line error of a command run without root.
func needRoot(what string) error {
	if geteuid() != 0 {
		return fmt.Errorf("%s needs root (network namespaces, veth pairs and packet sockets); run it as root", what)
	}
	return nil
}

func emuRunFlags(fs *flag.FlagSet) Action {
	duration := fs.Duration("duration", 0, "how long to run (default: the scenario's; negative: until Ctrl-C)")
	interval := fs.Duration("interval", time.Second, "reporting interval ("+intervalZero+")")
	asJSON := fs.Bool("json", false, "print the final counters as one JSON object instead of tables")
	seed := fs.Uint64("seed", 0, "random seed of the impairments (default: the scenario's)")
	mtu := fs.Int("mtu", 1500, "MTU of every link")
	noEndpoints := fs.Bool("no-endpoints", false, "leave the kernel's MPTCP endpoints and limits alone")
	hold := fs.Bool("hold", false, "start the scenario's schedule (outages, changes) only on SIGUSR1")
	infoFile := fs.String("info", "", "once the paths carry traffic, write the namespaces and addresses to this JSON `file` (removed on exit)")
	ef := addEmuFlags(fs)
	return func(inv *Invocation) error {
		stdout, pos := inv.Stdout, inv.Args
		if len(pos) != 1 {
			return usagef("want one scenario, got %d arguments", len(pos))
		}
		if *interval < 0 {
			return usagef("negative --interval")
		}
		if *mtu < 1280 || *mtu > 65535 {
			return usagef("--mtu %d: want 1280..65535", *mtu)
		}
		opts, err := ef.options()
		if err != nil {
			return err
		}
		sc, _, err := loadScenario(pos[0], nil)
		if err != nil {
			return err
		}
		if sc == nil {
			return usagef("%s is a version 2 scenario, which only `mptcp sim` runs", pos[0])
		}
		if *seed != 0 {
			sc.Seed = *seed
		}
		runFor := sc.Duration
		if *duration != 0 {
			runFor = *duration
		}
		if !*noEndpoints {
			if err := emu.CheckKernelEndpoints(len(sc.Paths)); err != nil {
				return usagef("%v", err)
			}
		}
		if err := needRoot("mptcp emu run"); err != nil {
			return err
		}
		defer ef.realtime(opts)()

		opts.HoldSchedule = *hold
		n, err := emu.Build(sc, emu.NetworkOptions{Options: opts, MTU: *mtu, KernelEndpoints: !*noEndpoints})
		if err != nil {
			return err
		}
		defer n.Close()
		if *infoFile != "" {
			if err := writeEmuInfo(*infoFile, n); err != nil {
				return err
			}
			defer os.Remove(*infoFile)
		}
		if !*asJSON {
			printEmuNetwork(stdout, n, runFor, *hold)
		}
		start := n.Emulator.Stats()
		since := start.Elapsed
		reason, err := runEmu(inv.Context(), n, emuLoop{runFor: runFor, interval: *interval, hold: *hold, quiet: *asJSON}, start, stdout)
		if err != nil {
			return err // the deferred Close removes the namespaces
		}
		final := n.Emulator.Stats()
		// Programs the user started in the namespaces (a daemonized
		// iperf3) would outlive their removal: end them, and say so.
		ended, endErr := n.EndProcesses(emu.EndGrace)
		if err := errors.Join(endErr, n.Close()); err != nil {
			return err
		}
		if *asJSON {
			return writeIndentedJSON(stdout, struct {
				Scenario string        `json:"scenario"`
				Reason   string        `json:"reason"`
				Ended    []emu.Process `json:"ended_processes,omitempty"`
				emu.Stats
			}{sc.Name, reason, ended, final})
		}
		fmt.Fprintf(stdout, "\n%s after %.1f s", reason, (final.Elapsed - since).Seconds())
		if len(ended) > 0 {
			fmt.Fprintf(stdout, "; ended %d process(es) still running in the namespaces: %s", len(ended), joinProcesses(ended))
		}
		fmt.Fprintf(stdout, "; namespaces removed\n")
		printEmuCounters(stdout, final)
		return nil
	}
}

// emuLoop is how mptcp emu run waits: for how long (<= 0: until
// interrupted), how often it prints the paths' rates (0: never; nor when
// quiet), and whether the schedule starts only on SIGUSR1.
type emuLoop struct {
	runFor, interval time.Duration
	hold, quiet      bool
}

// runEmu runs the emulator until the duration, an interrupt or, when
// held, the exit of the controlling process, and says which ended it;
// its rates are from the counters at start on.
func runEmu(ctx context.Context, n *emu.Network, l emuLoop, start emu.Stats, stdout io.Writer) (reason string, err error) {
	usr1 := make(chan os.Signal, 1)
	if l.hold {
		signal.Notify(usr1, syscall.SIGUSR1)
		defer signal.Stop(usr1)
	}
	var deadline <-chan time.Time
	if l.runFor > 0 {
		deadline = time.After(l.runFor)
	}
	prev, since := start, start.Elapsed
	var tick <-chan time.Time
	if l.interval > 0 && !l.quiet {
		t := time.NewTicker(l.interval)
		defer t.Stop()
		tick = t.C
		fmt.Fprintf(stdout, "%8s  %-10s %12s %12s %8s %8s\n", "time (s)", "path", "down Mbit/s", "up Mbit/s", "drops", "queued")
	}
	// A held emulator is driven by the process that started it (emu
	// compare, perf web); if that process dies, even by SIGKILL, the
	// emulator is re-parented and stops, removing its namespaces,
	// instead of running on with nobody to stop it.
	parent := os.Getppid()
	failCheck := time.NewTicker(200 * time.Millisecond)
	defer failCheck.Stop()
	for {
		select {
		case <-ctx.Done():
			return "interrupted", nil
		case <-deadline:
			return "duration reached", nil
		case <-usr1:
			if err := n.Emulator.StartSchedule(); err != nil {
				return "", err
			}
			fmt.Fprintf(stdout, "schedule started at %.1f s\n", (n.Emulator.Now() - since).Seconds())
		case <-tick:
			cur := n.Emulator.Stats()
			printEmuInterval(stdout, since, prev, cur)
			prev = cur
		case <-failCheck.C:
			if l.hold && os.Getppid() != parent {
				return "the controlling process exited", nil
			}
		}
		if err := n.Emulator.Err(); err != nil {
			return "", err
		}
	}
}

// emuInfo is what --info writes: enough for another process to run
// programs on the emulated network.
type emuInfo struct {
	PID         int           `json:"pid"`
	Scenario    string        `json:"scenario"`
	Client      string        `json:"client_netns"`
	Emulator    string        `json:"emulator_netns"`
	Server      string        `json:"server_netns"`
	Paths       []emuInfoPath `json:"paths"`
	Competitors []emuInfoPath `json:"competitors,omitempty"`
}

type emuInfoPath struct {
	Name        string `json:"name"`
	ClientIf    string `json:"client_if"`
	ServerIf    string `json:"server_if"`
	ClientV4    string `json:"client_v4"`
	ClientV6    string `json:"client_v6"`
	ServerV4    string `json:"server_v4"`
	ServerV6    string `json:"server_v6"`
	ClientStack string `json:"client_stack_v4"`
	ServerStack string `json:"server_stack_v4"`
	Table       int    `json:"table"`
}

func writeEmuInfo(name string, n *emu.Network) error {
	tp := n.Topology
	info := emuInfo{PID: os.Getpid(), Scenario: n.Scenario.Name, Client: tp.Client.Name(), Emulator: tp.Middle.Name(), Server: tp.Server.Name()}
	conv := func(k int) emuInfoPath {
		lp := tp.Paths[k]
		return emuInfoPath{Name: n.Names[k], ClientIf: lp.ClientIf, ServerIf: lp.ServerIf,
			ClientV4: lp.Client.V4.String(), ClientV6: lp.Client.V6.String(), ServerV4: lp.Server.V4.String(), ServerV6: lp.Server.V6.String(),
			ClientStack: lp.ClientStack.V4.String(), ServerStack: lp.ServerStack.V4.String(), Table: lp.Table}
	}
	for k := range tp.Paths {
		if k < len(n.Paths) {
			info.Paths = append(info.Paths, conv(k))
		} else {
			info.Competitors = append(info.Competitors, conv(k))
		}
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	// Written whole, then renamed: a reader never sees half a file.
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("--info: %w", err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("--info: %w", err)
	}
	return nil
}

func printEmuNetwork(w io.Writer, n *emu.Network, runFor time.Duration, hold bool) {
	tp := n.Topology
	sc := n.Scenario
	fmt.Fprintf(w, "scenario %s: %d paths", sc.Name, len(sc.Paths))
	if len(sc.Competitors) > 0 {
		fmt.Fprintf(w, ", %d competitors", len(sc.Competitors))
	}
	if runFor > 0 {
		fmt.Fprintf(w, "; running %v (Ctrl-C to stop)\n", runFor)
	} else {
		fmt.Fprintf(w, "; running until Ctrl-C\n")
	}
	fmt.Fprintf(w, "namespaces: client %s, emulator %s, server %s\n", tp.Client, tp.Middle, tp.Server)
	v6 := sc.IPv6
	for i, p := range sc.Paths {
		lp := n.Paths[i]
		fmt.Fprintf(w, "  path %-10s client %-15s server %-15s %s%s\n",
			p.Name, lp.Client.Get(v6), lp.Server.Get(v6), describeLink(p.Link), describeEvents(p.Events))
	}
	for j, c := range sc.Competitors {
		lp := n.Competitors[j]
		fmt.Fprintf(w, "  competitor %-4s client %-15s server %-15s %s (for a TCP flow, %s)\n", c.Name, lp.Client.Get(v6), lp.Server.Get(v6), describeLink(c.Link), c.CC)
	}
	if sl := sc.ServerLink; sl != (scenario.Link{}) {
		fmt.Fprintf(w, "  server link, shared by all: %s\n", describeLink(sl))
	}
	if hold {
		fmt.Fprintf(w, "schedule held: send SIGUSR1 (kill -USR1 %d) to start it\n", os.Getpid())
	}
	fmt.Fprintf(w, "%s\n\n", iperfHint(tp.Server.Name(), tp.Client.Name(), n.Server()))
}

// describeLink summarises a link: rates down and up, delay, loss.
func describeLink(l scenario.Link) string {
	rate := func(r int64) string {
		if r == 0 {
			return "unlimited"
		}
		return mbps(float64(r)) + " Mbit/s"
	}
	s := rate(l.Down.Rate) + " down, " + rate(l.Up.Rate) + " up, " + l.Down.Delay.String() + " one-way"
	if l.Up.Delay != l.Down.Delay {
		s += " (" + l.Up.Delay.String() + " up)"
	}
	if l.Down.Loss > 0 || l.Up.Loss > 0 {
		s += fmt.Sprintf(", loss %g%%", 100*l.Down.Loss)
	}
	return s
}

func printEmuInterval(w io.Writer, since time.Duration, prev, cur emu.Stats) {
	dt := (cur.Elapsed - prev.Elapsed).Seconds()
	if dt <= 0 {
		return
	}
	for i, p := range cur.Paths {
		q := prev.Paths[i]
		down := float64(p.Down.ForwardedBytes-q.Down.ForwardedBytes) * 8 / dt
		up := float64(p.Up.ForwardedBytes-q.Up.ForwardedBytes) * 8 / dt
		drops := p.Down.Drops() + p.Up.Drops() - q.Down.Drops() - q.Up.Drops()
		fmt.Fprintf(w, "%8.1f  %-10s %12s %12s %8d %8d\n", (cur.Elapsed - since).Seconds(), p.Name, mbps(down), mbps(up), drops, p.Down.Queued+p.Up.Queued)
	}
}

func printEmuCounters(w io.Writer, s emu.Stats) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path\tdirection\treceived\tforwarded\tMB\tqueue drops\tloss drops\tdown drops\tother drops\tlate p99\t")
	row := func(name, dir string, c emu.Counters) {
		other := c.TooBig + c.Overflow + c.Invalid + c.TxErrors + c.RingDrops
		late := "-"
		if c.Lateness.Count() > 0 {
			late = "<" + c.Lateness.Quantile(0.99).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%d\t%d\t%d\t%d\t%s\t\n", name, dir, c.Received, c.Forwarded,
			float64(c.ForwardedBytes)/1e6, c.QueueDrops, c.LossDrops, c.DownDrops, other, late)
	}
	for _, p := range s.Paths {
		row(p.Name, "down", p.Down)
		row(p.Name, "up", p.Up)
	}
	if s.SharedDown != nil {
		row("server link", "down", *s.SharedDown)
	}
	if s.SharedUp != nil {
		row("server link", "up", *s.SharedUp)
	}
	tw.Flush()
	if s.SchedErrors > 0 {
		fmt.Fprintf(w, "warning: %d loops could not take their scheduling class (no CAP_SYS_NICE?): timing is less precise\n", s.SchedErrors)
	}
}

func emuAccuracyFlags(fs *flag.FlagSet) Action {
	rates := fs.String("rates", "10Mbit,100Mbit,1Gbit", "comma-separated link `rates` to measure")
	delay := fs.Duration("delay", 10*time.Millisecond, "one-way delay configured")
	probes := fs.Int("probes", 2000, "delay probes per row")
	probeInterval := fs.Duration("probe-interval", 500*time.Microsecond, "time between probes")
	load := fs.Duration("load", 3*time.Second, "length of the saturating flow per rate")
	overload := fs.Float64("overload", 1.2, "offered load of the saturating flow, in multiples of the rate")
	asJSON := fs.Bool("json", false, "print JSON instead of the table")
	ef := addEmuFlags(fs)
	return func(inv *Invocation) error {
		stdout, stderr := inv.Stdout, inv.Stderr
		pos := inv.Args
		if len(pos) > 0 {
			return usagef("unexpected argument %q", pos[0])
		}
		cfg := emu.AccuracyConfig{Delay: *delay, Probes: *probes, ProbeInterval: *probeInterval, Load: *load, Overload: *overload}
		for _, r := range strings.Split(*rates, ",") {
			v, err := scenario.ParseRate(strings.TrimSpace(r))
			if err != nil {
				return usagef("--rates: %v", err)
			}
			cfg.Rates = append(cfg.Rates, int64(v))
		}
		if *delay <= 0 || *probes <= 0 || *probeInterval <= 0 || *load <= 0 || *overload < 1 {
			return usagef("--delay, --probes, --probe-interval and --load must be positive, --overload at least 1")
		}
		var err error
		if cfg.Options, err = ef.options(); err != nil {
			return err
		}
		if err := needRoot("mptcp emu accuracy"); err != nil {
			return err
		}
		defer ef.realtime(cfg.Options)()
		ctx := inv.Context()
		if !*asJSON {
			cfg.Progress = stderr
		}
		rep, err := emu.MeasureAccuracy(ctx, cfg)
		if err != nil {
			if errors.Is(err, emu.ErrInvalidConfig) {
				return usagef("%v", err)
			}
			return err
		}
		if *asJSON {
			return rep.WriteJSON(stdout)
		}
		return rep.WriteTable(stdout)

	}
}

// joinProcesses lists processes for a line of text.
func joinProcesses(ps []emu.Process) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
