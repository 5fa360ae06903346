//go:build linux

package main

import (
	"flag"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mptcp-go/mptcp/internal/perfbench"
)

func init() { cmdPerfBench.Run = perfBenchFlags }

func perfBenchFlags(fs *flag.FlagSet) Action {
	dur := secondsFlag(10 * time.Second)
	for _, n := range []string{"t", "time"} {
		fs.Var(&dur, n, "length of each transfer (`seconds` or a duration)")
	}
	repeat := fs.Int("repeat", 1, "transfers per row; the median is reported")
	subflows := fs.String("subflows", "1,2", "comma-separated subflow `counts` (paths) to measure")
	loopsFlag := fs.String("loops", "1", "comma-separated `counts` of protocol loops of our stack to measure (each on its own TUN queue)")
	streams := fs.Int("streams", 1, "connections each transfer runs at once")
	pairs := fs.String("pairs", "kernel-kernel,ours-kernel,kernel-ours,ours-ours", "comma-separated sender-receiver `pairs` to measure")
	var asJSON bool
	for _, n := range []string{"J", "json"} {
		fs.BoolVar(&asJSON, n, false, "print the result as JSON")
	}
	profile := fs.String("profile", "", "write a CPU profile of each row with our stack to this `directory`")
	top := fs.Int("top", 15, "with --profile, print this many top entries of each profile (needs the go tool)")
	noIperf := fs.Bool("no-iperf3", false, "skip the reference rows of iperf3 under mptcpize (kernel to kernel MPTCP without Go)")
	noTCP := fs.Bool("no-tcp", false, "skip the reference row of kernel to kernel over plain TCP")
	split := fs.Bool("split-packets", false, "run our stack's TUN driver in split mode (the device splits the kernel's super-packets) instead of taking them whole")
	pacing := fs.Bool("pacing", false, "run our stack paced (mptcp.Config.Pacing; default unpaced)")
	return func(inv *Invocation) error {
		stdout, stderr := inv.Stdout, inv.Stderr
		pos := inv.Args
		if len(pos) > 0 {
			return usagef("bench takes no arguments, got %q", pos)
		}
		if dur <= 0 {
			return usagef("-t must be positive")
		}
		if *repeat < 1 || *repeat > 100 {
			return usagef("--repeat %d: want 1..100", *repeat)
		}
		counts, ok := intList(*subflows, 1, 8)
		if !ok {
			return usagef("--subflows %q: want counts 1..8 separated by commas", *subflows)
		}
		loops, ok := intList(*loopsFlag, 1, 64)
		if !ok {
			return usagef("--loops %q: want counts 1..64 separated by commas", *loopsFlag)
		}
		if *streams < 1 || *streams > 128 {
			return usagef("--streams %d: want 1..128", *streams)
		}
		want := map[string]bool{}
		for _, p := range strings.Split(*pairs, ",") {
			p = strings.TrimSpace(p)
			if !slices.Contains([]string{"kernel-kernel", "ours-kernel", "kernel-ours", "ours-ours"}, p) {
				return usagef("--pairs %q: want kernel-kernel, ours-kernel, kernel-ours or ours-ours, separated by commas", *pairs)
			}
			want[p] = true
		}
		var cases []perfbench.Case
		if !*noTCP {
			cases = append(cases, perfbench.Case{Sender: perfbench.Kernel, Receiver: perfbench.Kernel, Subflows: 1, TCP: true})
		}
		for _, n := range counts {
			for _, c := range perfbench.DefaultCases() {
				if c.Subflows != 1 || c.TCP || !want[c.Pair()] {
					continue
				}
				c.Subflows = n
				if c.Sender == perfbench.Kernel && c.Receiver == perfbench.Kernel {
					cases = append(cases, c)
					continue
				}
				for _, l := range loops {
					c.Loops = l
					cases = append(cases, c)
				}
			}
		}
		ctx := inv.Context()
		res, err := perfbench.Run(ctx, perfbench.Config{Cases: cases, Duration: time.Duration(dur), Repeat: *repeat, Streams: *streams,
			ProfileDir: *profile, Iperf3: !*noIperf, SplitPackets: *split, Pacing: *pacing, Log: stderr})
		if err != nil && res == nil {
			return err
		}
		if asJSON {
			_ = writeIndentedJSON(stdout, res)
		} else {
			res.WriteTable(stdout)
			if *profile != "" && *top > 0 {
				printProfiles(stdout, res, *top)
			}
		}
		return err

	}
}

// intList reads comma-separated integers in lo..hi.
func intList(s string, lo, hi int) ([]int, bool) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < lo || n > hi {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

// printProfiles prints the top entries of each row's profile, our end's
// samples only, with go tool pprof.
func printProfiles(w io.Writer, res *perfbench.Result, top int) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintf(w, "\nProfiles written; view them with go tool pprof -top -tagfocus=side=user FILE.\n")
		return
	}
	for _, row := range res.Rows {
		if row.Profile == "" {
			continue
		}
		out, err := exec.Command(goTool, "tool", "pprof", "-top", "-nodecount="+strconv.Itoa(top), "-tagfocus=side=user", row.Profile).CombinedOutput()
		fmt.Fprintf(w, "\nCPU profile of our end, %s, %d subflow(s), %d loop(s) (%s):\n", row.Name, row.Subflows, row.Loops, row.Profile)
		if err != nil {
			fmt.Fprintf(w, "go tool pprof: %v\n", err)
		}
		w.Write(out)
	}
}
