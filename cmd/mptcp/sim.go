package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/mptcp-go/mptcp/internal/simrun"
	"github.com/mptcp-go/mptcp/scenario"
)

var cmdSim = &Command{
	Name:  "sim",
	Usage: "[flags] [SCENARIO]",
	Short: "run a multipath transfer in the deterministic simulator (no root needed)",
	Long: fmt.Sprintf(`Runs the real MPTCP stack on a simulated network, in virtual time, and
reports each interval's throughput per subflow, then a summary. SCENARIO is
the name of a built-in scenario (default %q; see --list) or a YAML or JSON
scenario file of at most %d MiB (version 1: one client with paths to a
server; version 2: any graph of hosts and routers, FatTree and leaf-spine
generators, traffic matrices and workloads; see docs/research.md). The same
scenario and seed always give the same result and the same capture bytes.

The connection's policies, each chosen by name:
  scheduler  picks the subflow that sends each packet (default: ECF's rule,
             the fastest subflow, waiting for it rather than sending on a
             slow path that would deliver later; minrtt: lowest RTT with
             room; blest also avoids head-of-line blocking on slow paths)
  cc         congestion control: how fast each subflow may send (cubic,
             reno; lia, olia, balia and wvegas couple the subflows so the
             connection takes no more than one TCP flow at a shared link)
  pm         path manager: which subflows open (fullmesh: one per pair of
             client and server addresses; ndiffports: several over one)

The table gives, per interval, each subflow's receive rate (data the
subflow received; data sent again on another subflow counts on both) and
the total: the application's goodput, bytes read in order. It ends when
the transfer does. A path without a rate is unlimited.

Exit status: 0 when the transfer delivered its data intact (all of it for
a transfer with a size); 1 when data was corrupted, a transfer with a
size did not complete within the duration, nothing was delivered, or the
run failed; 2 for a usage error.`, scenario.DefaultBuiltin, maxScenarioBytes>>20),
	Run: simFlags,
}

func init() { root.Add(cmdSim) }

func simFlags(fs *flag.FlagSet) Action {
	list := fs.Bool("list", false, "list the built-in scenarios and exit")
	show := fs.Bool("show", false, "print the scenario file (built-in or given) and exit")
	seed := fs.Uint64("seed", 0, "random seed (default: the scenario's)")
	duration := fs.Duration("duration", 0, "simulated duration (default: the scenario's)")
	pcapFile := fs.String("pcap", "", "write every packet of the client and competitors to this pcap `file`")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	plotFile := fs.String("plot", "", "draw per-subflow throughput and congestion window over time to this `file` (.svg or .png)")
	interval := fs.Duration("interval", 0, "reporting interval (default: the scenario's, else 1s; "+intervalZero+"; --json and --plot keep the default's samples)")
	traceFile := fs.String("trace", "", "write the MPTCP connection's JSON-lines trace, as its data sender sees it, to this `file` (see mptcp trace plot)")
	schedName := fs.String("scheduler", "", "packet scheduler `name` (default: the scenario's, else \"default\")")
	ccName := fs.String("cc", "", "congestion control `name` (default: the scenario's, else \"cubic\")")
	pmName := fs.String("pm", "", "path manager `name` (default: the scenario's, else \"fullmesh\")")
	vars := varFlag{}
	fs.Var(vars, "var", "fill the scenario's placeholder ${`name`} with a value: --var name=value (repeatable)")
	csvPrefix := fs.String("csv", "", "version 2 scenarios: write `PREFIX`-flows.csv, PREFIX-links.csv and PREFIX-series.csv")
	series := fs.Bool("series", false, fmt.Sprintf("version 2 scenarios: record per-subflow series for every flow (default: runs of at most %d flows)", simrun.SeriesFlows))
	return func(inv *Invocation) error {
		stdout, pos := inv.Stdout, inv.Args
		if *list {
			return listScenarios(stdout)
		}
		if len(pos) > 1 {
			return usagef("one scenario at a time, got %d", len(pos))
		}
		if err := checkPolicyFlags(*schedName, *ccName, *pmName); err != nil {
			return err
		}
		name := scenario.DefaultBuiltin
		if len(pos) == 1 {
			name = pos[0]
		}
		sc, src, err := loadScenario(name, vars)
		if err != nil {
			return err
		}
		if *show {
			_, err := stdout.Write(src)
			return err
		}
		if *interval < 0 || *duration < 0 {
			return usagef("negative --interval or --duration")
		}
		if sc != nil && *interval > 0 {
			d := sc.Duration
			if *duration > 0 {
				d = *duration
			}
			if err := simrun.CheckInterval(d-sc.Transfer.Start, *interval); err != nil {
				return usagef("--interval: %v", err)
			}
		}
		summaryOnly := false
		fs.Visit(func(fl *flag.Flag) { summaryOnly = summaryOnly || fl.Name == "interval" && *interval == 0 })
		if sc == nil {
			if *traceFile != "" {
				return usagef("--trace: version 1 scenarios only (one MPTCP connection); version 2 runs have --series and --csv")
			}
			return runNetSim(name, src, netSimFlags{
				opts:     simrun.NetOptions{Seed: *seed, Duration: *duration, Scheduler: *schedName, CC: *ccName, PM: *pmName, Series: *series},
				interval: *interval, pcap: *pcapFile, json: *asJSON, plot: *plotFile, csv: *csvPrefix,
			}, stdout)
		}
		opts := simrun.Options{Seed: *seed, Duration: *duration, Interval: *interval, Scheduler: *schedName, CC: *ccName, PM: *pmName}
		return runScenario(sc, opts, simOutputs{pcap: *pcapFile, trace: *traceFile, plot: *plotFile, json: *asJSON, summaryOnly: summaryOnly}, stdout)
	}
}

