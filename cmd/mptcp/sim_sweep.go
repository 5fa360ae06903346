package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/mptcp-go/mptcp/internal/sweep"
)

var cmdSimSweep = &Command{
	Name:  "sweep",
	Usage: "[flags] SCENARIO",
	Short: "run a grid of parameters x seeds, merged per point",
	Long: `Runs SCENARIO over a grid of parameters and seeds, each run an
"mptcp sim --json" process writing OUT/run-NNNNN.json, then merges the
runs of each grid point: the median over seeds with a distribution-free
confidence interval. A parameter named scheduler, cc, pm or duration sets
that flag; any other fills the scenario's ${name} placeholder.

With --emit the runs are not started: one command per line is printed for
GNU parallel (--emit parallel), or a Slurm job-array script (--emit slurm),
or a Kubernetes indexed Job (--emit k8s); OUT/sweep.json is written, and
"mptcp sim collect OUT" merges the results once the runs are done.`,
	Run: sweepFlags,
}

var cmdSimCollect = &Command{
	Name:  "collect",
	Usage: "[flags] DIR",
	Short: "merge a sweep's results",
	Long: `Merges the results of a sweep in DIR (written by "mptcp sim sweep" or by
the commands it emitted): per grid point, the median of each metric over
the seeds and its confidence interval.`,
	Run: collectFlags,
}

func init() { cmdSim.Add(cmdSimSweep, cmdSimCollect) }

// paramFlag collects --param name=v1,v2 values.
type paramFlag []sweep.Param

func (p *paramFlag) String() string { return "" }

func (p *paramFlag) Set(s string) error {
	q, err := sweep.ParseParam(s)
	if err != nil {
		return err
	}
	for _, o := range *p {
		if o.Name == q.Name {
			return fmt.Errorf("parameter %q given twice", q.Name)
		}
	}
	*p = append(*p, q)
	return nil
}

func sweepFlags(fs *flag.FlagSet) Action {
	var params paramFlag
	fs.Var(&params, "param", "a swept parameter: `name=v1,v2,...` (repeatable)")
	seedSpec := fs.String("seeds", "1-5", "seeds: a `list or range` (3, 1-10, 1,4,9)")
	jobs := fs.Int("jobs", runtime.NumCPU(), "runs at once (local runs and --emit k8s parallelism)")
	out := fs.String("out", "sweep-out", "output `directory`")
	emit := fs.String("emit", "", "print the runs for an engine instead of running them: parallel, slurm or k8s")
	bin := fs.String("bin", "", "the mptcp `program` the runs start (default: this one; \"mptcp\" in emitted commands)")
	image := fs.String("image", "mptcp:latest", "container `image` for --emit k8s")
	metrics := fs.String("metrics", "", "comma-separated `metrics` for the table (default: goodput and completion figures)")
	return func(inv *Invocation) error {
		stdout, stderr := inv.Stdout, inv.Stderr
		pos := inv.Args
		if len(pos) != 1 {
			return usagef("sim sweep takes one scenario")
		}
		seeds, err := parseSeeds(*seedSpec)
		if err != nil {
			return usagef("--seeds: %v", err)
		}
		if *jobs < 1 {
			return usagef("--jobs must be at least 1")
		}
		m := sweep.Plan(pos[0], params, seeds)
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		if err := m.Write(*out); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		if *emit != "" {
			prog := *bin
			if prog == "" {
				prog = "mptcp"
			}
			return emitRuns(stdout, m, *emit, prog, *out, *image, *jobs)
		}
		prog := *bin
		if prog == "" {
			if prog, err = os.Executable(); err != nil {
				return err
			}
		}
		if failed := runLocal(m, prog, *out, *jobs); failed > 0 {
			fmt.Fprintf(stderr, "sweep: %d of %d runs failed (see %s/run-*.err)\n", failed, len(m.Runs), *out)
		}
		return printCollect(stdout, *out, *metrics, "")

	}
}

