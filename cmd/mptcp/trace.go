package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mptcp-go/mptcp/internal/simrun"
	"github.com/mptcp-go/mptcp/observe"
)

var cmdTrace = &Command{
	Name:  "trace",
	Short: "work with per-connection traces: mptcp trace show, mptcp trace plot",
	Long: `A trace is one connection's life as JSON lines: its events, the
scheduler's decisions, and samples of each subflow (cwnd, RTT, bytes,
segments). mptcp sim --trace FILE writes one in virtual time; the
user-space stack writes one per connection with --trace DIR (mptcp perf,
mptcp check serve, mptcp proxy). See docs/observe.md.`,
}

var cmdTracePlot = &Command{
	Name:  "plot",
	Usage: "[flags] FILE",
	Short: "draw a trace's per-subflow throughput, cwnd and RTT (SVG or PNG)",
	Long: `Draws the trace in FILE as three panels sharing the time axis: each
subflow's throughput, congestion window and smoothed RTT. The image goes to
-o (.svg or .png; default FILE with .svg in place of .jsonl).`,
	Run: tracePlotFlags,
}

func init() {
	root.Add(cmdTrace)
	cmdTrace.Add(cmdTracePlot)
}

func tracePlotFlags(fs *flag.FlagSet) Action {
	out := fs.String("o", "", "write the figure to this `file` (.svg or .png)")
	return func(inv *Invocation) error {
		if len(inv.Args) != 1 {
			return usagef("want one trace FILE, got %d arguments", len(inv.Args))
		}
		name := inv.Args[0]
		if *out == "" {
			*out = strings.TrimSuffix(name, ".jsonl") + ".svg"
		}
		format, err := simrun.PlotFormat(*out)
		if err != nil {
			return usagef("-o: %v", err)
		}
		recs, err := observe.ReadTraceFile(name)
		if err != nil {
			return err
		}
		img, err := openOutput(*out, "-o")
		if err != nil {
			return err
		}
		defer img.abandon()
		if err := img.write(func(w io.Writer) error { return simrun.PlotTrace(w, recs, format) }); err != nil {
			return err
		}
		fmt.Fprintf(inv.Stdout, "%s: %d records -> %s\n", name, len(recs), *out)
		return nil
	}
}