// simOutputs are where a version 1 run of mptcp sim writes: the flags'
// files (empty: none), JSON or the table, and the table without its
// intervals (--interval 0).
type simOutputs struct {
	pcap, trace, plot string
	json, summaryOnly bool
}

// runScenario runs a version 1 scenario and writes what out asks for.
func runScenario(sc *scenario.Scenario, opts simrun.Options, out simOutputs, stdout io.Writer) error {
	var plotFormat string
	var plot *output
	if out.plot != "" {
		var err error
		if plotFormat, err = simrun.PlotFormat(out.plot); err != nil {
			return usagef("--plot: %v", err)
		}
		if plot, err = openOutput(out.plot, "--plot"); err != nil {
			return err
		}
		defer plot.abandon()
	}
	if out.pcap != "" {
		f, err := os.Create(out.pcap)
		if err != nil {
			return fmt.Errorf("--pcap: %w", err)
		}
		defer f.Close()
		opts.Pcap = f
	}
	var trace *bufio.Writer
	if out.trace != "" {
		f, err := os.Create(out.trace)
		if err != nil {
			return fmt.Errorf("--trace: %w", err)
		}
		defer f.Close()
		trace = bufio.NewWriter(f)
		opts.Trace = trace
	}
	res, err := simrun.Run(sc, opts)
	if err != nil {
		return err
	}
	if trace != nil {
		if err := trace.Flush(); err != nil {
			return fmt.Errorf("--trace: %w", err)
		}
	}
	if plot != nil {
		if err := plot.write(func(w io.Writer) error { return simrun.Plot(w, res, plotFormat) }); err != nil {
			return err
		}
	}
	switch {
	case out.json:
		if err := writeIndentedJSON(stdout, res); err != nil {
			return err
		}
	case out.summaryOnly:
		shown := *res
		shown.Intervals = nil
		printSim(stdout, sc, &shown)
	default:
		printSim(stdout, sc, res)
	}
	if note := kernelPMNote(res.PM, len(res.Subflows), len(sc.Paths)); note != "" && !out.json {
		fmt.Fprintln(stdout, note)
	}
	return res.Problem()
}

// checkPolicyFlags checks the --scheduler, --cc and --pm names given
// (empty: not given), naming the flag of a bad one.
func checkPolicyFlags(scheduler, ccName, pmName string) error {
	for _, p := range [...]struct{ kind, name string }{{"scheduler", scheduler}, {"cc", ccName}, {"pm", pmName}} {
		if err := simrun.CheckPolicy(p.kind, p.name); err != nil {
			return usagef("--%s: %v", p.kind, err)
		}
	}
	return nil
}

// kernelPMNote says why the kernel path manager kept fewer subflows than
// there are paths, which its limits alone do not explain: like the Linux
// kernel's, it opens subflows only from endpoints flagged subflow or
// fullmesh and joins only addresses the peer announces from signal
// endpoints, and the simulated hosts' addresses carry no flag. Empty when
// there is nothing to explain.
func kernelPMNote(pmName string, subflows, paths int) string {
	if base, _, _ := strings.Cut(pmName, ":"); base != "kernel" || subflows >= paths {
		return ""
	}
	return fmt.Sprintf("note: path manager %s opened %d subflow(s) for %d paths: like the kernel's, it opens subflows only from endpoints flagged subflow or fullmesh, and joins addresses the server announces from signal endpoints (up to add_addr_accepted); the simulated hosts' addresses are endpoints without flags, so the limits (subflows=, add_addr_accepted=) have nothing to allow. --pm fullmesh opens a subflow per path.", pmName, subflows, paths)
}

