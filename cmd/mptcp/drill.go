package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/mptcp-go/mptcp/internal/drill"
)

var cmdDrill = &Command{
	Name:  "drill",
	Usage: "[flags] SCRIPT|DIR...",
	Short: "run packetdrill scripts (with the MPTCP extensions) against the stack in virtual time",
	Long: `Run packetdrill scripts against this stack in virtual time: the scripts'
system calls go to the stack's API, their "<" packets are injected, and
every ">" packet must be sent as written (flags, sequence and
acknowledgment numbers, window if given, TCP and MPTCP options in order,
timing within --tolerance_usecs). MPTCP options are written as the
multipath-tcp/packetdrill fork writes them; keys, tokens, HMACs and data
sequence numbers are computed from the run's keys as upstream does.

A directory runs every *.pkt file in it and below it. For each script the
result is a pass, the first mismatch (the script line, the expected and
the actual packet), "unsupported" for a construct the runner does not
have, or a script error. The table gives the pass rate per directory.
The exit status is 0 when every script passed, 1 otherwise.`,
	Run: drillFlags,
}

func init() { root.Add(cmdDrill) }

func drillFlags(fs *flag.FlagSet) Action {
	jsonOut := fs.Bool("json", false, "print the results as JSON")
	tol := fs.Int("tolerance_usecs", 0, "timing tolerance in microseconds (0: each script's own, else packetdrill's 4000)")
	seed := fs.Uint64("seed", 1, "seed of the stack's keys, ISNs and nonces")
	verbose := fs.Bool("v", false, "print passing scripts too")
	return func(inv *Invocation) error {
		stdout := inv.Stdout
		if len(inv.Args) == 0 {
			return usagef("no script or directory given")
		}
		files, err := drillFiles(inv.Args)
		if err != nil {
			return err
		}
		cfg := drill.Config{Tolerance: time.Duration(*tol) * time.Microsecond, Seed: *seed}
		var results []*drill.Result
		for _, f := range files {
			results = append(results, drill.RunFile(f, cfg))
		}
		sum := drill.Summarize(results)
		if *jsonOut {
			b, err := json.MarshalIndent(struct {
				Results []*drill.Result    `json:"results"`
				Dirs    []drill.DirSummary `json:"directories"`
			}{results, sum}, "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, string(b))
		} else {
			for _, r := range results {
				if r.Status != drill.Pass || *verbose {
					fmt.Fprintln(stdout, r.String())
				}
			}
			drill.WriteTable(stdout, sum)
		}
		for _, r := range results {
			if r.Status != drill.Pass {
				return fmt.Errorf("drill: %d of %d scripts did not pass", countNot(results), len(results))
			}
		}
		return nil

	}
}

func countNot(rs []*drill.Result) int {
	n := 0
	for _, r := range rs {
		if r.Status != drill.Pass {
			n++
		}
	}
	return n
}

// drillFiles expands directories into their *.pkt files, sorted.
func drillFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("drill: %w", err)
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && filepath.Ext(p) == ".pkt" {
				found = append(found, p)
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("drill: %w", err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("drill: no *.pkt scripts in %s", a)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}
