package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/mptcp-go/mptcp/internal/torture"
)

var cmdTorture = &Command{
	Name:  "torture",
	Usage: "[flags]",
	Short: "run the robustness campaign: faults, middleboxes and forgeries over many seeds",
	Long: `Runs the stack in the simulator under a matrix of faults, middleboxes and
forged packets, each case over many seeds in parallel worker processes,
checks every byte, and prints per case how many runs completed, were
corrupted, ended early (allowed only where RFC 8684 lets the connection
end) or got stuck, with the workers' peak memory. It exits with status 1
if any case failed.

With --live (Linux only, as root) it runs the live adversary instead: in
network namespaces it creates and removes, a server of this stack on a
TUN device and a kernel MPTCP server, kernel and user-space clients
moving byte-checked data to both, and an attacker in a namespace of its
own sending floods and forged packets, bounded in count and rate; each
seed is a round of a few seconds, and the table adds what the servers
counted, with the peak memory of our server's process.`,
	Run: tortureFlags,
}

func init() { root.Add(cmdTorture) }

func tortureFlags(fs *flag.FlagSet) Action {
	seeds := fs.Int("seeds", 30, "seeds per case")
	first := fs.Uint64("first-seed", 1, "first seed")
	par := fs.Int("parallel", runtime.NumCPU(), "worker processes at once")
	pattern := fs.String("cases", "", "run only the cases whose name matches this regular `expression`")
	list := fs.Bool("list", false, "list the cases and exit")
	live := fs.Bool("live", false, "run the live adversary in network namespaces (Linux, root) instead of the simulator cases")
	liveServer := fs.String("live-server", "", "internal: serve a live round (`NETNS=ADDR,...`) in this process")
	asJSON := fs.Bool("json", false, "print JSON instead of the table")
	worker := fs.String("worker", "", "internal: run one `case` in this process")
	seedList := fs.String("seed-list", "", "internal: the worker's seeds, comma-separated")
	return func(inv *Invocation) error {
		stdout, stderr := inv.Stdout, inv.Stderr
		pos := inv.Args
		if len(pos) > 0 {
			return usagef("unexpected argument %q", pos[0])
		}
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("torture: finding this program to run workers: %w", err)
		}
		server := func(spec string) *exec.Cmd { return exec.Command(exe, "torture", "--live-server", spec) }
		if *liveServer != "" {
			return torture.ServeLive(*liveServer, os.Stdin, stdout)
		}
		if *worker != "" {
			var ss []uint64
			for _, f := range strings.Split(*seedList, ",") {
				s, err := strconv.ParseUint(f, 10, 64)
				if err != nil {
					return usagef("--seed-list: %v", err)
				}
				ss = append(ss, s)
			}
			return torture.Worker(stdout, *worker, ss, server)
		}
		selectCases := torture.Select
		if *live {
			selectCases = torture.SelectLive
		}
		cases, err := selectCases(*pattern)
		if err != nil {
			return usagef("%v", err)
		}
		if *list {
			for _, c := range cases {
				note := ""
				if c.MayEnd {
					note = "  (RFC 8684 lets the connection end)"
				}
				if c.Live != nil {
					note += "\n    attacker: " + c.Live.Knowledge
				}
				fmt.Fprintf(stdout, "%s%s\n", c.Name, note)
			}
			return nil
		}
		if *seeds < 1 || *par < 1 {
			return usagef("--seeds and --parallel must be at least 1")
		}
		if _, ok := stderr.(*os.File); !ok {
			// exec copies a Stderr that is not a file from a goroutine
			// of each command, and the workers run side by side.
			stderr = &lockedWriter{w: stderr}
		}
		k := &torture.Campaign{Cases: cases, Seeds: *seeds, FirstSeed: *first, Parallel: *par,
			Command: func(name string, ss []uint64) *exec.Cmd {
				list := make([]string, len(ss))
				for i, s := range ss {
					list[i] = strconv.FormatUint(s, 10)
				}
				cmd := exec.Command(exe, "torture", "--worker", name, "--seed-list", strings.Join(list, ","))
				cmd.Stderr = stderr
				return cmd
			}}
		res, err := k.Run()
		if err != nil {
			return err
		}
		if *asJSON {
			if err := writeIndentedJSON(stdout, res); err != nil {
				return err
			}
		} else {
			printTorture(stdout, res)
		}
		for _, r := range res {
			if !r.OK() {
				return errors.New("torture: some cases failed (see the table)")
			}
		}
		return nil

	}
}

// printTorture prints the campaign's table, then the failed runs. Live
// cases add a column: what the servers counted, summed over the rounds.
func printTorture(w io.Writer, res []torture.Result) {
	live := false
	for _, r := range res {
		live = live || r.Counters != nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "case\tseeds\tcompleted\tcorrupted\tended\tstuck\tpeak RSS\t\t"
	if live {
		head += "counted\t"
	}
	fmt.Fprintln(tw, head)
	for _, r := range res {
		rss := "-"
		if r.PeakRSS > 0 {
			rss = fmt.Sprintf("%.0f MB", float64(r.PeakRSS)/1e6)
		}
		note := ""
		if r.MayEnd {
			note = "RFC lets it end"
		}
		if !r.OK() {
			note = strings.TrimSpace(note + " FAILED")
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t", r.Case, r.Seeds, r.Completed, r.Corrupted, r.Ended, r.Stuck, rss, note)
		if live {
			fmt.Fprintf(tw, "%s\t", counted(r.Counters))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	for _, r := range res {
		for i, f := range r.Failures {
			if i == 5 {
				fmt.Fprintf(w, "%s: %d more\n", r.Case, len(r.Failures)-i)
				break
			}
			fmt.Fprintf(w, "%s seed %d: %s: %s\n", f.Case, f.Seed, f.Outcome, f.Detail)
		}
	}
}

// counted renders a live case's counters, sorted by name.
func counted(m map[string]uint64) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// lockedWriter lets several goroutines write to w, one write at a time.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write writes p to w under the lock.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