// loadScenario takes a built-in name or a file path, and fills its
// placeholders from vars. For a version 2 file it returns only the
// source, which the caller compiles.
func loadScenario(name string, vars map[string]string) (*scenario.Scenario, []byte, error) {
	src, ok := scenario.BuiltinFile(name)
	if !ok {
		if !strings.ContainsAny(name, "./") && !fileExists(name) {
			return nil, nil, usagef("no built-in scenario %q and no such file (built-ins: %s)", name, strings.Join(scenario.BuiltinNames(), ", "))
		}
		var err error
		if src, err = readScenarioFile(name); err != nil {
			return nil, nil, err
		}
	}
	src, err := scenario.Substitute(src, vars)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if scenario.IsV2(src) {
		return nil, src, nil
	}
	sc, err := scenario.Parse(src)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return sc, src, nil
}

// maxScenarioBytes bounds a scenario file: the largest generated ones are
// a few hundred kilobytes, and a device such as /dev/zero never ends.
const maxScenarioBytes = 4 << 20

// readScenarioFile reads a scenario file of at most maxScenarioBytes.
func readScenarioFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxScenarioBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(src) > maxScenarioBytes {
		return nil, fmt.Errorf("%s: larger than %d MiB, the most a scenario file may be", name, maxScenarioBytes>>20)
	}
	return src, nil
}

// varFlag collects --var name=value pairs.
type varFlag map[string]string

func (v varFlag) String() string { return "" }

func (v varFlag) Set(s string) error {
	name, val, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q: want name=value", s)
	}
	if _, dup := v[name]; dup {
		return fmt.Errorf("%q given twice", name)
	}
	v[name] = val
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func listScenarios(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, n := range scenario.BuiltinNames() {
		sc, err := scenario.Builtin(n)
		if err != nil {
			return err
		}
		def := ""
		if n == scenario.DefaultBuiltin {
			def = " (default)"
		}
		fmt.Fprintf(tw, "%s%s\t%s\n", n, def, sc.Description)
	}
	return tw.Flush()
}

func mbps(bps float64) string { return strconv.FormatFloat(bps/1e6, 'f', 2, 64) }

// describeRate prints a link rate; 0 means no limit.
func describeRate(bps int64) string {
	if bps == 0 {
		return "unlimited rate"
	}
	return mbps(float64(bps)) + " Mbit/s"
}

// printSim prints the iperf3-like report: the subflows, one line per
// interval with each subflow's receive rate and the application's
// goodput, and a summary.
func printSim(w io.Writer, sc *scenario.Scenario, res *simrun.Result) {
	fmt.Fprintf(w, "scenario %s, seed %d, %gs simulated, %s; scheduler %s, congestion control %s, path manager %s\n",
		res.Scenario, res.Seed, res.DurationS, res.Direction, res.Scheduler, res.CC, res.PM)
	for _, p := range sc.Paths {
		fmt.Fprintf(w, "  path %-10s %s, %v one-way%s\n", p.Name, describeRate(p.Link.Down.Rate), p.Link.Down.Delay, describeEvents(p.Events))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "[ID]\tpath\tlocal\tremote\tbackup\t")
	for _, sf := range res.Subflows {
		fmt.Fprintf(tw, "[%d]\t%s\t%s\t%s\t%v\t\n", sf.ID, sf.Path, sf.Local, sf.Remote, sf.Backup)
	}
	tw.Flush()
	fmt.Fprintln(w)
	if len(res.Intervals) > 0 { // --interval 0: the summary only
		printIntervals(w, sc, res)
		fmt.Fprintln(w)
	}
	printSummary(w, sc, res)
}

