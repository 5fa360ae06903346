package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
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
if any case failed.`,
	Run: tortureFlags,
}

func init() { root.Add(cmdTorture) }

func tortureFlags(fs *flag.FlagSet) Action {
	seeds := fs.Int("seeds", 30, "seeds per case")
	first := fs.Uint64("first-seed", 1, "first seed")
	par := fs.Int("parallel", runtime.NumCPU(), "worker processes at once")
	pattern := fs.String("cases", "", "run only the cases whose name matches this regular `expression`")
	list := fs.Bool("list", false, "list the cases and exit")
	asJSON := fs.Bool("json", false, "print JSON instead of the table")
	worker := fs.String("worker", "", "internal: run one `case` in this process")
	seedList := fs.String("seed-list", "", "internal: the worker's seeds, comma-separated")
	return func(inv *Invocation) error {
		stdout, stderr := inv.Stdout, inv.Stderr
		pos := inv.Args
		if len(pos) > 0 {
			return usagef("unexpected argument %q", pos[0])
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
			return torture.Worker(stdout, *worker, ss)
		}
		cases, err := torture.Select(*pattern)
		if err != nil {
			return usagef("%v", err)
		}
		if *list {
			for _, c := range cases {
				note := ""
				if c.MayEnd {
					note = "  (RFC 8684 lets the connection end)"
				}
				fmt.Fprintf(stdout, "%s%s\n", c.Name, note)
			}
			return nil
		}
		if *seeds < 1 || *par < 1 {
			return usagef("--seeds and --parallel must be at least 1")
		}
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("torture: finding this program to run workers: %w", err)
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

// printTorture prints the campaign's table, then the failed runs.
func printTorture(w io.Writer, res []torture.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\tseeds\tcompleted\tcorrupted\tended\tstuck\tpeak RSS\t\t")
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
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t\n", r.Case, r.Seeds, r.Completed, r.Corrupted, r.Ended, r.Stuck, rss, note)
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