// parseSeeds reads "3", "1-10" or "1,4,9".
func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
		if err != nil || a == 0 {
			return nil, fmt.Errorf("%q: seeds are positive integers", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 64); err != nil || b < a || b-a > 100000 {
				return nil, fmt.Errorf("%q: want a range like 1-10", part)
			}
		}
		for x := a; x <= b; x++ {
			out = append(out, x)
		}
	}
	return out, nil
}

// runLocal runs the sweep's runs as child processes, jobs at a time, and
// returns how many failed.
func runLocal(m *sweep.Manifest, prog, dir string, jobs int) int {
	var mu sync.Mutex
	failed := 0
	work := make(chan sweep.Run)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				if err := runOne(prog, dir, r); err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		}()
	}
	for _, r := range m.Runs {
		work <- r
	}
	close(work)
	wg.Wait()
	return failed
}

func runOne(prog, dir string, r sweep.Run) error {
	var out, errb bytes.Buffer
	cmd := exec.Command(prog, r.Args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	runErr := cmd.Run()
	if err := os.WriteFile(filepath.Join(dir, r.Output), out.Bytes(), 0o644); err != nil {
		return err
	}
	if runErr != nil {
		msg := fmt.Sprintf("%s %s: %v\n%s", prog, strings.Join(r.Args, " "), runErr, errb.String())
		_ = os.WriteFile(filepath.Join(dir, strings.TrimSuffix(r.Output, ".json")+".err"), []byte(msg), 0o644)
	}
	return runErr
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// commandLine is the shell command of run r.
func commandLine(prog, dir string, r sweep.Run) string {
	parts := []string{shellQuote(prog)}
	for _, a := range r.Args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ") + " > " + shellQuote(filepath.Join(dir, r.Output))
}

// emitRuns prints the runs for an engine.
func emitRuns(w io.Writer, m *sweep.Manifest, engine, prog, dir, image string, jobs int) error {
	lines := make([]string, len(m.Runs))
	for i, r := range m.Runs {
		lines[i] = commandLine(prog, dir, r)
	}
	switch engine {
	case "parallel":
		// One command per line: `parallel < FILE`, or over ssh with
		// `parallel --sshloginfile HOSTS --wd . < FILE` (the scenario
		// and the output directory on a shared file system).
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	case "slurm":
		fmt.Fprintf(w, "#!/bin/bash\n# Submit with: sbatch THIS_FILE; then: %s sim collect %s\n", prog, shellQuote(dir))
		fmt.Fprintf(w, "#SBATCH --job-name=mptcp-sweep\n#SBATCH --array=0-%d\n#SBATCH --cpus-per-task=1\n", len(lines)-1)
		fmt.Fprintln(w, "case \"$SLURM_ARRAY_TASK_ID\" in")
		for i, l := range lines {
			fmt.Fprintf(w, "%d) %s ;;\n", i, l)
		}
		fmt.Fprintln(w, "esac")
	case "k8s":
		// An indexed Job: pod i runs command i. The image must hold the
		// mptcp binary and the scenario, and the output directory must be
		// on the volume the pods share (a claim named mptcp-sweep,
		// mounted as the working directory).
		fmt.Fprintf(w, "# kubectl apply -f THIS_FILE; then, on the volume: %s sim collect %s\n", prog, shellQuote(dir))
		fmt.Fprintf(w, "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: mptcp-sweep\nspec:\n  completionMode: Indexed\n  completions: %d\n  parallelism: %d\n", len(lines), jobs)
		fmt.Fprintf(w, "  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: sim\n          image: %s\n          workingDir: /sweep\n", image)
		fmt.Fprintln(w, "          command: [\"/bin/sh\", \"-c\"]\n          args:\n            - |\n              case \"$JOB_COMPLETION_INDEX\" in")
		for i, l := range lines {
			fmt.Fprintf(w, "              %d) %s ;;\n", i, l)
		}
		fmt.Fprintln(w, "              esac\n          volumeMounts:\n            - {name: results, mountPath: /sweep}\n      volumes:\n        - name: results\n          persistentVolumeClaim: {claimName: mptcp-sweep}")
	default:
		return usagef("--emit %q: want parallel, slurm or k8s", engine)
	}
	return nil
}

func collectFlags(fs *flag.FlagSet) Action {
	metrics := fs.String("metrics", "", "comma-separated `metrics` for the table (default: goodput and completion figures)")
	format := fs.String("format", "table", "output `format`: table, json or csv")
	return func(inv *Invocation) error {
		stdout := inv.Stdout
		pos := inv.Args
		if len(pos) != 1 {
			return usagef("sim collect takes one directory")
		}
		return printCollect(stdout, pos[0], *metrics, *format)

	}
}

// defaultMetrics are the table's columns when --metrics is not given,
// those of v1 and v2 results alike; absent ones are left out.
var defaultMetrics = []string{"goodput_bps", "total_goodput_bps", "mean_goodput_bps", "jain_index", "completion_s", "mptcp_to_tcp_ratio"}

func printCollect(w io.Writer, dir, metricList, format string) error {
	m, sums, err := sweep.Collect(dir)
	if err != nil {
		return err
	}
	if format == "json" {
		return writeIndentedJSON(w, struct {
			Scenario string          `json:"scenario"`
			Points   []sweep.Summary `json:"points"`
		}{m.Scenario, sums})
	}
	var cols []string
	if metricList != "" {
		cols = strings.Split(metricList, ",")
	} else {
		seen := map[string]bool{}
		for _, s := range sums {
			for k := range s.Metrics {
				seen[k] = true
			}
		}
		for _, k := range defaultMetrics {
			if seen[k] {
				cols = append(cols, k)
			}
		}
		if len(cols) == 0 {
			for k := range seen {
				cols = append(cols, k)
			}
			sort.Strings(cols)
		}
	}
	cell := func(st sweep.Stat, ok bool) string {
		if !ok {
			return "-"
		}
		return fmt.Sprintf("%s [%s, %s]", num(st.Median), num(st.Lo), num(st.Hi))
	}
	if format == "csv" {
		head := append(append([]string{}, m.Params...), "runs", "missing")
		for _, c := range cols {
			head = append(head, c, c+"_lo", c+"_hi")
		}
		fmt.Fprintln(w, strings.Join(head, ","))
		for _, s := range sums {
			row := []string{}
			for _, p := range m.Params {
				row = append(row, s.Point[p])
			}
			row = append(row, strconv.Itoa(s.Runs), strconv.Itoa(s.Missing))
			for _, c := range cols {
				st := s.Metrics[c]
				row = append(row, raw(st.Median), raw(st.Lo), raw(st.Hi))
			}
			fmt.Fprintln(w, strings.Join(row, ","))
		}
		return nil
	}
	if format != "table" && format != "" {
		return usagef("--format %q: want table, json or csv", format)
	}
	fmt.Fprintf(w, "sweep of %s: %d runs; median [confidence interval] over seeds\n", m.Scenario, len(m.Runs))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := append(append([]string{}, m.Params...), "runs")
	head = append(head, cols...)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, s := range sums {
		row := []string{}
		for _, p := range m.Params {
			row = append(row, s.Point[p])
		}
		runs := strconv.Itoa(s.Runs)
		if s.Missing > 0 {
			runs += fmt.Sprintf(" (%d missing)", s.Missing)
		}
		row = append(row, runs)
		for _, c := range cols {
			st, ok := s.Metrics[c]
			row = append(row, cell(st, ok))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

func raw(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// num formats a metric compactly: large rates in SI units.
func num(v float64) string {
	switch a := max(v, -v); {
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'f', 3, 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 3, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', 3, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