// printIntervals prints the table of rates, one row per interval.
func printIntervals(w io.Writer, sc *scenario.Scenario, res *simrun.Result) {
	fmt.Fprintln(w, "Mbit/s per interval: each subflow's receive rate; total: the goodput the application read in order")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "interval (s)\t")
	for _, sf := range res.Subflows {
		fmt.Fprintf(tw, "[%d] %s\t", sf.ID, sf.Path)
	}
	for _, c := range res.Competitors {
		fmt.Fprintf(tw, "%s (TCP)\t", c.Name)
	}
	fmt.Fprintln(tw, "total\t")
	// As many decimals as the interval needs, one at least.
	prec := 1
	for step := res.Intervals; len(step) > 1 && prec < 6 && (step[1].T-step[0].T)*math.Pow10(prec) < 0.999; {
		prec++
	}
	prev := sc.Transfer.Start.Seconds()
	for _, iv := range res.Intervals {
		// The last interval may end early: when the transfer completed.
		end := prec
		for end < prec+2 && math.Abs(iv.T*math.Pow10(end)-math.Round(iv.T*math.Pow10(end))) > 1e-6 {
			end++
		}
		fmt.Fprintf(tw, "%.*f-%.*f\t", prec, prev, end, iv.T)
		prev = iv.T
		for _, sf := range res.Subflows {
			fmt.Fprintf(tw, "%s\t", mbps(iv.SubflowBps[strconv.Itoa(sf.ID)]))
		}
		for _, c := range res.Competitors {
			fmt.Fprintf(tw, "%s\t", mbps(iv.CompetitorBps[c.Name]))
		}
		fmt.Fprintf(tw, "%s\t\n", mbps(iv.TotalBps))
	}
	tw.Flush()
}

// printSummary prints what the run delivered, and whether all of it.
func printSummary(w io.Writer, sc *scenario.Scenario, res *simrun.Result) {
	if res.TransferBytes > 0 {
		fmt.Fprintf(w, "bytes delivered  %d of %d (%.1f of %.1f MB)\n", res.BytesDelivered, res.TransferBytes, float64(res.BytesDelivered)/1e6, float64(res.TransferBytes)/1e6)
	} else {
		fmt.Fprintf(w, "bytes delivered  %d (%.1f MB)\n", res.BytesDelivered, float64(res.BytesDelivered)/1e6)
	}
	switch {
	case res.CapacityBps > 0:
		fmt.Fprintf(w, "goodput          %s Mbit/s of %s Mbit/s path capacity (%.1f %%)\n", mbps(res.GoodputBps), mbps(float64(res.CapacityBps)), 100*res.Utilisation)
	case unlimitedPath(sc):
		fmt.Fprintf(w, "goodput          %s Mbit/s (a path has no rate limit: no capacity to compare with)\n", mbps(res.GoodputBps))
	default:
		fmt.Fprintf(w, "goodput          %s Mbit/s\n", mbps(res.GoodputBps))
	}
	switch {
	case res.Completed:
		fmt.Fprintf(w, "completed in     %.3f s\n", res.CompletionS)
	case res.TransferBytes > 0:
		fmt.Fprintf(w, "completed        NO: the transfer did not complete within the %gs run\n", res.DurationS)
	}
	fmt.Fprintf(w, "longest stall    %.0f ms\n", res.MaxStallMs)
	if res.FellBack {
		fmt.Fprintf(w, "fallback         plain TCP (%s)\n", res.FallbackReason)
	}
	if res.TCPGoodputBps != nil {
		fmt.Fprintf(w, "TCP competitors  %s Mbit/s each on average", mbps(*res.TCPGoodputBps))
		if res.MPTCPToTCPRatio != nil {
			fmt.Fprintf(w, "; MPTCP/TCP ratio %.2f", *res.MPTCPToTCPRatio)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "data integrity   %s\n", integrityText(res))
}

// integrityText says what the pattern check found. "Verified" is said
// only of a transfer that delivered all it had to.
func integrityText(res *simrun.Result) string {
	switch {
	case !res.IntegrityOK:
		return "FAILED: bytes delivered differ from the bytes sent"
	case res.BytesDelivered == 0:
		return "nothing delivered to check"
	case res.TransferBytes > 0 && !res.Completed:
		return "the bytes delivered are intact and in order, but not all were delivered"
	}
	return "verified: every byte delivered once, in order, unaltered"
}

// unlimitedPath reports whether a path of the transfer has no rate limit
// in the direction of the data.
func unlimitedPath(sc *scenario.Scenario) bool {
	for _, p := range sc.Paths {
		if sc.Transfer.Direction != scenario.Upload && p.Link.Down.Rate == 0 || sc.Transfer.Direction != scenario.Download && p.Link.Up.Rate == 0 {
			return true
		}
	}
	return false
}

func describeEvents(evs []scenario.Event) string {
	var parts []string
	for i := 0; i < len(evs); i++ {
		e := evs[i]
		switch {
		case e.Down && i+1 < len(evs) && evs[i+1].Up:
			parts = append(parts, fmt.Sprintf("down %v-%v", e.At, evs[i+1].At))
			i++
		case e.Down:
			parts = append(parts, fmt.Sprintf("down at %v", e.At))
		case e.Up:
			parts = append(parts, fmt.Sprintf("up at %v", e.At))
		default:
			parts = append(parts, fmt.Sprintf("change at %v", e.At))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, ", ")
}
